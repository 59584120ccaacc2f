"""Publishing the warehouse: a new file built aside, then swapped in atomically.

Readers never see a partial state: a run builds the complete warehouse in a new file
in the same folder, checkpoints and closes it, then ``os.replace``s it over the live
path. A reader with the old file open keeps reading the old file; new connections see
the new one. The new file is read back whole before the swap (DuckDB checks every
block's checksum), so a corrupt file never goes live. A publish that fails removes its
new file; one killed at any moment leaves the live file untouched (and a ``.building``
file that the next publish removes).
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from warehouse.ddl import create_table_sql
from warehouse.health import (
    LiveWarehouseUnreadable,
    NewWarehouseUnreadable,
    one_line,
    unreadable_tables,
    warehouse_unreadable,
)
from warehouse.sorting import duck_settings
from warehouse.view_columns import in_creation_order, run_script, view_comments

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
    slice at a time (any iterable of frames)."""
    return (table,) if isinstance(table, pl.DataFrame) else table


#: Rows of a ParquetTable read at a time by a writer that takes frames (a DuckLake).
PARQUET_SLICE_ROWS = 250_000


@dataclass(frozen=True)
class ParquetTable:
    """A big table's rows in Parquet files the build wrote (``paths``, in the table's row order):
    DuckDB loads them straight from the files, never whole in memory. ``schema``: its columns'
    Polars types (the files may hold columns the table has not); iterating gives its rows as
    frames, a slice at a time."""

    paths: tuple[Path, ...]
    height: int
    schema: pl.Schema
    memory_mb: int | None = None  # the memory DuckDB may take to load it (the build's setting); None: DuckDB's default

    def lazy(self) -> pl.LazyFrame:
        return pl.scan_parquet(list(self.paths), glob=False).cast(dict(self.schema))

    def slices(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """Its rows (of ``columns``, default all), ``PARQUET_SLICE_ROWS`` at a time."""
        rows = self.lazy() if columns is None else self.lazy().select(columns)
        for offset in range(0, self.height, PARQUET_SLICE_ROWS):
            yield rows.slice(offset, PARQUET_SLICE_ROWS).collect()

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return self.slices()


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
    what changed, not the whole history. The kept tables are read whole first:
    LiveWarehouseUnreadable when they cannot be (build them whole instead).

    The new file is read back whole before it is swapped in (NewWarehouseUnreadable when
    it cannot be, and the live file stays), and takes the live file's mode, owner and
    group (as far as this user may set them). A failed publish removes its new file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in building_files(path):
        _remove_building(leftover)
    building = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
    try:
        _write_warehouse(building, path, tables, schemas, views or {}, incremental or {})
        reason = warehouse_unreadable(building)
        if reason is not None:
            raise NewWarehouseUnreadable(path, reason)
        _take_live_permissions(building, path)
        with open(building, "rb") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        _remove_building(building)
        raise
    os.replace(building, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_building(building: Path) -> None:
    building.unlink(missing_ok=True)
    Path(str(building) + ".wal").unlink(missing_ok=True)


def _take_live_permissions(building: Path, path: Path) -> None:
    """The live file's mode, and its owner and group where this user may set them (else the group alone)."""
    try:
        live = path.stat()
    except FileNotFoundError:
        return
    for owner, group in ((live.st_uid, live.st_gid), (-1, live.st_gid)):
        try:
            os.chown(building, owner, group)
            break
        except PermissionError:
            continue
    os.chmod(building, stat.S_IMODE(live.st_mode))


def _open_live_copy(building: Path, path: Path, kept: list[str]) -> duckdb.DuckDBPyConnection:
    """A connection to a copy of the live file whose ``kept`` tables were read whole."""
    shutil.copyfile(path, building)
    try:
        connection = duckdb.connect(str(building))
    except duckdb.Error as error:
        raise LiveWarehouseUnreadable(path, one_line(error)) from error
    connection.execute("SET enable_progress_bar = false")
    reason = unreadable_tables(connection, kept)
    if reason is not None:
        connection.close()
        raise LiveWarehouseUnreadable(path, reason)
    for (view,) in connection.execute("select view_name from duckdb_views() where not internal").fetchall():
        connection.execute(f'DROP VIEW "{view}"')
    for (table,) in connection.execute("select table_name from duckdb_tables()").fetchall():
        if table not in kept:
            connection.execute(f'DROP TABLE "{table}"')
    return connection


def _write_warehouse(
    building: Path,
    path: Path,
    tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str],
    incremental: dict[str, pl.DataFrame],
) -> None:
    """The complete new warehouse in ``building``, checkpointed and closed."""
    if incremental:
        connection = _open_live_copy(building, path, list(incremental))
    else:
        connection = duckdb.connect(str(building), config=_load_settings(tables))
        connection.execute("SET enable_progress_bar = false")
    try:
        if publish_threads(tables) == 1:
            connection.execute("SET threads = 1")
        create_tables(connection, {name: schema for name, schema in schemas.items() if name not in incremental})
        for name, schema in schemas.items():
            if name in incremental:
                _delete_keys(connection, name, incremental[name])
            if isinstance(tables[name], ParquetTable):
                _insert_parquet(connection, name, tables[name], list(schema.columns))
                continue
            for frame in frames(tables[name]):
                _insert(connection, name, _arrow_ready(frame, schema).to_arrow(compat_level=pl.CompatLevel.newest()))
        create_views(connection, views, schemas)
        connection.execute("CHECKPOINT")
    finally:
        connection.close()


#: Rows below which a warehouse is written on one DuckDB thread (see ``publish_threads``).
SMALL_PUBLISH_ROWS = 250_000


def publish_threads(tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]]) -> int | None:
    """DuckDB's threads for writing ``tables``: one for a small study's (below ``SMALL_PUBLISH_ROWS``
    rows in all), else None (DuckDB's default: the machine's cores). The DDL, the views' comments,
    the inserts of small frames and the checkpoint gain nothing from threads: on the demo (60k
    rows) a publish took 350 ms of CPU on one thread against 460-570 ms on two, and 0.5-0.9 s of
    wall time against 0.9-1.4 s with other processes on the machine. A table given as slices
    counts as big."""
    rows = 0
    for table in tables.values():
        if not isinstance(table, (pl.DataFrame, ParquetTable)):
            return None
        rows += table.height
    return 1 if rows < SMALL_PUBLISH_ROWS else None


def _load_settings(tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]]) -> dict[str, str]:
    """DuckDB's settings for loading the big tables: the memory their build was given, spilling
    into their (private) build folder; none without them."""
    big = [table for table in tables.values() if isinstance(table, ParquetTable) and table.memory_mb]
    return duck_settings(big[0].memory_mb, big[0].paths[0].parent / ".spill") if big else {}


def create_tables(connection: duckdb.DuckDBPyConnection, schemas: dict[str, pa.DataFrameSchema]) -> None:
    """Every table (empty) with its comments, from the schemas: one script in one transaction."""
    with _transaction(connection):
        run_script(
            connection, [statement for name, schema in schemas.items() for statement in create_table_sql(name, schema)]
        )


def create_views(
    connection: duckdb.DuckDBPyConnection, views: dict[str, str], schemas: dict[str, pa.DataFrameSchema]
) -> None:
    """Every view, each after those it reads, with its purpose and its columns' descriptions
    (a DocumentedView's own last): two scripts in one transaction."""
    with _transaction(connection):
        run_script(connection, [f'CREATE VIEW "{name}" AS {sql}' for name, sql in in_creation_order(views).items()])
        documented = [statement for sql in views.values() for statement in getattr(sql, "comments", ())]
        run_script(connection, view_comments(connection, views, schemas) + documented)


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Statements inside run as one transaction: one commit (each DDL statement on its own commits, a millisecond each)."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _delete_keys(connection: duckdb.DuckDBPyConnection, name: str, keys: pl.DataFrame) -> None:
    """The rows of table ``name`` whose key (the columns of ``keys``) is listed, deleted."""
    if keys.height:
        connection.register("replaced", keys.to_arrow())
        matched = " AND ".join(f'"{name}"."{key}" = replaced."{key}"' for key in keys.columns)
        connection.execute(f'DELETE FROM "{name}" USING replaced WHERE {matched}')
        connection.unregister("replaced")


def _insert(connection: duckdb.DuckDBPyConnection, name: str, arrow) -> None:
    # Slices of a million rows and more are inserted in parallel, in no particular
    # order (a third faster at 20 million answers); the small tables keep their
    # order (crosstab, claims: what `select *` shows in the CLI).
    connection.execute(f"SET preserve_insertion_order = {'false' if len(arrow) >= _UNORDERED_ROWS else 'true'}")
    connection.register("incoming", arrow)
    connection.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
    connection.unregister("incoming")


def _insert_parquet(connection: duckdb.DuckDBPyConnection, name: str, table: ParquetTable, columns: list[str]) -> None:
    """The rows of ``table`` inserted from its files by DuckDB, in order below ``_UNORDERED_ROWS``
    rows, as ``_insert`` does."""
    connection.execute(f"SET preserve_insertion_order = {'false' if table.height >= _UNORDERED_ROWS else 'true'}")
    connection.read_parquet([str(path) for path in table.paths]).select(
        *[duckdb.ColumnExpression(c) for c in columns]
    ).insert_into(name)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (never blocks a publish)."""
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `surveyhouse run` (or `surveyhouse demo`) first")
    connection = duckdb.connect(str(path), read_only=True)
    connection.execute("SET enable_progress_bar = false")
    return connection
