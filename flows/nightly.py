"""The nightly Prefect flow: `run_night` (surveyhouse/night.py) with its steps as Prefect tasks.

    nightly(inbox, warehouse, lake_data, study)
      -> load the settings (validated) and the study, once
      -> run_night(study, settings, warehouse, runner=PrefectSteps())
           recover, discover, ingest <file> (one task per file: threads, or a Dask
           cluster at $SURVEYHOUSE_DASK_ADDRESS), build, publish, report

Retries only where a retry can help: steps that read or write files (``io``), and only
on I/O errors, never on bad data or a bug. A run that finds another run holding the
warehouse ends Cancelled, not Failed: it changed nothing and warns nobody.

Import this module only after ``surveyhouse.settings.configure_prefect`` (the CLI does):
Prefect reads its settings at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Cancelled

from flows.failure import report_failure
from flows.head_start import NightAhead, night_to_take_over, taken_over
from schemas.study import load_study
from surveyhouse.diskspace import says_disk_full
from surveyhouse.lock import RunInProgress
from surveyhouse.night import run_night
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import Settings, load_settings

T = TypeVar("T")
X = TypeVar("X")
IO_RETRIES = 2
IO_RETRY_DELAY_S = 5


def _passing_io_failure(task, task_run, state) -> bool:
    """Retry only what may pass: I/O errors, never bad data or a bug."""
    try:
        state.result()
    except (OSError, TimeoutError) as error:
        return not says_disk_full(error)  # a full disk stays full: say so at once
    except Exception:
        return False
    return False


class PrefectSteps:
    """The night's steps as Prefect tasks (``surveyhouse.night.Runner``); the per-file steps
    on a Dask cluster when ``dask_address`` is set, else on Prefect's default runner (threads)."""

    def __init__(self, dask_address: str | None = None) -> None:
        self.dask_address = dask_address

    def step(self, name: str, function: Callable[[], T], *, io: bool = False) -> T:
        retries = {"retries": IO_RETRIES, "retry_delay_seconds": IO_RETRY_DELAY_S} if io else {}
        runnable = task(_call, name=name, cache_policy=NO_CACHE, retry_condition_fn=_passing_io_failure, **retries)
        return runnable(function)

    def map(self, name: str, function: Callable[[X], T], items: Sequence[X], *, label: Callable[[X], str]) -> list[T]:
        runnable = task(
            _apply,
            name=name,
            cache_policy=NO_CACHE,
            retries=IO_RETRIES,
            retry_delay_seconds=IO_RETRY_DELAY_S,
            retry_condition_fn=_passing_io_failure,
        )
        named = [(runnable.with_options(task_run_name=f"{name} {label(item)}"), item) for item in items]
        if not self.dask_address or not items:
            futures = [each.submit(function, item) for each, item in named]
            return [future.result() for future in futures]  # in the items' order, whichever finished first
        from prefect_dask import DaskTaskRunner

        with DaskTaskRunner(address=self.dask_address) as cluster:
            futures = [cluster.submit(each, {"function": function, "item": item}) for each, item in named]
            return [future.result() for future in futures]


def _call(function: Callable[[], T]) -> T:
    return function()


def _apply(function: Callable[[X], T], item: X) -> T:
    return function(item)


@flow(name="surveyhouse-nightly", log_prints=False, validate_parameters=False, on_failure=[report_failure])
def nightly(
    inbox: str | None = None, warehouse: str | None = None, lake_data: str | None = None, study: str | None = None
) -> RunSummary:
    """Ingest every new export of the landing folder and publish the warehouse (of the study
    folder ``study``; default: $SURVEYHOUSE_STUDY, else the built-in study). A night that
    `surveyhouse run` started while this run's Prefect server started (flows/head_start.py)
    is taken over: its steps so far shown as task runs, the others run as tasks."""
    flow_run_id = str(flow_run.id) if flow_run.id else None
    ahead = night_to_take_over()
    run = ahead.run if ahead is not None else RunSummary.starting(flow_run_id=flow_run_id)
    try:
        if ahead is not None:
            run.flow_run_id = flow_run_id
            return ahead.attach(PrefectSteps())
        settings = load_settings(inbox=inbox, warehouse=warehouse, lake_data=lake_data, study=study)
        return run_night(load_study(settings.study), settings, runner=PrefectSteps(settings.dask_address), run=run)
    except RunInProgress as busy:
        return Cancelled(message=str(busy), data=run)


def nightly_for(settings: Settings):
    """The flow with the run's time limit from the settings (read when a run starts, not at import)."""
    return nightly.with_options(timeout_seconds=settings.run_timeout_s)


#: Prefect's settings for the flow run of a `surveyhouse run` (a served deployment's runs keep
#: Prefect's): no heartbeat thread. It sleeps in steps of a second and the run's end waits for it
#: (0.5-1 s of every night); a heartbeat serves a server's services in marking a vanished run
#: crashed, and a killed night is put right by the next one (surveyhouse/night.py, its lock).
ONE_RUN_SETTINGS = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}


@contextmanager
def one_run_settings() -> Iterator[None]:
    """Prefect's settings for one flow run in this process (``ONE_RUN_SETTINGS``)."""
    with temporary_settings(updates=ONE_RUN_SETTINGS):
        yield


def run_nightly(settings: Settings, *, ahead: NightAhead | None = None) -> RunSummary:
    """Run the flow once, in this process (``ahead``: taking over that night, started before the flow)."""
    lake_data = str(settings.lake_data) if settings.lake_data else None
    study = str(settings.study) if settings.study else None
    with one_run_settings(), taken_over(ahead):
        result = nightly_for(settings)(
            inbox=str(settings.inbox),
            warehouse=str(settings.warehouse),
            lake_data=lake_data,
            study=study,
            return_state=True,
        )
    if result.is_cancelled():
        raise RunInProgress(result.message or "another run is in progress")
    return result.result()
