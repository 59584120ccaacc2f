"""The Typeform layout on a real export (freeCodeCamp's 2016 survey, read in place) and on
the newer column set (Response Type, hidden fields, Tags)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from surveyhouse.read import read_export
from transforms.layouts import (
    CELLS_SCHEMA,
    META_SCHEMA,
    detect_layout,
    google_forms,
    surveymonkey,
    typeform,
)

NEW_CODERS = "2016 New Coders Survey Part 1.head100.csv"


def parse(path: Path):
    raw = read_export(path)
    layout = detect_layout(raw.header)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    return layout, raw, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def new_coders(real_fixtures):
    return parse(real_fixtures / "typeform" / NEW_CODERS)


def test_real_export_is_detected_and_parsed_to_the_contract(new_coders):
    layout, raw, meta, columns, cells = new_coders
    assert (layout.name, layout.source_tool, layout.other_in_place) == ("typeform", "typeform", False)
    assert not surveymonkey.detect(raw.header) and not google_forms.detect(raw.header)
    assert dict(meta.schema) == META_SCHEMA and dict(cells.schema) == CELLS_SCHEMA
    assert meta.height == 100 == raw.frame.height - 1
    assert meta["source_row"][0] == 2
    ids = meta["response_id"]
    assert ids[0] == "995106cd710ec2af0e371cbe5e1f68fb" and ids.n_unique() == 100
    assert ids.str.contains(r"^[0-9a-f]{32}$").all()
    first = meta.row(0, named=True)
    assert first["started_at"] == datetime(2016, 3, 29, 21, 21, 23, tzinfo=UTC)
    assert first["submitted_at"] == datetime(2016, 3, 29, 21, 23, 43, tzinfo=UTC)
    assert first["duration_s"] == 140.0
    assert meta["is_finished"].all() and meta["duration_s"].null_count() == 0
    assert meta.select("language", "email", "ip_address").null_count().row(0) == (100, 100, 100)


def test_metadata_columns_are_not_questions_and_option_columns_are(new_coders):
    _, raw, _, columns, cells = new_coders
    headers = [c.header for c in columns]
    assert len(columns) == raw.frame.width - 1 - 4  # less source_row, "#", Start Date, Submit Date, Network ID
    assert not {"#", "Start Date (UTC)", "Submit Date (UTC)", "Network ID"} & set(headers)
    assert all(c.sub_label is None for c in columns)
    assert headers[:4] == [
        "Are you already working as a software developer?", "Would you prefer to...",
        "Which one of these roles are you most interested in?", "Other",
    ]  # fmt: skip
    # A multi-select: one column per option, headed by the option label alone, then "Other".
    start = headers.index("coffee-and-codes")
    assert headers[start : start + 10] == [
        "coffee-and-codes", "hackathons", "conferences", "NodeSchool", "RailsBridge",
        "Startup Weekend", "Women Who Code", "Girl Develop It", "None", "Other",
    ]  # fmt: skip
    assert headers.count("Other") == 4
    by_header = {c.header: c.index for c in columns}
    coffee = cells.filter(pl.col("column") == by_header["coffee-and-codes"])
    assert set(coffee["value"].to_list()) == {"coffee-and-codes"} and coffee["source_row"][0] == 6
    # Yes/No questions keep Typeform's 1/0, as exported.
    working = cells.filter(pl.col("column") == 1)
    assert set(working["value"].to_list()) == {"0", "1"} and working.height == 100


NEWER = (
    "#,What is your current role level?,Creating visuals,Post ideas,Other,email,utm_source,"
    "Response Type,Start Date (UTC),Stage Date (UTC),Submit Date (UTC),Network ID,Tags,Ending\n"
    "hefupfubphvacf8sv12ch63vnvacgl4s,Manager,Creating visuals,,Memes,ana@example.com,newsletter,"
    "completed,2023-10-02 13:00:09,,2023-10-02 13:05:09,5f57f20d14,vip,default_tys\n"
    "0b2d4c7e9f1a3b5c7d9e1f3a5b7c9d1e,Entry level,,,,,,partial,2023-10-03 08:00:00,2023-10-03 08:01:30,,8219d7dfee,,\n"
)


def test_newer_exports_response_type_hidden_fields_and_tags(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text(NEWER, encoding="utf-8")
    layout, _, meta, columns, cells = parse(path)
    assert layout.name == "typeform"
    assert [c.header for c in columns] == [
        "What is your current role level?",
        "Creating visuals",
        "Post ideas",
        "Other",
    ]
    assert meta["response_id"].to_list() == ["hefupfubphvacf8sv12ch63vnvacgl4s", "0b2d4c7e9f1a3b5c7d9e1f3a5b7c9d1e"]
    assert meta["is_finished"].to_list() == [True, False]
    assert meta["duration_s"].to_list() == [300.0, None]
    assert meta["email"].to_list() == ["ana@example.com", None]
    assert meta["submitted_at"].to_list() == [datetime(2023, 10, 2, 13, 5, 9, tzinfo=UTC), None]
    assert set(cells["column"].to_list()) == {1, 2, 4}


def test_detection_wants_the_token_column_and_utc_dates():
    assert typeform.detect([["#", "Q1", "Start Date (UTC)", "Submit Date (UTC)"]])
    assert not typeform.detect([["#", "Q1", "Q2"]])
    assert not typeform.detect([["Respondent ID", "Q1"], [None, "Response"]])
    assert not typeform.detect([["Timestamp", "Submit Date (UTC)"], ["1/18/2024 14:18:57", "x"]])
