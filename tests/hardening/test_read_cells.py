"""Item 16 of the hardening: a NUL character in a cell (a stray byte of a text file, an
Excel ``_x0000_`` escape) is never stored: the reader drops it."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import polars as pl

from schemas.codebook import codebook
from surveyhouse.read import read_export
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
COMMENT = "Saves us hours, but we review everything."


def comments(path: Path) -> list[str]:
    _, accepted, _ = process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0
    )
    return accepted["comment"].drop_nulls().to_list()


def no_nul_anywhere(path: Path) -> bool:
    frame = read_export(path).frame
    return not frame.select(pl.any_horizontal(pl.col("^c\\d+$").str.contains("\x00", literal=True))).to_series().any()


def test_nul_characters_in_a_text_file_are_dropped_not_stored(tmp_path):
    path = tmp_path / "export.csv"
    text = (CASES / "qualtrics_en_labels_split.csv").read_text(encoding="utf-8")
    path.write_text(text.replace(COMMENT, "Saves\x00 us hours,\x00 but we review everything."), encoding="utf-8")
    assert no_nul_anywhere(path)
    assert COMMENT in comments(path)


def test_nul_characters_a_workbook_escapes_are_dropped_not_stored(tmp_path):
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(CASES / "surveymonkey_en.xlsx") as original, zipfile.ZipFile(path, "w") as out:
        for info in original.infolist():
            out.writestr(info, original.read(info).decode().replace("Saves us", "Saves_x0000_ us"))
    assert no_nul_anywhere(path)
    assert COMMENT in comments(path)


def test_a_small_text_file_with_a_stray_nul_is_text_not_a_binary_file(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_bytes(b'Timestamp,Q\r\n1/18/2024 14:18:57,"Ye\x00s"\r\n')
    assert [list(row) for row in read_export(path).frame.drop("source_row").iter_rows()] == [
        ["Timestamp", "Q"],
        ["1/18/2024 14:18:57", "Yes"],
    ]


def test_an_excerpt_of_a_huge_cell_escapes_its_head_not_the_whole_cell():
    from transforms.display import excerpt

    cell = ("a\nb\x1b" * 25_000_000)[:-1]  # 100 million characters, a third of them control characters
    started = time.perf_counter()
    shown = excerpt(cell)
    assert time.perf_counter() - started < 3  # escaping the whole cell: 20 s and more
    assert shown == "a\\nb\\x1b" * 25 + "... (99,999,899 more characters)"  # 25 times 4 characters of the cell
    assert excerpt("é" * 201) == "é" * 200 + "... (1 more characters)"
