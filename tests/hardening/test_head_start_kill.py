"""A `surveyhouse run` killed while its night runs ahead of its Prefect server (flows/head_start.py),
or whose server never answers: files staged, no flow run. Nothing is lost or counted twice: the
next night publishes exactly what an uninterrupted night publishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from tests.flows.snapshots import assert_same, snapshot

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the same key for both warehouses"


def _start_run(inbox: Path, warehouse: Path, **env: str) -> subprocess.Popen:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    command = [sys.executable, "-m", "cli.main", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=kept | {"SURVEYHOUSE_SETTLE_S": "0", "SURVEYHOUSE_SECRET": SECRET} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's landing folder, and the warehouse one uninterrupted night makes of it."""
    root = tmp_path_factory.mktemp("head-start")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SURVEYHOUSE_SECRET", SECRET)
        write_demo_study(root / "landing", waves=((2023, 300), (2024, 300)))
        reference = root / "reference" / "w.duckdb"
        run_night(load_study(), load_settings(inbox=str(root / "landing"), warehouse=str(reference)), report=False)
    return root / "landing", reference


def _next_night_publishes_the_same(landing: Path, warehouse: Path, reference: Path) -> None:
    settings = load_settings(inbox=str(landing), warehouse=str(warehouse))
    run = run_night(load_study(), settings, report=False)
    assert run.published
    # The files' numbers (file_order) are the order the files were numbered in by the night that
    # staged them: the killed night numbered them all, those it finished keep theirs (as with files
    # staged side by side by the flow's threads, killed); every table is otherwise the same.
    ignored = ("run_id", "file_order")
    assert_same(snapshot(warehouse, drop=ignored), snapshot(reference, drop=ignored), "the night after")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from runs").fetchone()[0] == 1
        assert connection.execute("select count(*), count(distinct file_sha256) from files").fetchone() == (10, 10)
    assert len(state_for(settings).runs.published_runs()) == 1


def _kill_once_a_file_is_staged(process: subprocess.Popen, staged: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not list(staged.glob("*/file.json")):
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no file was staged"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)


def test_a_run_killed_while_it_stages_before_its_prefect_server_answers_loses_nothing_and_counts_nothing_twice(
    demo, tmp_path, monkeypatch
):
    monkeypatch.setenv("SURVEYHOUSE_SECRET", SECRET)
    landing, reference = demo
    warehouse = tmp_path / "w.duckdb"
    state = tmp_path / ".surveyhouse"
    _kill_once_a_file_is_staged(_start_run(landing, warehouse), state / "staged" / "w")
    log = state / "prefect" / "runs.log"
    assert "Beginning flow run" not in (log.read_text(encoding="utf-8") if log.exists() else ""), (
        "the kill was meant to land before the flow began (the server was still starting)"
    )
    assert not warehouse.exists()
    _next_night_publishes_the_same(landing, warehouse, reference)


def test_a_run_whose_prefect_server_does_not_answer_says_so_and_its_staged_files_are_the_next_nights(
    demo, tmp_path, monkeypatch
):
    monkeypatch.setenv("SURVEYHOUSE_SECRET", SECRET)
    landing, reference = demo
    warehouse = tmp_path / "w.duckdb"
    run = _start_run(landing, warehouse, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    stdout, stderr = (stream.decode() for stream in run.communicate(timeout=300))
    assert run.returncode == 2, stderr[-3000:]
    assert stderr.startswith("Error: the temporary Prefect server did not answer within 1 s. Its log (")
    assert "Traceback" not in stderr and not warehouse.exists()
    assert not (tmp_path / ".surveyhouse" / "w.runs.jsonl").exists()  # no run recorded: the flow never began
    _next_night_publishes_the_same(landing, warehouse, reference)
