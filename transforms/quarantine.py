"""Turning contract failures into quarantine rows, and keeping the rows that passed.

pandera reports every failed check of every row at once (``validate(lazy=True)``);
each becomes one quarantine row naming the file, the spreadsheet row, the response, the
column, the check, the offending value and a sentence a person can act on.
"""

from __future__ import annotations

import polars as pl

from schemas.canonical import MESSAGES, PANDERA_CHECKS
from schemas.codebook import Codebook
from transforms.privacy import masked_excerpts
from transforms.responses import FILE_RECENCY

QUARANTINE_COLUMNS = [
    "run_id",
    "source_file",
    "source_row",
    "response_id",
    "column",
    "check",
    "failure_case",
    "message",
]
#: Checks of a whole row (pandera reports no column for them, and the whole row, personal
#: data included, as the failure case): the columns each is about. The first is the failed
#: column; the failure case is their values, named (``started_at ..., submitted_at ...``).
_ROW_CHECK_COLUMNS = {"started_before_submitted": ("started_at", "submitted_at")}


def quarantine_rows(failures: pl.DataFrame, canonical: pl.DataFrame, *, run_id: str, source_file: str) -> pl.DataFrame:
    """One row per rejected input row and failed check (the quarantine table's grain)."""
    if failures.is_empty():
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    check = pl.col("check").replace(PANDERA_CHECKS)
    named = failures.with_columns(check=check, index=pl.col("index").cast(pl.UInt32)).with_columns(
        # A required question left empty fails both "not null" and its own check: say it once.
        failure_case=pl.when(pl.col("failure_case") == "null").then(None).otherwise(pl.col("failure_case")),
    )
    named = _row_checks_named(named, canonical)
    # What was typed may be an email or a phone number, and any length: kept and quoted as free text is.
    named = named.with_columns(failure_case=masked_excerpts(named["failure_case"]))
    message = (
        pl.col("check")
        .replace_strict(MESSAGES, default=pl.concat_str(pl.lit("failed check "), pl.col("check")))
        .str.replace("{column}", pl.col("column").fill_null(""), literal=True)
        .str.replace("{value}", pl.col("failure_case").fill_null(""), literal=True)
    )
    # Each failure's row taken by its index (a gather of the failures' rows, not a join of every row's).
    rows = canonical.select(pl.col("source_row", "response_id").gather(named["index"]))
    return (
        pl.concat([named, rows], how="horizontal")
        .select(
            run_id=pl.lit(run_id),
            source_file=pl.lit(source_file),
            source_row=pl.col("source_row"),
            response_id=pl.col("response_id"),
            column=pl.col("column"),
            check=pl.col("check"),
            failure_case=pl.col("failure_case"),
            message=message,
        )
        .unique(["source_row", "column", "check"], maintain_order=True)
        .sort("source_row", "column", "check")
        .cast(QUARANTINE_SCHEMA)
    )


def _row_checks_named(failures: pl.DataFrame, canonical: pl.DataFrame) -> pl.DataFrame:
    """``failures`` with each whole-row check's column and failure case taken from the
    columns it is about (``_ROW_CHECK_COLUMNS``), never the whole row. Only the rows that
    failed a whole-row check have their values written as text (not every row of ``canonical``)."""
    for name, columns in _ROW_CHECK_COLUMNS.items():
        is_row_check = pl.col("check") == name
        index = pl.col("index").cast(failures.schema["index"])
        failed = failures.filter(is_row_check).select(index.unique(maintain_order=True))
        values = (
            canonical.select(columns)
            .with_row_index("index")
            .with_columns(index)
            .join(failed, on="index", how="semi")
            .select(
                "index",
                pl.concat_str(
                    [
                        pl.format(f"{column} {{}}", pl.col(column).cast(pl.Utf8).fill_null("(none)"))
                        for column in columns
                    ],
                    separator=", ",
                ).alias("_values"),
            )
        )
        failures = (
            failures.join(values, on="index", how="left", maintain_order="left")
            .with_columns(
                column=pl.when(is_row_check).then(pl.lit(columns[0])).otherwise(pl.col("column")),
                failure_case=pl.when(is_row_check).then(pl.col("_values")).otherwise(pl.col("failure_case")),
            )
            .drop("_values")
        )
    return failures


QUARANTINE_SCHEMA = {
    "run_id": pl.Utf8,
    "source_file": pl.Utf8,
    "source_row": pl.Int64,
    "response_id": pl.Utf8,
    "column": pl.Utf8,
    "check": pl.Utf8,
    "failure_case": pl.Utf8,
    "message": pl.Utf8,
}


def typed_responses(accepted: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """Valid rows with answers as ``pl.Enum`` codes (questionnaire order is report order)."""
    return accepted.with_columns(
        *[pl.col(q.code).cast(q.dtype) for q in book.single],
        *[pl.col(q.code).cast(pl.List(q.dtype)) for q in book.multi],
    )


def latest_failures(rows: pl.LazyFrame, *, keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """One row per response, check and column: the row of the latest file that showed it.

    A cumulative export, or the same export saved again (other line endings, another
    name), shows a failed row again: it is one failure, kept as the latest file
    (``FILE_RECENCY``) shows it. ``rows`` are quarantine rows carrying their file's
    ``FILE_RECENCY`` columns. A row without a response id cannot be told apart from
    another file's and stays one per file, as do whole-file rows (no source row).
    Ordered by file (oldest first), then row, column and check; the quarantine's columns
    (and the columns of ``rows`` named in ``keep``).
    """
    latest_first = rows.sort([*FILE_RECENCY, "source_row"], descending=True, nulls_last=True)
    of_response = pl.col("response_id").is_not_null() & pl.col("source_row").is_not_null()
    return (
        pl.concat(
            [
                latest_first.filter(of_response).unique(["response_id", "check", "column"], keep="first"),
                latest_first.filter(~of_response).unique(
                    ["file_sha256", "source_row", "check", "column"], keep="first"
                ),
            ]
        )
        .sort([*FILE_RECENCY, "source_row", "column", "check"], nulls_last=False)
        .select([*QUARANTINE_SCHEMA, *keep])
    )
