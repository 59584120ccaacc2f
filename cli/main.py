"""The `surveyhouse` command line (click).

Every command's help has examples (`surveyhouse COMMAND --help`). One ``--debug``, on
the group (``surveyhouse --debug run``), shows tracebacks. Exit statuses: 0 ok, 4 published
but a file was rejected or unreadable, 3 another run holds the warehouse, 2 a usage error
(a bad flag or setting), 1 a failed run. Errors print ``Error: ...`` and no traceback.

Nothing here imports Polars or Prefect at module level: ``surveyhouse sql`` answers in a
fraction of a second, and ``main`` sets the memory allocator's settings before Polars is
first imported.
"""

from __future__ import annotations

import os
import sys

import click

from cli.browse import claims_command, dictionary_command, export_command, quality_command, report_command
from cli.errors import FAILED, LOCKED, OK, USAGE, UserError
from cli.files import assign_command, files_command, forget_command
from cli.night import demo_command, rebuild_command, run_command, serve_command
from cli.query import sql_command
from cli.study import study_group
from surveyhouse.lock import RunInProgress
from surveyhouse.settings import SettingsError

#: Polars allocates through jemalloc, which by default keeps freed pages for ten seconds
#: before giving them back. A run frees and allocates frames of hundreds of megabytes in
#: quick succession (the raw file, its canonical frame, the typed responses): at a million
#: responses the process once peaked at 2.3 GiB for 1.3 GiB in use. Freed pages are given
#: back after a second: a page given back at once (5 ms, the setting until stop 25) is
#: faulted in again by the next slice, and a 1M night spent 4.5-4.9 s of system time on
#: 900k page faults; after 1 s, 3.4-3.6 s, the whole `surveyhouse run` 1.0-1.1 s shorter,
#: for 70 MB more peak (1.07 -> 1.15 GB; 10 s: 1.29-1.41 GB). Read by jemalloc when Polars
#: is first imported, so set by the entry point before that; a value already in the
#: environment wins. prefect.yaml sets the same for deployed workers.
MALLOC_CONF = "dirty_decay_ms:1000,muzzy_decay_ms:0"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="show tracebacks (and Prefect's own log lines of a failure)")
@click.version_option(package_name="surveyhouse")
def surveyhouse(debug: bool) -> None:
    """Survey exports in, a DuckDB warehouse of segmented tables out.

    \b
    Examples:
      surveyhouse demo
      surveyhouse run --inbox landing --warehouse surveyhouse.duckdb
      surveyhouse sql "select * from headline"
      surveyhouse --debug run
    """


COMMANDS = {
    command.name: command
    for command in (
        demo_command,
        run_command,
        sql_command,
        claims_command,
        quality_command,
        serve_command,
        rebuild_command,
        export_command,
        dictionary_command,
        report_command,
        study_group,
        files_command,
        assign_command,
        forget_command,
    )
}
for _command in COMMANDS.values():
    surveyhouse.add_command(_command)


def _error(message: object) -> None:
    click.echo(f"Error: {message}", err=True)


def _invoke(args: list[str]) -> tuple[int, bool]:
    """Run the command line ``args``: (exit status, whether --debug was given)."""
    debug = False
    try:
        with surveyhouse.make_context("surveyhouse", args) as context:
            debug = context.params.get("debug", False)
            status = surveyhouse.invoke(context)
            return (OK if status is None else int(status)), debug
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code, debug
    except click.UsageError as error:
        error.show()
        return USAGE, debug
    except (UserError, SettingsError) as error:
        _error(error)
        return USAGE, debug
    except RunInProgress as error:
        _error(error)
        return LOCKED, debug
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error
        sys.stderr.close()
        return OK, debug
    except (click.Abort, KeyboardInterrupt):
        _error("interrupted; the last published warehouse is unchanged")
        return 130, debug
    except Exception as error:  # a broken run: say what and where, not a traceback
        if debug:
            raise
        from surveyhouse.logs import error_line

        _error(
            f"{error_line(error)}; the last published warehouse is unchanged "
            "(the traceback is in the state folder's prefect/runs.log; `surveyhouse --debug ...` shows it)"
        )
        return FAILED, debug


def main(argv: list[str] | None = None) -> int:
    """The console script ``surveyhouse``; returns the exit status (called with ``argv``, as the
    tests do), or ends the process with it (the console script: ``end_process``)."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", MALLOC_CONF)
    polars_threads()
    status, _ = _invoke(sys.argv[1:] if argv is None else list(argv))
    if argv is None:
        end_process(status)
    return status


def polars_threads() -> None:
    """Polars' thread pool sized by ``SURVEYHOUSE_THREADS`` (read once, when Polars is first
    imported: so here, before that); a ``POLARS_MAX_THREADS`` already set wins, and a value that
    is not a whole number is left to the settings, which say what is wrong with it."""
    threads = os.environ.get("SURVEYHOUSE_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        os.environ.setdefault("POLARS_MAX_THREADS", threads)


def end_process(status: int) -> None:
    """End the command's process now: the exit handlers run (log files flushed and closed,
    Prefect's workers drained), then the standard streams are flushed, then the process exits
    without Python's teardown of every object and module. After a night (Prefect's threads,
    Polars' and DuckDB's thread pools, hundreds of MiB of frames) that teardown took 0.8-3 s
    after the last line was printed; the command has closed every file and connection it opened."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or the reader went away (`| head`)
            pass
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
