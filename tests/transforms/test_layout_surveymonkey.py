"""The SurveyMonkey layout on real exports (FiveThirtyEight's, read in place) and on the
current metadata block."""

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

#: file -> (data rows, first Respondent ID)
REAL_FILES = {
    "MIDWEST.csv": (2778, "3126807211"),
    "StarWars.csv": (1186, "3292879998"),
    "steak-risk-survey.csv": (550, "3237565956"),
}
STATES = "Which of the following states do you consider part of the Midwest? Please select all that apply. "
IDENTIFY = "How much, if at all, do you personally identify as a Midwesterner?"


def parse(path: Path):
    raw = read_export(path)
    layout = detect_layout(raw.header)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    return layout, raw, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def monkey_dir(real_fixtures) -> Path:
    return real_fixtures / "surveymonkey"


@pytest.mark.parametrize(("name", "expected"), sorted(REAL_FILES.items()))
def test_every_real_surveymonkey_export_is_detected_and_parsed_to_the_contract(monkey_dir, name, expected):
    rows, first_id = expected
    layout, raw, meta, columns, cells = parse(monkey_dir / name)
    assert (layout.name, layout.source_tool) == ("surveymonkey", "surveymonkey")
    assert not google_forms.detect(raw.header) and not typeform.detect(raw.header)
    assert dict(meta.schema) == META_SCHEMA and dict(cells.schema) == CELLS_SCHEMA
    assert meta.height == rows == raw.frame.height - 2
    assert meta["source_row"].to_list()[:2] == [3, 4]
    assert meta["response_id"][0] == first_id and meta["response_id"].n_unique() == rows
    # FiveThirtyEight kept RespondentID alone: no dates, addresses or emails to read.
    assert (
        meta.select("started_at", "submitted_at", "duration_s", "email", "ip_address").null_count().row(0)
        == (rows,) * 5
    )
    assert meta["is_finished"].all()
    assert 0 not in {c.index for c in columns}  # RespondentID is metadata
    assert set(cells["column"].unique().to_list()) <= {c.index for c in columns}


def test_midwest_forward_fills_question_text_over_option_columns(monkey_dir):
    _, _, meta, columns, cells = parse(monkey_dir / "MIDWEST.csv")
    by_index = {c.index: c for c in columns}
    assert by_index[1].sub_label is None  # "Open-Ended Response"
    assert by_index[1].header.startswith("In your own words")
    # An "expanded" single choice: one column per option, question text over the first only.
    assert [(by_index[i].header, by_index[i].sub_label) for i in range(2, 6)] == [
        (IDENTIFY, "A lot"), (IDENTIFY, "Some"), (IDENTIFY, "Not much"), (IDENTIFY, "Not at all"),
    ]  # fmt: skip
    # A multi-select of 20 states, blank row-1 cells filled with the question text.
    states = [c for c in columns if c.header == STATES]
    assert len(states) == 20 and (states[0].sub_label, states[-1].sub_label) == ("Illinois", "Wyoming")
    assert (
        by_index[max(by_index)].header == "Location (Census Region)" and by_index[max(by_index)].sub_label == "Pacific"
    )
    # Cells hold the option text, as exported; unanswered cells are absent.
    first = cells.filter(pl.col("source_row") == 3)
    assert dict(zip(first["column"].to_list(), first["value"].to_list()))[1] == "Southern"
    assert dict(zip(first["column"].to_list(), first["value"].to_list()))[4] == "Not much"
    assert 2 not in first["column"].to_list()
    second = cells.filter((pl.col("source_row") == 4) & pl.col("column").is_in([c.index for c in states]))
    assert second["value"].to_list()[:3] == ["Illinois", "Indiana", "Iowa"]


def test_starwars_invalid_utf8_is_read_and_its_columns_kept(monkey_dir):
    layout, raw, meta, columns, cells = parse(monkey_dir / "StarWars.csv")
    assert raw.encoding == "utf-8 (invalid bytes replaced)"
    expanded = next(c for c in columns if c.header.startswith("Do you consider yourself to be a fan of the Expanded"))
    assert expanded.header.endswith("\ufffd") and expanded.sub_label is None
    seen = [c for c in columns if c.header.startswith("Which of the following Star Wars films")]
    assert [c.sub_label for c in seen][:2] == [
        "Star Wars: Episode I  The Phantom Menace",
        "Star Wars: Episode II  Attack of the Clones",
    ]
    ranked = [c for c in columns if c.header.startswith("Please rank")]
    assert len(ranked) == 6 and ranked[0].sub_label == seen[0].sub_label  # same labels, another question
    first = cells.filter(pl.col("source_row") == 3).sort("column")
    assert first.filter(pl.col("column") == ranked[0].index)["value"].to_list() == ["3"]


def test_steak_single_answers_have_no_sub_label_and_stopped_rows_keep_their_answer(monkey_dir):
    _, _, meta, columns, cells = parse(monkey_dir / "steak-risk-survey.csv")
    assert len(columns) == 14 and all(c.sub_label is None for c in columns)
    assert columns[0].header.startswith("Consider the following hypothetical situations: <br>")
    stopped = cells.filter(pl.col("source_row") == 3)
    assert stopped.rows() == [(3, 1, "Lottery B")]


CURRENT = (
    "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,Last Name,Custom Data 1,"
    "What is your current role level?,Which industry does your company work in?,,"
    "How much do you agree with each statement?,\r\n"
    ",,,,,,,,,Response,Response,Other (please specify),AI is a useful tool for social media management.,"
    "AI tools are a threat to my job.\r\n"
    "114227333281,431554712,10/02/2023 02:03:04 PM,10/02/2023 02:09:15 PM,203.0.113.9,ana@example.com,Ana,,,"
    "Manager,,Agriculture,Agree,Disagree\r\n"
    "114227300017,431554712,10/01/2023 11:59:00 AM,,198.51.100.4,,,,,Entry level,Retail,,,\r\n"
)


def test_current_metadata_block_us_dates_and_other_box(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(CURRENT, encoding="utf-8", newline="")
    layout, _, meta, columns, cells = parse(path)
    assert layout.name == "surveymonkey"
    assert meta["response_id"].to_list() == ["114227333281", "114227300017"]
    assert meta["started_at"][0] == datetime(2023, 10, 2, 14, 3, 4, tzinfo=UTC)
    assert meta["submitted_at"][0] == datetime(2023, 10, 2, 14, 9, 15, tzinfo=UTC)
    assert meta["duration_s"].to_list() == [371.0, None]
    assert meta["is_finished"].to_list() == [True, False]  # no End Date: not completed
    assert meta["email"].to_list() == ["ana@example.com", None]
    assert meta["ip_address"].to_list() == ["203.0.113.9", "198.51.100.4"]
    assert [(c.index, c.header, c.sub_label) for c in columns] == [
        (9, "What is your current role level?", None),
        (10, "Which industry does your company work in?", None),
        (11, "Which industry does your company work in?", "Other (please specify)"),
        (12, "How much do you agree with each statement?", "AI is a useful tool for social media management."),
        (13, "How much do you agree with each statement?", "AI tools are a threat to my job."),
    ]
    assert cells.filter(pl.col("column") == 11)["value"].to_list() == ["Agriculture"]


def test_detection_needs_the_blank_second_header_row():
    assert surveymonkey.detect([["Respondent ID", "Q1"], [None, "Response"], ["1", "Yes"]])
    assert not surveymonkey.detect([["Respondent ID", "Q1"], ["1", "Yes"]])  # a one-row-header file
    assert not surveymonkey.detect([["Timestamp", "Q1"], ["1/18/2024 14:18:57", "Yes"]])
    assert not surveymonkey.detect(
        [["StartDate", "EndDate"], ["Start Date", "End Date"], ['{"ImportId":"startDate"}', "x"]]
    )
