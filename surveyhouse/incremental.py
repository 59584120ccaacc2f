"""A night that writes the `responses` rows that changed, the live warehouse keeping the others.

A response's row is its current version (a staged row), its derived segments, its screening
flags and its weight. When the live warehouse was built from every staged file but this night's
(``build._choices_base``), with this questionnaire's columns, a response whose current version
is in one of the older files has the same version as the live row: its row changes only if
its flags or weight do (a new file may make it a duplicate, or move its wave's median
duration). So the rows to write are those of the versions the new files bring and those
whose flags moved; the publish deletes the live rows of these responses and inserts them,
and every other row stays as it is in the copy of the live file (warehouse/publish.py). The
flags are decided for every response on narrow columns (``screened_rows``); only the changed
rows are read whole from the staged files.

The crosstab (screened, and with no exclusions for the claims) is counted from sums per
combination of segment values (``transforms.crosstab.crosstab_sums``), which the warehouse keeps
(``INTERNAL_SCHEMA``, published with the rest): a night adds the changed rows' sums to the live
ones and takes out those of the live rows they replace (unweighted counts: integers, exact).

A weighted study (raking moves every weight each night) and a questionnaire that changes
between waves (the trend reads earlier waves' rows) are built whole, as is any night whose
live warehouse cannot serve as the base; the log says why in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from schemas.codebook import Codebook
from schemas.tables import responses_schema
from surveyhouse.responses_file import TABLE_ORDER, KeySorter, screened_rows, written_privately
from transforms.crosstab import added_sums, crosstab_cells, crosstab_sums, crosstab_sums_columns
from transforms.responses import with_derived_segments
from transforms.screening import FLAGS, ScreeningPolicy
from warehouse.publish import KeptRows, ParquetTable, live_table_matches
from warehouse.queries import run_query
from warehouse.store import Warehouse

logger = logging.getLogger("surveyhouse.incremental")

KEY = ["wave", "source_tool", "response_id"]
#: What a night decides anew for a response whose version it keeps.
DECIDED = [*FLAGS, "is_excluded", "weight"]


@dataclass(frozen=True)
class LiveBase:
    """What an incremental night starts from: the live warehouse's file orders it lacks
    (``new_orders``), one row per live response with its key and ``DECIDED`` (``decisions``),
    and the live crosstab's sums (``sums``)."""

    new_orders: list[int]
    decisions: pl.DataFrame
    sums: pl.DataFrame


def live_base(
    warehouse: Warehouse, *, new_orders: list[int] | None, book: Codebook, weighted: bool, versioned: bool
) -> LiveBase | None:
    """The live warehouse as the base of an incremental night, or None when the night builds
    every table whole (the reason logged in one line). ``new_orders``: ``build._choices_base``;
    ``versioned``: the questionnaire changes between waves."""
    reason = None
    if new_orders is None:
        reason = "no live warehouse built from the staged files to keep rows of"
    elif weighted:
        reason = "the study is weighted (raking moves every response's weight)"
    elif versioned:
        reason = "the questionnaire changes between waves (the trend reads the earlier waves' rows)"
    else:
        read = _live_decisions_and_sums(warehouse, book=book)
        if read is None:
            reason = "the live warehouse keeps no responses and crosstab sums of this questionnaire's, readable"
        else:
            return LiveBase(new_orders, *read)
    logger.info("responses and crosstab built whole: %s", reason)
    return None


def _live_decisions_and_sums(warehouse: Warehouse, *, book: Codebook) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """(``LiveBase.decisions``, ``LiveBase.sums``); None when the live responses table has other
    columns than this questionnaire's, its sums are missing or of other cells (``crosstab_cells``:
    a NET's members changed, say), or either cannot be read."""
    try:
        with warehouse.reader() as connection:
            if not live_table_matches(connection, "responses", responses_schema(book)):
                return None
            sums = run_query(connection, "live_crosstab_sums").pl()
            cells = run_query(connection, "live_crosstab_cells").pl()
            if sums.columns != crosstab_sums_columns(book) or not cells.equals(crosstab_cells(book).sort("cell")):
                return None
            return run_query(connection, "live_response_decisions").pl(), sums
    except (duckdb.Error, OSError):
        return None


@dataclass(frozen=True)
class ChangedResponses:
    """The `responses` table of an incremental night: the rows it writes (``rows``, in the
    table's order), the keys of the live rows it deletes (``replaced``: every response of
    ``rows``, and any live one no staged version has any more), how many rows the whole table has (``height``), the crosstab's sums of the whole
    table (``sums``), and the wave and email hash of every response in the bases (``respondents``,
    for the trend)."""

    rows: ParquetTable
    replaced: pl.DataFrame
    height: int
    sums: pl.DataFrame
    respondents: pl.LazyFrame

    def lazy(self) -> pl.LazyFrame:
        """The rows written (not the whole table)."""
        return self.rows.lazy()

    def kept_rows(self) -> KeptRows:
        """What the publish keeps of the live table, and the order it puts it back in."""
        return KeptRows(self.replaced, order=tuple(TABLE_ORDER))


def write_changed_responses(
    current: pl.LazyFrame,
    columns: Mapping[str, pl.DataType],
    *,
    base: LiveBase,
    versions: pl.DataFrame,
    warehouse: Warehouse,
    book: Codebook,
    policy: ScreeningPolicy,
    folder: Path,
    sorter: KeySorter | None = None,
    memory_mb: int = 256,
) -> tuple[ChangedResponses, pl.DataFrame]:
    """(the night's responses, one row per response: ``_row``, ``_pos``, ``wave``, the flags,
    ``is_excluded``, ``weight``), as ``responses_file.write_responses`` gives for an unweighted
    study, with only the rows that differ from the live table's written (``columns``, in
    ``folder``). ``versions``: one row per staged version with ``_row`` and ``file_order``;
    ``sorter``, ``memory_mb``: ``screened_rows``'s."""
    current = current.pipe(with_derived_segments, book=book)
    decided = screened_rows(current, book=book, policy=policy, targets=None, sorter=sorter, memory_mb=memory_mb)
    keys = current.select("_row", *KEY).join(versions.lazy().select("_row", "file_order"), on="_row").collect()
    now = decided.select("_row", "_pos", *DECIDED).join(keys, on="_row")
    live = base.decisions.cast(dict(now.select(*KEY, *DECIDED).schema))
    moved = now.join(live, on=[*KEY, *DECIDED], how="anti", nulls_equal=True)
    brought = now.filter(pl.col("file_order").is_in(base.new_orders))
    changed = pl.concat([moved.select(KEY), brought.select(KEY)]).unique()
    chosen = now.join(changed, on=KEY, how="semi").select("_row", "_pos", *DECIDED)
    path = folder / "responses-changed.parquet"
    (
        current.filter(pl.col("_row").is_in(chosen["_row"].implode()))
        .join(chosen.lazy(), on="_row")
        .select(*columns, "_pos")
        .collect(engine="streaming")
        .sort("_pos")
        .drop("_pos")
        .write_parquet(path)
    )
    rows = ParquetTable((written_privately(path),), chosen.height, pl.Schema(columns))
    # The live responses no staged version has any more (none while every file is staged as
    # it was: ``build._choices_base``) go too.
    replaced = pl.concat([changed, live.select(KEY).join(now.select(KEY), on=KEY, how="anti")])
    out = _live_rows(warehouse, replaced, types=rows.schema)
    sums = added_sums([base.sums, _sums(rows.lazy(), rows.height, book), _sums(out, len(out), book)], signs=[1, 1, -1])
    respondents = (  # read by the trend, after the crosstab: lazily
        current.select("_row", "email_hash")
        .join(decided.lazy().filter(~pl.col("is_excluded")).select("_row", "wave"), on="_row")
        .select("wave", "email_hash")
    )
    return ChangedResponses(rows, replaced, decided.height, sums, respondents), decided


def _sums(rows: pl.LazyFrame | pl.DataFrame, height: int, book: Codebook) -> pl.DataFrame:
    """``crosstab_sums`` of a few rows, in one slice."""
    return crosstab_sums(rows.lazy(), book=book, slices=(height, max(height, 1)))


def _live_rows(warehouse: Warehouse, keys: pl.DataFrame, *, types: pl.Schema) -> pl.DataFrame:
    """The live rows (responses with their choices, in ``types``) of the responses ``keys`` lists."""
    with warehouse.reader() as connection:
        connection.register("replaced", keys.to_arrow())
        rows = run_query(connection, "live_rows_replaced").pl()
    return rows.cast({column: types[column] for column in rows.columns if column in types})
