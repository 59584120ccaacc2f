"""The commands that run the nightly flow: run, demo, serve, rebuild; and the summary they print."""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click

from cli.errors import OK, PUBLISHED_WITH_PROBLEMS, UserError
from cli.options import inbox_option, lake_data_option, load_study_of, study_option, warehouse_option


class _NoTracebacks(logging.Filter):
    """Keeps Prefect's log lines that carry a traceback off the terminal (the error line says what failed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None and record.exc_text is None


def _log_prefect_to_file(settings) -> None:
    """Prefect logs every line, tracebacks included, to ``<prefect home>/runs.log``; the terminal
    shows them without tracebacks unless ``surveyhouse --debug``. Call once Prefect is imported
    (it configures logging then)."""
    root = logging.getLogger()
    if not any(getattr(handler, "surveyhouse_run_log", False) for handler in root.handlers):
        handler = logging.FileHandler(settings.prefect_home / "runs.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s"))
        handler.surveyhouse_run_log = True
        root.handlers.insert(0, handler)
    context = click.get_current_context(silent=True)
    debug = bool(context and context.find_root().params.get("debug"))
    for handler in root.handlers:
        if type(handler).__name__ == "PrefectConsoleHandler" and not debug:
            handler.addFilter(_NoTracebacks())
    from surveyhouse.logs import mask_every_handler

    mask_every_handler()


#: Modules the flow run imports on its way (``python -X importtime``: 0.3-0.5 s together): Prefect's
#: engines and the encoder of a flow run's parameters, pandera's Polars checks, Arrow's datasets
#: (the staged Parquet), the report page. Imported while the run's temporary Prefect server starts,
#: when this process would only wait for it (``_run_flow``).
IMPORTED_ON_THE_WAY = (
    "fastapi.encoders",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.utilities.visualization",
    "pandera.backends.polars.builtin_checks",
    "pyarrow.dataset",
    "report.page",
)


def _import_on_the_way() -> None:
    for name in IMPORTED_ON_THE_WAY:
        with contextlib.suppress(ImportError):  # another Prefect or pandera: imported when needed then
            importlib.import_module(name)


@contextlib.contextmanager
def _importing() -> Iterator[None]:
    """Python's garbage collector off while a night's modules are imported, and what they made
    frozen after (never scanned again): the imports make millions of objects and free almost none,
    and collecting during them was a fifth of their CPU time (1.4 s; 1.1 s so)."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _run_flow(settings, ready=lambda: None, study=None):
    """Run the nightly flow in this process; ``ready()`` waits for the run's Prefect server
    (``_prefect_server``), called once the flow's modules, and those it imports on its way, are
    imported, and the night (of ``study``, else the settings' study) started meanwhile on a thread
    (flows/head_start.py: recover, discover and the staging of the new files)."""
    from surveyhouse.settings import configure_prefect

    configure_prefect(settings)
    if settings.dask_address and not os.environ.get("PREFECT_API_URL"):
        # Dask workers are other processes: they report their task runs to a real
        # server, not to this process's temporary one (each would start its own).
        from flows.serve import prefect_api

        with prefect_api(settings):
            from flows.nightly import run_nightly

            _log_prefect_to_file(settings)
            return run_nightly(settings)
    with _importing():
        from flows.head_start import night_ahead
        from flows.nightly import run_nightly

        _import_on_the_way()
    _log_prefect_to_file(settings)
    if settings.dask_address:  # its files staged on the Dask cluster: the night starts in the flow
        ready()
        return run_nightly(settings)
    with night_ahead(study if study is not None else load_study_of(settings), settings) as ahead:
        ready()
        return run_nightly(settings, ahead=ahead)


@contextlib.contextmanager
def _prefect_server(settings):
    """The run's temporary Prefect server, started now so that it starts while the flow's
    modules are imported (flows/prefect_server.py); not for Dask runs (they use a real one)."""
    if settings.dask_address and not os.environ.get("PREFECT_API_URL"):
        yield lambda: None
        return
    from flows.prefect_server import PrefectServerError, early_prefect_server

    try:
        with early_prefect_server(settings) as ready:
            yield ready
    except PrefectServerError as error:
        raise UserError(str(error)) from error


def print_summary(run, settings, elapsed: float) -> None:
    """What a run did, in three lines, then the claims; zeros (never None) when nothing was loaded."""
    from warehouse.backend import open_reader
    from warehouse.queries import run_query

    with open_reader(settings.store()) as connection:
        files = run_query(connection, "run_files_summary").fetchone()
        flags = run_query(connection, "run_flags_summary").fetchone()
    outcome = "published" if run.published else f"{nothing_new(run)}: warehouse unchanged"
    print(f"\nRun {run.run_id}: {run.files_new} new file(s), {outcome} in {elapsed:.1f} s -> {settings.store()}")
    print(
        f"Files: {files[0]} ({files[1]} not loaded); rows read {files[2]}: accepted {files[3]}, "
        f"quarantined {files[4]}, superseded {files[5]}"
    )
    print(
        f"Responses flagged: excluded {flags[0]} (speeders {flags[1]}, attention failed {flags[3]}, duplicates {flags[4]}); "
        f"also flagged, kept in bases: straight-liners {flags[2]}, gibberish {flags[5]}"
    )
    if run.report:
        print(f"Report page: {run.report}")
    print()
    print_claims(settings.store(), tolerance=settings.claim_tolerance_pts)


def nothing_new(run) -> str:
    """'nothing new since <the live warehouse's publish>' (UTC, to the minute), or 'nothing new'."""
    since = run.unchanged_since
    return f"nothing new since {since:%Y-%m-%d %H:%M} UTC" if since else "nothing new"


def print_claims(warehouse, *, tolerance: float, wave: int | None = None) -> None:
    """The published figures (of every wave, or of `wave`) next to the recomputed ones, with their status."""
    from warehouse.backend import open_reader
    from warehouse.queries import run_query

    with open_reader(warehouse) as connection:
        if wave is None:
            claims = run_query(connection, "claims_checked").fetchall()
        else:
            claims = run_query(connection, "claims_of_wave", [wave]).fetchall()
            if not claims:
                waves = [row[0] for row in run_query(connection, "claim_waves").fetchall()]
                known = ", ".join(map(str, waves)) or "none"
                raise UserError(f"wave {wave} has no published figures in {warehouse} (waves with figures: {known})")
    if not claims:
        print("The study has no published figures to check (add a published_figures.csv to the study folder).")
        return
    counts = Counter(c[9] for c in claims)
    width = max(5, *(len(c[0]) for c in claims))  # figure ids are any text
    print(
        f"Published figures reproduced from the data (round to the published figure): {counts['reproduced']} of "
        f"{len(claims)}; within {tolerance:g} points: {counts['within_tolerance']}; "
        f"not reproduced: {counts['not_reproduced']}; contradicted by the report itself: {counts['contradicted']}; "
        f"base under the minimum: {counts['below_minimum_base']}; not computable: {counts['not_computable']}"
    )
    print(f"{'id':<{width}} {'figure':<52} {'published':>9} {'computed':>9} {'95% interval':>13} {'base':>5}  status")
    for fid, question, answers, segment, published, computed, low, high, base, status, _ in claims:
        label = f"{question}={answers}" + ("" if segment == "all" else f" | {segment}")
        computed_text = "-" if computed is None else f"{computed:.1f}"
        interval = "-" if low is None else f"{low:.1f}-{high:.1f}"
        print(
            f"{fid:<{width}} {label[:52]:<52} {published:>9.0f} {computed_text:>9} {interval:>13} {base or 0:>5}  {status}"
        )
    for _fid, *_, status, contradiction in claims:
        if contradiction and status == "contradicted":
            print(f"The report contradicts itself: {contradiction}; the data side with the other figure.")


def verdict(run) -> int:
    """Exit status of a run: 0 when every file loaded, 4 when a file was rejected or failed."""
    if not run.problems:
        return OK
    print(f"\nWarning: {len(run.problems)} file(s) were not loaded; the other files were published.", file=sys.stderr)
    for problem in run.problems:
        print(f"  - {problem}", file=sys.stderr)
    print("See `surveyhouse quality` for the rows and checks.", file=sys.stderr)
    return PUBLISHED_WITH_PROBLEMS


def _landing(settings) -> None:
    if not settings.inbox.is_dir():
        raise UserError(f"the landing folder {settings.inbox} does not exist (give --inbox or set SURVEYHOUSE_INBOX)")


@click.command("run")
@inbox_option
@warehouse_option
@lake_data_option
@study_option
def run_command(inbox: str | None, warehouse: str | None, lake_data: str | None, study: str | None) -> int:
    """Run the nightly flow once: ingest new exports, validate, transform, publish the warehouse.

    Exit status 0 when every file loaded, 4 when the warehouse was published but a file
    was rejected or could not be read, 3 when another run holds the warehouse, 1 when the
    run failed (the last published warehouse stays live).

    \b
    Examples:
      surveyhouse run
      surveyhouse run --inbox /srv/exports --warehouse /srv/surveyhouse.duckdb
      surveyhouse run --study my-study --inbox my-study/landing
      surveyhouse --debug run          # a failed run shows its traceback
    """
    from surveyhouse.lock import run_lock
    from surveyhouse.settings import load_settings

    settings = load_settings(inbox=inbox, warehouse=warehouse, lake_data=lake_data, study=study)
    _landing(settings)
    started = time.perf_counter()
    # No state folder yet: a first night, which has work and no run to check the key against;
    # the Prefect server starts at once, while the study is read (a mistake in it is one line and
    # stops the server) and the night's modules are imported. Other nights read the study first:
    # a mistake in it stops them before any lock or server.
    first_night = not settings.state_dir.exists()
    loaded = None if first_night else load_study_of(settings)
    # The run lock first: a second run stops here at once, before anything heavy is imported
    # or any Prefect server starts (the flow takes the same lock again, in this process,
    # without waiting on itself); so does a run with another hashing key.
    with run_lock(settings.lock_file):
        if first_night:
            with _prefect_server(settings) as ready:
                run = _run_flow(settings, ready, load_study_of(settings))
                print_summary(run, settings, time.perf_counter() - started)
            return verdict(run)
        with _importing():
            from surveyhouse.night import (
                Night,
                check_secret_unchanged,
                check_study_unchanged,
                night_is_quiet,
                run_night,
            )
            from surveyhouse.runlog import RunLogDamaged

        try:
            night = Night.of(loaded, settings)
            check_secret_unchanged(night)  # reads the run log: a damaged one stops here
            check_study_unchanged(night)
        except RunLogDamaged as error:
            raise UserError(str(error)) from error
        if night_is_quiet(loaded, settings):
            # Nothing new, nothing to repair: the night runs here, without starting Prefect.
            run = run_night(loaded, settings)
            print_summary(run, settings, time.perf_counter() - started)
            return verdict(run)
        with _prefect_server(settings) as ready:
            run = _run_flow(settings, ready, loaded)
            print_summary(run, settings, time.perf_counter() - started)
    return verdict(run)


@click.command("demo")
@inbox_option
@warehouse_option
@lake_data_option
@click.option("--seed", type=int, default=2023, show_default=True, help="seed of the demo study's model")
def demo_command(inbox: str | None, warehouse: str | None, lake_data: str | None, seed: int) -> int:
    """Write the built-in demo study into the landing folder and run the nightly flow on it.

    \b
    Examples:
      surveyhouse demo
      surveyhouse demo --inbox /tmp/demo/landing --warehouse /tmp/demo/w.duckdb --seed 7
    """
    from surveyhouse.settings import load_settings

    os.environ.pop("SURVEYHOUSE_STUDY", None)  # the demo's exports are the built-in study's, whatever is set

    write_demo_study = _demo_writer()
    settings = load_settings(inbox=inbox, warehouse=warehouse, lake_data=lake_data)
    started = time.perf_counter()
    with _prefect_server(settings) as ready:  # started first: it starts while the demo is imported and written
        written = write_demo_study(settings.inbox, seed=seed)
        print(f"Demo study written to {settings.inbox}:")
        for path in written:
            print(f"  {path.relative_to(settings.inbox)}")
        # Its exports were written and closed by this command a moment ago: none is still being copied,
        # so the landing folder's settle time (SURVEYHOUSE_SETTLE_S) holds none back (the night reads it).
        os.environ["SURVEYHOUSE_SETTLE_S"] = "0"
        settings = load_settings(inbox=inbox, warehouse=warehouse, lake_data=lake_data)
        run = _run_flow(settings, ready)
        print_summary(run, settings, time.perf_counter() - started)
    return verdict(run)


def _demo_writer():
    """The demo generator, imported when called (its imports overlap the Prefect server's start):
    demo/ ships with the source checkout, beside cli/, not in the wheel."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "demo" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    if importlib.util.find_spec("demo") is None:
        raise UserError(
            "the demo generator ships with the source checkout, not the installed package: "
            "run `python3 make.py demo` from a clone of the repository"
        )

    def write_demo_study(inbox: Path, *, seed: int) -> list[Path]:
        from demo.study import write_demo_study

        return write_demo_study(inbox, seed=seed)

    return write_demo_study


@click.command("serve")
@inbox_option
@warehouse_option
@lake_data_option
@study_option
@click.option("--cron", metavar="CRON", help="when to run, cron syntax (default: '0 2 * * *', or $SURVEYHOUSE_CRON)")
@click.option(
    "--timezone", metavar="ZONE", help="time zone of the cron, IANA name (default: UTC, or $SURVEYHOUSE_TIMEZONE)"
)
def serve_command(
    inbox: str | None,
    warehouse: str | None,
    lake_data: str | None,
    study: str | None,
    cron: str | None,
    timezone: str | None,
) -> int:
    """Serve the nightly flow on a cron schedule (a Prefect deployment).

    Starts a local Prefect server unless PREFECT_API_URL is set; Ctrl-C or SIGTERM stops
    serving. It prints a command that triggers a run now.

    \b
    Examples:
      surveyhouse serve
      surveyhouse serve --cron "30 3 * * 1-5" --timezone Europe/Paris
      PREFECT_API_URL=http://prefect.internal:4200/api surveyhouse serve
    """
    from flows.serve import ServeError, serve_nightly
    from surveyhouse.settings import load_settings

    settings = load_settings(
        inbox=inbox, warehouse=warehouse, lake_data=lake_data, cron=cron, timezone=timezone, study=study
    )
    _landing(settings)
    load_study_of(settings)  # checked now: a served flow would fail on it every night
    try:
        serve_nightly(settings, say=lambda line: print(line, flush=True))
    except ServeError as error:
        raise UserError(str(error)) from error
    print("Stopped serving.", flush=True)
    return OK


@click.command("rebuild")
@warehouse_option
@lake_data_option
@study_option
def rebuild_command(warehouse: str | None, lake_data: str | None, study: str | None) -> int:
    """Rebuild the whole warehouse from the archive of raw files.

    Re-stages every ingested file in its original order with today's code, then publishes.

    \b
    Examples:
      surveyhouse rebuild
      surveyhouse rebuild --warehouse /srv/surveyhouse.duckdb
    """
    from surveyhouse.rebuild import RebuildError, rebuild_warehouse
    from surveyhouse.settings import load_settings

    settings = load_settings(warehouse=warehouse, lake_data=lake_data, study=study)
    loaded = load_study_of(settings)
    started = time.perf_counter()
    try:
        run = rebuild_warehouse(loaded, settings)
    except RebuildError as error:
        raise UserError(str(error)) from error
    files = run.tables["files"]
    print(
        f"Rebuilt {settings.warehouse} from the archive in {time.perf_counter() - started:.1f} s: "
        f"{files.height} file(s) re-staged in their original order, {run.rows_read} rows read, "
        f"{run.tables['responses'].height} responses (run {run.run_id})."
    )
    if run.report:
        print(f"Report page: {run.report}")
    return verdict(run)
