"""Serving the nightly flow on a schedule, without Prefect Cloud.

Schedules need a real Prefect server: a temporary one refuses them ("Cannot schedule
flows on an ephemeral server") and nothing runs. `serve_nightly` uses the server that
``PREFECT_API_URL`` points to; without one it starts a local server (``prefect server
start``, SQLite under the state folder's Prefect home), waits until it answers, serves
the deployment ``surveyhouse-nightly/nightly`` on the cron in its time zone, and stops
the server when serving ends (Ctrl-C or SIGTERM). The server runs in its own process
group and dies with this process (Linux: parent-death signal), so a killed serve never
leaves a server behind.

Import nothing of Prefect here at module level: its settings are read when it is first
imported, after `configure_prefect` and after the API URL is known.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from surveyhouse.settings import Settings, configure_prefect

DEPLOYMENT = "nightly"
FLOW = "surveyhouse-nightly"
SERVER_STARTUP_TIMEOUT_S = 180.0


class ServeError(RuntimeError):
    """Serving could not start (and why, in plain language)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_healthy(api_url: str, *, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout_s) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _die_with_parent() -> None:
    """In the server's process (before exec): own process group; SIGTERM when serve dies."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


#: Ask (SIGINT, like Ctrl-C), then insist.
POLITE_STOP = ((signal.SIGINT, 30.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0))


def stop_process_group(process: subprocess.Popen, steps=POLITE_STOP) -> None:
    """Stop a process started in its own group: each (signal, seconds to wait) in turn,
    to the whole group, until it has exited."""
    for sig, wait_s in steps:
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def imported_uncollected(*imports: str) -> str:
    """The start of a server's program (``python -c``): ``imports`` run with Python's garbage
    collector off, and what they made frozen after (never scanned again): the server's import makes
    millions of objects and frees almost none, and collecting during it was a fifth of the server's
    start (2.7-3.1 s of CPU to its first answer; 2.0-2.3 s so). The collector is on again after."""
    return (
        "import gc, runpy, sys\ngc.disable()\n"
        + "".join(f"{line}\n" for line in imports)
        + "gc.freeze()\ngc.enable()\n"
    )


#: ``python -m prefect`` with the server's modules imported first, uncollected (``imported_uncollected``).
PREFECT_FAST_START = imported_uncollected("import prefect.server.api.server") + (
    "sys.argv[0] = 'prefect'\nrunpy.run_module('prefect', run_name='__main__', alter_sys=True)\n"
)


def server_command(port: int, *, services: bool = True) -> list[str]:
    """``prefect server start`` on loopback, API only (no UI), no analytics, never a prompt;
    ``services=False``: the API alone (no scheduler and other background services), as a
    single run's temporary server needs. Started as ``PREFECT_FAST_START``."""
    command = [sys.executable, "-c", PREFECT_FAST_START, "--no-prompt", "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-ui", "--analytics-off"]
    return command if services else [*command, "--no-services", "--log-level", "ERROR"]


@contextmanager
def local_prefect_server(settings: Settings, *, startup_timeout_s: float = SERVER_STARTUP_TIMEOUT_S) -> Iterator[str]:
    """A Prefect server on loopback for as long as the context lasts; yields its API URL."""
    configure_prefect(settings)
    log_path = settings.prefect_home / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    for attempt in range(3):
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                server_command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads yet: Prefect is not imported
            )
        try:
            deadline = time.monotonic() + startup_timeout_s
            while not is_healthy(api_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            else:
                yield api_url
                return
            if process.poll() is not None and "already in use" in _tail(log_path, 5) and attempt < 2:
                continue  # another program took the port between our probe and the server's bind
            state = (
                f"exited with status {process.returncode}"
                if process.poll() is not None
                else f"did not answer within {startup_timeout_s:.0f} s"
            )
            raise ServeError(f"the local Prefect server {state}. Its log ({log_path}) ends with:\n{_tail(log_path)}")
        finally:
            stop_process_group(process)
    raise AssertionError("unreachable")


@contextmanager
def prefect_api(settings: Settings, *, say: Callable[[str], None] = print) -> Iterator[str]:
    """The API URL to serve against: PREFECT_API_URL when set, else a local server's."""
    configure_prefect(settings)
    given = os.environ.get("PREFECT_API_URL")
    if given:
        if not is_healthy(given, timeout_s=10):
            raise ServeError(f"the Prefect server at PREFECT_API_URL={given} does not answer (GET {given}/health)")
        say(f"Using the Prefect server at {given}")
        yield given
        return
    say(f"Starting a local Prefect server (database and log under {settings.prefect_home}) ...")
    started = time.monotonic()
    with local_prefect_server(settings) as api_url:
        os.environ["PREFECT_API_URL"] = api_url
        os.environ["PREFECT_UI_URL"] = ""  # it serves no UI (--no-ui): no link to a page that is not there
        say(f"Prefect server: {api_url} (API only, no UI; healthy after {time.monotonic() - started:.1f} s)")
        record = served_server_file(settings)
        record.write_text(json.dumps({"api_url": api_url, "pid": os.getpid()}), encoding="utf-8")
        try:
            yield api_url
        finally:
            record.unlink(missing_ok=True)
            os.environ.pop("PREFECT_API_URL", None)
            os.environ.pop("PREFECT_UI_URL", None)
            say("Stopping the local Prefect server ...")


def served_server_file(settings: Settings) -> Path:
    """Where `serve` records the local Prefect server it runs (in the project's Prefect home),
    for `surveyhouse run` to report to it rather than start its own."""
    return settings.prefect_home / "served-server.json"


def served_prefect_api(settings: Settings, *, timeout_s: float = 0.5) -> str | None:
    """The API URL of the Prefect server a `surveyhouse serve` of this project runs, if it answers
    its health request within ``timeout_s``; else None (no serve, or one that stopped)."""
    try:
        api_url = json.loads(served_server_file(settings).read_text(encoding="utf-8"))["api_url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(api_url, str) or not api_url.startswith("http://127.0.0.1:"):
        return None
    return api_url if is_healthy(api_url, timeout_s=timeout_s) else None


@contextmanager
def serving_lock(settings: Settings) -> Iterator[None]:
    """One serve per warehouse: a second one would run every night twice."""
    path = settings.state_dir / f"{settings.warehouse_name}.serve.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise ServeError(
                f"the warehouse {settings.warehouse} is already served ({handle.read().strip() or 'another process'})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield


def _interrupt(signum, frame) -> None:
    """Ctrl-C: once Prefect's runner handles SIGTERM (it pauses the schedule, then stops), do as SIGTERM."""
    if callable(signal.getsignal(signal.SIGTERM)):
        os.kill(os.getpid(), signal.SIGTERM)
    else:
        raise KeyboardInterrupt


def prefect_command() -> str:
    """How to call this environment's Prefect from a shell: its ``prefect`` script, else ``python -m prefect``."""
    script = Path(sys.executable).parent / "prefect"
    if script.exists():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m prefect"


def trigger_hint(api_url: str) -> str:
    """A shell command that starts a run of the served deployment now, exactly as printed."""
    return f"PREFECT_API_URL={shlex.quote(api_url)} {prefect_command()} deployment run {shlex.quote(f'{FLOW}/{DEPLOYMENT}')}"


def deployment_parameters(settings: Settings) -> dict[str, str]:
    """The flow's parameters: the landing folder, the warehouse, and a lake's data folder when there is one
    (so that a worker without the serving process's environment finds it too)."""
    parameters = {"inbox": str(settings.inbox), "warehouse": str(settings.warehouse)}
    if settings.lake_data is not None:
        parameters["lake_data"] = str(settings.lake_data)
    if settings.study is not None:
        parameters["study"] = str(settings.study)
    return parameters


def serve_nightly(settings: Settings, *, say: Callable[[str], None] = print) -> None:
    """Serve the nightly flow as the deployment surveyhouse-nightly/nightly until stopped.

    The schedule and time zone were checked by ``load_settings``. What it prints works as
    printed: the trigger command names its server and this environment's Prefect; no link
    to a UI that the local server does not serve.
    """
    signal.signal(signal.SIGINT, _interrupt)  # even when a shell started us in the background (SIGINT ignored)
    with serving_lock(settings), prefect_api(settings, say=say) as api_url:
        from prefect.exceptions import TerminationSignal
        from prefect.runner import Runner
        from prefect.schedules import Cron
        from prefect.types.entrypoint import EntrypointType

        from flows.nightly import nightly_for

        runner = Runner(name=DEPLOYMENT, pause_on_shutdown=True, limit=1)  # this process starts one run at a time
        runner.add_flow(
            nightly_for(settings),
            name=DEPLOYMENT,
            schedules=[Cron(settings.cron, timezone=settings.timezone)],
            parameters=deployment_parameters(settings),
            concurrency_limit=1,  # the deployment's concurrency limit: never two runs at once
            description="Ingest every new export of the landing folder and publish the warehouse.",
            tags=["surveyhouse"],
            entrypoint_type=EntrypointType.MODULE_PATH,  # the installed package, whatever the working folder
        )
        say(
            f"{FLOW}/{DEPLOYMENT} is being served: cron {settings.cron!r} in {settings.timezone}, at most one run at "
            f"a time, time limit {settings.run_timeout_s:g} s; landing folder {settings.inbox}, warehouse "
            f"{settings.warehouse}.\nTo start a run now, from any shell on this machine:\n  {trigger_hint(api_url)}"
        )
        try:
            asyncio.run(runner.start())
        except (KeyboardInterrupt, TerminationSignal):
            pass
