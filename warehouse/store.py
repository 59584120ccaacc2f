"""The warehouse, whatever it is stored in: one protocol, two implementations.

``FileWarehouse``: an embedded DuckDB file, published by building a new file beside the
live one and swapping it in (warehouse/publish.py). ``LakeWarehouse``: a DuckLake
(catalog in PostgreSQL, data as Parquet), published as one snapshot (warehouse/lake.py),
whose writers share the staged result of every file through the lake.

Nothing outside this package asks which one it has: the night publishes, reads the live
tables back, trims and recovers through the protocol. ``warehouse_at(spec, ...)`` turns
a setting (a path, or ``ducklake:postgres:<conninfo>``) into one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb
import polars as pl

from warehouse import lake as lakes
from warehouse import spec
from warehouse.health import live_unreadable, warehouse_unreadable
from warehouse.publish import (
    LiveCopy,
    LoadedAhead,
    ParquetTable,
    building_files,
    connect_read_only,
    publish_warehouse,
    spare_file,
)
from warehouse.queries import run_query

if TYPE_CHECKING:  # pandera (and the pandas it imports) would cost `surveyhouse sql` most of a second
    import pandera.polars as pa

Tables = dict[str, pl.DataFrame]


class StagingShare(Protocol):
    """What a writer shares with the others through a warehouse that several writers load
    (a lake): its state folder's staged files and run log. Implemented by the application."""

    def absorb(self, staged: pl.DataFrame, runs: pl.DataFrame | None) -> bool:
        """Take in the files and runs other writers published; True when the tables must be built again."""

    def outgoing(self, published: set[str]) -> pl.DataFrame:
        """This writer's staged files that the warehouse lacks, as rows of ``staging.files``."""

    def rebuild(self) -> Tables:
        """Every table, built again from the staged files (after ``absorb`` changed them)."""


class Warehouse(Protocol):
    """Where the published tables live, for readers and for the one writer of a night."""

    name: str  # a short name for the state files (the file's stem, the lake's dbname)

    def exists(self) -> bool:
        """Whether anything was published there yet."""

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection whose default database is the warehouse (FileNotFoundError if none yet)."""

    def publish(
        self,
        tables: Tables,
        schemas: dict[str, pa.DataFrameSchema],
        views: dict[str, str],
        *,
        share: StagingShare,
        incremental: dict[str, pl.DataFrame] | None = None,
        ahead: LiveCopy | None = None,
        beside_check: Callable[[Path], object] | None = None,
    ) -> Tables:
        """Make ``tables`` and ``views`` the warehouse, at once for every reader; the tables published.
        ``ahead``: ``copy_ahead``'s; ``beside_check``: ``publish_warehouse``'s (a file's; a lake has no new file to read)."""

    def load_ahead(
        self, tables: dict[str, ParquetTable], schemas: dict[str, pa.DataFrameSchema], *, coming: bool = False
    ) -> LoadedAhead | None:
        """A full build's big ``tables`` inserted now into the next publish's new file, on a thread
        (``LoadedAhead``, ``coming``: more of their files to come; the build gives it as its ``_loaded``
        entry); None where a publish writes no new file."""

    def copy_ahead(self) -> LiveCopy | None:
        """The live warehouse's copy, started now for a publish that keeps live rows (``LiveCopy``); None
        when the warehouse keeps none."""

    def absorb_shared(self, share: StagingShare) -> None:
        """Bring the local state up to what other writers published (nothing for a file)."""

    def published_at(self) -> datetime | None:
        """When the live warehouse was published, None when nothing was; OSError when it cannot be reached."""

    def keeps_live_rows(self) -> bool:
        """Whether a publish can keep rows of the live tables (``incremental``) instead of writing them again."""

    def trim(self) -> str | None:
        """Drop what no reader needs any more after a publish; a sentence saying what, or None."""

    def unreadable(self) -> str | None:
        """Why the live warehouse cannot be read whole, in one line; None when it can (or there is none)."""

    def written_folders(self) -> list[Path]:
        """The folders a publish writes into (to name the full one when a disk is full)."""

    def discard_partial(self) -> None:
        """Remove what a publish killed or failed half-way left behind."""

    def default_state_dir(self) -> Path:
        """Where the writer's state folder goes unless a setting says otherwise."""

    def default_report_file(self) -> Path:
        """Where the report page each publish writes goes."""


def read_table(warehouse: Warehouse, name: str) -> pl.DataFrame:
    """A live table, read back whole."""
    with warehouse.reader() as connection:
        return connection.table(name).pl()


@dataclass(frozen=True)
class FileWarehouse:
    """An embedded DuckDB file, swapped in whole by each publish."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def __str__(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def reader(self) -> duckdb.DuckDBPyConnection:
        return connect_read_only(self.path)

    def publish(self, tables, schemas, views, *, share, incremental=None, ahead=None, beside_check=None) -> Tables:
        publish_warehouse(
            self.path,
            {name: tables[name] for name in schemas},
            schemas,
            views,
            incremental=incremental,
            internal=tables.get("_internal"),
            ahead=ahead,
            beside_check=beside_check,
            loaded=tables.get("_loaded"),
        )
        return tables

    def load_ahead(
        self, tables: dict[str, ParquetTable], schemas: dict[str, pa.DataFrameSchema], *, coming: bool = False
    ) -> LoadedAhead:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return LoadedAhead(self.path, tables, schemas, coming=coming)

    def copy_ahead(self) -> LiveCopy | None:
        return LiveCopy(self.path) if self.path.exists() else None

    def absorb_shared(self, share: StagingShare) -> None:
        return None

    def published_at(self) -> datetime | None:
        if not self.path.exists():
            return None
        return datetime.fromtimestamp(self.path.stat().st_mtime, UTC)

    def keeps_live_rows(self) -> bool:
        return self.path.exists()

    def trim(self) -> str | None:
        return None

    def unreadable(self) -> str | None:
        # the bytes last verified (their digests recorded: 250 MB hashed in 0.2 s of CPU), or read whole (0.4 s)
        return live_unreadable(self.path, read_whole=warehouse_unreadable) if self.path.exists() else None

    def written_folders(self) -> list[Path]:
        return [self.path.parent]

    def discard_partial(self) -> None:
        for building in building_files(self.path):
            building.unlink(missing_ok=True)
            Path(str(building) + ".wal").unlink(missing_ok=True)
        spare_file(self.path).unlink(missing_ok=True)  # (its space; the next night copies the live file whole)

    def default_state_dir(self) -> Path:
        return spec.default_state_dir(self.path, None)

    def default_report_file(self) -> Path:
        return spec.default_report_file(self.path, self.default_state_dir())


@dataclass(frozen=True)
class LakeWarehouse:
    """A DuckLake: one snapshot per publish, the writers' staged files shared in schema ``staging``."""

    lake: lakes.Lake
    keep_days: float = 30.0

    @property
    def name(self) -> str:
        return spec.catalog_name(self.lake.spec)

    def __str__(self) -> str:
        return str(self.lake)

    def exists(self) -> bool:
        return lakes.lake_exists(self.lake)

    def reader(self) -> duckdb.DuckDBPyConnection:
        return lakes.open_lake_reader(self.lake)

    def publish(self, tables, schemas, views, *, share, incremental=None, ahead=None, beside_check=None) -> Tables:
        if self.lake.data_path is None:
            raise ValueError(
                f"a DuckLake warehouse needs its data folder to write: give --lake-data DIR (or "
                f"SURVEYHOUSE_LAKE_DATA) for {self.lake}; nothing was published"
            )
        published = tables

        def attempt(connection: duckdb.DuckDBPyConnection) -> Tables:
            nonlocal published
            shared = lakes.read_staged(connection)
            if share.absorb(shared, lakes.read_published_runs(connection)):
                published = share.rebuild()
            lakes.add_staged(connection, share.outgoing(set(shared["file_sha256"].to_list())))
            lakes.write_snapshot(connection, {name: published[name] for name in schemas}, schemas, views)
            return published

        return lakes.in_transaction(self.lake, attempt, on_conflict=self._conflicted)

    def _conflicted(self, attempt: int, error: lakes.LakeConflict) -> None:
        import logging

        logging.getLogger("surveyhouse.lake").warning(
            "Another writer published into %s first (attempt %d: %s); building again on its snapshot.",
            self.lake,
            attempt,
            error,
        )

    def absorb_shared(self, share: StagingShare) -> None:
        try:
            connection = lakes.connect_lake(self.lake, read_only=True)
        except FileNotFoundError:
            return  # nothing published yet
        with connection:
            share.absorb(lakes.read_staged(connection), lakes.read_published_runs(connection))

    def published_at(self) -> datetime | None:
        try:
            with self.reader() as connection:
                committed = run_query(connection, "lake_last_snapshot").fetchone()[0]
        except FileNotFoundError:
            return None
        return committed.astimezone(UTC)

    def keeps_live_rows(self) -> bool:
        return False  # every snapshot writes its tables whole

    def load_ahead(
        self, tables: dict[str, ParquetTable], schemas: dict[str, pa.DataFrameSchema], *, coming: bool = False
    ) -> None:
        return None  # a snapshot is written within the publish's transaction

    def copy_ahead(self) -> LiveCopy | None:
        return None

    def trim(self) -> str | None:
        trimmed = lakes.trim(self.lake, keep_days=self.keep_days)
        if not any(trimmed.values()):
            return None
        return (
            f"Lake trimmed: {trimmed['snapshots_expired']} snapshot(s) older than {self.keep_days:g} day(s) expired, "
            f"{trimmed['files_deleted']} unreferenced file(s) deleted."
        )

    def unreadable(self) -> str | None:
        return None  # the catalog and Parquet files are read whole by every publish (no row is kept)

    def written_folders(self) -> list[Path]:
        return [self.lake.data_path] if self.lake.data_path else []

    def discard_partial(self) -> None:
        return None  # an uncommitted snapshot's files are orphans that the next trim deletes

    def default_state_dir(self) -> Path:
        return spec.default_state_dir(self.lake.spec, self.lake.data_path)

    def default_report_file(self) -> Path:
        return spec.default_report_file(self.lake.spec, self.default_state_dir())


def is_lake_spec(value: object) -> bool:
    """Whether a warehouse setting names a DuckLake (``ducklake:...``) rather than a file."""
    return spec.is_lake_spec(value)


def warehouse_at(
    setting: str | Path,
    *,
    lake_data: Path | None = None,
    state_dir: Callable[[Warehouse], Path] | None = None,
    keep_days: float = 30.0,
) -> Warehouse:
    """The warehouse a setting names: a DuckDB file path, or ``ducklake:postgres:<conninfo>``.

    A lake's extensions are installed into ``extensions/`` of the state folder, which
    ``state_dir(warehouse)`` gives (default: the warehouse's own default).
    """
    if not is_lake_spec(setting):
        return FileWarehouse(Path(setting))
    draft = LakeWarehouse(lakes.Lake(str(setting).removeprefix(spec.LAKE_PREFIX), lake_data, Path()), keep_days)
    folder = state_dir(draft) if state_dir else draft.default_state_dir()
    return LakeWarehouse(lakes.Lake(draft.lake.catalog, lake_data, folder / "extensions"), keep_days)


def as_warehouse(value: object) -> Warehouse:
    """A Warehouse from what older callers hand over: a Warehouse, a path, or a ``warehouse.lake.Lake``."""
    if isinstance(value, FileWarehouse | LakeWarehouse):
        return value
    if isinstance(value, lakes.Lake):
        return LakeWarehouse(value)
    return FileWarehouse(Path(value))
