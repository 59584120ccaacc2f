"""Exporting the published warehouse: every table and view, one file each, or one workbook.

Parquet keeps the types. CSV and XLSX go to spreadsheets: text that a spreadsheet would
run as a formula gets a leading single quote (``warehouse.spreadsheet``, the one rule).
XLSX is one workbook (``warehouse.workbook``): a banner sheet per wave and question, then
a sheet per table and view, labelled in one of the study's languages (the `labels` table).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from warehouse.backend import Warehouse, open_reader
from warehouse.spreadsheet import FORMULA_START
from warehouse.workbook import banner_tables, write_workbook

FORMATS = ("parquet", "csv", "xlsx")


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


def study_languages(connection) -> list[str]:
    """The languages of the warehouse's labels, the study's first language first (the labels'
    first row is the first question's text in it); empty for a warehouse without labels."""
    if ("labels", "table") not in relations(connection):
        return []
    try:
        rows = connection.execute("select language, min(rowid) from labels group by language order by 2").fetchall()
    except duckdb.Error:  # a catalog without row ids: name order
        rows = connection.execute("select distinct language, 0 from labels order by 1").fetchall()
    return [language for language, _ in rows]


def chosen_language(connection, lang: str | None) -> str | None:
    """``lang``, checked against the study's languages; None (codes only) when the warehouse has no labels."""
    languages = study_languages(connection)
    if not languages:
        return None
    if lang is None:
        return languages[0]
    if lang not in languages:
        raise ValueError(f"no labels in {lang!r}: the study's languages are {', '.join(languages)} (--lang)")
    return lang


def labels_of(connection, lang: str) -> pl.DataFrame:
    return connection.execute("select question, code, kind, label from labels where language = ?", [lang]).pl()


#: Label columns added after code columns: (label column, question column or None, code column, label kinds).
LABELLED = (
    ("question_label", None, "question", ("question",)),
    ("answer_label", "question", "answer", ("option", "net")),
    ("segment_label", None, "segment", ("question",)),
    ("segment_label", None, "segment_name", ("question",)),
    ("value_label", "segment", "segment_value", ("option", "segment_value")),
    ("value_label", "segment_name", "segment_value", ("option", "segment_value")),
)


def labelled(frame: pl.DataFrame, labels: pl.DataFrame, *, lang: str) -> pl.DataFrame:
    """The relation labelled in ``lang``: only that language's rows where it has labels in
    every language (`labels`, the labelled views); else a label column after each code column
    (question, answer, segment or claims' segment_name, segment_value) that has none."""
    if {"language", "label"} <= set(frame.columns) or "value_label" in frame.columns:
        return frame.filter(pl.col("language") == lang)
    frame = frame.with_columns(
        pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)
    )
    for name, question, code, kinds in LABELLED:
        if name in frame.columns or code not in frame.columns or (question and question not in frame.columns):
            continue
        keys = ["question", "code"] if question else ["code"]
        found = labels.filter(pl.col("kind").is_in(kinds)).select(*keys, pl.col("label").alias(name)).unique(keys)
        joined = frame.join(
            found, left_on=[question, code] if question else [code], right_on=keys, how="left", maintain_order="left"
        )
        place = frame.columns.index(code) + 1
        frame = joined.select([*frame.columns[:place], name, *frame.columns[place:]])
    return frame


def export_warehouse(warehouse: Warehouse, folder: Path, *, fmt: str, lang: str | None = None) -> list[Path]:
    """Write the warehouse into ``folder``: every table and view as ``<name>.<fmt>`` (parquet, csv),
    or one workbook ``surveyhouse.xlsx`` (xlsx: banner sheets, then every table). CSV with ``lang`` and XLSX are labelled
    (``labelled``) in ``lang`` (XLSX: default the study's first language)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    with open_reader(warehouse) as connection:
        language = chosen_language(connection, lang) if (fmt == "xlsx" or lang) else None
        labels = labels_of(connection, language) if language else None
        if fmt == "xlsx":
            return [_write_workbook(connection, folder / "surveyhouse.xlsx", language=language, labels=labels)]
        written = []
        for name, _ in relations(connection):
            frame = read_relation(connection, name)
            path = folder / f"{name}.{fmt}"
            partial = path.with_name(f".{path.name}.part")
            if fmt == "parquet":
                frame.write_parquet(partial)
            else:
                spreadsheet_ready(labelled(frame, labels, lang=language) if language else frame).write_csv(partial)
            partial.replace(path)
            written.append(path)
    return written


def _write_workbook(connection, path: Path, *, language: str | None, labels: pl.DataFrame | None) -> Path:
    """One workbook: the banner sheets (of ``language``), then a sheet per table. Views are
    no sheets: each is a query over the tables, and the crosstab's are the banner sheets."""
    tables = {}
    for name, kind in relations(connection):
        if kind == "table":
            frame = read_relation(connection, name)
            tables[name] = spreadsheet_ready(labelled(frame, labels, lang=language) if language else frame)
    names = {name for name, _ in relations(connection)}
    banners = {}
    if language and "banner" in names:
        banner = connection.execute("select * from banner where language = ?", [language]).pl()
        banners = banner_tables(spreadsheet_ready(banner))
    partial = path.with_name(f".{path.name}.part")
    write_workbook(partial, banners=banners, tables=tables)
    partial.replace(path)
    return path
