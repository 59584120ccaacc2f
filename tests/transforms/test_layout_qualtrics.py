"""The Qualtrics layouts on real exports (read in place) and on Excel re-saves of them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from surveyhouse.read import read_export
from transforms.layouts import (
    CELLS_SCHEMA,
    META_SCHEMA,
    SourceColumn,
    detect_layout,
    qualtrics,
)
from transforms.timestamps import parse_timestamp

REAL_FILES = {
    "sample.csv": "qualtrics",
    "sample_legacy.csv": "qualtrics_legacy",
    "Beskar Armor.csv": "qualtrics",
    "2206062.csv": "qualtrics",
    "Questions_with_Text_Entry_Components.csv": "qualtrics_insights",
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def parse(path: Path):
    raw = read_export(path)
    layout = detect_layout(raw.header)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    return layout, raw, parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def qualtrics_dir(real_fixtures) -> Path:
    return real_fixtures / "qualtrics"


@pytest.mark.parametrize(("name", "layout_name"), sorted(REAL_FILES.items()))
def test_every_real_qualtrics_export_is_detected_and_parsed_to_the_contract(qualtrics_dir, name, layout_name):
    layout, raw, meta, columns, cells = parse(qualtrics_dir / name)
    assert (layout.name, layout.source_tool) == (layout_name, "qualtrics")
    assert dict(meta.schema) == META_SCHEMA
    assert dict(cells.schema) == CELLS_SCHEMA
    data_rows = raw.frame.height - (2 if layout_name == "qualtrics_legacy" else 3)
    assert meta.height == data_rows
    assert meta["response_id"].null_count() == 0 and meta["response_id"].n_unique() == data_rows
    assert set(cells["column"].to_list()) <= {c.index for c in columns}
    assert not (cells["value"] == qualtrics.SEEN_UNANSWERED).any()


def test_other_tools_real_exports_are_not_taken_for_qualtrics(real_fixtures):
    others = [
        p for tool in ("surveymonkey", "google_forms", "typeform") for p in sorted((real_fixtures / tool).iterdir())
    ]
    assert others
    for path in others:
        header = read_export(path).header
        assert not [layout.name for layout in qualtrics.LAYOUTS if layout.detect(header)], path.name


def test_beskar_armor_times_are_read_in_denver_time_and_converted_to_utc(qualtrics_dir):
    _, _, meta, columns, cells = parse(qualtrics_dir / "Beskar Armor.csv")
    first = meta.row(0, named=True)
    assert meta.height == 44
    assert first["response_id"] == "R_A7l3qPgjI2gQ6vT"
    assert first["started_at"] == utc(2020, 2, 20, 1, 16, 42)  # 2020-02-19 18:16:42 America/Denver
    assert first["submitted_at"] == utc(2020, 2, 20, 1, 17, 19)
    assert first["duration_s"] == 37.0 and first["language"] == "en"
    assert meta["is_finished"].sum() == 40  # 4 partial responses, closed and recorded
    assert meta.filter(~pl.col("is_finished"))["submitted_at"].null_count() == 0
    assert meta["ip_address"][1] == "98.14.36.23" and meta["ip_address"][0] is None  # a preview has no IP
    headers = [c.header for c in columns]
    assert headers[0] == "How often do you typically use your beskar armor?"
    assert headers[-1] == "SolutionRevision"  # embedded data is kept
    assert all(c.sub_label is None for c in columns)
    assert not {"Response Type", "Progress", "Location Latitude", "Distribution Channel"} & set(headers)
    # a cell with newlines inside its quotes stays one value
    assert "Yes, by me or someone outside the tribe \n\n" in cells["value"].to_list()


def test_responses_in_progress_are_unfinished_and_not_submitted(qualtrics_dir):
    _, _, meta, columns, cells = parse(qualtrics_dir / "2206062.csv")
    assert meta.height == 15
    assert meta["response_id"].str.starts_with("FS_").all()
    assert meta["is_finished"].sum() == 0
    assert meta["submitted_at"].null_count() == 15  # RecordedDate is empty: not submitted yet
    assert meta["started_at"][0] == utc(2022, 6, 10, 14, 14, 16)  # timeZone "Z"
    assert meta["duration_s"][0] == 74.0
    assert meta["ip_address"].null_count() == 15 and meta["email"].null_count() == 15
    headers = [c.header for c in columns]
    assert headers[0] == "What is your gender?"
    assert "psid" in headers and "Q_TotalDuration" not in headers and "Q_URL" not in headers
    gender = cells.filter(pl.col("column") == columns[0].index)["value"]
    assert sorted(gender.value_counts().rows()) == [("Female", 9), ("Male", 2)]  # 4 not answered yet


def test_numeric_export_with_german_labels_maps_metadata_by_import_id(qualtrics_dir):
    _, _, meta, columns, cells = parse(qualtrics_dir / "sample.csv")
    assert meta.to_dicts() == [
        {
            "source_row": 4,
            "response_id": "R_2YPOQ602ER1jkf1",
            "started_at": utc(2017, 7, 18, 8, 28, 9),  # no timeZone key: UTC
            "submitted_at": utc(2017, 7, 18, 8, 28, 48),
            "duration_s": 38.0,
            "is_finished": True,  # Finished = 1
            "language": "de",  # UserLanguage DE
            "email": None,
            "ip_address": "130.92.34.66",
        }
    ]
    assert columns == (
        SourceColumn(17, "This is a multiple choice question."),
        SourceColumn(18, "This is a free text question."),
        SourceColumn(19, "Q2 - Topics"),  # Text iQ
    )
    assert cells.rows() == [(4, 17, "2"), (4, 18, "Hello World!")]


def test_legacy_export_has_two_header_rows_and_its_own_metadata_names(qualtrics_dir):
    layout, _, meta, columns, cells = parse(qualtrics_dir / "sample_legacy.csv")
    assert layout.name == "qualtrics_legacy"
    row = meta.row(0, named=True)
    assert (row["source_row"], row["response_id"], row["ip_address"]) == (3, "R_2YPOQ602ER1jkf1", "130.92.34.66")
    assert row["started_at"] == utc(2017, 7, 18, 8, 28, 9) and row["is_finished"] is True
    assert row["duration_s"] == 39.0  # no Duration column: EndDate - StartDate
    assert [c.header for c in columns] == ["This is a multiple choice question.", "This is a free text question."]
    assert cells.rows() == [(3, 10, "2"), (3, 11, "Hello World!")]


def test_insights_export_drops_seen_but_unanswered_and_splits_sub_labels(qualtrics_dir):
    _, raw, meta, columns, cells = parse(qualtrics_dir / "Questions_with_Text_Entry_Components.csv")
    assert meta.height == 15 and meta["response_id"][0] == "R_03bZW3oneV8tKqp"
    assert meta["is_finished"].all() and meta["started_at"][0] == utc(2017, 7, 18, 10, 31, 15)
    answer_columns = [f"c{c.index}" for c in columns]
    data = raw.frame.filter(pl.col("source_row") > 3).select(answer_columns)
    raw_values = data.unpivot().filter(pl.col("value").is_not_null())
    seen_unanswered = (raw_values["value"] == "-99").sum()
    assert seen_unanswered == 12
    assert cells.height == raw_values.height - seen_unanswered
    by_index = {c.index: c for c in columns}
    question = "Click to write the question text"
    assert by_index[11] == SourceColumn(11, question)  # QID1
    assert by_index[12] == SourceColumn(12, question, "Text")  # QID1-TEXT
    assert by_index[15] == SourceColumn(15, question, "Click to write Choice 1")  # QID3-1
    assert by_index[18] == SourceColumn(18, question, "Click to write Choice 1 - Text")  # QID3-1-TEXT
    assert by_index[25].sub_label == "Click to write Column 1-Click to write Statement 1"  # QID5#1-1
    kept = {c.index for c in columns}
    assert not kept & {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 37, 38, 39}  # metadata, Recipient*, Location*


EXCEL_RESAVED = """StartDate;EndDate;Status;Finished;RecordedDate;ResponseId;UserLanguage;email;Q1
Date de début;Date de fin;Type de réponse;Terminé;Date d'enregistrement;ID de réponse;Langue;email;Quel est votre niveau de poste actuel ?
"{""ImportId"":""startDate"",""timeZone"":""Europe/Paris""}";"{""ImportId"":""endDate"",""timeZone"":""Europe/Paris""}";"{""ImportId"":""status""}";"{""ImportId"":""finished""}";"{""ImportId"":""recordedDate"",""timeZone"":""Europe/Paris""}";"{""ImportId"":""_recordId""}";"{""ImportId"":""userLanguage""}";"{""ImportId"":""email""}";"{""ImportId"":""QID1""}"
{rows}"""


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2023-10-02 14:03:00", "2023-10-13 14:10:00"),  # as Qualtrics writes it
        ("2023-10-02 14:03", "2023-10-13 14:10"),  # Excel, ISO display
        ("02/10/2023 14:03", "13/10/2023 14:10"),  # French Excel: day first
        ("10/2/2023 2:03 PM", "10/13/2023 2:10 PM"),  # US Excel: month first, 12-hour clock
    ],
)
def test_excel_resaved_dates_are_read_in_either_order(tmp_path, start, end):
    rows = [f"{start};{end};0;1;{end};R_abc{i};FR-CA;x{i}@example.org;2" for i in range(2)]
    path = tmp_path / "resaved.csv"
    path.write_text(EXCEL_RESAVED.replace("{rows}", "\r\n".join(rows) + "\r\n"), encoding="utf-8")
    layout, _, meta, columns, _ = parse(path)
    assert layout.name == "qualtrics"
    assert meta["started_at"].to_list() == [utc(2023, 10, 2, 12, 3)] * 2  # 14:03 Paris summer time
    assert meta["submitted_at"].to_list() == [utc(2023, 10, 13, 12, 10)] * 2
    assert meta["language"].to_list() == ["fr", "fr"]  # FR-CA
    assert meta["email"].to_list() == ["x0@example.org", "x1@example.org"]  # embedded-data email
    assert [c.header for c in columns] == ["Quel est votre niveau de poste actuel ?"]


def test_slash_dates_take_the_order_that_reads_the_whole_column():
    frame = pl.DataFrame(
        {
            "us": ["10/02/2023 02:03:04 PM", "10/13/2023 09:00:00 AM"],  # SurveyMonkey
            "fr": ["02/10/2023 14:03", "13/10/2023 09:00"],
            "tie": ["02/10/2023 14:03", "03/10/2023 09:00"],
            "forms": ["10/2/2023 14:03:04", "1/18/2024 9:00:00"],  # Google Forms
        }
    )
    read = frame.select(parse_timestamp(pl.col(name), time_zone="UTC").alias(name) for name in frame.columns)
    assert read["us"][0] == utc(2023, 10, 2, 14, 3, 4)
    assert read["fr"][0] == utc(2023, 10, 2, 14, 3)
    assert read["tie"][0] == utc(2023, 2, 10, 14, 3)  # both orders read it: month first
    assert frame.select(parse_timestamp(pl.col("tie"), time_zone="UTC", day_first=True)).item(0, 0) == utc(
        2023, 10, 2, 14, 3
    )
    assert read["forms"].to_list() == [utc(2023, 10, 2, 14, 3, 4), utc(2024, 1, 18, 9)]
