"""Exporting the published warehouse: every table and view, one file each.

Parquet keeps the types. CSV and XLSX go to spreadsheets: text that a spreadsheet would
run as a formula gets a leading single quote (``warehouse.spreadsheet``, the one rule).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from warehouse.backend import Warehouse, open_reader
from warehouse.spreadsheet import FORMULA_START

FORMATS = ("parquet", "csv", "xlsx")
_EXCEL_MAX_ROWS = 1_048_576


def formula_safe(column: str) -> pl.Expr:
    """The text column with a single quote before any value a spreadsheet would run as a formula."""
    return (
        pl.when(pl.col(column).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(column))
        .otherwise(pl.col(column))
        .alias(column)
    )


def spreadsheet_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Text (enums included) neutralised; nested values as JSON text."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Array | pl.Struct):
            exprs.append(pl.col(name).map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.Utf8))
        elif isinstance(dtype, pl.Enum | pl.Categorical):
            exprs.append(pl.col(name).cast(pl.Utf8))
    frame = frame.with_columns(exprs) if exprs else frame
    text = [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]
    return frame.with_columns([formula_safe(name) for name in text]) if text else frame


def relations(connection) -> list[tuple[str, str]]:
    """(name, 'table' or 'view') of everything in the warehouse: tables first, by name."""
    rows = connection.execute(
        "select table_name, case when table_type = 'VIEW' then 'view' else 'table' end as kind "
        "from information_schema.tables where table_schema = 'main' and table_catalog = current_database() "
        "order by kind, table_name"
    ).fetchall()
    return [(name, kind) for name, kind in rows]


def read_relation(connection, name: str) -> pl.DataFrame:
    """One table or view, whole (the name comes from the catalog, never from a user)."""
    return connection.table(name).pl()


def write_xlsx(frame: pl.DataFrame, path: Path, *, sheet: str) -> None:
    """One sheet: a header row, then the rows; text is text (never a formula, URL or number)."""
    import xlsxwriter

    if frame.height + 1 > _EXCEL_MAX_ROWS:
        raise ValueError(
            f"{sheet} has {frame.height} rows, more than a spreadsheet holds ({_EXCEL_MAX_ROWS - 1}): export it as csv or parquet"
        )
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    with xlsxwriter.Workbook(str(path), options) as workbook:
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        for col, name in enumerate(frame.columns):
            worksheet.write_string(0, col, name, bold)
        for row, values in enumerate(frame.iter_rows(), start=1):
            for col, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, bool):
                    worksheet.write_boolean(row, col, value)
                elif isinstance(value, int | float):
                    worksheet.write_number(row, col, value)
                elif isinstance(value, datetime):
                    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
                    worksheet.write_datetime(row, col, naive, stamp)  # UTC
                elif isinstance(value, date):
                    worksheet.write_datetime(row, col, datetime(value.year, value.month, value.day), day)
                else:
                    worksheet.write_string(row, col, str(value))
        worksheet.freeze_panes(1, 0)


def export_warehouse(warehouse: Warehouse, folder: Path, *, fmt: str) -> list[Path]:
    """Write every table and view of the warehouse into ``folder`` as ``<name>.<fmt>``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with open_reader(warehouse) as connection:
        for name, _ in relations(connection):
            frame = read_relation(connection, name)
            path = folder / f"{name}.{fmt}"
            partial = path.with_name(f".{path.name}.part")
            if fmt == "parquet":
                frame.write_parquet(partial)
            elif fmt == "csv":
                spreadsheet_ready(frame).write_csv(partial)
            else:
                write_xlsx(spreadsheet_ready(frame), partial, sheet=name)
            partial.replace(path)
            written.append(path)
    return written
