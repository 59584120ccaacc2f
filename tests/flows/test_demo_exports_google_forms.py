"""The demo's Google Forms writer, read back through the reader, the layout and the header resolver."""

from __future__ import annotations

import polars as pl
import pytest

from demo.exports.google_forms import write_google_forms
from surveyhouse.read import read_export
from tests.flows.respondents import small_respondents
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout


def read_back(path):
    raw = read_export(path)
    layout = detect_layout(raw.header)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    return raw, layout, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    frame = small_respondents()
    path = tmp_path_factory.mktemp("google_forms") / "AI in social media 2023 (Responses) - Form Responses 1.csv"
    write_google_forms(frame, path)
    return frame, path, *read_back(path)


def cell(cells: pl.DataFrame, row: int, column: int) -> str | None:
    """The value of respondent ``row`` (0-based) in ``column``; None when empty."""
    found = cells.filter((pl.col("source_row") == row + 2) & (pl.col("column") == column))["value"]
    return found[0] if found.len() else None


def test_written_file_is_a_google_forms_response_sheet(export):
    frame, path, raw, layout, meta, columns, _ = export
    assert (layout.name, layout.other_in_place) == ("google_forms", True)
    assert raw.header[0][:2] == ["Timestamp", "Email Address"]
    submitted = frame.filter(pl.col("submitted_at").is_not_null())
    assert meta.height == submitted.height == frame.height - 1  # the response in progress is not recorded
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == meta.height + 1
    assert b"\r\n10/2/2023 13:05:09," in data  # M/D/YYYY H:MM:SS, no zone


def test_meta_round_trips(export):
    frame, _, _, _, meta, _, _ = export
    submitted = frame.filter(pl.col("submitted_at").is_not_null())
    assert meta["submitted_at"].to_list() == submitted["submitted_at"].to_list()  # whole seconds in the input
    assert meta.select("started_at", "duration_s", "ip_address", "language").null_count().row(0) == (meta.height,) * 4
    assert meta["email"].to_list() == submitted["email"].to_list()
    ids = meta["response_id"]
    assert ids.n_unique() == meta.height and ids.str.contains(r"^gf-[0-9a-f]{16}$").all()
    # Respondents 7 and 8 submitted in the same second, without email: distinct ids.
    assert meta["submitted_at"][6] == meta["submitted_at"][7] and ids[6] != ids[7]


def test_ids_are_stable_when_written_twice_and_in_a_cumulative_export(export, tmp_path):
    frame, path, *_, meta, _, _ = export
    again = tmp_path / "again.csv"
    write_google_forms(frame, again)
    assert again.read_bytes() == path.read_bytes()
    yesterday = tmp_path / "yesterday.csv"
    write_google_forms(frame.head(7), yesterday)
    assert read_back(yesterday)[2]["response_id"].to_list() == meta["response_id"].to_list()[:7]


def test_every_column_resolves_to_the_questionnaire(export, book):
    *_, columns, _ = export
    resolved, ignored = resolve_columns(columns, book=book)
    assert ignored == [] and {r.question for r in resolved} == {q.code for q in book.questions}


def test_cells_carry_the_labels(export, book):
    _, _, _, _, _, columns, cells = export
    by = {c.header: c.index for c in columns}
    role = by[book.question("role").text["en"]]
    assert [cell(cells, i, role) for i in range(4)] == ["Manager", "Manager", "Manager", "Intern"]
    assert cell(cells, 3, by[book.question("team_size").text["en"]]) is None
    # "Other" text in place of the option.
    industry = by[book.question("industry").text["en"]]
    assert [cell(cells, i, industry) for i in (0, 1, 9)] == ["Retail", "Real estate", "Agriculture, forestry"]
    # Grid items: "Prompt [statement]".
    prompt = book.grids["opinions"]["en"]
    threat = by[f"{prompt} [{book.question('ai_threat').text['en']}]"]
    assert (cell(cells, 0, threat), cell(cells, 6, threat)) == ("Neither agree nor disagree", "N/A")
    # Checkboxes: labels in option order joined by ", ", the Other text last, "!" verbatim last.
    uses = by[book.question("ai_uses").text["en"]]
    assert cell(cells, 0, uses) == "Creating visuals, Copywriting"
    assert cell(cells, 1, uses) == "Scheduling, Hashtag research"
    assert cell(cells, 4, uses) == "Post ideas, Memes"
    assert cell(cells, 5, uses) is None  # an empty list: unanswered
    assert (
        cell(cells, 8, uses) == "Creating ads, Ad targeting, Analytics and reporting, Replying to comments and messages"
    )
    barriers = by[book.question("barriers").text["en"]]
    assert cell(cells, 4, barriers) == "Data privacy and security, Budget, Time"
    comment = by[book.question("comment").text["en"]]
    assert cell(cells, 5, comment) == 'Hard to say, "it depends", really.\nSecond line.'


def test_no_email_column_when_the_form_collects_none(tmp_path):
    path = tmp_path / "anonymous.csv"
    write_google_forms(small_respondents().with_columns(email=pl.lit(None, pl.Utf8)), path)
    raw, layout, meta, _, _ = read_back(path)
    assert raw.header[0][1] != "Email Address" and meta["email"].null_count() == meta.height


def test_french_form_labels(tmp_path, book):
    path = tmp_path / "fr.csv"
    write_google_forms(small_respondents(language="fr"), path)
    _, _, _, columns, cells = read_back(path)
    by = {c.header: c.index for c in columns}
    assert cell(cells, 0, by[book.question("ai_uses").text["fr"]]) == "Création de visuels, Rédaction"
    resolved, ignored = resolve_columns(columns, book=book)
    assert ignored == [] and {r.language for r in resolved} <= {"fr", None}
