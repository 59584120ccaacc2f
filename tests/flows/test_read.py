"""Reading files into raw frames: told apart by their bytes, Excel re-saves and workbooks
read into the same cells as the tool's own CSV, cut files refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from demo.exports.workbook import write_workbook
from surveyhouse.read import EXPORT_SUFFIXES, UnreadableExport, read_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"


def cells(path: Path) -> list[list[str | None]]:
    return [list(row) for row in read_export(path).frame.drop("source_row").iter_rows()]


def test_the_landing_folder_is_scanned_for_workbooks_and_spss_files_too():
    assert {".csv", ".tsv", ".txt", ".xlsx", ".sav", ".zsav"} <= set(EXPORT_SUFFIXES)


def test_the_kind_of_file_comes_from_its_bytes_not_its_name(tmp_path):
    workbook, text = tmp_path / "export.csv", tmp_path / "export.xlsx"
    write_workbook([["Timestamp", "Q"], ["1/18/2024 14:18:57", "Yes"]], workbook)
    text.write_text("Timestamp,Q\r\n1/18/2024 14:18:57,Yes\r\n", encoding="utf-8")
    assert (read_export(workbook).kind, read_export(text).kind) == ("workbook", "delimited")
    assert cells(workbook) == cells(text)


def test_a_workbook_gives_its_cells_as_text_with_rows_numbered_as_the_sheet_shows(tmp_path):
    path = tmp_path / "book.xlsx"
    rows = [
        ["Respondent ID", "Start Date", "Q"],
        [None, None, "Response"],
        [11000000123, datetime(2023, 10, 2, 14, 3), "Manager"],
        [None, None, None],
        [11000000124, "10/03/2023 09:00:00 AM", "line one\nline two"],
        [3, 2.5, ""],
    ]
    write_workbook(rows, path)
    raw = read_export(path)
    assert (raw.kind, raw.delimiter, raw.encoding) == ("workbook", None, "utf-8")
    assert raw.frame["source_row"].to_list() == [1, 2, 3, 4, 5, 6]
    assert cells(path) == [
        ["Respondent ID", "Start Date", "Q"],
        [None, None, "Response"],
        ["11000000123", "2023-10-02 14:03:00", "Manager"],  # a date cell, as the timestamp readers read it
        [None, None, None],
        ["11000000124", "10/03/2023 09:00:00 AM", "line one\nline two"],
        ["3", "2.5", None],
    ]


def test_an_excel_resave_reads_into_the_same_cells_but_its_dates(tmp_path):
    original = read_export(CASES / "qualtrics_fr_labels_split.csv")
    resaved = read_export(CASES / "excel_fr_qualtrics_fr_labels_split.csv")
    assert (resaved.encoding, resaved.delimiter) == ("cp1252", ";")
    assert resaved.frame.shape == original.frame.shape
    dates = ["c0", "c1", "c7"]  # StartDate, EndDate, RecordedDate: re-formatted by Excel
    assert resaved.frame.drop(dates).equals(original.frame.drop(dates))
    assert (original.frame["c1"][3], resaved.frame["c1"][3]) == ("2023-10-02 15:05:09", "02/10/2023 15:05")
    assert "Hard to say" in resaved.frame.filter(pl.col("source_row") == 9)["c57"][0]  # a quoted cell with a newline


def test_a_utf8_resave_with_bom_and_crlf_reads_like_the_original():
    original = read_export(CASES / "surveymonkey_en.csv")
    resaved = read_export(CASES / "excel_en_surveymonkey_en.csv")
    assert (resaved.encoding, resaved.delimiter) == ("utf-8-sig", ",")
    assert resaved.frame.drop("c2", "c3").equals(original.frame.drop("c2", "c3"))
    assert (original.frame["c2"][2], resaved.frame["c2"][2]) == ("10/02/2023 01:00:09 PM", "10/2/2023 13:00")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'a,b,c\r\n1,"two\r\nlines', "it ends inside a quoted cell"),
        (b"a,b,c\r\n1,2,3\r\n4,5", "its last row (row 3) has 2 of the 3 cells of the first"),
    ],
)
def test_a_file_cut_short_is_refused(tmp_path, content, reason):
    path = tmp_path / "cut.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableExport, match="is truncated: " + reason.replace("(", r"\(").replace(")", r"\)")):
        read_export(path)


def test_a_complete_file_without_a_final_line_break_is_read(tmp_path):
    path = tmp_path / "sheet.csv"  # Google Sheets writes no final line break
    path.write_bytes(b'Timestamp,Q\r\n1/18/2024 14:18:57,"a, b"\r\n1/18/2024 14:19:01,')
    assert cells(path) == [["Timestamp", "Q"], ["1/18/2024 14:18:57", "a, b"], ["1/18/2024 14:19:01", None]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"PK\x03\x04not really a zip", "damaged zip or Excel workbook"),
        (b"$FL2 not really SPSS", "could not be read as an SPSS file"),
        (b"\x00\x01\x02junk", "is a binary file"),
    ],
)
def test_unreadable_files_say_what_they_are(tmp_path, content, message):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableExport, match=message):
        read_export(path)
