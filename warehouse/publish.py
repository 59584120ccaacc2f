"""Publishing the warehouse: a new file built aside, then swapped in atomically.

Readers never see a partial state: a run builds the complete warehouse in a new file
in the same folder, checkpoints and closes it, then ``os.replace``s it over the live
path. A reader with the old file open keeps reading the old file; new connections see
the new one. The new file is read back whole before the swap (DuckDB checks every
block's checksum), so a corrupt file never goes live. A publish that fails removes its
new file; one killed at any moment leaves the live file untouched (and a ``.building``
file that the next publish removes).

A publish that keeps live rows starts from a copy of the live file: the file the publish before
it replaced, kept as ``.NAME.spare`` and patched to the live file's bytes where no reader can
still hold it (``patched_spare``), else a whole copy.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import logging
import os
import queue
import shutil
import stat
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
    WrittenRows,
    chunk_digests,
    forget_digests,
    one_line,
    record_digests,
    recorded_digests,
    unreadable_tables,
    warehouse_unreadable,
)
from warehouse.sorting import duck_settings
from warehouse.view_columns import in_creation_order, run_script, view_comments

logger = logging.getLogger("surveyhouse.publish")

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

#: The rows of a row group of the build's Parquet files: DuckDB's own row group size. Inserting
#: such files in order, DuckDB writes each group compressed as it comes; with groups of another
#: size it merges the remainders in memory and compresses them at the checkpoint, on its own
#: threads (1M responses: 2.6 -> 1.7 s of CPU, and a file a third smaller).
PARQUET_ROW_GROUP_ROWS = 122_880


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
        """Its rows: the columns of ``schema`` (of the files' columns), in its types."""
        return pl.scan_parquet(list(self.paths), glob=False).select(list(self.schema)).cast(dict(self.schema))

    def slices(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """Its rows (of ``columns``, default all), ``PARQUET_SLICE_ROWS`` at a time."""
        rows = self.lazy() if columns is None else self.lazy().select(columns)
        for offset in range(0, self.height, PARQUET_SLICE_ROWS):
            yield rows.slice(offset, PARQUET_SLICE_ROWS).collect()

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return self.slices()


@dataclass(frozen=True)
class KeptRows:
    """What a publish keeps of a live table: every row but those whose key (the columns of
    ``replaced``) is listed. The order a full build inserts the table's rows in: ``order``, the
    columns (ascending, nulls first) it sorts them by, or ``follows``, a table written before it
    whose rows with the same key come in the same order. After the new rows are added, the
    table is put back in that order when it is under ``_UNORDERED_ROWS`` rows (from there a full
    build inserts it unordered too). ``updated``: the key (the columns of ``replaced``) of rows
    kept in place with other values in some columns, and these values (the frame's other columns)."""

    replaced: pl.DataFrame
    order: tuple[str, ...] = ()
    follows: str | None = None
    updated: pl.DataFrame | None = None
    #: The caller read the live table whole under the lock it holds while publishing (a night
    #: reads the live warehouse whole first): the copy does not read it again (the new file is
    #: still read whole before it is swapped in).
    read_whole: bool = False


@dataclass(frozen=True)
class InternalChanges:
    """An internal table (``publish_warehouse``'s ``internal``) kept from the live file, with the
    rows whose key (the columns of ``deleted``) is listed deleted and ``added`` inserted."""

    added: pl.DataFrame
    deleted: pl.DataFrame


class LiveCopy:
    """A copy of the live warehouse file made ahead of a publish that keeps live rows (on a thread,
    while the night stages and builds: the run lock keeps the live file as it is), into the new
    file's place (``.NAME.building-*``: a copy left by a killed run is removed by the next publish):
    the kept spare (``spare_file``) brought to the live file's bytes where it can be (``patched_spare``:
    only the blocks that differ written), else a whole copy. A publish takes it once (``take``);
    ``discard`` removes it when none did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.building = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
        self._error: BaseException | None = None
        self._taken = False
        #: Whether the copy is the live file byte for byte (its blocks need no read-back): a spare
        #: patched to its bytes, or a whole copy read again.
        self.identical = False
        #: Whether the copy is the kept spare, patched (``patched_spare``), rather than a whole copy.
        self.patched = False
        self._thread = threading.Thread(target=self._copy, name="live-copy", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            self.patched = patched_spare(self.path, self.building)
            if not self.patched:
                shutil.copyfile(self.path, self.building)
            self.identical = self.patched or same_bytes(self.path, self.building)
        except BaseException as error:  # raised again by ``take``
            self._error = error

    def take(self) -> Path | None:
        """The copy's path, the first time (its failure raised); None after."""
        self._thread.join()
        if self._taken:
            return None
        self._taken = True
        if self._error is not None:
            _remove_building(self.building)
            raise self._error
        return self.building

    def discard(self) -> None:
        """The copy removed, unless a publish took it."""
        self._thread.join()
        if not self._taken:
            self._taken = True
            _remove_building(self.building)


def same_bytes(one: Path, other: Path) -> bool:
    """Whether two files hold the same bytes (read again, ``PATCH_BLOCK`` at a time)."""
    first, second = bytearray(PATCH_BLOCK), bytearray(PATCH_BLOCK)
    with open(one, "rb", buffering=0) as left, open(other, "rb", buffering=0) as right:
        while True:
            read = left.readinto(first)
            if not _same_block(first, read, second, right.readinto(second)):
                return False
            if not read:
                return True


def spare_file(path: Path) -> Path:
    """Where a publish that keeps live rows keeps the live file it replaced (``.NAME.spare``): the next
    such publish patches it into its new file (``patched_spare``) instead of copying the live file whole."""
    return path.with_name(f".{path.name}.spare")


def patched_spare(path: Path, building: Path) -> bool:
    """Whether the kept spare of ``path`` (``spare_file``) was brought to the live file's bytes (only
    the blocks that differ written: ``_patch_to``) and renamed ``building``. Never trusted without the
    compare: one left half patched by a kill is patched again. One that a reader may still hold (a
    shared lock of another process's DuckDB, or open in this process) or that is the live file itself
    (a kill between its link and the swap) is removed instead (a reader keeps its inode): False."""
    spare = spare_file(path)
    try:
        handle = os.open(spare, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        usable = _spare_unshared(handle)
        if usable:
            _patch_to(handle, path)
            os.rename(spare, building)  # still under the lock
    finally:
        os.close(handle)  # (the lock goes with it)
    if not usable:
        spare.unlink(missing_ok=True)
    return usable


def _spare_unshared(handle: int) -> bool:
    """Whether the file open as ``handle`` is this process's alone to write: one name only (not also
    the live file's), open on no other descriptor of this process, and locked exclusively (taken at
    once or not at all: a reader's DuckDB holds a shared lock on the file it reads)."""
    info = os.fstat(handle)
    if info.st_nlink != 1 or _open_here_elsewhere(handle, info):
        return False
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _open_here_elsewhere(handle: int, info: os.stat_result) -> bool:
    """Whether this process has the file open as ``handle`` open on another descriptor too (a process's
    fcntl locks never stop itself); True where that cannot be seen."""
    try:
        descriptors = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return True
    for descriptor in descriptors:
        with suppress(OSError):
            other = os.stat(f"/proc/self/fd/{descriptor}")
            if descriptor != handle and (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
                return True
    return False


#: The bytes ``_patch_to`` and ``same_bytes`` read of each file at a time, into buffers used again
#: (245 MB compared in 0.03 s of CPU from the page cache; 16 MiB at a time, 0.06-0.3 s).
PATCH_BLOCK = 1 << 16


def _patch_to(handle: int, path: Path) -> None:
    """The file open as ``handle`` made ``path``'s bytes: cut (or extended, with zeros) to its size,
    then both read a block (``PATCH_BLOCK``) at a time, and the blocks that differ written."""
    live, spare = bytearray(PATCH_BLOCK), bytearray(PATCH_BLOCK)
    source = os.open(path, os.O_RDONLY)
    try:
        os.ftruncate(handle, os.fstat(source).st_size)
        offset = 0
        while read := os.preadv(source, [live], offset):
            if not _same_block(live, read, spare, os.preadv(handle, [spare], offset)):
                _write_all(handle, memoryview(live)[:read], offset)
            offset += read
    finally:
        os.close(source)


def _same_block(one: bytearray, read: int, other: bytearray, had: int) -> bool:
    """Whether two buffers filled by reads of ``read`` and ``had`` bytes hold the same bytes (whole
    buffers compared as they are: no copy of a full block)."""
    return had == read and (one == other if read == len(one) else one[:read] == other[:read])


def _write_all(handle: int, data: memoryview, offset: int) -> None:
    while data:
        done = os.pwrite(handle, data, offset)
        data, offset = data[done:], offset + done


class LoadedAhead:
    """A full build's big tables (``ParquetTable``s: `responses`, `choices`) inserted into the new
    warehouse file from the moment their files are written, while the build goes on: each table
    on its own thread and DuckDB connection (DuckDB's ordered insert runs on one core: 1M
    responses, about 2 s; `choices`, 0.8 s, beside it). The file is in the new file's place
    (``.NAME.building-*``: one left by a killed run is removed by the next publish); a publish
    writes the other tables into it while the rows go in (``writer``), then takes it once
    (``take``: waits for them; ``publish_warehouse``'s ``loaded``) for the checks and the swap;
    ``discard`` removes it when none did.

    ``coming``: the tables' files are still being written (their ``paths`` the first ones, their
    ``height`` the whole table's): each goes in as soon as the build gives it (``add``: the rows
    that follow, in order), until it gives the tables whole (``finish``).
    """

    def __init__(
        self,
        path: Path,
        tables: dict[str, ParquetTable],
        schemas: dict[str, pa.DataFrameSchema],
        *,
        coming: bool = False,
    ) -> None:
        self.path = path
        self.tables = dict(tables)
        self._files = {name: queue.SimpleQueue() for name in tables}  # each table's files to insert; None: no more
        self._aborted = False
        self._given = {name: len(table.paths) for name, table in tables.items()}  # files given so far
        for name, table in tables.items():
            for file in table.paths:
                self._files[name].put(file)
        if not coming:
            self.finish(self.tables)
        self.building = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._errors: list[BaseException] = []
        self._taken = False
        self._created = threading.Event()  # set when the tables exist, or could not be made (``_ready`` says which)
        self._ready = False
        self._cursors: dict[str, duckdb.DuckDBPyConnection] = {}  # by table; "": the publish's (``writer``)
        schemas = {name: schemas[name] for name in tables}
        self._thread = threading.Thread(target=self._load, args=(schemas,), name="load-ahead")
        self._thread.start()

    def _load(self, schemas: dict[str, pa.DataFrameSchema]) -> None:
        try:
            self._connection = duckdb.connect(str(self.building), config=_load_settings(self.tables))
            self._connection.execute("SET enable_progress_bar = false")
            # An ordered insert (below ``_UNORDERED_ROWS``) on one thread: it keeps one core busy
            # whatever it is given, and more threads take the build's (991,695 responses: 2.6 s of
            # CPU on one, 2.9-4.8 s on two). An unordered one runs on every core, as in the publish.
            if all(table.height < _UNORDERED_ROWS for table in self.tables.values()):
                self._connection.execute("SET threads = 1")
            create_tables(self._connection, schemas)
            # one connection each for the inserts and the publish (``writer``), made here, one after the other
            self._cursors = {name: self._connection.cursor() for name in [*schemas, ""]}
            self._ready = True
        except BaseException as error:  # raised again by ``take``
            self._errors.append(error)
            return
        finally:
            self._created.set()
        inserts = [
            threading.Thread(target=self._insert, args=(name, list(schema.columns)), name=f"load-ahead-{name}")
            for name, schema in schemas.items()
        ]
        for thread in inserts:
            thread.start()
        for thread in inserts:
            thread.join()

    def _insert(self, name: str, columns: list[str]) -> None:
        """Table ``name``'s rows inserted a file at a time, in the order they come, on a connection of
        its own, whose order setting (``_insert_parquet``'s) is its own: a publish writing the other
        tables meanwhile (``writer``) sets the file's."""
        try:
            with self._cursors[name] as connection:
                while (path := self._files[name].get()) is not None and not self._aborted:
                    part = dataclasses.replace(
                        self.tables[name], paths=(path,)
                    )  # the order: by the whole table's height
                    _insert_parquet(connection, name, part, columns, scope="SESSION")
        except BaseException as error:  # raised again by ``take``
            self._errors.append(error)

    def add(self, path: Path) -> None:
        """The next file of every table (``coming``): the rows that follow those given before."""
        for name, files in self._files.items():
            files.put(path)
            self._given[name] += 1

    def finish(self, tables: dict[str, ParquetTable]) -> None:
        """The tables whole: their files not given yet (``add``) go in, and no more come."""
        for name, table in tables.items():
            for path in table.paths[self._given[name] :]:
                self._files[name].put(path)
            self._files[name].put(None)
        self.tables = dict(tables)

    def writer(self) -> duckdb.DuckDBPyConnection | None:
        """A connection to the new file as soon as its tables exist, while their rows still go in:
        the publish writes the other tables with it meanwhile, then ``take``s the file; None once taken
        or discarded. A failure to create the file or its tables is raised (and the file removed)."""
        self._created.wait()
        if self._taken:
            return None
        if not self._ready:
            self.take()  # raises the failure
        return self._cursors[""]

    def take(self) -> duckdb.DuckDBPyConnection | None:
        """The connection to the new file holding the tables, every row in, the first time (its failure raised); None after."""
        self._thread.join()
        if self._taken:
            return None
        self._taken = True
        if self._errors:
            self._close()
            raise self._errors[0]
        return self._connection

    def discard(self) -> None:
        """The new file removed, unless a publish took it (the files still to come not waited for)."""
        self._aborted = True
        for files in self._files.values():
            files.put(None)
        self._thread.join()
        if not self._taken:
            self._taken = True
            self._close()

    def _close(self) -> None:
        for connection in [*self._cursors.values(), self._connection]:
            if connection is not None:
                with suppress(duckdb.Error):
                    connection.close()
        _remove_building(self.building)


def publish_warehouse(
    path: Path,
    tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str] | None = None,
    *,
    incremental: dict[str, pl.DataFrame | KeptRows] | None = None,
    internal: dict[str, pl.DataFrame | InternalChanges] | None = None,
    ahead: LiveCopy | None = None,
    beside_check: Callable[[Path], object] | None = None,
    loaded: LoadedAhead | None = None,
) -> None:
    """Write every table (and the views) into a new file and swap it in over ``path``.

    ``incremental`` (table -> key rows, or ``KeptRows``): the new file starts as a copy of the
    live one (complete on disk: it is never written in place), and each of these tables keeps
    its rows but those whose key (the frame's columns) is listed, then gets ``tables[name]``
    added (and its order back, ``KeptRows.order``); every other table and view is written anew. What such a night writes follows
    what changed, not the whole history. The kept tables are read whole first:
    LiveWarehouseUnreadable when they cannot be (build them whole instead).

    ``internal``: tables of the schema ``INTERNAL_SCHEMA`` (what an incremental build starts from,
    e.g. the crosstab's sums), published with the rest so that they never drift from it; a live
    one not given again is not kept; one given as ``InternalChanges`` (with ``incremental``) is
    kept with these changes.

    ``ahead``: the live file's copy, made while the night built (``LiveCopy``), for ``incremental``.
    ``loaded``: the new file with the big tables of a full build inserted while it built
    (``LoadedAhead``: not for ``incremental``); ``tables`` gives the same ones.

    The new file is read back whole before it is swapped in (NewWarehouseUnreadable when
    it cannot be, and the live file stays), and takes the live file's mode, owner and
    group (as far as this user may set them). A failed publish removes its new file.
    ``beside_check``: called with the new file's path on a thread while the file is read back
    (it may read the file, read-only: e.g. to draw the report page), finished before the swap;
    what it raises is raised after the check.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    copied = ahead.take() if ahead is not None and incremental else None
    if ahead is not None and copied is None:
        ahead.discard()
    preloaded = loaded.writer() if loaded is not None and not incremental else None
    if loaded is not None and preloaded is None:
        loaded.discard()  # of an incremental publish, or taken by an earlier try of this one
    started = loaded.building if preloaded is not None else None
    for leftover in building_files(path):
        if leftover not in (copied, started):
            _remove_building(leftover)
    building = copied or started or path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
    try:
        written = (preloaded, loaded) if preloaded is not None else None
        kept = _write_warehouse(
            building, path, tables, schemas, views or {}, incremental or {}, internal or {}, copied, written
        )
        # Of a copy that is the live file's bytes (read whole by the night), what this publish wrote.
        reason = _read_back(building, beside_check, kept if copied is not None and ahead.identical else None)
        if reason is not None:
            raise NewWarehouseUnreadable(path, reason)
        # Of a file kept from the live one, the digests of the bytes just read back (health.py); a full
        # build's file is left to the next night's whole read (hashing it: 0.08 s of CPU at 1M responses)
        digests = chunk_digests(building, like=path, known=recorded_digests(path) or ()) if incremental else None
        _take_live_permissions(building, path)
        with open(building, "rb") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        if preloaded is not None:
            loaded.discard()  # its inserts finished before the file goes
        _remove_building(building)
        raise
    _keep_spare(path, bool(incremental))
    os.replace(building, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    if digests is None:
        forget_digests(path)
    else:
        record_digests(path, digests)


def _read_back(
    building: Path, beside: Callable[[Path], object] | None, written: dict[str, WrittenRows] | None = None
) -> str | None:
    """``warehouse_unreadable`` of the new file (of a table kept from the live file, what ``written``
    says was written of it), with ``beside(building)`` run on a thread meanwhile."""
    if beside is None:
        return warehouse_unreadable(building, written=written)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beside-check") as pool:
        done = pool.submit(beside, building)
        reason = warehouse_unreadable(building, written=written)
        done.result()
    return reason


def _keep_spare(path: Path, kept_rows: bool) -> None:
    """Just before a publish swaps its new file in: the live file it replaces kept as the spare
    (``spare_file``, another name of its inode) when the publish kept live rows (the next one's new
    file differs from it in the blocks written since); after a full build, whose file differs from it
    everywhere, no spare (an older one removed)."""
    spare = spare_file(path)
    spare.unlink(missing_ok=True)
    if kept_rows and path.exists():
        os.link(path, spare)


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


def _open_live_copy(
    building: Path,
    path: Path,
    kept: dict[str, KeptRows],
    internal: list[str],
    *,
    copied: bool = False,
    views: str | None = None,
) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """(a connection to a copy of the live file (made here, or ``copied`` already) whose ``kept`` tables were read whole (here, or
    by the caller: ``KeptRows.read_whole``), of the ``INTERNAL_SCHEMA`` tables those named in ``internal`` kept; whether its
    views are kept: those of the ``views`` digest, ``views_digest``, they are not dropped)."""
    if not copied:
        shutil.copyfile(path, building)
    try:
        connection = duckdb.connect(str(building))
    except duckdb.Error as error:
        raise LiveWarehouseUnreadable(path, one_line(error)) from error
    connection.execute("SET enable_progress_bar = false")
    # No vacuum at the checkpoint: it would merge the row groups a full build's parallel inserts left
    # part-filled (and those a deletion thinned), rewriting them: 1.2-2.8 s of a night that changes
    # 10,000 rows of a 1M-response warehouse, 0.03-0.1 s without. The next full build writes them whole.
    connection.execute("SET max_vacuum_tasks = 0")
    reason = unreadable_tables(connection, [name for name, rows in kept.items() if not rows.read_whole])
    if reason is not None:
        connection.close()
        raise LiveWarehouseUnreadable(path, reason)
    same_views = views is not None and _live_views_digest(connection) == views
    dropped = (
        [] if same_views else connection.execute("select view_name from duckdb_views() where not internal").fetchall()
    )
    tables = connection.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    with _transaction(connection):  # one commit (each drop on its own: one, and a write-ahead log entry, each)
        for (view,) in dropped:
            connection.execute(f'DROP VIEW "{view}"')
        for schema, table in tables:
            if not (schema == "main" and table in kept or schema == INTERNAL_SCHEMA and table in internal):
                connection.execute(f'DROP TABLE "{schema}"."{table}"')
    return connection, same_views


#: The ``INTERNAL_SCHEMA`` table holding the ``views_digest`` of the views a warehouse file was published with.
VIEWS_DIGEST = "views_digest"


def views_digest(views: dict[str, str], schemas: dict[str, pa.DataFrameSchema]) -> str:
    """What a warehouse's views and their comments are made of, as one digest: their SQL, the comments
    a view documents itself with, every table's DDL and comments (the views' columns and their
    descriptions come from them) and DuckDB's version. A publish that keeps live rows keeps the live
    views when their digest is this one (not dropped and made again: 0.07-0.1 s of a night)."""
    parts = [f"duckdb {duckdb.__version__}"]
    for name, sql in sorted(views.items()):
        parts += [f"view {name}", sql, *getattr(sql, "comments", ())]
    for name, schema in sorted(schemas.items()):
        parts += create_table_sql(name, schema)
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()


def _live_views_digest(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The ``views_digest`` a warehouse file keeps, None when it keeps none."""
    kept = "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?"
    if not connection.execute(kept, [INTERNAL_SCHEMA, VIEWS_DIGEST]).fetchone()[0]:
        return None  # (not a query of a missing table: DuckDB would look for a Python object of its name)
    row = connection.execute(f'select digest from "{INTERNAL_SCHEMA}"."{VIEWS_DIGEST}"').fetchone()
    return None if row is None else row[0]


def _write_views_digest(connection: duckdb.DuckDBPyConnection, digest: str) -> None:
    """``digest`` (``views_digest``) kept in the file, as the one row of ``INTERNAL_SCHEMA``.``VIEWS_DIGEST``."""
    connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{INTERNAL_SCHEMA}"')
    connection.execute(
        f'CREATE OR REPLACE TABLE "{INTERNAL_SCHEMA}"."{VIEWS_DIGEST}" AS SELECT ?::VARCHAR AS digest', [digest]
    )


def _write_warehouse(
    building: Path,
    path: Path,
    tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str],
    incremental: dict[str, pl.DataFrame | KeptRows],
    internal: dict[str, pl.DataFrame | InternalChanges],
    copied: Path | None = None,
    loaded: tuple[duckdb.DuckDBPyConnection, LoadedAhead] | None = None,
) -> dict[str, WrittenRows] | None:
    """The complete new warehouse in ``building`` (with ``incremental``: a copy of the live file,
    ``copied`` already when given; with ``loaded``: a connection to ``building`` whose tables
    ``LoadedAhead`` inserts meanwhile (``LoadedAhead.writer``): the others are written while their
    rows go in, and the file checkpointed once they are in), checkpointed and closed. With
    ``incremental``, what was written of the kept tables read whole by the caller (``_written_rows``);
    else None."""
    incremental = {name: kept if isinstance(kept, KeptRows) else KeptRows(kept) for name, kept in incremental.items()}
    inserted = set(loaded[1].tables) if loaded is not None else set()
    digest = views_digest(views, schemas) if internal else None  # kept with the build's tables for the next night
    connection, same_views, starts = _building_connection(
        building, path, tables, incremental, internal, copied, loaded, digest
    )
    rewritten = set()
    threads = "SET threads = 1" if publish_threads(tables) == 1 else "RESET threads"
    try:
        if loaded is None:  # (the inserts ahead keep theirs until they are done)
            connection.execute(threads)
        create_tables(connection, {n: schema for n, schema in schemas.items() if n not in {*incremental, *inserted}})
        for name, schema in schemas.items():
            if name in inserted:
                continue
            if name in incremental:
                _delete_keys(connection, name, incremental[name].replaced)
                _update_rows(connection, name, incremental[name].updated, key=incremental[name].replaced.columns)
            if isinstance(tables[name], ParquetTable):
                _insert_parquet(connection, name, tables[name], list(schema.columns))
            else:
                for frame in frames(tables[name]):
                    _insert(
                        connection, name, _arrow_ready(frame, schema).to_arrow(compat_level=pl.CompatLevel.newest())
                    )
            if name in incremental and _put_in_order(connection, name, incremental[name]):
                rewritten.add(name)
        _write_internal(connection, internal)
        if not same_views:
            create_views(connection, views, schemas)
        if digest is not None:
            _write_views_digest(connection, digest)
        if loaded is not None:  # the load's connection, every row in
            connection.close()
            connection = loaded[1].take()
            connection.execute(threads)
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return _written_rows(incremental, internal, starts, rewritten=rewritten) if incremental else None


def _building_connection(
    building: Path,
    path: Path,
    tables: dict[str, pl.DataFrame | Iterable[pl.DataFrame]],
    incremental: dict[str, KeptRows],
    internal: dict[str, pl.DataFrame | InternalChanges],
    copied: Path | None,
    loaded: tuple[duckdb.DuckDBPyConnection, LoadedAhead] | None,
    digest: str | None,
) -> tuple[duckdb.DuckDBPyConnection, bool, dict[str, int]]:
    """``_write_warehouse``'s connection to ``building``, whether the live views are kept (a copy of
    the live file whose views are made of the same: ``views_digest``) and where the kept tables'
    last row groups start (``_last_row_groups``)."""
    if incremental:
        changed = [name for name, table in internal.items() if isinstance(table, InternalChanges)]
        connection, same_views = _open_live_copy(
            building, path, incremental, changed, copied=copied is not None, views=digest
        )
        return (
            connection,
            same_views,
            _last_row_groups(connection, [*incremental, *(f"{INTERNAL_SCHEMA}.{n}" for n in changed)]),
        )
    if loaded is not None:
        return loaded[0], False, {}
    connection = duckdb.connect(str(building), config=_load_settings(tables))
    connection.execute("SET enable_progress_bar = false")
    return connection, False, {}


def _last_row_groups(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
    """Of each table (schema.table outside the main schema), the row id its last row group starts at:
    rows added after its last row go into that row group, which is then written again, and those
    after it (0 for a table without rows)."""
    rows_before_last = (  # (the storage information listed once: every row group holds the first column)
        "select coalesce(sum(count) filter (where row_group_id < last), 0) from (select row_group_id, count, "
        "max(row_group_id) over () as last from pragma_storage_info(?) where column_path = '[0]')"
    )
    return {table: connection.execute(rows_before_last, [table]).fetchone()[0] for table in tables}


def _written_rows(
    incremental: dict[str, KeptRows],
    internal: dict[str, pl.DataFrame | InternalChanges],
    starts: dict[str, int],
    *,
    rewritten: set[str],
) -> dict[str, WrittenRows]:
    """What a publish that keeps live rows wrote of each kept table the caller read whole in the live
    file (``KeptRows.read_whole``; the night reads every table whole, the internal ones too):
    the rows it added and the live file's last row group, which they went into (from the row id
    ``starts`` gives: ``_last_row_groups``), the columns it updated and the key's first (every row
    group's deletions). A table put back in order (``rewritten``) is not among them: written whole."""
    written = {}
    for name, kept in incremental.items():
        if kept.read_whole and name not in rewritten:
            key = kept.replaced.columns
            updated = [] if kept.updated is None else [column for column in kept.updated.columns if column not in key]
            written[name] = WrittenRows(starts[name], (key[0], *updated))
    if all(kept.read_whole for kept in incremental.values()):
        for name, changes in internal.items():
            if isinstance(changes, InternalChanges):
                table = f"{INTERNAL_SCHEMA}.{name}"
                written[table] = WrittenRows(starts[table], tuple(changes.deleted.columns[:1]))
    return written


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


def _update_rows(
    connection: duckdb.DuckDBPyConnection, name: str, updated: pl.DataFrame | None, *, key: list[str]
) -> None:
    """The rows of table ``name`` whose ``key`` ``updated`` lists given its other columns' values, in place."""
    if updated is None or updated.is_empty():
        return
    connection.register("updated", updated.to_arrow())
    values = ", ".join(f'"{column}" = updated."{column}"' for column in updated.columns if column not in key)
    matched = " AND ".join(f'"{name}"."{column}" = updated."{column}"' for column in key)
    connection.execute(f'UPDATE "{name}" SET {values} FROM updated WHERE {matched}')
    connection.unregister("updated")


#: The schema of the tables a build keeps for the next one (``publish_warehouse``'s ``internal``).
INTERNAL_SCHEMA = "_build"


def _write_internal(connection: duckdb.DuckDBPyConnection, internal: dict[str, pl.DataFrame | InternalChanges]) -> None:
    """Each frame of ``internal`` as a table of ``INTERNAL_SCHEMA``, in its own column names and
    types; of ``InternalChanges``, the live table with the changes."""
    if internal:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{INTERNAL_SCHEMA}"')
    for name, frame in internal.items():
        table = f'"{INTERNAL_SCHEMA}"."{name}"'
        if isinstance(frame, InternalChanges):
            if frame.deleted.height:
                connection.register("deleted", frame.deleted.to_arrow())
                matched = " AND ".join(f'{table}."{key}" = deleted."{key}"' for key in frame.deleted.columns)
                connection.execute(f"DELETE FROM {table} USING deleted WHERE {matched}")
                connection.unregister("deleted")
            statement, frame = f"INSERT INTO {table} SELECT * FROM incoming", frame.added
        else:
            statement = f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming"
        # A big one (one row per response, read by key) in no particular order: 1M responses' screening
        # inputs written in 0.3 s instead of 0.5 s; the small ones (the crosstab's sums) in order.
        connection.execute(f"SET preserve_insertion_order = {frame.height < SMALL_PUBLISH_ROWS}")
        connection.register("incoming", frame.to_arrow())
        connection.execute(statement)
        connection.unregister("incoming")


def _put_in_order(connection: duckdb.DuckDBPyConnection, name: str, kept: KeptRows) -> bool:
    """The rows of table ``name`` rewritten in the order a full build inserts them
    (``KeptRows.order`` or ``KeptRows.follows``), when it has fewer than ``_UNORDERED_ROWS``
    rows; left as they are when already in that order (new rows that sort after the kept ones).
    Whether they were rewritten."""
    (rows,) = connection.execute(f'select count(*) from "{name}"').fetchone()
    if rows >= _UNORDERED_ROWS or not (kept.order or kept.follows):
        return False
    source = f'"{name}" as t'
    keys = ", ".join(f't."{column}" ASC NULLS FIRST' for column in kept.order)
    if kept.follows:
        matched = " AND ".join(f't."{key}" = f."{key}"' for key in kept.replaced.columns)
        source += f' LEFT JOIN "{kept.follows}" as f ON {matched}'
        keys = "f.rowid ASC NULLS LAST"
    (unordered,) = connection.execute(
        f"select count(*) from (select row_number() over (order by {keys}) as place, "
        f"row_number() over (order by t.rowid) as stored from {source}) where place <> stored"
    ).fetchone()
    if not unordered:
        return False
    logger.info("%s put back in order: %d of its %d rows out of place after the rows added", name, unordered, rows)
    connection.execute("SET preserve_insertion_order = true")
    connection.execute(f'CREATE TEMP TABLE "_sorted" AS SELECT t.* FROM {source} ORDER BY {keys}')
    connection.execute(f'DELETE FROM "{name}"')
    connection.execute(f'INSERT INTO "{name}" SELECT * FROM "_sorted"')
    connection.execute('DROP TABLE "_sorted"')
    return True


def live_table_matches(connection: duckdb.DuckDBPyConnection, name: str, schema: pa.DataFrameSchema) -> bool:
    """Whether table ``name`` of ``connection`` has the columns ``schema`` gives it (names, types,
    nullability and descriptions, as DuckDB spells them): rows kept from it are this schema's."""
    columns = (
        "select column_name, data_type, is_nullable, comment from duckdb_columns() "
        "where schema_name = 'main' and table_name = ? order by column_index"
    )
    expected = duckdb.connect()
    try:
        for statement in create_table_sql(name, schema):
            expected.execute(statement)
        wanted = expected.execute(columns, [name]).fetchall()
    finally:
        expected.close()
    return connection.execute(columns, [name]).fetchall() == wanted


def _insert(connection: duckdb.DuckDBPyConnection, name: str, arrow) -> None:
    # Slices of a million rows and more are inserted in parallel, in no particular
    # order (a third faster at 20 million answers); the small tables keep their
    # order (crosstab, claims: what `select *` shows in the CLI).
    connection.execute(f"SET preserve_insertion_order = {'false' if len(arrow) >= _UNORDERED_ROWS else 'true'}")
    connection.register("incoming", arrow)
    connection.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
    connection.unregister("incoming")


def _insert_parquet(
    connection: duckdb.DuckDBPyConnection, name: str, table: ParquetTable, columns: list[str], *, scope: str = "GLOBAL"
) -> None:
    """The rows of ``table`` inserted from its files by DuckDB, in order below ``_UNORDERED_ROWS``
    rows, as ``_insert`` does (``scope``: of that setting; ``SESSION``: this connection's alone)."""
    ordered = "false" if table.height >= _UNORDERED_ROWS else "true"
    connection.execute(f"SET {scope} preserve_insertion_order = {ordered}")
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
