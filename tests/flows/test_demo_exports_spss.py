"""The SPSS writer read back through the reader (pyreadstat) and the ``spss`` layout."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pyreadstat
import pytest

from demo.exports.spss import write_spss
from surveyhouse.read import read_export
from tests.flows.respondents import small_respondents
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout


def read_back(path, **options):
    raw = read_export(path)
    layout = detect_layout(raw.header, kind=raw.kind)
    parsed = layout.parse(raw.frame.lazy(), raw.header, **options)
    return layout, raw, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def people() -> pl.DataFrame:
    return small_respondents(language="en")


def test_the_file_is_recognised_by_its_signature_not_its_name(tmp_path, people):
    path = tmp_path / "export.csv"  # a .sav saved under another name
    write_spss(people, path)
    assert path.read_bytes()[:4] == b"$FL2"
    layout, raw, meta, _, _ = read_back(path)
    assert (raw.kind, raw.delimiter, layout.name, layout.source_tool) == ("spss", None, "spss", "spss")
    assert meta.height == people.height


def test_rows_are_names_then_labels_then_cases_with_value_labels_applied(tmp_path, people):
    path = tmp_path / "export.sav"
    write_spss(people, path, dichotomy="missing")
    raw = read_export(path)
    names, labels = raw.header[0], raw.header[1]
    at = {name: f"c{i}" for i, name in enumerate(names)}
    assert names[:2] == ["StartDate", "EndDate"] and "Duration__in_seconds_" in names
    assert labels[names.index("Q1")] == "What is your current role level?"
    assert (
        labels[names.index("Q8_3")]
        == "What do you use AI for in your social media work? (select all that apply) - Copywriting"
    )
    first, fourth, last = (raw.frame.row(i, named=True) for i in (2, 5, 13))
    assert first[at["StartDate"]] == "2023-10-02 13:00:09"  # a datetime variable, as text
    assert (first[at["Q1"]], first[at["Q8_1"]], first[at["Q8_2"]]) == ("Manager", "Creating visuals", None)
    assert (first[at["Finished"]], first[at["Status"]], first[at["Duration__in_seconds_"]]) == (
        "True",
        "IP Address",
        "300",
    )
    assert fourth[at["Q1"]] == "99"  # "Intern" has no code: an unlabelled value stays a number
    assert (last[at["Finished"]], last[at["RecordedDate"]]) == ("False", None)
    assert raw.frame["source_row"].to_list() == list(range(1, 15))


def test_not_chosen_is_zero_or_system_missing(tmp_path, people):
    cells = {}
    for dichotomy in ("zero", "missing"):
        path = tmp_path / f"{dichotomy}.sav"
        write_spss(people, path, dichotomy=dichotomy)
        raw = read_export(path)
        cells[dichotomy] = raw.frame.row(2, named=True)[f"c{raw.header[0].index('Q8_2')}"]
    assert cells == {"zero": "0", "missing": None}


def test_metadata_reads_back_in_the_zone_the_settings_give(tmp_path, people):
    path = tmp_path / "paris.sav"
    write_spss(people, path, time_zone="Europe/Paris", seed=4)
    _, raw, meta, _, _ = read_back(path, time_zone="Europe/Paris")
    assert raw.frame.row(2, named=True)["c0"] == "2023-10-02 15:00:09"  # Paris summer time, no zone in the file
    assert meta["started_at"].to_list() == people["started_at"].dt.truncate("1s").to_list()
    assert meta["submitted_at"].to_list() == people["submitted_at"].to_list()
    assert meta["is_finished"].to_list() == people["submitted_at"].is_not_null().to_list()
    assert meta["language"].unique().to_list() == ["en"]
    assert meta["email"].to_list() == people["email"].to_list()
    assert meta["ip_address"].to_list() == people["ip_address"].to_list()
    assert meta["response_id"].n_unique() == people.height and meta["response_id"].str.starts_with("R_").all()
    _, _, as_utc, _, _ = read_back(path)  # without the setting: read as UTC, two hours late
    assert (as_utc["started_at"] - meta["started_at"]).dt.total_hours().unique().to_list() == [2]


def test_every_question_variable_resolves_and_the_system_ones_are_left_out(tmp_path, people, book):
    path = tmp_path / "export.sav"
    write_spss(people, path, language="fr", dichotomy="zero")
    _, raw, _, columns, _ = read_back(path)
    names = raw.header[0]
    assert {names[c.index] for c in columns} == {n for n in names if n.startswith("Q")}
    resolved, ignored = resolve_columns(columns, book=book)
    assert not ignored
    assert {r.question for r in resolved} == {q.code for q in book.questions}
    assert {r.language for r in resolved} <= {"fr", None}


def test_a_survey_tool_sav_with_its_own_variable_names_maps_its_metadata(tmp_path):
    """SurveyMonkey-style names (respondent_id, date_created, date_modified), no labels on metadata."""
    frame = pl.DataFrame({
        "respondent_id": ["114", "115"], "collector_id": ["9", "9"],
        "date_created": [datetime(2023, 10, 2, 9, 1, 2), datetime(2023, 10, 3, 10, 0, 0)],
        "date_modified": [datetime(2023, 10, 2, 9, 6, 2), None],
        "ip_address": ["192.0.2.1", None], "q0001": [3.0, None], "q0002_0001": [1.0, 0.0],
    })  # fmt: skip
    path = tmp_path / "monkey.sav"
    pyreadstat.write_sav(
        frame, str(path),
        column_labels={"q0001": "<strong>What is your current role level?</strong>",
                       "q0002_0001": "What do you use AI for in your social media work? (select all that apply) - Post ideas"},
        variable_value_labels={"q0001": {1: "Vice President or above", 3: "Manager"}, "q0002_0001": {1: "Post ideas"}},
    )  # fmt: skip
    _, _, meta, columns, cells = read_back(path, time_zone="America/New_York")
    assert meta["response_id"].to_list() == ["114", "115"]
    assert meta["started_at"].dt.strftime("%H:%M").to_list() == ["13:01", "14:00"]
    assert meta["submitted_at"].is_null().to_list() == [False, True]
    assert meta["is_finished"].to_list() == [True, False] and meta["duration_s"].to_list() == [300.0, None]
    assert [c.header for c in columns] == [
        "<strong>What is your current role level?</strong>",
        "What do you use AI for in your social media work? (select all that apply) - Post ideas",
    ]
    assert cells.rows() == [
        (3, columns[0].index, "Manager"),
        (3, columns[1].index, "Post ideas"),
        (4, columns[1].index, "0"),
    ]
