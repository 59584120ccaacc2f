"""Publishing the warehouse: a new file built aside, then swapped in atomically.

Readers never see a partial state: a run builds the complete warehouse in a new file
in the same folder, checkpoints and closes it, then ``os.replace``s it over the live
path. A reader with the old file open keeps reading the old file; new connections see
the new one. A run killed at any moment leaves the live file untouched (and a
``.building`` file that the next publish removes).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
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
    """The frame in the schema's column order; enums stay dictionary-encoded (DuckDB casts
    each distinct value into its ENUM, not every row's text), categoricals as text."""
    frame = frame.select(list(schema.columns))
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Categorical)]
    )


#: Row count from which a table is inserted without keeping its rows' order.
_UNORDERED_ROWS = 1_000_000


def frames(table) -> Iterable[pl.DataFrame]:
    """A table's rows as frames: the frame itself, or the slices of a table written a
    slice at a time (any iterable of frames, e.g. ``surveyhouse.build.AnswerSlices``)."""
    return (table,) if isinstance(table, pl.DataFrame) else table


def publish_warehouse(
    path: Path,
    tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str] | None = None,
    *,
    incremental: dict[str, pl.DataFrame] | None = None,
) -> None:
    """Write every table (and the views) into a new file and swap it in over ``path``.

    ``incremental`` (table -> key rows): the new file starts as a copy of the live one
    (complete on disk: it is never written in place), and each of these tables keeps its
    rows but those whose key (the frame's columns) is listed, then gets ``tables[name]``
    added; every other table and view is written anew. What such a night writes follows
    what changed, not the whole history.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in building_files(path):
        leftover.unlink(missing_ok=True)
        Path(str(leftover) + ".wal").unlink(missing_ok=True)
    building = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
    incremental = incremental or {}
    if incremental:
        shutil.copyfile(path, building)
    connection = duckdb.connect(str(building))
    try:
        connection.execute("SET enable_progress_bar = false")
        if incremental:
            for (view,) in connection.execute("select view_name from duckdb_views() where not internal").fetchall():
                connection.execute(f'DROP VIEW "{view}"')
            for (table,) in connection.execute("select table_name from duckdb_tables()").fetchall():
                if table not in incremental:
                    connection.execute(f'DROP TABLE "{table}"')
        for name, schema in schemas.items():
            if name in incremental:
                keys = incremental[name]
                if keys.height:
                    connection.register("replaced", keys.to_arrow())
                    matched = " AND ".join(f'"{name}"."{key}" = replaced."{key}"' for key in keys.columns)
                    connection.execute(f'DELETE FROM "{name}" USING replaced WHERE {matched}')
                    connection.unregister("replaced")
            else:
                for statement in create_table_sql(name, schema):
                    connection.execute(statement)
            for frame in frames(tables[name]):
                arrow = _arrow_ready(frame, schema).to_arrow(compat_level=pl.CompatLevel.newest())
                # Slices of a million rows and more are inserted in parallel, in no particular
                # order (a third faster at 20 million answers); the small tables keep their
                # order (crosstab, claims: what `select *` shows in the CLI).
                connection.execute(
                    f"SET preserve_insertion_order = {'false' if len(arrow) >= _UNORDERED_ROWS else 'true'}"
                )
                connection.register("incoming", arrow)
                connection.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
                connection.unregister("incoming")
                del arrow
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
