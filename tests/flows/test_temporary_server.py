"""The temporary Prefect server of a `surveyhouse run` (flows/prefect_server.py): what its start costs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

START_AND_STOP = """
import os, sys
from flows.prefect_server import early_prefect_server
from surveyhouse.settings import load_settings

settings = load_settings(inbox=sys.argv[1], warehouse=sys.argv[2])
with early_prefect_server(settings) as ready:
    ready()
print(settings.prefect_home)
"""


def test_the_temporary_server_answers_without_importing_prefect_collections_such_as_dask(tmp_path):
    """Its start registers no blocks, so it has no reason to import the installed Prefect
    collections (prefect-dask, and Dask's `distributed` with it) that the registration check imports."""
    (tmp_path / "landing").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    env["PYTHONPROFILEIMPORTTIME"] = "1"  # the server's log lists every module it imported
    result = subprocess.run(
        [sys.executable, "-c", START_AND_STOP, str(tmp_path / "landing"), str(tmp_path / "w.duckdb")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / result.stdout.split()[-1] / "temporary-server.log").read_text(encoding="utf-8")
    imported = {line.split("|")[-1].strip() for line in log.splitlines() if line.startswith("import time:")}
    assert "prefect.server.api.server" in imported, log[-2000:]
    assert not {"prefect_dask", "distributed"} & imported


KILLED_AT_THE_END = """
import signal, sys, time
import flows.prefect_server as server
from surveyhouse.settings import load_settings

launched = []
launch = server._launch
server._launch = lambda port, log_path: launched.append(launch(port, log_path)) or launched[-1]
settings = load_settings(inbox=sys.argv[1], warehouse=sys.argv[2])
with server.early_prefect_server(settings) as ready:
    ready()
    stopping = time.perf_counter()
print(launched[-1].returncode == -signal.SIGKILL, time.perf_counter() - stopping)
"""


def test_a_run_does_not_wait_for_its_temporary_servers_graceful_shutdown(tmp_path):
    """The temporary server holds nothing a graceful stop would save (each request committed its
    own transaction): the run ends it at once rather than waiting 0.2-0.3 s for its shutdown."""
    (tmp_path / "landing").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    result = subprocess.run(
        [sys.executable, "-c", KILLED_AT_THE_END, str(tmp_path / "landing"), str(tmp_path / "w.duckdb")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    killed, seconds = result.stdout.split()
    assert killed == "True", f"stopped gracefully, in {float(seconds):.2f} s"


def _start_and_stop(tmp_path, prefect_home=None) -> tuple[set[str], str]:
    """Start and stop a run's temporary server (``prefect_home``: $PREFECT_HOME); the modules it
    imported (as its log lists them), its log."""
    (tmp_path / "landing").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    if prefect_home is not None:
        env["PREFECT_HOME"] = str(prefect_home)
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", START_AND_STOP, str(tmp_path / "landing"), str(tmp_path / "w.duckdb")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log_path = tmp_path / result.stdout.split()[-1] / "temporary-server.log"
    log = log_path.read_text(encoding="utf-8")
    log_path.unlink()
    return {line.split("|")[-1].strip() for line in log.splitlines() if line.startswith("import time:")}, log


def test_the_temporary_server_answers_without_importing_prefects_command_line(tmp_path):
    """The run serves Prefect's API itself: Prefect's command line (its parser, its console) is not
    imported only to start it."""
    imported, log = _start_and_stop(tmp_path)
    assert "prefect.server.api.server" in imported, log[-2000:]
    assert not {"prefect.cli", "prefect.__main__", "cyclopts"} & imported


@pytest.mark.parametrize("own_prefect_home", [False, True], ids=["project's Prefect home", "PREFECT_HOME set"])
def test_a_later_runs_server_does_not_migrate_the_prefect_database_again(tmp_path, own_prefect_home):
    """The first run's server creates and migrates the Prefect database; a later run's server (same
    Prefect, same database file; with $PREFECT_HOME set, of another project folder) does not import
    alembic to find it up to date, and still answers."""
    prefect_home = tmp_path / "prefect-home" if own_prefect_home else None
    first, log = _start_and_stop(tmp_path, prefect_home)
    assert "alembic" in first, log[-2000:]
    (tmp_path / "other").mkdir()
    later, log = _start_and_stop(tmp_path / "other" if own_prefect_home else tmp_path, prefect_home)
    assert "prefect.server.api.server" in later, log[-2000:]
    assert "alembic" not in later
