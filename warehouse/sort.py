"""A Parquet file sorted by DuckDB, out of core: the build's big tables never whole in memory."""

from __future__ import annotations

from pathlib import Path

import duckdb


def sort_parquet(source: Path, target: Path, *, by: str, columns: list[str], memory_mb: int, spill: Path) -> None:
    """``columns`` of ``source`` written to ``target`` in the order of column ``by`` (DuckDB's
    sort, within ``memory_mb`` megabytes: beyond it, it spills into the folder ``spill``)."""
    config = {"memory_limit": f"{memory_mb}MB", "temp_directory": str(spill), "preserve_insertion_order": "true"}
    with duckdb.connect(config=config) as connection:
        connection.execute("SET enable_progress_bar = false")
        relation = connection.read_parquet(str(source)).order(by)
        relation.select(*[duckdb.ColumnExpression(c) for c in columns]).write_parquet(str(target))
