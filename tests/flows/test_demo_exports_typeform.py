"""The demo's Typeform writer, read back through the reader, the layout and the header resolver."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from demo.exports.typeform import write_typeform
from surveyhouse.read import read_export
from tests.flows.respondents import small_respondents
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout

TRAILING = ["email", "Response Type", "Start Date (UTC)", "Stage Date (UTC)", "Submit Date (UTC)", "Network ID", "Tags"]


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
    path = tmp_path_factory.mktemp("typeform") / "responses-AI-social-media-2023.csv"
    write_typeform(frame, path, seed=5)
    return frame, path, *read_back(path)


def cell(cells: pl.DataFrame, row: int, column: int) -> str | None:
    """The value of respondent ``row`` (0-based) in ``column``; None when empty."""
    found = cells.filter((pl.col("source_row") == row + 2) & (pl.col("column") == column))["value"]
    return found[0] if found.len() else None


def test_written_file_is_a_typeform_export(export):
    frame, path, raw, layout, meta, columns, _ = export
    assert (layout.name, layout.source_tool) == ("typeform", "typeform")
    assert raw.header[0][0] == "#" and raw.header[0][-len(TRAILING) :] == TRAILING
    assert meta.height == frame.height == raw.frame.height - 1
    assert not {"#", *TRAILING} & {c.header for c in columns}
    data = path.read_bytes()
    assert b"\r\n" not in data and b",2023-10-02 13:05:09," in data


def test_meta_round_trips(export):
    frame, _, raw, _, meta, _, _ = export
    ids = meta["response_id"]
    assert ids.n_unique() == frame.height and ids.str.contains(r"^[0-9a-f]{32}$").all()
    assert meta["submitted_at"].to_list() == frame["submitted_at"].to_list()
    assert meta["started_at"].to_list() == [seconds(v) for v in frame["started_at"].to_list()]
    assert meta["is_finished"].to_list() == [True] * 11 + [False]  # Response Type "partial"
    assert meta["email"].to_list() == frame["email"].to_list()  # the hidden field "email"
    assert meta["ip_address"].null_count() == frame.height  # Typeform exports a Network ID, never the address
    network = raw.frame.filter(pl.col("source_row") > 1)[f"c{raw.header[0].index('Network ID')}"]
    assert network.str.contains(r"^[0-9a-f]{10}$").all() and network.n_unique() == frame.height
    assert meta["duration_s"][0] == 300.0 and meta["duration_s"][11] is None


def test_ids_are_stable_when_written_twice(export, tmp_path):
    frame, path, *_ = export
    again = tmp_path / "again.csv"
    write_typeform(frame, again, seed=5)
    assert again.read_bytes() == path.read_bytes()
    other = tmp_path / "other.csv"
    write_typeform(frame, other, seed=6)
    assert set(read_back(other)[2]["response_id"]).isdisjoint(read_back(path)[2]["response_id"])


def test_every_column_resolves_to_the_questionnaire(export, book):
    *_, columns, _ = export
    resolved, ignored = resolve_columns(columns, book=book)
    assert ignored == [] and {r.question for r in resolved} == {q.code for q in book.questions}
    # Option columns are attached to their multi-select by the run of labels.
    visuals = [r.question for r, c in zip(resolved, columns) if c.header == "Creating visuals"]
    assert visuals == ["ai_uses", "uses_2025"]


def test_cells_carry_the_labels(export, book):
    _, _, _, _, _, columns, cells = export
    headers = [c.header for c in columns]
    index = {c.header: c.index for c in reversed(columns)}  # first column of a repeated header
    role = index[book.question("role").text["en"]]
    assert [cell(cells, i, role) for i in range(4)] == ["Manager", "Manager", "Manager", "Intern"]
    # A single choice with "Other": the typed text in the Other column right after it.
    industry = index[book.question("industry").text["en"]]
    assert headers[headers.index(book.question("industry").text["en"]) + 1] == "Other"
    assert (cell(cells, 1, industry), cell(cells, 1, industry + 1)) == (None, "Real estate")
    assert cell(cells, 0, industry) == "Retail"
    # Grid statements are questions of their own.
    threat = index[book.question("ai_threat").text["en"]]
    assert (cell(cells, 0, threat), cell(cells, 6, threat)) == ("Neither agree nor disagree", "N/A")
    # Multi-select: option-label columns, then Other; "!" elements fill the first empty columns.
    uses = headers.index("Creating visuals")
    run = headers[uses : uses + 10]
    assert run[-2:] == ["I don't use AI", "Other"]
    first = columns[uses].index
    assert [cell(cells, 0, first + k) for k in range(3)] == ["Creating visuals", None, "Copywriting"]
    assert cell(cells, 1, first + 9) == "Hashtag research"
    assert cell(cells, 4, first) == "Memes"
    assert cell(cells, 2, first + 8) == "I don't use AI"
    assert cell(cells, 0, index[book.question("company_uses_ai").text["en"]]) == "Yes"
    comment = index[book.question("comment").text["en"]]
    assert cell(cells, 5, comment) == 'Hard to say, "it depends", really.\nSecond line.'
