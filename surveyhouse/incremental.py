"""A night that writes the `responses` rows that changed, the live warehouse keeping the others.

A response's row is its current version (a staged row), its derived segments, its screening
flags and its weight. When the live warehouse was built from every staged file but this night's
(``build._choices_base``), with this questionnaire's columns, a response whose current version
is in one of the older files has the same version as the live row: its row changes only if
its flags or weight do (a new file may make it a duplicate, or move its wave's median
duration). So the rows to write are those of the versions the new files bring and those
whose flags moved; the publish deletes the live rows of these responses and inserts them,
and every other row stays as it is in the copy of the live file (warehouse/publish.py).

The crosstab (screened, and with no exclusions for the claims) is counted from sums per
combination of segment values (``transforms.crosstab.crosstab_sums``), which the warehouse keeps
(``INTERNAL_SCHEMA``, published with the rest): a night adds the changed rows' sums to the live
ones and takes out those of the live rows they replace (unweighted counts: integers, exact).

A weighted study rakes every weight again each night: its table is written whole and its
crosstab counted from every response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import polars as pl

from schemas.codebook import Codebook
from schemas.tables import responses_schema
from surveyhouse.responses_file import TABLE_ORDER, written_privately
from transforms.crosstab import added_sums, crosstab_sums, crosstab_sums_columns
from transforms.screening import FLAGS
from warehouse.publish import KeptRows, ParquetTable, live_table_matches
from warehouse.queries import run_query
from warehouse.store import Warehouse

logger = logging.getLogger("surveyhouse.incremental")

KEY = ["wave", "source_tool", "response_id"]
#: What a night decides anew for a response whose version it keeps.
DECIDED = [*FLAGS, "is_excluded", "weight"]


@dataclass(frozen=True)
class ChangedResponses:
    """The `responses` rows a night writes (``rows``, in the table's order) and the keys of the
    live rows they replace (``replaced``: every response of ``rows``)."""

    rows: ParquetTable
    replaced: pl.DataFrame

    def kept_rows(self) -> KeptRows:
        """What the publish keeps of the live table, and the order it puts it back in."""
        return KeptRows(self.replaced, order=tuple(TABLE_ORDER))


def changed_responses(
    warehouse: Warehouse,
    responses: ParquetTable,
    decided: pl.DataFrame,
    versions: pl.DataFrame,
    *,
    new_orders: list[int] | None,
    book: Codebook,
    weighted: bool,
) -> ChangedResponses | None:
    """The rows of ``responses`` (the whole table, as built) that differ from the live table's,
    or None when the table must be published whole (the reason logged in one line).

    ``decided``: one row per response with ``_row`` and ``DECIDED`` (``write_responses``);
    ``versions``: one row per staged version with ``_row``, the key and ``file_order``;
    ``new_orders``: the file orders the live warehouse lacks (None: it cannot keep rows).
    """
    if new_orders is None:
        logger.info("responses written whole: no live warehouse built from the staged files to keep rows of")
        return None
    if weighted:
        logger.info("responses written whole: the study is weighted (raking moves every response's weight)")
        return None
    live = _live_decisions(warehouse, responses_schema(book))
    if live is None:
        logger.info("responses written whole: the live responses table is not this questionnaire's, or unreadable")
        return None
    now = decided.select("_row", *DECIDED).join(versions.select("_row", *KEY, "file_order"), on="_row", how="left")
    moved = now.join(
        live.cast(dict(now.select(*KEY, *DECIDED).schema)), on=[*KEY, *DECIDED], how="anti", nulls_equal=True
    )
    changed = pl.concat([moved.select(KEY), now.filter(pl.col("file_order").is_in(new_orders)).select(KEY)]).unique()
    path = responses.paths[0].with_name("responses-changed.parquet")  # beside the whole table's parts
    responses.lazy().join(changed.lazy(), on=KEY, how="semi", maintain_order="left").sink_parquet(path)
    written_privately(path)
    return ChangedResponses(ParquetTable((path,), changed.height, responses.schema), changed)


def _live_decisions(warehouse: Warehouse, schema) -> pl.DataFrame | None:
    """One row per live response: its key and ``DECIDED``; None when the live table has other
    columns than ``schema`` (another questionnaire) or cannot be read."""
    try:
        with warehouse.reader() as connection:
            if not live_table_matches(connection, "responses", schema):
                return None
            return run_query(connection, "live_response_decisions").pl()
    except (duckdb.Error, OSError):
        return None


def night_sums(
    warehouse: Warehouse,
    responses: ParquetTable,
    changed: ChangedResponses | None,
    *,
    book: Codebook,
    weighted: bool,
    slices: tuple[int, int],
) -> pl.DataFrame | None:
    """The crosstab's sums of every response of ``responses`` (``crosstab_sums``): the live
    ones, plus those of the changed rows, minus those of the live rows they replace; of every
    response when there are no live sums to start from (``slices``: how many to read at a
    time); None for a weighted study (its crosstab is counted from the responses)."""
    if weighted:
        return None
    if changed is not None:
        live = _live_sums(warehouse, changed.replaced, book=book, types=responses.schema)
        if live is not None:
            kept, replaced = live
            rows = changed.rows.lazy()
            parts = [
                kept,
                _sums(rows, changed.rows.height, book=book),
                _sums(replaced.lazy(), replaced.height, book=book),
            ]
            return added_sums(parts, signs=[1, 1, -1])
        logger.info("crosstab counted from every response: the live warehouse keeps no sums of this questionnaire's")
    return crosstab_sums(responses.lazy(), book=book, slices=slices)


def _sums(rows: pl.LazyFrame, height: int, *, book: Codebook) -> pl.DataFrame:
    """``crosstab_sums`` of a few rows, in one slice."""
    return crosstab_sums(rows, book=book, slices=(height, max(height, 1)))


def _live_sums(
    warehouse: Warehouse, replaced: pl.DataFrame, *, book: Codebook, types: pl.Schema
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """(the live crosstab's sums, the live rows of the ``replaced`` responses with their
    choices, in ``types``); None when the warehouse keeps no sums of this questionnaire's."""
    try:
        with warehouse.reader() as connection:
            sums = run_query(connection, "live_crosstab_sums").pl()
            if sums.columns != crosstab_sums_columns(book):
                return None
            connection.register("replaced", replaced.to_arrow())
            rows = run_query(connection, "live_rows_replaced").pl()
    except (duckdb.Error, OSError):
        return None
    return sums, rows.cast({column: types[column] for column in rows.columns if column in types})
