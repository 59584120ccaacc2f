"""Publishing the warehouse: a new file built aside, then swapped in atomically.

Readers never see a partial state: a run builds the complete warehouse in a new file
in the same folder, checkpoints and closes it, then ``os.replace``s it over the live
path. A reader with the old file open keeps reading the old file; new connections see
the new one. A run killed at any moment leaves the live file untouched (and a
``.building`` file that the next publish removes).
"""

from __future__ import annotations

import os
import uuid
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from warehouse.ddl import create_table_sql

if TYPE_CHECKING:  # pandera (and the pandas it imports) would cost `surveyhouse sql` most of a second
    import pandera.polars as pa


def building_files(path: Path) -> list[Path]:
    """Leftovers of publishes that were interrupted."""
    return sorted(path.parent.glob(f".{path.name}.building-*"))


def view_sql() -> dict[str, str]:
    """Every view of ``warehouse/views``, by name (file stem), in name order."""
    folder = resources.files("warehouse").joinpath("views")
    return {
        entry.name.removesuffix(".sql"): entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".sql")
    }


def _arrow_ready(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """The frame in the schema's column order, enums as text (DuckDB casts into its ENUMs)."""
    frame = frame.select(list(schema.columns))
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
    )


def publish_warehouse(
    path: Path,
    tables: dict[str, pl.DataFrame],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str] | None = None,
) -> None:
    """Write every table (and the views) into a new file and swap it in over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in building_files(path):
        leftover.unlink(missing_ok=True)
        Path(str(leftover) + ".wal").unlink(missing_ok=True)
    building = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
    connection = duckdb.connect(str(building))
    try:
        connection.execute("SET enable_progress_bar = false")
        for name, schema in schemas.items():
            for statement in create_table_sql(name, schema):
                connection.execute(statement)
            arrow = _arrow_ready(tables[name], schema).to_arrow()
            connection.register("incoming", arrow)
            connection.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
            connection.unregister("incoming")
        for name, sql in (views or {}).items():
            connection.execute(f'CREATE VIEW "{name}" AS {sql}')
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    with open(building, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(building, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (never blocks a publish)."""
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `surveyhouse run` (or `surveyhouse demo`) first")
    connection = duckdb.connect(str(path), read_only=True)
    connection.execute("SET enable_progress_bar = false")
    return connection
