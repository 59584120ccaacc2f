"""The one interface to the warehouse, whatever it is stored in.

A warehouse is named by a spec: a path (an embedded DuckDB file, swapped in atomically
by ``warehouse.publish``) or a ``warehouse.lake.Lake`` (a DuckLake: catalog in
PostgreSQL, data as Parquet, one snapshot per publish). Readers get a DuckDB
connection whose default database is the warehouse, so the same SQL works on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from warehouse.lake import Lake, lake_exists, open_lake_reader, publish_lake
from warehouse.publish import connect_read_only, publish_warehouse

if TYPE_CHECKING:  # pandera (and the pandas it imports) would cost `surveyhouse sql` most of a second
    import pandera.polars as pa

Warehouse = Path | Lake


def open_reader(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """A read-only connection with the warehouse as its default database.

    FileNotFoundError when nothing was published there yet; for a lake, LakeUnavailable
    (an OSError) when its catalog cannot be reached.
    """
    if isinstance(warehouse, Lake):
        return open_lake_reader(warehouse)
    return connect_read_only(Path(warehouse))


def publish(
    warehouse: Warehouse,
    tables: dict[str, pl.DataFrame],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str] | None = None,
) -> None:
    """Make ``tables`` and ``views`` the warehouse, all at once for every reader."""
    if isinstance(warehouse, Lake):
        publish_lake(warehouse, tables, schemas, views)
    else:
        publish_warehouse(Path(warehouse), tables, schemas, views)


def exists(warehouse: Warehouse) -> bool:
    """Whether anything was published there yet."""
    if isinstance(warehouse, Lake):
        return lake_exists(warehouse)
    return Path(warehouse).exists()
