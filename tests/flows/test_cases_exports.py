"""The dozen respondents exported in every layout and language (``tests/cases/exports``,
written by ``tests/cases/make_exports.py``) map to the same canonical responses; the
broken files of ``exports/broken`` each get the files record and quarantine rows they must.

What must be identical across tools: which responses are accepted, their answers (option
codes), free texts, language, email hash and submission time to the minute (Excel re-saves
drop seconds); which rows fail which check of which column. What may differ: ids, spreadsheet
rows, durations, and Google Forms, which records only submitted responses (no respondent 12)
and writes an "Other" text in place of the option.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import polars as pl
import pytest

from schemas.codebook import codebook
from surveyhouse.staging import process_export
from tests.flows.respondents import small_respondents

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
BROKEN = CASES / "broken"
KEY = b"cases"
#: The French team's settings: its accounts write Paris local times where the tool names no zone.
PARIS = {
    "surveymonkey": "Europe/Paris",
    "google_forms": "Europe/Paris",
    "spss": "Europe/Paris",
    "qualtrics": "Europe/Paris",
}
EXPORTS = sorted(path.name for path in CASES.iterdir() if path.is_file() and not path.name.startswith("."))

#: file -> (layout, encoding read, data rows)
FILES = {
    **{f"qualtrics_{lang}_{values}_{multi}.csv": ("qualtrics", "utf-8", 12)
       for lang in ("en", "fr") for values in ("labels", "numeric") for multi in ("joined", "split")},
    "qualtrics_en_2017_numeric.csv": ("qualtrics_insights", "utf-8", 12),
    "qualtrics_fr_2017_labels.csv": ("qualtrics_insights", "utf-8", 12),
    "qualtrics_en_legacy_labels.csv": ("qualtrics_legacy", "utf-8-sig", 12),
    "qualtrics_fr_legacy_numeric.csv": ("qualtrics_legacy", "utf-8-sig", 12),
    "surveymonkey_en.csv": ("surveymonkey", "utf-8", 12), "surveymonkey_fr.csv": ("surveymonkey", "utf-8", 12),
    "surveymonkey_en.xlsx": ("surveymonkey", "utf-8", 12), "surveymonkey_fr.xlsx": ("surveymonkey", "utf-8", 12),
    "google_forms_en.csv": ("google_forms", "utf-8", 11), "google_forms_fr.csv": ("google_forms", "utf-8", 11),
    "typeform_en.csv": ("typeform", "utf-8", 12), "typeform_fr.csv": ("typeform", "utf-8", 12),
    "spss_en_missing.sav": ("spss", "UTF-8", 12), "spss_fr_zero.sav": ("spss", "UTF-8", 12),
    "excel_fr_qualtrics_fr_labels_split.csv": ("qualtrics", "cp1252", 12),
    "excel_fr_typeform_fr.csv": ("typeform", "cp1252", 12),
    "excel_en_surveymonkey_en.csv": ("surveymonkey", "utf-8-sig", 12),
    "excel_en_google_forms_en.csv": ("google_forms", "utf-8", 11),  # saved as Windows-1252, but all ASCII
    "excel_en_qualtrics_en_numeric_joined.xlsx": ("qualtrics", "utf-8", 12),
    "limesurvey_en.csv": ("limesurvey", "utf-8-sig", 12), "limesurvey_fr.csv": ("limesurvey", "utf-8-sig", 12),
    "limesurvey_fr.xlsx": ("limesurvey", "utf-8", 12), "limesurvey_en_codes.csv": ("limesurvey", "utf-8-sig", 12),
    "microsoft_forms_en.xlsx": ("microsoft_forms", "utf-8", 11),
    "microsoft_forms_fr.xlsx": ("microsoft_forms", "utf-8", 11),
    "alchemer_en.csv": ("alchemer", "utf-8-sig", 12), "alchemer_fr.csv": ("alchemer", "utf-8-sig", 12),
}  # fmt: skip
#: (respondent, column, check) of every row that fails, whatever the tool.
QUARANTINE = {
    (4, "role", "valid_option"), (4, "team_size", "required_answered"),
    (5, "ai_uses", "valid_option"), (5, "barriers", "valid_option"),
    (6, "ai_uses", "required_answered"), (6, "uses_2025", "required_answered"),
    (7, "ai_threat", "valid_option"),
    (12, "is_finished", "finished"), *((12, code, "required_answered") for code in
                                       ("company_uses_ai", "plans_2024", "want_more_ai", "uses_2025", "barriers")),
}  # fmt: skip
NOT_EXPORTING_PARTIALS = {"google_forms", "microsoft_forms"}
#: Google Forms writes an "Other" text in place of the option: respondent 5's unknown
#: "Memes" among its ai_uses is read as its "Other" answer, not as an invalid one.
OTHER_IN_PLACE = {"google_forms": {(5, "ai_uses", "valid_option")}, "microsoft_forms": {(5, "ai_uses", "valid_option")}}
#: Files headed with question codes: no header tells the file's language (each response's is
#: the tool's own, LimeSurvey's startlanguage).
CODE_HEADINGS = {"limesurvey_en_codes.csv"}
#: LimeSurvey writes "N/A" for a question never answered: respondent 7's "N/A" in ai_threat
#: is read as unanswered (required_answered), not as an invalid answer.
NOT_ANSWERED_WORDS = {"limesurvey": ({(7, "ai_threat", "valid_option")}, {(7, "ai_threat", "required_answered")})}


def language_of(name: str) -> str:
    return "fr" if "_fr" in name else "en"


def run(path: Path, **options):
    zones = PARIS if language_of(path.name) == "fr" else None
    return process_export(
        path, run_id="test", file_order=1, wave=2023, book=codebook(), key=KEY, time_zones=zones, **options
    )


COMPARED = [
    "respondent", "language", "submitted_min", *[q.code for q in codebook().closed],
    "comment", "industry_other", "ai_uses_other", "email_hash",
]  # fmt: skip


def email_hash(email: str | None) -> str | None:
    """The hash an email must get, computed with the standard library's HMAC (not the code under test)."""
    if email is None:
        return None
    return hmac.new(KEY, email.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def expected_accepted(language: str) -> pl.DataFrame:
    """The respondents no check rejects, written out from the respondents themselves."""
    book = codebook()
    rejected = sorted({respondent for respondent, _, _ in QUARANTINE})
    kept = small_respondents(language=language).filter(~pl.col("respondent").is_in(rejected))
    positions = {q.code: {o.code: o.position for o in q.options} for q in book.multi}
    return kept.with_columns(
        language=pl.lit(language),
        submitted_min=pl.col("submitted_at").dt.truncate("1m"),
        email_hash=pl.Series([email_hash(email) for email in kept["email"]], dtype=pl.Utf8),
        **{code: pl.col(code).list.eval(pl.element().sort_by(pl.element().replace_strict(order)))
           for code, order in positions.items()},
    ).select(COMPARED)  # fmt: skip


def with_respondents(accepted: pl.DataFrame, quarantine: pl.DataFrame) -> tuple[pl.DataFrame, set]:
    """Number the file's data rows 1.. (respondent order: every writer keeps it)."""
    rows = pl.concat([accepted.select("source_row"), quarantine.select("source_row").drop_nulls()]).unique()
    numbered = (
        rows.sort("source_row").with_row_index("respondent", offset=1).with_columns(pl.col("respondent").cast(pl.Int64))
    )
    book = codebook()
    canonical = (
        accepted.join(numbered, on="source_row")
        .with_columns(
            language=pl.col("language").cast(pl.Utf8),
            submitted_min=pl.col("submitted_at").dt.truncate("1m"),
            **{q.code: pl.col(q.code).cast(pl.Utf8) for q in book.single},
            **{q.code: pl.col(q.code).cast(pl.List(pl.Utf8)) for q in book.multi},
        )
        .select(COMPARED)
        .sort("respondent")
    )
    failed = quarantine.filter(pl.col("source_row").is_not_null()).join(numbered, on="source_row")
    return canonical, set(failed.select("respondent", "column", "check").iter_rows())


def test_every_layout_and_language_has_its_case_file():
    assert sorted(FILES) == EXPORTS, "run tests/cases/make_exports.py, or list the new file in FILES"


@pytest.mark.parametrize("name", EXPORTS)
def test_every_export_of_the_dozen_respondents_yields_the_identical_canonical_responses(name):
    record, accepted, quarantine = run(CASES / name, max_quarantined_share=1.0)
    layout, encoding, rows = FILES[name]
    assert (record["status"], record["layout"], record["encoding"], record["rows_read"]) == (
        "loaded",
        layout,
        encoding,
        rows,
    )
    header_language = None if name in CODE_HEADINGS else language_of(name)
    assert record["language"] == header_language and record["columns_ignored"] is None
    canonical, failed = with_respondents(accepted, quarantine)
    expected = expected_accepted(language_of(name))
    for column in COMPARED:
        assert canonical[column].to_list() == expected[column].to_list(), column
    partials = record["source_tool"] not in NOT_EXPORTING_PARTIALS
    expected_failures = {row for row in QUARANTINE if partials or row[0] != 12}
    dropped, added = NOT_ANSWERED_WORDS.get(record["source_tool"], (set(), set()))
    assert failed == (expected_failures - OTHER_IN_PLACE.get(record["source_tool"], set()) - dropped) | added
    assert record["quarantined"] == len({row[0] for row in failed})


def test_the_dozen_respondents_are_too_broken_to_load_under_the_default_share():
    record, accepted, quarantine = run(CASES / "typeform_en.csv")
    assert (record["status"], record["rows_read"], record["quarantined"], accepted.height) == ("rejected", 12, 12, 0)
    assert "5 of its 12 rows (42%) failed the checks, more than the 20% a file may have" in record["message"]
    assert quarantine.filter(pl.col("source_row").is_null())["check"].to_list() == ["file_quarantined_share"]


#: file -> (status, check of the whole-file quarantine row, layout, rows_read, what the message says)
BROKEN_FILES = {
    "empty.csv": ("failed", "file_readable", None, 0, ["empty.csv was not loaded: the file is empty"]),
    "unrecognised_layout.csv": ("failed", "layout_known", None, 2, ["no known survey-tool layout matches", "'id', 'name', 'score'"]),
    "truncated_mid_row.csv": ("failed", "file_readable", None, 0, ["truncated: its last row (row 9) has 2 of the 35 cells"]),
    "binary_junk.csv": ("failed", "file_readable", None, 0, ["is a binary file, not a survey export"]),
    "other_questionnaire.csv": ("failed", "questionnaire_matched", "google_forms", 3, [
        "not an export of this questionnaire (ai_social_media): 0 of its 16 questions were found",
        "closest wordings: 'What is your current job title?' ~ 'What is your current role level?' (79% alike)",
        "If it belongs to another survey, take it out of the landing folder",
    ]),
    "missing_required_question.csv": ("failed", "required_question_present", "qualtrics", 12, [
        "required question missing: team_size ('How many people work on your social media team?'",
    ]),
    "too_many_failed_rows.csv": ("rejected", "file_quarantined_share", "qualtrics", 12, [
        "was rejected: 8 of its 12 rows (67%) failed the checks, more than the 20% a file may have",
        "valid_option 6 rows (ai_threat, ai_uses, barriers, role)", "raise SURVEYHOUSE_MAX_QUARANTINED_SHARE",
    ]),
    "truncated.sav": ("failed", "file_readable", None, 0, ["could not be read as an SPSS file"]),
    "zip_of_a_csv.xlsx": ("failed", "file_readable", None, 0, ["is a zip archive, not an Excel workbook: unzip it"]),
}  # fmt: skip


def test_every_broken_case_file_has_its_expectation():
    assert sorted(BROKEN_FILES) == sorted(path.name for path in BROKEN.iterdir())


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_a_broken_file_gets_its_status_message_and_quarantine_rows(name):
    status, check, layout, rows, phrases = BROKEN_FILES[name]
    record, accepted, quarantine = run(BROKEN / name)
    assert (record["status"], record["layout"], record["rows_read"]) == (status, layout, rows)
    assert record["quarantined"] == rows and accepted.is_empty()
    for phrase in phrases:
        assert phrase in record["message"], (phrase, record["message"])
    whole_file = quarantine.filter(pl.col("source_row").is_null())
    assert whole_file.select("source_file", "column", "check", "message").rows() == [
        (name, None, check, record["message"])
    ]
    row_failures = quarantine.filter(pl.col("source_row").is_not_null())
    if status == "rejected":  # every failed row stays in quarantine, so nothing is lost
        assert row_failures["source_row"].n_unique() == 8
        assert set(row_failures.filter(pl.col("column") == "role")["failure_case"]) == {"Freelancer", "Intern"}
    else:
        assert row_failures.is_empty()


def test_a_file_of_another_questionnaire_lists_its_columns_as_ignored():
    record, _, _ = run(BROKEN / "other_questionnaire.csv")
    assert record["columns_ignored"] == (
        "How often do you eat hot dogs?, Is a hot dog a sandwich?, What is your current job title?"
    )
