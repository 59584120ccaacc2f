"""`surveyhouse export`: every table and view; spreadsheets never run a cell as a formula."""

from __future__ import annotations

import csv
import html
import re
import zipfile

import pandera.polars as pa
import polars as pl
import pytest

from cli.main import main
from warehouse.export import formula_safe
from warehouse.publish import publish_warehouse

DANGEROUS = ['=HYPERLINK("http://x","click")', "+1+2", "-3*4", "@SUM(A1)", "\tTAB", "plain", None, "a=b", "'quoted"]
SCHEMA = {
    "notes": pa.DataFrameSchema(
        {
            "k": pa.Column(pl.Int64, description="Key."),
            "delta": pa.Column(pl.Float64, description="A signed number, points."),
            "text": pa.Column(pl.Utf8, nullable=True, description="Free text as typed."),
            "level": pa.Column(pl.Enum(["=low", "high"]), description="Level."),
        },
        description="One row per note.",
    )
}
VIEWS = {
    "long_notes": "-- long_notes: one row per note with text.\nwith final as (select k, text from notes where text is not null) select * from final"
}


@pytest.fixture()
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    frame = pl.DataFrame(
        {
            "k": list(range(len(DANGEROUS))),
            "delta": [-1.5] * len(DANGEROUS),
            "text": DANGEROUS,
            "level": ["=low"] + ["high"] * (len(DANGEROUS) - 1),
        },
        schema={"k": pl.Int64, "delta": pl.Float64, "text": pl.Utf8, "level": pl.Enum(["=low", "high"])},
    )
    publish_warehouse(path, {"notes": frame}, SCHEMA, VIEWS)
    return path


NEUTRALISED = [
    '\'=HYPERLINK("http://x","click")',
    "'+1+2",
    "'-3*4",
    "'@SUM(A1)",
    "'\tTAB",
    "plain",
    None,
    "a=b",
    "'quoted",
]


def test_formula_safe_quotes_only_text_a_spreadsheet_would_run():
    frame = pl.DataFrame({"text": DANGEROUS})
    assert frame.select(formula_safe("text"))["text"].to_list() == NEUTRALISED


def test_csv_export_has_every_table_and_view_with_formulas_neutralised(warehouse, tmp_path, capsys):
    out = tmp_path / "csv"
    assert main(["export", "--warehouse", str(warehouse), str(out), "--format", "csv"]) == 0
    assert "Exported 2 tables and views" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["long_notes.csv", "notes.csv"]
    with open(out / "notes.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["text"] or None for row in rows] == NEUTRALISED
    assert rows[0]["level"] == "'=low" and all(row["delta"] == "-1.5" for row in rows), "numbers stay numbers"
    with open(out / "long_notes.csv", newline="", encoding="utf-8") as handle:
        assert next(row["text"] for row in csv.DictReader(handle)) == NEUTRALISED[0]


def _column_texts(sheet_xml: str, column: str, rows: int) -> list[str | None]:
    """Inline-string cells of one column, rows 2.. (xlsxwriter's constant-memory mode writes inline strings)."""
    found = {
        int(row): html.unescape(text)
        for row, text in re.findall(
            rf'<c r="{column}(\d+)" t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', sheet_xml, flags=re.DOTALL
        )
    }
    return [found.get(row) for row in range(2, rows + 2)]


def test_xlsx_export_writes_text_cells_never_formulas(warehouse, tmp_path):
    out = tmp_path / "xlsx"
    assert main(["export", "--warehouse", str(warehouse), str(out), "--format", "xlsx"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["surveyhouse.xlsx"], "one workbook"
    with zipfile.ZipFile(out / "surveyhouse.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "<f " not in sheet, "no cell is a formula"
    assert _column_texts(sheet, "C", len(DANGEROUS)) == NEUTRALISED
    assert _column_texts(sheet, "D", 1) == ["'=low"]
    assert sheet.count("<v>-1.5</v>") == len(DANGEROUS), "numbers are numeric cells"


def test_parquet_export_keeps_values_and_types(warehouse, tmp_path):
    out = tmp_path / "parquet"
    assert main(["export", "--warehouse", str(warehouse), str(out)]) == 0
    notes = pl.read_parquet(out / "notes.parquet")
    assert notes["text"].to_list() == DANGEROUS and notes["delta"].dtype == pl.Float64


def test_export_without_a_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["export", "--warehouse", str(tmp_path / "none.duckdb"), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("Error: no warehouse at")
