"""The nightly Prefect flow: landing folder in, published DuckDB warehouse out.

Import this module only after ``flows.settings.configure_prefect`` (the CLI does):
Prefect reads its settings at import time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.cache_policies import NO_CACHE

from flows.pipeline import (
    NewFile,
    RunSummary,
    account,
    build_tables,
    discover_files,
    needs_publish,
    new_run_id,
    next_file_order,
    publish,
    record_failed_run,
    stage_file,
)
from flows.lock import run_lock
from flows.settings import Settings, load_settings
from schemas.codebook import codebook


def _passing_io_failure(task, task_run, state) -> bool:
    """Retry only what may pass: I/O errors, never bad data or a bug."""
    try:
        state.result()
    except (OSError, TimeoutError):
        return True
    except Exception:
        return False
    return False


@task(name="discover", retries=2, retry_delay_seconds=5, retry_condition_fn=_passing_io_failure, cache_policy=NO_CACHE)
def discover(settings: Settings) -> list[NewFile]:
    return discover_files(settings, book=codebook())


@task(
    name="ingest",
    task_run_name="ingest {new.path.name}",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_passing_io_failure,
    cache_policy=NO_CACHE,
)
def ingest(new: NewFile, settings: Settings, run_id: str, file_order: int):
    staged = stage_file(new, settings=settings, run_id=run_id, file_order=file_order, book=codebook())
    record = staged.record
    logger = get_run_logger()
    if record["status"] == "failed":
        logger.warning(record["message"])
    else:
        logger.info(
            "%s: %s (%s), %d rows, %d quarantined",
            new.path.name, record["layout"], record["language"], record["rows_read"], record["quarantined"],
        )
    return staged


@task(name="build", cache_policy=NO_CACHE)
def build(settings: Settings, run: RunSummary):
    return build_tables(settings, run, book=codebook())


@task(name="publish", retries=2, retry_delay_seconds=5, retry_condition_fn=_passing_io_failure, cache_policy=NO_CACHE)
def publish_tables(settings: Settings, tables) -> None:
    publish(settings, tables, book=codebook())


@flow(name="surveyhouse-nightly", log_prints=False, validate_parameters=False)
def nightly(inbox: str | None = None, warehouse: str | None = None) -> RunSummary:
    """Ingest every new export of the landing folder and publish the warehouse."""
    settings = load_settings(inbox=inbox, warehouse=warehouse)
    with run_lock(settings.lock_file):
        return _nightly(settings)


def _nightly(settings: Settings) -> RunSummary:
    logger = get_run_logger()
    now = datetime.now(UTC)
    run = RunSummary(run_id=new_run_id(now), started_at=now, flow_run_id=str(flow_run.id) if flow_run.id else None)
    new_files = discover(settings)
    order = next_file_order(settings)
    for offset, new in enumerate(new_files):
        account(run, ingest(new, settings, run.run_id, order + offset))
    if not needs_publish(settings, run):
        logger.info("Nothing new in %s; the warehouse %s is unchanged.", settings.inbox, settings.warehouse)
        return run
    try:
        tables = build(settings, run)
        publish_tables(settings, tables)
    except Exception as error:
        record_failed_run(settings, run, error)
        raise
    run.published, run.tables = True, tables
    logger.info("Published %s (%d responses).", settings.warehouse, tables["responses"].height)
    return run


def run_nightly(settings: Settings) -> RunSummary:
    """Run the flow once, in this process."""
    return nightly(inbox=str(settings.inbox), warehouse=str(Path(settings.warehouse)))
