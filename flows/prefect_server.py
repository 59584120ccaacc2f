"""The temporary Prefect server of a `surveyhouse run`, started first and waited for last.

Without ``PREFECT_API_URL`` a flow run needs a Prefect server, and Prefect starts a
temporary one when the flow starts: it imports the whole server application in the
flow's process (seconds) only to launch it in a child process, then waits for it (7-12 s
on this project's machines) before the first task. Here the same kind of server (what
``prefect server start --no-ui --no-services`` serves on loopback: Prefect's API
application under uvicorn, SQLite in the project's Prefect home, ``TEMPORARY_SERVER_START``;
a database already migrated is not migrated again, ``MIGRATED_MARK``) is launched before anything heavy is imported, so
its start-up overlaps the command's own imports and checks; the flow then finds
``PREFECT_API_URL`` set and waits only for what is left. The server runs in its own
process group, dies with this process (Linux: parent-death signal) and is stopped when
the run ends. When this project's `surveyhouse serve` runs (it records its server in the
Prefect home, flows/serve.py) and answers a health request within half a second, the
run reports to that server and starts none.

Import nothing of Prefect at module level: its settings are read when it is first
imported, after `configure_prefect` and after the API URL is known.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.serve import (
    _die_with_parent,
    _tail,
    free_port,
    imported_uncollected,
    is_healthy,
    served_prefect_api,
    stop_process_group,
)
from surveyhouse.settings import Settings, configure_prefect


class PrefectServerError(RuntimeError):
    """The temporary Prefect server did not start (and why)."""


#: The temporary server's settings: no block types registered at its start (a run stores no
#: block; on a new Prefect home registering them took 0.5-0.8 s of CPU before the first answer),
#: and no check of whether they need registering: that check imports every installed Prefect
#: collection first (prefect-dask, and Dask's `distributed` with it: 0.3-0.5 s of CPU before the
#: first answer), only to find that registration is off.
TEMPORARY_SERVER_SETTINGS = {
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


#: How the temporary server is stopped: killed at once. A graceful stop (SIGTERM, as Prefect stops
#: its own temporary server) took 0.2-0.3 s at the end of every night, to shut down an API whose
#: every request has committed its own SQLite transaction and which holds nothing else (no UI, no
#: services, no blocks); SQLite rolls back an unfinished write when the database is next opened.
TEMPORARY_SERVER_STOP = ((signal.SIGKILL, 10.0),)


#: The temporary server's program: Prefect's API application served by uvicorn, as ``prefect server
#: start --no-ui --no-services`` serves it, without Prefect's command line (its parser, its console,
#: its settings applied once more: 0.05-0.1 s of CPU before the first answer). The server's modules
#: are imported with Python's garbage collector off, then frozen (``flows.serve.imported_uncollected``).
#: Its settings come from the environment (``_server_environment``).
TEMPORARY_SERVER_START = imported_uncollected(
    "import uvicorn",
    "import prefect.server.api.server as server",
    "from prefect.settings import get_current_settings",
) + (
    "api = get_current_settings().server.api\n"
    "uvicorn.run(\n"
    "    app=server.create_app(final=True, webserver_only=True), host='127.0.0.1', port=int(sys.argv[1]),\n"
    "    timeout_keep_alive=api.keepalive_timeout, ws_ping_interval=api.websocket_ping_interval,\n"
    "    ws_ping_timeout=api.websocket_ping_timeout, log_level='error',\n"
    ")\n"
)

#: The file that says which Prefect database a temporary server of this Prefect version migrated
#: (in the Prefect home): a later run's server does not migrate it again (alembic, Mako and
#: Pygments imported and every migration's revision read: 0.1-0.2 s of CPU before the first answer).
MIGRATED_MARK = "temporary-server.migrated"


def _prefect_database_home(prefect_home: Path) -> Path:
    """The folder of Prefect's database (and of ``MIGRATED_MARK``): $PREFECT_HOME, else ``prefect_home``."""
    return Path(os.environ.get("PREFECT_HOME") or prefect_home)


def _database_mark(prefect_home: Path) -> str | None:
    """What ``MIGRATED_MARK`` holds once this Prefect migrated the database of its home ($PREFECT_HOME,
    else ``prefect_home``): its version and the database file's inode; or None: a database elsewhere
    (a connection URL set), or no file yet."""
    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL") or os.environ.get(
        "PREFECT_SERVER_DATABASE_CONNECTION_URL"
    ):
        return None
    try:
        inode = (_prefect_database_home(prefect_home) / "prefect.db").stat().st_ino
    except OSError:
        return None
    return f"prefect {importlib.metadata.version('prefect')} database inode {inode}"


def _migrated(prefect_home: Path) -> bool:
    mark = _database_mark(prefect_home)
    try:
        marked = (_prefect_database_home(prefect_home) / MIGRATED_MARK).read_text(encoding="utf-8")
        return mark is not None and marked == mark
    except OSError:
        return False


def _mark_migrated(prefect_home: Path) -> None:
    """Record that the home's database is migrated (call once a server that migrated it answered)."""
    mark = _database_mark(prefect_home)
    migrating = os.environ.get("PREFECT_API_DATABASE_MIGRATE_ON_START", "true").lower() not in {"false", "0"}
    if mark is not None and migrating and not _migrated(prefect_home):
        (_prefect_database_home(prefect_home) / MIGRATED_MARK).write_text(mark, encoding="utf-8")


def _server_environment(prefect_home: Path) -> dict[str, str]:
    """The temporary server's environment: ``TEMPORARY_SERVER_SETTINGS``, the settings the command
    line gives an API-only server, no migration of a database already migrated (``MIGRATED_MARK``);
    a value set in the environment wins."""
    settings = TEMPORARY_SERVER_SETTINGS | {
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "ERROR",
    }
    if _migrated(prefect_home):
        settings["PREFECT_API_DATABASE_MIGRATE_ON_START"] = "false"
    return settings | {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}


def _launch(port: int, log_path: Path) -> subprocess.Popen:
    """Prefect's API on loopback (``TEMPORARY_SERVER_START``): no UI, no background services."""
    env = _server_environment(log_path.parent)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", TEMPORARY_SERVER_START, str(port)], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - called before Prefect (and its threads) is imported
        )  # fmt: skip


@contextmanager
def _api_url_set(api_url: str) -> Iterator[None]:
    os.environ["PREFECT_API_URL"] = api_url
    os.environ["PREFECT_UI_URL"] = ""  # the local servers serve no UI: no "View at" link
    try:
        yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop("PREFECT_UI_URL", None)


@contextmanager
def early_prefect_server(settings: Settings) -> Iterator[Callable[[], None]]:
    """Start the run's temporary Prefect server now; yields ``ready()``, which waits until it answers.

    Does nothing (``ready`` returns at once) when ``PREFECT_API_URL`` is set, or when this
    project's `surveyhouse serve` runs a server that answers: the run reports to that server.
    """
    configure_prefect(settings)
    if os.environ.get("PREFECT_API_URL"):
        yield lambda: None
        return
    served = served_prefect_api(settings)
    if served:  # `surveyhouse serve` runs this project's server: report to it, start none
        with _api_url_set(served):
            yield lambda: None
        return
    log_path = settings.prefect_home / "temporary-server.log"
    timeout_s = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"))
    state: dict = {}

    def start() -> None:
        state["port"] = free_port()
        state["process"] = _launch(state["port"], log_path)
        state["url"] = f"http://127.0.0.1:{state['port']}/api"
        os.environ["PREFECT_API_URL"] = state["url"]
        os.environ["PREFECT_UI_URL"] = ""  # no UI: no "View at" link to a server that stops with the run

    def ready() -> None:
        deadline = time.monotonic() + timeout_s
        attempts = 1
        while not is_healthy(state["url"], timeout_s=2.0):
            process: subprocess.Popen = state["process"]
            if process.poll() is not None and attempts < 3:  # e.g. the port was taken between probe and bind
                attempts += 1
                start()
                continue
            if process.poll() is not None or time.monotonic() > deadline:
                what = (
                    f"exited with status {process.returncode}"
                    if process.poll() is not None
                    else f"did not answer within {timeout_s:.0f} s"
                )
                raise PrefectServerError(
                    f"the temporary Prefect server {what}. Its log ({log_path}) ends with:\n{_tail(log_path)}"
                )
            time.sleep(0.05)
        _mark_migrated(settings.prefect_home)

    start()
    try:
        yield ready
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop("PREFECT_UI_URL", None)
        stop_process_group(state["process"], TEMPORARY_SERVER_STOP)
