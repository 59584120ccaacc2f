"""The demo's SurveyMonkey writer, read back through the reader, the layout and the header resolver."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from demo.exports.surveymonkey import write_surveymonkey
from surveyhouse.read import read_export
from tests.flows.respondents import small_respondents
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout

METADATA = [
    "Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
    "Email Address", "First Name", "Last Name", "Custom Data 1",
]  # fmt: skip


def read_back(path):
    raw = read_export(path)
    layout = detect_layout(raw.header)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    return raw, layout, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


def seconds(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value else None


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    frame = small_respondents()
    path = tmp_path_factory.mktemp("surveymonkey") / "AI in Social Media 2023 - SurveyMonkey Data_All_231116.csv"
    write_surveymonkey(frame, path, seed=5)
    return frame, path, *read_back(path)


def cell(cells: pl.DataFrame, row: int, column: int) -> str | None:
    """The value of respondent ``row`` (0-based) in ``column``; None when empty."""
    found = cells.filter((pl.col("source_row") == row + 3) & (pl.col("column") == column))["value"]
    return found[0] if found.len() else None


def test_written_file_is_a_surveymonkey_export(export):
    frame, path, raw, layout, meta, columns, cells = export
    assert (layout.name, layout.source_tool) == ("surveymonkey", "surveymonkey")
    assert list(raw.header[0][:9]) == METADATA and raw.header[1][:9] == [None] * 9
    assert meta.height == frame.height == raw.frame.height - 2
    assert path.read_bytes().count(b"\r\n") == frame.height + 2  # CRLF records (the comment keeps its bare LF)
    assert b"10/02/2023 01:05:09 PM" in path.read_bytes()  # US dates, 12-hour clock


def test_meta_round_trips(export):
    frame, _, _, _, meta, _, _ = export
    ids = meta["response_id"]
    assert ids.n_unique() == frame.height and ids.str.contains(r"^\d{11}$").all()
    assert ids.cast(pl.Int64).is_sorted()
    assert meta["submitted_at"].to_list() == [seconds(v) for v in frame["submitted_at"].to_list()]
    assert meta["started_at"].to_list() == [seconds(v) for v in frame["started_at"].to_list()]
    assert meta["email"].to_list() == frame["email"].to_list()
    assert meta["ip_address"].to_list() == frame["ip_address"].to_list()
    assert meta["is_finished"].to_list() == frame["submitted_at"].is_not_null().to_list()
    assert meta["duration_s"][0] == 300.0 and meta["language"].null_count() == frame.height


def test_ids_are_stable_when_written_twice(export, tmp_path):
    frame, path, *_ = export
    again = tmp_path / "again.csv"
    write_surveymonkey(frame, again, seed=5)
    assert again.read_bytes() == path.read_bytes()
    other = tmp_path / "other.csv"
    write_surveymonkey(frame, other, seed=6)
    assert set(read_back(other)[2]["response_id"]).isdisjoint(read_back(path)[2]["response_id"])


def test_every_column_resolves_to_the_questionnaire(export, book):
    *_, columns, _ = export
    resolved, ignored = resolve_columns(columns, book=book)
    assert ignored == []
    assert {r.question for r in resolved} == {q.code for q in book.questions}


def test_cells_carry_the_labels(export, book):
    frame, _, _, _, _, columns, cells = export
    by = {(c.header, c.sub_label): c.index for c in columns}
    role, industry = book.question("role"), book.question("industry")
    role_column = by[(role.text["en"], None)]
    assert [cell(cells, i, role_column) for i in range(4)] == ["Manager", "Manager", "Manager", "Intern"]
    followers = by[(book.question("followers").text["en"], None)]
    assert cell(cells, 0, followers) == "10,000 - 49,999" and cell(cells, 1, followers) == "1,000,000 or more"
    assert cell(cells, 3, by[(book.question("team_size").text["en"], None)]) is None  # unanswered
    # Industry "Other": the Response cell stays empty, the text goes to the Other box.
    other_box = by[(industry.text["en"], "Other (please specify)")]
    assert (cell(cells, 1, by[(industry.text["en"], None)]), cell(cells, 1, other_box)) == (None, "Real estate")
    assert cell(cells, 9, other_box) == "Agriculture, forestry"
    # The grid: prompt in row 1, statement in row 2, the scale label in the cell.
    prompt = book.grids["opinions"]["en"]
    assert cell(cells, 0, by[(prompt, book.question("ai_useful").text["en"])]) == "Agree"
    assert cell(cells, 6, by[(prompt, book.question("ai_threat").text["en"])]) == "N/A"  # "!N/A" verbatim
    assert cell(cells, 6, by[(prompt, book.question("attention_check").text["en"])]) == "Agree"
    # Multi-select: the option text in its own column; "!" elements fill the first empty ones.
    uses = book.question("ai_uses").text["en"]
    assert cell(cells, 0, by[(uses, "Creating visuals")]) == "Creating visuals"
    assert cell(cells, 0, by[(uses, "Post ideas")]) is None
    assert cell(cells, 1, by[(uses, "Other (please specify)")]) == "Hashtag research"
    assert cell(cells, 2, by[(uses, "I don't use AI")]) == "I don't use AI"
    assert cell(cells, 4, by[(uses, "Creating visuals")]) == "Memes"
    barriers = book.question("barriers").text["en"]
    assert [cell(cells, 4, by[(barriers, label)]) for label in ("Limited organizational experience", "Lack of understanding")] == [
        "Budget", "Time",
    ]  # fmt: skip
    comment = by[(book.question("comment").text["en"], None)]
    assert cell(cells, 5, comment) == 'Hard to say, "it depends", really.\nSecond line.'
    # The respondent still in progress answered the first questions only.
    assert (
        cells.filter(pl.col("source_row") == 11 + 3)["column"].max()
        < by[(book.question("company_uses_ai").text["en"], None)]
    )


def test_french_respondents_get_french_headers_and_labels(tmp_path, book):
    path = tmp_path / "fr.csv"
    write_surveymonkey(small_respondents(language="fr"), path, seed=1)
    raw, layout, _, columns, cells = read_back(path)
    by = {(c.header, c.sub_label): c.index for c in columns}
    assert cell(cells, 0, by[(book.question("role").text["fr"], None)]) == "Responsable / Manager"
    assert (book.question("industry").text["fr"], "Autre (veuillez préciser)") in by
    resolved, ignored = resolve_columns(columns, book=book)
    assert ignored == [] and {r.language for r in resolved} <= {"fr", None}
