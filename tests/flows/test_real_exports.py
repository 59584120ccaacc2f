"""Every real export of another survey (``shared/fixtures/real``, read in place) is read
without a crash, recognised as its tool, counted, its questions listed, and reported
cleanly as not this questionnaire, with the closest wordings it has."""

from __future__ import annotations

import pytest

from schemas.codebook import codebook
from surveyhouse.read import read_export
from surveyhouse.staging import process_export
from transforms.headers import column_text
from transforms.layouts import detect_layout

#: file -> (layout, responses, question columns, one of its questions)
REAL = {
    "qualtrics/sample.csv": ("qualtrics", 1, 3, "This is a multiple choice question."),
    "qualtrics/sample_legacy.csv": ("qualtrics_legacy", 1, 2, "This is a free text question."),
    "qualtrics/Beskar Armor.csv": ("qualtrics", 44, 7, "How often do you typically use your beskar armor?"),
    "qualtrics/2206062.csv": ("qualtrics", 15, 129, "What is your gender?"),
    "qualtrics/Questions_with_Text_Entry_Components.csv": ("qualtrics_insights", 15, 26, "Click to write the question text"),
    "surveymonkey/steak-risk-survey.csv": ("surveymonkey", 550, 14, "How do you like your steak prepared?"),
    "surveymonkey/MIDWEST.csv": ("surveymonkey", 2778, 52, "How much, if at all, do you personally identify as a Midwesterner? - A lot"),
    "surveymonkey/StarWars.csv": ("surveymonkey", 1186, 37, "Have you seen any of the 6 films in the Star Wars franchise?"),
    "google_forms/DS-4002-spr24-survey-results - Form Responses 1.csv": (
        "google_forms", 91, 6, "Do you believe that a hotdog falls under the category of a sandwich?"),
    "google_forms/Ask A Manager Salary Survey 2021 (Responses) - Form Responses 1.head28.csv": ("google_forms", 28, 17, "How old are you?"),
    "typeform/2016 New Coders Survey Part 1.head100.csv": ("typeform", 100, 47, "Are you already working as a software developer?"),
}  # fmt: skip


def test_every_real_fixture_is_listed(real_fixtures):
    on_disk = {str(path.relative_to(real_fixtures)) for path in real_fixtures.glob("*/*") if path.is_file()}
    assert on_disk == set(REAL)


@pytest.mark.parametrize("name", sorted(REAL))
def test_a_real_export_of_another_survey_is_read_and_reported_as_not_this_questionnaire(real_fixtures, name):
    layout, responses, n_columns, question = REAL[name]
    path = real_fixtures / name
    record, accepted, quarantine = process_export(
        path, run_id="real", file_order=1, wave=2023, book=codebook(), key=b"k"
    )
    assert (record["layout"], record["rows_read"], record["status"]) == (layout, responses, "failed")
    assert record["quarantined"] == responses and accepted.is_empty()
    assert (
        f"{path.name} was not loaded: it is not an export of this questionnaire (ai_social_media): 0 of its 16"
        in record["message"]
    )
    assert f"among the file's {n_columns} columns; the file's closest wordings: " in record["message"]
    assert "% alike)" in record["message"]
    # Its questions are listed: every column the layout found, as a person reads its header.
    raw = read_export(path)
    parsed = detect_layout(raw.header, kind=raw.kind).parse(raw.frame.lazy(), raw.header)
    assert len(parsed.columns) == n_columns
    listed = list(dict.fromkeys(column_text(column) for column in parsed.columns))
    assert record["columns_ignored"] == ", ".join(listed)
    assert question in listed
    assert quarantine.select("source_row", "check").rows() == [(None, "questionnaire_matched")]
