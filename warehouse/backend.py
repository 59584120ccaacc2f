"""Functions over any warehouse (``warehouse.store.Warehouse``), for callers that hold a
path, a lake or a Warehouse: readers get a DuckDB connection whose default database is
the warehouse, so the same SQL works on a file and on a DuckLake."""

from __future__ import annotations

import duckdb

from warehouse.store import Warehouse, as_warehouse

__all__ = ["Warehouse", "exists", "open_reader"]


def open_reader(warehouse: object) -> duckdb.DuckDBPyConnection:
    """A read-only connection with the warehouse as its default database.

    FileNotFoundError when nothing was published there yet; for a lake, LakeUnavailable
    (an OSError) when its catalog cannot be reached.
    """
    return as_warehouse(warehouse).reader()


def exists(warehouse: object) -> bool:
    """Whether anything was published there yet."""
    return as_warehouse(warehouse).exists()
