"""The nightly job's steps, as plain functions (the Prefect flow wraps them as tasks).

discover -> stage each new file -> build every table from all staged files -> publish.
Keeping them free of Prefect lets tests and benchmarks call them directly.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from schemas.codebook import Codebook, codebook
from schemas.figures import published_figures, published_figures_frame
from schemas.tables import warehouse_schemas
from surveyhouse.build import build_tables
from surveyhouse.discover import NewFile, discover_files
from surveyhouse.diskspace import record_failure
from surveyhouse.lake import publish_shared, pull_from_lake
from surveyhouse.lock import run_lock
from surveyhouse.runlog import (
    RunSummary,
    last_published_settings,
    new_run_id,
    previous_runs,
    repair_run_log,
)
from surveyhouse.settings import Settings
from surveyhouse.staging import (
    StagedFile,
    stage_export,
    staged_files,
)
from transforms.display import display_name, excerpt
from warehouse.backend import exists as warehouse_exists
from warehouse.backend import open_reader
from warehouse.generated_views import generated_views
from warehouse.health import LiveWarehouseUnreadable, warehouse_unreadable
from warehouse.publish import publish_warehouse as publish_file
from warehouse.publish import view_sql

logger = logging.getLogger("surveyhouse.pipeline")


def stage_file(
    new: NewFile, *, settings: Settings, run_id: str, file_order: int, book: Codebook, staged_dir: Path | None = None
) -> StagedFile:
    return stage_export(
        new.path,
        sha256=new.sha256,
        staged_dir=staged_dir or settings.staged_dir,
        archive_dir=settings.archive_dir,
        run_id=run_id,
        file_order=file_order,
        wave=new.wave,
        book=book,
        key=settings.hashing_key(),
        time_zones=settings.time_zones,
        max_quarantined_share=settings.max_quarantined_share,
    )


def next_file_order(settings: Settings) -> int:
    staged = staged_files(settings.staged_dir)
    return max((s.record["file_order"] for s in staged), default=0) + 1


def rebuild_dir(settings: Settings, run_id: str) -> Path:
    """Where a rebuild stages every archived file before it publishes (surveyhouse/rebuild.py)."""
    return settings.staged_dir.with_name(f".{settings.staged_dir.name}.rebuild-{run_id}")


def finish_rebuild(settings: Settings) -> None:
    """A rebuild killed after its publish gets its staged folder swapped in; one killed before is dropped."""
    published = {run["run_id"] for run in previous_runs(settings) if run.get("status") != "failed"}
    for leftover in sorted(settings.staged_dir.parent.glob(f".{settings.staged_dir.name}.rebuild-*")):
        run_id = leftover.name.rsplit(".rebuild-", 1)[1]
        if run_id in published:
            if settings.staged_dir.exists():
                settings.staged_dir.rename(settings.staged_dir.with_name(f".{settings.staged_dir.name}.old-{run_id}"))
            leftover.rename(settings.staged_dir)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    for old in settings.staged_dir.parent.glob(f".{settings.staged_dir.name}.old-*"):
        shutil.rmtree(old, ignore_errors=True)


def recover_state(settings: Settings, *, warehouse_readable: bool = True) -> None:
    """Put the state folder right after a run or rebuild that was killed; call first, under the run lock
    (after ``unreadable_live_warehouse``: a live warehouse that cannot be read whole is not consulted)."""
    if settings.is_lake:
        pull_from_lake(settings)  # what other writers staged and published
    repair_run_log(settings, from_warehouse=warehouse_readable)
    finish_rebuild(settings)


def unreadable_live_warehouse(settings: Settings) -> str | None:
    """Why the live warehouse file cannot be read whole (every column of every row, so every block's
    checksum is checked), in one line; None when it can, for a lake, or when none was published yet."""
    if settings.is_lake or not warehouse_exists(settings.store()):
        return None
    return warehouse_unreadable(settings.store())


def rebuilt_message(settings: Settings, reason: str, source: str = "the staged files") -> str:
    """The one line saying that the live warehouse was corrupt and the new one built without it."""
    return (
        f"the live warehouse {display_name(str(settings.store()))} could not be read whole ({excerpt(reason)}): "
        f"rebuilt from {source}"
    )


def build_and_publish(
    settings: Settings, run: RunSummary, *, book: Codebook, unreadable: str | None = None
) -> dict[str, pl.DataFrame]:
    """Build every table and publish them; the tables published.

    When the live warehouse cannot be read whole (``unreadable``, its reason, or the
    publish finds the rows it would keep unreadable), no row of it is kept: every table is
    built whole from the staged files, and a warning says so.
    """
    if unreadable is None:
        try:
            return publish(settings, build_tables(settings, run, book=book), book=book)
        except LiveWarehouseUnreadable as error:
            unreadable = error.reason
    logger.warning(rebuilt_message(settings, unreadable))
    # Given the staged folder explicitly, the build keeps nothing of the live warehouse.
    return publish(settings, build_tables(settings, run, book=book, staged_dir=settings.staged_dir), book=book)


def publish(settings: Settings, tables: dict[str, pl.DataFrame], *, book: Codebook) -> dict[str, pl.DataFrame]:
    """Swap the new warehouse in, then record the run in the state's run log; the tables published.

    Into a DuckLake, the tables are built again when other writers published meanwhile
    (surveyhouse/lake.py): the published ones are returned.
    """
    schemas = warehouse_schemas(book)
    views = view_sql() | generated_views(book, published_figures_frame(published_figures(), book=book))
    if settings.is_lake:
        tables = publish_shared(
            settings, tables, schemas, views, rebuild=lambda: build_tables(settings, run_of(tables), book=book)
        )
    else:
        replaced = tables.get("_answers_replaced")
        incremental = {"answers": replaced} if replaced is not None else None
        publish_file(
            settings.store(), {name: tables[name] for name in schemas}, schemas, views, incremental=incremental
        )
    settings.runs_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.runs_log.open("a", encoding="utf-8") as log:
        log.write(json.dumps(tables["_run"].row(0, named=True), default=str) + "\n")
    if settings.is_lake:
        _trim_lake(settings)
    return tables


def _trim_lake(settings: Settings) -> None:
    """Old snapshots and unreferenced files out of the lake, after the publish (which stands
    whatever happens here: a failure is logged, and the next publish tries again)."""
    from warehouse.lake import trim

    try:
        trimmed = trim(settings.store(), keep_days=settings.lake_keep_days)
    except (duckdb.Error, OSError) as error:
        logger.warning("Published; trimming the lake's old snapshots failed (the next publish tries again): %s", error)
        return
    if any(trimmed.values()):
        logger.info(
            "Lake trimmed: %d snapshot(s) older than %g day(s) expired, %d unreferenced file(s) deleted.",
            trimmed["snapshots_expired"], settings.lake_keep_days, trimmed["files_deleted"],
        )  # fmt: skip


def run_of(tables: dict[str, pl.DataFrame]) -> RunSummary:
    """The run that built ``tables`` (from its `_run` row), to build them again."""
    row = tables["_run"].row(0, named=True)
    return RunSummary(
        run_id=row["run_id"], started_at=datetime.fromisoformat(row["started_at"]), files_new=row["files_new"],
        files_failed=row["files_failed"], rows_read=row["rows_read"], flow_run_id=row["flow_run_id"],
        problems=[row["message"]] if row["message"] else [],
    )  # fmt: skip


def run_once(settings: Settings, *, book: Codebook | None = None) -> RunSummary:
    """The whole nightly job without Prefect: what the flow does, step for step."""
    book = book or codebook()
    now = datetime.now(UTC)
    run = RunSummary(run_id=new_run_id(now), started_at=now)
    with run_lock(settings.lock_file):
        unreadable = unreadable_live_warehouse(settings)
        recover_state(settings, warehouse_readable=unreadable is None)
        new_files = discover_files(settings, book=book)
        order = next_file_order(settings)
        try:
            for offset, new in enumerate(new_files):
                staged = stage_file(new, settings=settings, run_id=run.run_id, file_order=order + offset, book=book)
                account(run, staged)
            if unreadable is not None or needs_publish(settings, run):
                run.tables = build_and_publish(settings, run, book=book, unreadable=unreadable)
                run.published = True
        except Exception as error:
            full = record_failure(settings, run, error)
            if full is None:
                raise
            raise full from error
    return run


def account(run: RunSummary, staged: StagedFile) -> None:
    run.files_new += 1
    run.files_failed += staged.record["status"] != "loaded"
    if staged.record["status"] != "loaded":
        run.problems.append(staged.record["message"] or f"{staged.record['source_file']}: {staged.record['status']}")
    run.rows_read += staged.record["rows_read"]


def needs_publish(settings: Settings, run: RunSummary) -> bool:
    """Publish when something new arrived, the settings changed, there is no warehouse, or
    the warehouse lacks staged files (a run killed between staging and publishing)."""
    return (
        run.files_new > 0
        or not warehouse_exists(settings.store())
        or last_published_settings(settings) != settings.recorded()
        or published_files(settings) != {staged.sha256 for staged in staged_files(settings.staged_dir)}
    )


def published_files(settings: Settings) -> set[str]:
    """The files (by SHA-256) that the live warehouse was built from."""
    with open_reader(settings.store()) as connection:
        return set(connection.table("files").select("file_sha256").pl()["file_sha256"].to_list())
