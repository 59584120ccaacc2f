"""One XLSX workbook: a banner sheet per wave and question, then a sheet per table and view.

A banner sheet is the table an analyst reads (SPSS Custom Tables, Q): the question's
answers as rows; the whole sample, then every segment's values as columns, each value
headed by its label and column letter; a row of bases; each cell "77% ▲ B D" (the
percentage, ▲/▼ when significantly higher/lower than the rest of the sample, and the
letters of the columns of the same segment it is significantly higher than). It pivots
the `banner` view of one language. Sheet names keep within Excel's 31 characters and are
unique. Written with xlsxwriter; text is text (never a formula, URL or number).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

#: Excel's limits: characters in a sheet name, rows in a sheet.
SHEET_NAME_CHARS = 31
MAX_ROWS = 1_048_576

BANNER_NOTE = (
    "Empty cell: base under the minimum (not published). †: low base, read with caution. ▲ / ▼: significantly higher / lower than the rest of the "
    "sample. Letters: the columns of the same segment this one is significantly higher than (column-proportion "
    "test, Bonferroni within the row, as SPSS Custom Tables)."
)
_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def sheet_names(names: list[str]) -> list[str]:
    """Each name cut to Excel's 31 characters, made unique (case-insensitively) with a ~N suffix."""
    taken: set[str] = set()
    out = []
    for name in names:
        cut = name[:SHEET_NAME_CHARS]
        number = 1
        while cut.lower() in taken:
            number += 1
            suffix = f"~{number}"
            cut = name[: SHEET_NAME_CHARS - len(suffix)] + suffix
        taken.add(cut.lower())
        out.append(cut)
    return out


def banner_tables(banner: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The `banner` view's rows of one language, by sheet name ("<wave> <question>"), in questionnaire order."""
    ordered = banner.sort("wave", "question_order", "answer_order")
    return {
        f"{wave} {question}": part
        for (wave, question), part in ordered.group_by(["wave", "question"], maintain_order=True)
    }


def write_workbook(path: Path, *, banners: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]) -> list[str]:
    """Write the workbook; the sheet names, in order (banners first)."""
    import xlsxwriter

    for name, frame in tables.items():
        if frame.height + 1 > MAX_ROWS:
            raise ValueError(
                f"{name} has {frame.height} rows, more than a spreadsheet holds ({MAX_ROWS - 1}): "
                "export it as csv or parquet"
            )
    names = sheet_names([*banners, *tables])
    with xlsxwriter.Workbook(str(path), _OPTIONS) as workbook:
        formats = {
            "bold": workbook.add_format({"bold": True}),
            "stamp": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "day": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "head": workbook.add_format({"bold": True, "text_wrap": True, "align": "center", "valign": "top"}),
            "note": workbook.add_format({"italic": True}),
        }
        frames = [*banners.values(), *tables.values()]
        for index, (sheet, frame) in enumerate(zip(names, frames, strict=True)):
            worksheet = workbook.add_worksheet(sheet)
            if index < len(banners):
                _write_banner(worksheet, frame, formats)
            else:
                _write_table(worksheet, frame, formats)
    return names


def banner_columns(part: pl.DataFrame) -> list[dict]:
    """The banner's columns: one per segment and value, segments in questionnaire order."""
    return (
        part.select(
            "segment", "segment_label", "segment_order", "segment_value", "value_label", "value_order", "letter"
        )
        .unique(["segment", "segment_value"])
        .sort("segment_order", "segment", "value_order", "segment_value", nulls_last=True)
        .to_dicts()
    )


def banner_grid(part: pl.DataFrame) -> list[list[str | int | None]]:
    """The banner sheet's cells, row by row: title, segment labels, value labels with their
    letters, bases, then one row per answer (the whole sample's percentage, then each cell)."""
    columns = banner_columns(part)
    first = part.row(0, named=True)
    width = len(columns) + 2
    segments: list[str | None] = [None, "Total"]
    for index, column in enumerate(columns):
        is_first = index == 0 or columns[index - 1]["segment"] != column["segment"]
        segments.append(column["segment_label"] if is_first else None)
    values: list[str | int | None] = [None, None] + [
        column["value_label"] + (f" ({column['letter']})" if column["letter"] else "") for column in columns
    ]
    position = {(c["segment"], c["segment_value"]): offset for offset, c in enumerate(columns, start=2)}
    bases: list[str | int | None] = ["Base", first["total_base_n"]] + [None] * len(columns)
    answers = part.select("answer", "answer_label", "total_pct").unique("answer", maintain_order=True).to_dicts()
    body = {
        a["answer"]: [a["answer_label"], None if a["total_pct"] is None else f"{a['total_pct']:.0f}%"]
        + [None] * len(columns)
        for a in answers
    }
    for cell in part.select("answer", "segment", "segment_value", "base_n", "cell").iter_rows(named=True):
        column = position[(cell["segment"], cell["segment_value"])]
        bases[column] = cell["base_n"]
        body[cell["answer"]][column] = cell["cell"]
    title = [f"{first['question_label']} ({first['wave']})"] + [None] * (width - 1)
    return [title, segments, values, bases, *body.values(), [], [BANNER_NOTE]]


def _write_banner(worksheet, part: pl.DataFrame, formats: dict) -> None:
    grid = banner_grid(part)
    worksheet.set_column(0, 0, 40)
    worksheet.set_column(1, len(grid[2]), 14)
    worksheet.freeze_panes(4, 2)
    styles = {0: formats["bold"], 1: formats["head"], 2: formats["head"]}
    for row, cells in enumerate(grid):
        style = styles.get(row, formats["note"] if row == len(grid) - 1 else None)
        for col, value in enumerate(cells):
            if isinstance(value, int):
                worksheet.write_number(row, col, value)
            elif value is not None:
                worksheet.write_string(row, col, value, style) if style else worksheet.write_string(row, col, value)


def _write_table(worksheet, frame: pl.DataFrame, formats: dict) -> None:
    """A header row, then the rows; text is text, times in UTC."""
    worksheet.freeze_panes(1, 0)
    for col, name in enumerate(frame.columns):
        worksheet.write_string(0, col, name, formats["bold"])
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
                worksheet.write_datetime(row, col, naive, formats["stamp"])  # UTC
            elif isinstance(value, date):
                worksheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats["day"])
            else:
                worksheet.write_string(row, col, str(value))
