"""The night run ahead of its flow (flows/head_start.py), with the night's own runner protocol:
what runs before the flow takes over, what the flow is shown, and how a failure surfaces."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from demo.study import write_demo_study
from flows.head_start import NightAbandoned, NightAhead
from surveyhouse.night import InProcess
from surveyhouse.runlog import RunSummary


class Shown(InProcess):
    """Every step in this process (``InProcess``), each step's name noted as the flow runs it."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def step(self, name, function, *, io=False):
        self.names.append(name)
        return super().step(name, function, io=io)

    def map(self, name, function, items, *, label):
        self.names.extend(f"{name} {label(item)}" for item in items)
        return super().map(name, function, items, label=label)


class RetriedOnce(Shown):
    """As the flow's tasks do with an I/O error: a step that raises OSError runs once more."""

    def step(self, name, function, *, io=False):
        self.names.append(name)
        try:
            return function()
        except OSError:
            return function()


def started(night) -> tuple[NightAhead, ThreadPoolExecutor]:
    ahead, pool = NightAhead(RunSummary.starting()), ThreadPoolExecutor(max_workers=1)
    ahead.start(night, pool)
    return ahead, pool


def test_the_steps_before_the_build_run_before_the_flow_takes_over_and_the_flow_shows_each_in_order():
    ran: list[str] = []
    staged = threading.Event()

    def night(runner):
        runner.step("recover", lambda: ran.append("recover"))
        found = runner.step("discover", lambda: ["a.csv", "b.csv"])
        files = runner.map("ingest", lambda name: (ran.append(name), name.upper())[1], found, label=str)
        staged.set()
        return runner.step("build", lambda: (ran.append("build"), files)[1])

    ahead, pool = started(night)
    with pool:
        deadline = time.monotonic() + 30
        while len(ran) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not staged.wait(0.2)  # the files staged, the rest waits for the flow
        assert sorted(ran) == ["a.csv", "b.csv", "recover"]
        flow = Shown()
        assert ahead.attach(flow) == ["A.CSV", "B.CSV"]
    assert flow.names == ["recover", "discover", "ingest a.csv", "ingest b.csv", "build"]
    assert ran.count("a.csv") == 1 and ran[-1] == "build"  # each step ran once: the flow took its outcome


def test_a_failure_in_a_step_run_ahead_surfaces_in_its_task_and_a_retry_runs_the_step_again():
    attempts: list[int] = []

    def discover():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("the landing folder could not be listed")
        return ["a.csv"]

    ahead, pool = started(lambda runner: runner.step("discover", discover, io=True))
    with pool:
        assert ahead.attach(RetriedOnce()) == ["a.csv"] and len(attempts) == 2

    attempts.clear()
    ahead, pool = started(lambda runner: runner.step("discover", discover, io=True))
    with pool, pytest.raises(OSError, match="^the landing folder could not be listed$"):
        ahead.attach(Shown())  # not retried: the night fails with the step's own error
    assert len(attempts) == 1


def test_a_night_its_flow_never_takes_over_stops_at_its_next_step_having_built_nothing():
    done, recovering = [], threading.Event()

    def recover():
        recovering.set()
        time.sleep(0.2)  # the server fails meanwhile
        done.append("recover")

    def night(runner):
        runner.step("recover", recover)
        runner.step("discover", lambda: done.append("discover"))
        return runner.step("build", lambda: done.append("build"))

    ahead, pool = started(night)
    with pool:
        assert recovering.wait(30)
        ahead.abandon()
    with pytest.raises(NightAbandoned):
        ahead.summary()
    assert done == ["recover"]  # the step under way ends; no other starts


def test_a_dask_run_starts_no_night_ahead_its_files_are_staged_on_the_cluster(tmp_path):
    """With $SURVEYHOUSE_DASK_ADDRESS the per-file steps are the cluster's, whichever Prefect server
    the run reports to: nothing is staged in this process before the flow (here, a flow that cannot
    begin: its server does not answer)."""
    write_demo_study(tmp_path / "landing", waves=((2023, 50),))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))} | {
        "SURVEYHOUSE_SETTLE_S": "0",
        "SURVEYHOUSE_DASK_ADDRESS": "tcp://127.0.0.1:9",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    command = [sys.executable, "-m", "cli.main", "run", "--inbox", "landing", "--warehouse", "w.duckdb"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1 and "Failed to reach API at http://127.0.0.1:9/api" in result.stderr
    assert not list((tmp_path / ".surveyhouse").glob("staged/*/*/file.json"))
