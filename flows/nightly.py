"""The nightly Prefect flow: landing folder in, published DuckDB warehouse out.

Import this module only after ``surveyhouse.settings.configure_prefect`` (the CLI does):
Prefect reads its settings at import time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.failure import report_failure
from schemas.codebook import codebook
from surveyhouse.build import build_tables
from surveyhouse.discover import Discovery, NewFile, discover_files
from surveyhouse.landing import NotTaken
from surveyhouse.lock import run_lock
from surveyhouse.night import account, needs_publish, next_file_order, publish, recover_state, stage_file
from surveyhouse.runlog import RunSummary, new_run_id, record_failed_run
from surveyhouse.settings import Settings, dask_address, load_settings, run_timeout_s


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
def discover(settings: Settings) -> Discovery:
    return discover_files(settings, book=codebook(), settle_s=settings.settle_s)


@task(
    name="ingest",
    task_run_name="ingest {new.shown_name}",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_passing_io_failure,
    cache_policy=NO_CACHE,
)
def ingest(new: NewFile, settings: Settings, run_id: str, file_order: int):
    staged = stage_file(new, settings=settings, run_id=run_id, file_order=file_order, book=codebook())
    logger = get_run_logger()
    if isinstance(staged, NotTaken):
        logger.warning(staged.message)
        return staged
    record = staged.record
    if record["status"] == "failed":
        logger.warning(record["message"])
    else:
        logger.info(
            "%s: %s (%s), %d rows, %d quarantined",
            new.shown_name,
            record["layout"],
            record["language"],
            record["rows_read"],
            record["quarantined"],
        )
    return staged


@task(name="build", cache_policy=NO_CACHE)
def build(settings: Settings, run: RunSummary):
    return build_tables(settings, run, book=codebook())


@task(name="publish", retries=2, retry_delay_seconds=5, retry_condition_fn=_passing_io_failure, cache_policy=NO_CACHE)
def publish_tables(settings: Settings, tables) -> None:
    publish(settings, tables, book=codebook())


def task_runner():
    """Where the per-file steps run: the Dask cluster at $SURVEYHOUSE_DASK_ADDRESS, else Prefect's default (threads)."""
    address = dask_address()
    if not address:
        return None
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


@flow(
    name="surveyhouse-nightly",
    task_runner=task_runner(),  # SURVEYHOUSE_DASK_ADDRESS, read when this module is imported
    log_prints=False,
    validate_parameters=False,
    timeout_seconds=run_timeout_s(),  # SURVEYHOUSE_RUN_TIMEOUT_S, read when this module is imported
    on_failure=[report_failure],
)
def nightly(inbox: str | None = None, warehouse: str | None = None, lake_data: str | None = None) -> RunSummary:
    """Ingest every new export of the landing folder and publish the warehouse."""
    settings = load_settings(inbox=inbox, warehouse=warehouse, lake_data=lake_data)
    with run_lock(settings.lock_file):
        return _nightly(settings)


def _nightly(settings: Settings) -> RunSummary:
    logger = get_run_logger()
    now = datetime.now(UTC)
    run = RunSummary(run_id=new_run_id(now), started_at=now, flow_run_id=str(flow_run.id) if flow_run.id else None)
    recover_state(settings)
    found = discover(settings)
    run.problems += found.problems
    run.files_failed += found.files_failed
    for problem in found.problems:
        logger.warning(problem)
    order = next_file_order(settings)
    staging = [ingest.submit(new, settings, run.run_id, order + offset) for offset, new in enumerate(found.new)]
    for future in staging:  # in file order, whichever finished first
        account(run, future.result())
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
    run.report = report(settings)
    return run


@task(name="report")
def report(settings: Settings) -> Path | None:
    """Write the report page from the warehouse just published; a page that fails is logged, the publish stands."""
    from report import write_report

    logger = get_run_logger()
    try:
        written = write_report(settings.store(), settings.report_file, lang=settings.report_lang)
    except Exception as error:  # the warehouse is published and live: a broken page must not undo that
        logger.error(
            "The report page was not written (%s: %s); the warehouse %s is published.",
            type(error).__name__,
            error,
            settings.warehouse,
        )
        return None
    logger.info("Report page written to %s.", written)
    return written


def run_nightly(settings: Settings) -> RunSummary:
    """Run the flow once, in this process."""
    lake_data = str(settings.lake_data) if settings.lake_data else None
    return nightly(inbox=str(settings.inbox), warehouse=str(settings.warehouse), lake_data=lake_data)
