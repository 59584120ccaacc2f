"""Row numbers of Parquet files sorted by key columns in DuckDB, within a memory limit."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

#: The least memory DuckDB is given, megabytes (with less, a sort of a few columns fails rather than spill).
DUCKDB_LEAST_MB = 48


def duck_settings(memory_mb: int, spill: Path) -> dict[str, str]:
    """A DuckDB connection's settings for work on big files: at most ``memory_mb`` megabytes
    (``DUCKDB_LEAST_MB`` at least; beyond, it spills to ``spill``)."""
    return {"memory_limit": f"{max(memory_mb, DUCKDB_LEAST_MB)}MB", "temp_directory": str(spill)}


def sorted_row_numbers(
    files: list[Path], *, starts: list[int], keys: list[str], memory_mb: int, spill: Path
) -> pl.Series:
    """``_row`` of every row of ``files`` (a file's first row is its entry of ``starts``, the
    others follow), sorted by ``keys`` ascending, nulls first (as Polars sorts), by DuckDB
    within ``memory_mb`` megabytes, spilling to ``spill``: no key column held in Python."""
    starts_frame = pl.DataFrame({"filename": [str(path) for path in files], "start": starts})
    order = ", ".join(f'"{key}" NULLS FIRST' for key in keys)  # identifiers: the table's own column names
    with duckdb.connect(config=duck_settings(memory_mb, spill)) as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.register("starts", starts_frame.to_arrow())
        return connection.execute(
            "SELECT (file_row_number + starts.start)::UINTEGER AS _row"
            " FROM read_parquet(?, filename = true, file_row_number = true) AS staged"
            f" JOIN starts USING (filename) ORDER BY {order}",
            [[str(path) for path in files]],
        ).pl()["_row"]
