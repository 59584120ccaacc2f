"""The warehouse as a DuckLake: catalog in PostgreSQL, data as Parquet files in a folder.

A lake is named by a spec ``ducklake:postgres:<libpq conninfo>`` (e.g.
``ducklake:postgres:dbname=surveyhouse host=db.internal user=surveyhouse``) and a data
folder that every writer and reader reaches (``--lake-data``). DuckLake's and the
PostgreSQL scanner's extensions come from the PyPI packages ``duckdb-extension-ducklake``
and ``duckdb-extension-postgres`` (built for exactly this DuckDB version) and are
installed from those files into an extension folder of the project's state: nothing is
downloaded.

Publishing is one snapshot: every table is replaced, the views recreated and the
pipeline's shared staging rows added inside one transaction; readers see the previous
snapshot until the commit. Two writers that publish at once both build on the snapshot
they started from; DuckLake lets the first commit and refuses the second with a
transaction conflict, which this module reports as ``LakeConflict`` (the second
transaction is rolled back whole: nothing of it is visible). The caller retries it on
the new snapshot (``surveyhouse/lake.py``).

DuckLake has no ENUM type: enum columns are VARCHAR there (same values; ordering by
them is alphabetical, not questionnaire order: use the `*_order` columns). Table and
column comments are kept, so the ``dictionary`` view works the same.
"""

from __future__ import annotations

import importlib.util
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb
import polars as pl

from warehouse.ddl import _quote_identifier as ident
from warehouse.ddl import _quote_literal as literal
from warehouse.ddl import create_table_sql
from warehouse.publish import frames
from warehouse.spec import CATALOG, LAKE_PREFIX, catalog_name, is_lake_spec  # noqa: F401 (re-exported)
from warehouse.view_columns import describe_views, in_creation_order

if TYPE_CHECKING:  # pandera (and the pandas it imports) would cost `surveyhouse sql` most of a second
    import pandera.polars as pa

STAGING = "staging"  # the lake's schema of pipeline inputs shared by every writer (not analysts' tables)
_ATTACH_ATTEMPTS = 5  # two writers creating a fresh catalog at once: the loser retries and finds it made
PUBLISH_ATTEMPTS = 6  # a publish that loses the race to another writer's commit is redone this often at most
RETRY_DELAY_S = 0.25  # first wait after a conflict; doubled each time, with jitter (about 16 s in all at most)

T = TypeVar("T")
_NOT_PUBLISHED = "no warehouse in the lake {spec} yet: run `surveyhouse run` (or `surveyhouse demo`) with it first"


class LakeConflict(RuntimeError):
    """Another writer committed a snapshot since this transaction began; nothing of it was kept."""


class LakeBusy(TimeoutError):
    """Other writers kept committing: every attempt of a publish conflicted."""


class LakeUnavailable(OSError):
    """The lake's catalog (PostgreSQL) or its extensions could not be reached."""


@dataclass(frozen=True)
class Lake:
    """Where a DuckLake lives: its catalog (after ``ducklake:``), data folder and extension folder."""

    catalog: str  # e.g. "postgres:dbname=surveyhouse host=127.0.0.1 port=5432 user=surveyhouse"
    data_path: Path | None  # the Parquet folder; None for readers (the catalog records it)
    extension_dir: Path

    @property
    def spec(self) -> str:
        return LAKE_PREFIX + self.catalog

    def __str__(self) -> str:
        """The spec for messages, its password (if any) masked."""
        return masked(self.spec) + (f" (data {self.data_path})" if self.data_path else "")


def masked(text: str) -> str:
    """``text`` with libpq passwords masked (``password=...`` and ``user:password@`` in URLs)."""
    text = re.sub(r"(password\s*=\s*)('[^']*'|[^\s\"]+)", r"\1***", text)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def extension_file(package: str, name: str) -> Path:
    """An extension shipped by a ``duckdb-extension-*`` package, for this DuckDB version."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise LakeUnavailable(
            f"the Python package {package.replace('_', '-')} is not installed: it ships the DuckDB extension "
            f"'{name}' that a DuckLake warehouse needs (pip install {package.replace('_', '-')}=={duckdb.__version__})"
        )
    path = (
        Path(next(iter(found.submodule_search_locations)))
        / "extensions"
        / f"v{duckdb.__version__}"
        / f"{name}.duckdb_extension"
    )
    if not path.exists():
        raise LakeUnavailable(f"{path} is missing: {package} does not match DuckDB {duckdb.__version__}")
    return path


def install_extensions(extension_dir: Path) -> None:
    """Install ducklake and postgres_scanner into ``extension_dir`` from the PyPI packages' files.

    The postgres package's file is named ``postgres.duckdb_extension`` while the extension
    is ``postgres_scanner`` (its entry point is named so): it is installed from a copy
    under that name.
    """
    extension_dir.mkdir(parents=True, exist_ok=True)
    ducklake = extension_file("duckdb_extension_ducklake", "ducklake")
    postgres = extension_file("duckdb_extension_postgres", "postgres")
    renamed = extension_dir / "postgres_scanner.duckdb_extension"
    if not renamed.exists() or renamed.stat().st_size != postgres.stat().st_size:
        partial = renamed.with_name(renamed.name + ".partial")
        shutil.copyfile(postgres, partial)
        partial.replace(renamed)
    with duckdb.connect(config={"extension_directory": str(extension_dir)}) as connection:
        for source in (ducklake, renamed):
            connection.execute(f"FORCE INSTALL {literal(str(source))}")


def _installed(extension_dir: Path) -> bool:
    platform_dirs = list((extension_dir / f"v{duckdb.__version__}").glob("*/"))
    return any(
        (d / "ducklake.duckdb_extension").exists() and (d / "postgres_scanner.duckdb_extension").exists()
        for d in platform_dirs
    )


def connect_lake(lake: Lake, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached as ``lake`` and in use (``USE lake``).

    Read-only connections refuse every write ("attached in read-only mode"). A lake whose
    catalog no writer has created yet raises FileNotFoundError for readers.
    """
    if not _installed(lake.extension_dir):
        install_extensions(lake.extension_dir)
    connection = duckdb.connect(
        config={
            "extension_directory": str(lake.extension_dir),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    try:
        connection.execute("SET enable_progress_bar = false")
        connection.execute("LOAD ducklake")
        connection.execute("LOAD postgres_scanner")
        options = []
        if lake.data_path is not None and not read_only:
            lake.data_path.mkdir(parents=True, exist_ok=True)
            options.append(f"DATA_PATH {literal(str(lake.data_path).rstrip('/') + '/')}")
        if read_only:
            options.append("READ_ONLY")
        attach = f"ATTACH {literal(lake.spec)} AS {CATALOG}" + (f" ({', '.join(options)})" if options else "")
        _attach(connection, attach, lake)
        connection.execute(f"USE {CATALOG}")
    except BaseException:
        connection.close()
        raise
    return connection


def _attach(connection: duckdb.DuckDBPyConnection, attach: str, lake: Lake) -> None:
    for attempt in range(_ATTACH_ATTEMPTS):
        try:
            connection.execute(attach)
            return
        except duckdb.InvalidInputException as error:
            if "does not exist" in str(error):
                raise FileNotFoundError(_NOT_PUBLISHED.format(spec=str(lake))) from error
            raise
        except duckdb.IOException as error:
            raise LakeUnavailable(f"cannot reach the lake's catalog {lake}: {masked(str(error))}") from None
        except duckdb.Error as error:
            # Two writers creating a fresh catalog at once: one wins, the other sees
            # "already exists" halfway; its next ATTACH finds the catalog whole.
            if "Failed to initialize DuckLake" not in str(error) or attempt == _ATTACH_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def open_lake_reader(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a lake that a writer has published into; else FileNotFoundError.

    Opening costs about 0.4 s of CPU (a DuckDB instance, both extensions loaded, the
    catalog attached): keep a reader's connection open rather than opening one per query;
    each query sees the latest snapshot.
    """
    connection = connect_lake(lake, read_only=True)
    if read_published_runs(connection, rows=False) is None:
        connection.close()
        raise FileNotFoundError(_NOT_PUBLISHED.format(spec=str(lake)))
    return connection


def lake_exists(lake: Lake) -> bool:
    """Whether a writer has published into the lake (its `runs` table exists)."""
    try:
        open_lake_reader(lake).close()
    except FileNotFoundError:
        return False
    return True


def _arrow_ready(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    frame = frame.select(list(schema.columns))
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
        + [pl.col(c).cast(pl.List(pl.Utf8)) for c, t in frame.schema.items() if t == pl.List and t.inner == pl.Enum]
    )


def write_snapshot(
    connection: duckdb.DuckDBPyConnection,
    tables: dict[str, pl.DataFrame],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str] | None,
) -> None:
    """Replace every table (DDL and comments from the schemas) and view, in the open transaction."""
    for name, schema in schemas.items():
        statements = create_table_sql(name, schema, enums=False)
        connection.execute(statements[0].replace("CREATE TABLE", "CREATE OR REPLACE TABLE", 1))
        for statement in statements[1:]:
            connection.execute(statement)
        for frame in frames(tables[name]):
            connection.register("incoming", _arrow_ready(frame, schema).to_arrow())
            connection.execute(f"INSERT INTO {ident(name)} SELECT * FROM incoming")
            connection.unregister("incoming")
    for name, sql in in_creation_order(views or {}).items():
        sql = getattr(sql, "without_enums", sql)  # a DocumentedView (warehouse.ddl): its query without ENUM
        connection.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS {sql}")
    describe_views(connection, views or {}, schemas, columns=False)  # DuckLake: no comment on a view column


#: Files a publish no longer needs are deleted once they have been unreferenced this
#: long (seconds), so that a reader still scanning an older snapshot is not cut off.
DELETE_GRACE_S = 86_400.0


def trim(lake: Lake, *, keep_days: float) -> dict[str, int]:
    """Expire the lake's snapshots older than ``keep_days`` and delete the data files
    nothing references any more; how many of each.

    Every publish replaces the tables whole, and DuckLake keeps each older snapshot's
    files for time travel: without this, the data folder grows by about one warehouse a
    night. Expired snapshots can no longer be queried (``AT (VERSION => ...)``); the
    latest snapshot is never expired. Files are deleted once unreferenced for a day, or
    for ``keep_days`` when that is shorter (0: at once), and so are the files a killed
    publish left behind (written, never committed).
    """
    keep_s, grace_s = keep_days * 86_400.0, min(DELETE_GRACE_S, keep_days * 86_400.0)
    with connect_lake(lake, read_only=False) as connection:
        expired = connection.execute(
            f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => now() - to_seconds({keep_s:.3f}))"
        ).fetchall()
        deleted = connection.execute(
            f"CALL ducklake_cleanup_old_files('{CATALOG}', older_than => now() - to_seconds({grace_s:.3f}))"
        ).fetchall()
        orphans = connection.execute(
            f"CALL ducklake_delete_orphaned_files('{CATALOG}', older_than => now() - to_seconds({grace_s:.3f}))"
        ).fetchall()
    return {"snapshots_expired": len(expired), "files_deleted": len(deleted) + len(orphans)}


def is_conflict(error: BaseException) -> bool:
    """A commit refused because another transaction changed the same tables first."""
    return isinstance(error, duckdb.TransactionException) or "Transaction conflict" in str(error)


def commit(connection: duckdb.DuckDBPyConnection) -> None:
    """COMMIT; a conflict with another writer becomes LakeConflict (and the transaction is gone)."""
    try:
        connection.execute("COMMIT")
    except duckdb.Error as error:
        if is_conflict(error):
            raise LakeConflict(str(error).splitlines()[-1]) from error
        raise


def rollback(connection: duckdb.DuckDBPyConnection) -> None:
    try:
        connection.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed COMMIT has already ended the transaction


def in_transaction(
    lake: Lake,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    *,
    attempts: int = PUBLISH_ATTEMPTS,
    delay_s: float = RETRY_DELAY_S,
    on_conflict: Callable[[int, LakeConflict], None] | None = None,
) -> T:
    """``work(connection)`` between BEGIN and COMMIT; redone on a new snapshot after a conflict.

    Each attempt opens a fresh connection and transaction, so ``work`` reads the latest
    snapshot. A conflicting commit leaves nothing behind; after a pause (doubling, with
    jitter, so two writers do not collide again in step) the work is done again. Any
    other error rolls back and propagates. After ``attempts`` conflicts: LakeBusy.
    """
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        connection = connect_lake(lake, read_only=False)
        try:
            connection.execute("BEGIN")
            result = work(connection)
            commit(connection)
            return result
        except LakeConflict as error:
            if on_conflict is not None:
                on_conflict(attempt, error)
        except duckdb.Error as error:
            rollback(connection)
            if not is_conflict(error):
                raise
            if on_conflict is not None:
                on_conflict(attempt, LakeConflict(str(error)))
        except BaseException:
            rollback(connection)
            raise
        finally:
            connection.close()
        if attempt < attempts:
            time.sleep(delay_s * 2 ** (attempt - 1) * (1 + random.random()))
    raise LakeBusy(
        f"other writers committed to the lake {lake} during each of {attempts} attempts to publish "
        f"({time.monotonic() - started:.1f} s); nothing of this run was published and readers still see the last "
        "snapshot. Run again when the other writers are done."
    )


def publish_lake(
    lake: Lake,
    tables: dict[str, pl.DataFrame],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str] | None = None,
) -> None:
    """Replace every table and view in one snapshot (last writer wins: ``tables`` are whole)."""
    in_transaction(lake, lambda connection: write_snapshot(connection, tables, schemas, views))


# --- staging: each ingested file's staged result, shared by every writer ---------------

STAGED_COLUMNS = {
    "file_sha256": "VARCHAR",
    "file_order": "BIGINT",
    "record": "VARCHAR",
    "responses": "BLOB",
    "quarantine": "BLOB",
}


def ensure_staging(connection: duckdb.DuckDBPyConnection) -> None:
    """The staging schema and its table, in the open transaction (created by the first writer)."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {STAGING}")
    columns = ", ".join(f"{ident(c)} {t}" for c, t in STAGED_COLUMNS.items())
    connection.execute(f"CREATE TABLE IF NOT EXISTS {STAGING}.files ({columns})")


def read_staged(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every file staged into the lake (one row per file: its record and Parquet bytes), in file order."""
    exists = connection.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? and table_name = 'files'",
        [CATALOG, STAGING],
    ).fetchone()[0]
    if not exists:
        return pl.DataFrame(
            schema={
                "file_sha256": pl.Utf8,
                "file_order": pl.Int64,
                "record": pl.Utf8,
                "responses": pl.Binary,
                "quarantine": pl.Binary,
            }
        )
    return connection.execute(f"select * from {STAGING}.files order by file_order").pl()


def add_staged(connection: duckdb.DuckDBPyConnection, staged: pl.DataFrame) -> None:
    """Add files' staged results (columns of STAGED_COLUMNS), in the open transaction; a file
    already there (same SHA-256) is replaced (a rebuild re-stages every file)."""
    if staged.is_empty():
        return
    ensure_staging(connection)
    connection.register("incoming_staged", staged.select(list(STAGED_COLUMNS)).to_arrow())
    connection.execute(f"DELETE FROM {STAGING}.files WHERE file_sha256 IN (SELECT file_sha256 FROM incoming_staged)")
    connection.execute(f"INSERT INTO {STAGING}.files SELECT * FROM incoming_staged")
    connection.unregister("incoming_staged")


def read_published_runs(connection: duckdb.DuckDBPyConnection, *, rows: bool = True) -> pl.DataFrame | None:
    """The published `runs` table as of the open transaction, or None before the first publish
    (``rows=False``: an empty frame when it exists, without reading it)."""
    exists = connection.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = 'main' and table_name = 'runs'",
        [CATALOG],
    ).fetchone()[0]
    if not exists:
        return None
    return connection.table("runs").pl() if rows else pl.DataFrame()
