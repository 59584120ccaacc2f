"""The demo's Qualtrics writer, read back through the reader, the layout and the header resolver."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from demo.exports.qualtrics import write_qualtrics
from surveyhouse.read import read_export
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout

#: Where each question lands in the export (a grid shares one number).
COLUMN_OF = {
    "role": "Q1", "industry": "Q2", "team_size": "Q3", "followers": "Q4", "ai_frequency": "Q5",
    "ai_interest": "Q6", "ai_useful": "Q7_1", "ai_threat": "Q7_2", "attention_check": "Q7_3",
    "ai_uses": "Q8", "company_uses_ai": "Q9", "plans_2024": "Q10", "want_more_ai": "Q11",
    "uses_2025": "Q12", "barriers": "Q13", "comment": "Q14",
}  # fmt: skip
OTHER_TEXT = {"industry": ("industry_other", "Q2_11_TEXT"), "ai_uses": ("ai_uses_other", "Q8_9_TEXT")}
VARIANTS = list(itertools.product(("en", "fr"), (False, True), ("joined", "split")))

FULL = {
    "role": "manager", "industry": "retail", "team_size": "t2_10", "followers": "f10k_50k",
    "ai_frequency": "weekly", "ai_interest": "somewhat", "ai_useful": "agree", "ai_threat": "neutral",
    "attention_check": "disagree", "ai_uses": ["visuals", "copywriting"], "company_uses_ai": "yes",
    "plans_2024": "increase", "want_more_ai": "yes", "uses_2025": ["ads", "research"], "barriers": ["cost"],
}  # fmt: skip
#: Twelve respondents: what each one changes from FULL.
RESPONDENTS = [
    {"email": "ada.lovelace@example.com"},
    {"industry": "other", "industry_other": "Agriculture", "ai_uses": ["other", "analytics"],
     "ai_uses_other": "Translation", "comment": "Useful, but\nslow to review."},
    {"language": "fr", "ai_uses": ["none"], "uses_2025": ["none"], "barriers": ["none"], "ai_frequency": "never"},
    {"language": "fr", "role": "!Stagiaire", "comment": "Très utile, merci !", "email": "LEA.MARTIN@example.fr"},
    {"ai_uses": ["visuals", "!Memes"], "followers": "f1m_plus"},
    {"submitted": None, **{code: None for code in FULL if code != "role"}},  # still in progress
    {"language": "fr", "attention_check": "agree", "followers": "lt_10k", "team_size": "t51_plus"},
    {"ai_uses": [], "uses_2025": None, "comment": None},  # two multi-selects left unanswered
    {"language": "fr", "industry": "other", "industry_other": "Agroalimentaire", "email": "c.dupont@example.fr"},
    {"ai_threat": "!N/A", "plans_2024": "decrease", "want_more_ai": "not_sure"},
    {"language": "fr", "role": "vp", "ai_interest": "dont_care", "company_uses_ai": "no"},
    {"barriers": ["!Budget", "cost", "!Time"], "ip": "198.51.100.77"},
]  # fmt: skip


def respondents_frame() -> pl.DataFrame:
    """The respondent model's shape: one row per respondent, option codes, "!" = invalid verbatim."""
    rows = []
    for i, changes in enumerate(RESPONDENTS):
        start = datetime(2023, 10, 3, 8, 15, 0, tzinfo=UTC) + timedelta(days=3 * i, hours=i, seconds=7 * i)
        row = {
            "started_at": start,
            "submitted_at": start + timedelta(seconds=240 + 31 * i),
            "email": None,
            "ip_address": f"192.0.2.{10 + i}",
            "language": "en",
            "industry_other": None,
            "ai_uses_other": None,
            "comment": None,
            **FULL,
        }
        row.update({key: value for key, value in changes.items() if key not in ("submitted", "ip")})
        if "submitted" in changes:
            row["submitted_at"] = None
        row["ip_address"] = changes.get("ip", row["ip_address"])
        rows.append(row)
    schema = {
        "started_at": pl.Datetime("us", "UTC"), "submitted_at": pl.Datetime("us", "UTC"),
        "email": pl.Utf8, "ip_address": pl.Utf8, "language": pl.Utf8, "industry_other": pl.Utf8,
        "ai_uses_other": pl.Utf8, "comment": pl.Utf8,
        **{code: pl.List(pl.Utf8) if isinstance(value, list) else pl.Utf8 for code, value in FULL.items()},
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def expected_cells(frame: pl.DataFrame, book, *, language: str, numeric: bool, multi: str) -> set[tuple[int, str, str]]:
    """(source_row, column id, value) of every non-empty answer cell, written out by hand."""
    cells = set()
    for offset, row in enumerate(frame.to_dicts()):
        source_row = 4 + offset

        def show(question, code):
            if code.startswith("!"):
                return code[1:]
            option = question.option(code)
            return str(option.position) if numeric else option.labels[language]

        for question in book.questions:
            value, column = row[question.code], COLUMN_OF[question.code]
            if question.type == "text" and value:
                cells.add((source_row, column, value))
            elif question.type == "single" and value is not None:
                cells.add((source_row, column, show(question, value)))
            elif question.type == "multi" and value:
                if multi == "joined":
                    cells.add((source_row, column, ",".join(show(question, code) for code in value)))
                else:
                    invalid = [code[1:] for code in value if code.startswith("!")]
                    for option in question.options:
                        if option.code in value:
                            cells.add(
                                (source_row, f"{column}_{option.position}", "1" if numeric else option.labels[language])
                            )
                        elif invalid:
                            cells.add((source_row, f"{column}_{option.position}", invalid.pop(0)))
            if question.code in OTHER_TEXT and row[OTHER_TEXT[question.code][0]]:
                cells.add((source_row, OTHER_TEXT[question.code][1], row[OTHER_TEXT[question.code][0]]))
    return cells


def read_back(path: Path):
    raw = read_export(path)
    layout = detect_layout(raw.header)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    return layout, raw, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return respondents_frame()


@pytest.mark.parametrize(("language", "numeric", "multi"), VARIANTS)
def test_every_variant_reads_back_to_the_respondents_metadata(tmp_path, frame, language, numeric, multi):
    path = tmp_path / "export.csv"
    write_qualtrics(frame, path, language=language, numeric=numeric, multi=multi, seed=11)
    layout, _, meta, _, _ = read_back(path)
    assert layout.name == "qualtrics"
    assert meta["response_id"].n_unique() == frame.height
    assert meta["response_id"].str.contains(r"^R_[A-Za-z0-9]{15}$").all()
    assert meta["started_at"].to_list() == frame["started_at"].to_list()
    assert meta["submitted_at"].to_list() == frame["submitted_at"].to_list()
    assert meta["is_finished"].to_list() == frame["submitted_at"].is_not_null().to_list()
    expected_duration = (frame["submitted_at"] - frame["started_at"]).dt.total_seconds().cast(pl.Float64)
    assert meta["duration_s"].to_list() == expected_duration.to_list()
    assert meta["email"].to_list() == frame["email"].to_list()
    assert meta["ip_address"].to_list() == frame["ip_address"].to_list()
    assert meta["language"].to_list() == frame["language"].to_list()


@pytest.mark.parametrize(("language", "numeric", "multi"), VARIANTS)
def test_every_question_cell_carries_the_expected_label_or_position(tmp_path, frame, book, language, numeric, multi):
    path = tmp_path / "export.csv"
    write_qualtrics(frame, path, language=language, numeric=numeric, multi=multi, seed=11)
    _, raw, _, columns, cells = read_back(path)
    column_id = dict(enumerate(raw.header[0]))
    got = {(row, column_id[index], value) for row, index, value in cells.rows()}
    assert got == expected_cells(frame, book, language=language, numeric=numeric, multi=multi)
    assert {column_id[c.index] for c in columns} >= {"Q1", "Q2_11_TEXT", "Q7_3", "Q8_9_TEXT", "Q14"}


@pytest.mark.parametrize(("language", "multi"), [("en", "joined"), ("fr", "split")])
def test_every_written_header_resolves_to_its_question(tmp_path, frame, book, language, multi):
    path = tmp_path / "export.csv"
    write_qualtrics(frame, path, language=language, multi=multi)
    _, raw, _, columns, _ = read_back(path)
    resolved, ignored = resolve_columns(columns, book=book)
    assert not ignored
    column_id = dict(enumerate(raw.header[0]))
    question_of = {column: code for code, column in COLUMN_OF.items()}
    for item in resolved:
        column = column_id[item.index]
        if column.endswith("_TEXT"):
            code = question_of[column.rsplit("_", 2)[0]]
            assert (item.question, item.option, item.role) == (
                code,
                book.question(code).other_option.code,
                "other_text",
            )
        elif column in question_of:
            assert (item.question, item.option) == (question_of[column], None)
        else:  # a split multi-select column Qn_<position>
            base, position = column.rsplit("_", 1)
            assert (item.question, item.option) == (
                question_of[base],
                book.question(question_of[base]).options[int(position) - 1].code,
            )
        assert item.language in (language, None)


def test_the_file_looks_like_a_qualtrics_api_export(tmp_path, frame):
    path = tmp_path / "export.csv"
    write_qualtrics(frame, path, language="fr", numeric=True, multi="split", seed=5)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") >= 3 + frame.height
    raw = read_export(path)
    ids, labels, imports = raw.header
    assert ids[:3] == ["StartDate", "EndDate", "Status"] and ids[16] == "UserLanguage" and ids[17] == "Q1"
    assert labels[0] == "Date de début" and labels[17] == "Quel est votre niveau de poste actuel ?"
    assert json.loads(imports[0]) == {"ImportId": "startDate", "timeZone": "Europe/Paris"}
    assert json.loads(imports[8]) == {"ImportId": "_recordId"}
    first = raw.frame.row(3, named=True)
    assert first["c0"] == "2023-10-03 10:15:00"  # 08:15 UTC in Paris summer time
    assert (first["c2"], first["c6"], first["c11"]) == ("0", "1", "ada.lovelace@example.com")
    unfinished = raw.frame.row(3 + 5, named=True)
    assert (unfinished["c6"], unfinished["c7"]) == ("0", None)  # Finished 0, no RecordedDate


def test_the_same_seed_writes_the_same_file(tmp_path, frame):
    paths = [tmp_path / f"{name}.csv" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (1, 1, 2)):
        write_qualtrics(frame, path, seed=seed)
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()


def test_an_unknown_option_code_is_refused(tmp_path, frame):
    with pytest.raises(ValueError, match="role: unknown option codes \\['ceo'\\]"):
        write_qualtrics(frame.with_columns(role=pl.lit("ceo")), tmp_path / "x.csv")


def test_the_2017_export_looks_like_the_real_insights_files(tmp_path, frame):
    path = tmp_path / "export.csv"
    write_qualtrics(frame, path, language="en", numeric=True, variant="2017", seed=5)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r\n" not in data
    raw = read_export(path)
    ids, labels, imports = raw.header
    assert ids[:4] == ["ResponseID", "ResponseSet", "IPAddress", "StartDate"] and labels[:11] == ids[:11]
    assert ids[-3:] == ["LocationLatitude", "LocationLongitude", "LocationAccuracy"]
    assert imports[0] == "{'ImportId': 'responseId'}" and imports[7] == "{'ImportId': 'panel-RecipientEmail'}"
    at = {column: i for i, column in enumerate(ids)}
    assert (labels[at["Q2_TEXT"]], imports[at["Q2_TEXT"]]) == (
        "Which industry does your company work in?",
        "{'ImportId': 'QID2-TEXT'}",
    )
    assert (
        labels[at["Q8_9"]]
        == "What do you use AI for in your social media work? (select all that apply)-Other (please specify)"
    )
    assert imports[at["Q8_9_TEXT"]] == "{'ImportId': 'QID8-9-TEXT'}" and at["Q8_9_TEXT"] == at["Q8_10"] + 1
    assert imports[at["Q14"]] == "{'ImportId': 'QID14-TEXT'}"
    first = raw.frame.row(3, named=True)
    assert first["c3"] == "2023-10-03 08:15:00"  # no zone named: UTC
    assert (first[f"c{at['Finished']}"], first[f"c{at['Status']}"], first[f"c{at['Q8_1']}"]) == ("1", "0", "1")
    layout, _, meta, _, _ = read_back(path)
    assert (
        layout.name == "qualtrics_insights"
        and meta["submitted_at"].to_list()[:5] == frame["submitted_at"].to_list()[:5]
    )


def test_the_legacy_export_looks_like_the_real_legacy_files(tmp_path, frame):
    path = tmp_path / "export.csv"
    write_qualtrics(frame, path, language="fr", variant="legacy", time_zone="Europe/Paris", seed=5)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfV1,V2,V3,") and b"\r\n" not in data
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(records) == 2 + frame.height and all(record[-1] == "" for record in records)  # the empty last column
    raw = read_export(path)
    ids, labels = raw.header[:2]
    assert ids[:11] == [f"V{i}" for i in range(1, 11)] + ["Q1"] and ids[-4:] == [
        "LocationLatitude",
        "LocationLongitude",
        "LocationAccuracy",
        None,
    ]
    assert labels[:10] == ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress", "IPAddress",
                           "Status", "StartDate", "EndDate", "Finished"]  # fmt: skip
    at = {column: i for i, column in enumerate(ids)}
    assert labels[at["Q2_TEXT"]] == "Dans quel secteur votre entreprise travaille-t-elle ?-TEXT"
    assert labels[at["Q8_9_TEXT"]].endswith("(plusieurs réponses pos...-Autre (veuillez préciser)-TEXT")  # cut at 100
    assert at["Q8_9_TEXT"] == at["Q8_9"] + 1  # right after its option
    first = raw.frame.row(2, named=True)
    assert (first["c1"], first["c7"], first["c9"]) == ("Ensemble de réponses par défaut", "2023-10-03 10:15:00", "1")
    assert first[f"c{at['Q8_1']}"] == "Création de visuels"
    unfinished = raw.frame.row(2 + 5, named=True)
    assert unfinished["c0"].startswith("R_") and unfinished["c9"] == "0" and unfinished["c8"] == unfinished["c7"]
    layout = detect_layout(raw.header)
    meta = layout.parse(raw.frame.lazy(), raw.header, time_zone="Europe/Paris").meta.collect()
    assert layout.name == "qualtrics_legacy"
    assert meta["is_finished"].to_list() == frame["submitted_at"].is_not_null().to_list()
    assert meta["started_at"].to_list() == frame["started_at"].to_list()  # Paris local times, read in Paris
    with pytest.raises(ValueError, match="splits every multi-select"):
        write_qualtrics(frame, path, variant="legacy", multi="joined")
