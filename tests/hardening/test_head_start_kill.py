"""A `surveyhouse run` killed while its night runs ahead of its Prefect server (flows/head_start.py):
files staged, the server not answering yet, no flow run. Nothing is lost or counted twice: the
next night publishes exactly what an uninterrupted night publishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from tests.flows.snapshots import assert_same, snapshot

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the same key for both warehouses"


def _start_run(inbox: Path, warehouse: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    command = [sys.executable, "-m", "cli.main", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env | {"SURVEYHOUSE_SETTLE_S": "0", "SURVEYHOUSE_SECRET": SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill_once_a_file_is_staged(process: subprocess.Popen, staged: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not list(staged.glob("*/file.json")):
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no file was staged"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)


def test_a_run_killed_while_it_stages_before_its_prefect_server_answers_loses_nothing_and_counts_nothing_twice(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SURVEYHOUSE_SECRET", SECRET)
    landing = tmp_path / "landing"
    write_demo_study(landing, waves=((2023, 300), (2024, 300)))
    reference = tmp_path / "reference" / "w.duckdb"
    run_night(load_study(), load_settings(inbox=str(landing), warehouse=str(reference)), report=False)

    warehouse = tmp_path / "killed" / "w.duckdb"
    state = tmp_path / "killed" / ".surveyhouse"
    _kill_once_a_file_is_staged(_start_run(landing, warehouse), state / "staged" / "w")
    log = state / "prefect" / "runs.log"
    assert "Beginning flow run" not in (log.read_text(encoding="utf-8") if log.exists() else ""), (
        "the kill was meant to land before the flow began (the server was still starting)"
    )
    assert not warehouse.exists()

    settings = load_settings(inbox=str(landing), warehouse=str(warehouse))
    run = run_night(load_study(), settings, report=False)
    assert run.published
    # The files' numbers (file_order) are the order the files were numbered in by the night that
    # staged them: the killed night numbered them all, those it finished keep theirs (as with files
    # staged side by side by the flow's threads, killed); every table is otherwise the same.
    ignored = ("run_id", "file_order")
    assert_same(snapshot(warehouse, drop=ignored), snapshot(reference, drop=ignored), "the night after a kill")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from runs").fetchone()[0] == 1
        assert connection.execute("select count(*), count(distinct file_sha256) from files").fetchone() == (10, 10)
    assert len(state_for(settings).runs.published_runs()) == 1
