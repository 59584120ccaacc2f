"""Crash safety: a run killed (SIGKILL) at any moment leaves the last published warehouse
intact, and the next complete run gives exactly what an uninterrupted run gives.

The killed runs are real processes running the pipeline without Prefect on a demo
landing folder; the kills are spread over the whole measured duration of a run (from
discovering files to appending the run log). Each scenario starts from the same
published state A (the 2023 exports) with the 2024 exports newly landed.
"""

from __future__ import annotations

import json
import os
import select
import shutil
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
from tests.flows.snapshots import assert_same, same, snapshot

ROOT = Path(__file__).resolve().parents[2]
KILL_POINTS = 20
#: The kills are spread over a run timed on this machine: no other test may run meanwhile.
pytestmark = pytest.mark.alone

#: The killed process: imports first, says "ready", waits for "go" on stdin, then runs.
RUN = """
import sys
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
settings = load_settings(inbox=sys.argv[1], warehouse=sys.argv[2], lake_data=(sys.argv[3:] or [None])[0])
print("ready", flush=True)
sys.stdin.readline()
run_night(load_study(), settings, report=False)  # the page is written atomically after the publish
print("done", flush=True)
"""


class Killable:
    """A pipeline process started ahead of time (imports done), run on demand.

    ``script`` (default ``RUN``) is given the inbox, the warehouse and the lake's data folder
    as arguments; it says "ready", waits for "go", and says "done" when it has finished.
    """

    def __init__(self, inbox: Path, warehouse: Path | str, lake_data: Path | None = None, *, script: str = RUN):
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, str(inbox), str(warehouse), *([str(lake_data)] if lake_data else [])],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _line(self, timeout_s: float) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            self.process.kill()
            raise AssertionError(
                f"the pipeline process said nothing for {timeout_s} s: {self.process.stderr.read()[-2000:]}"
            )
        return self.process.stdout.readline().strip()

    def wait_for(self, line: str, timeout_s: float = 300) -> float:
        """The time (``time.perf_counter``) at which the process said ``line``, its next line."""
        said = self._line(timeout_s)
        assert said == line, f"expected {line!r}, got {said!r}: {self.process.stderr.read()[-2000:]}"
        return time.perf_counter()

    def go(self, word: str = "go") -> float:
        """Once the process is ready, tell it to run (``word`` is the line it reads); the time it was told."""
        assert self._line(120) == "ready", self.process.stderr.read()[-2000:]
        self.process.stdin.write(f"{word}\n")
        self.process.stdin.flush()
        return time.perf_counter()

    def finish(self) -> None:
        line = self._line(300)
        assert line == "done" and self.process.wait(60) == 0, self.process.stderr.read()[-3000:]

    def kill(self) -> bool:
        """SIGKILL; True when the run had already finished."""
        finished = self.process.poll() is not None
        if not finished:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(60)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()
        return finished or self.process.returncode == 0


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """State A (2023 published), the full landing folder, and the uninterrupted result."""
    root = tmp_path_factory.mktemp("kill")
    full = root / "landing"
    write_demo_study(full, waves=((2023, 300), (2024, 300)))
    first = root / "landing_2023"
    first.mkdir()
    for path in full.glob("*.csv"):  # the 2023 exports sit at the top, 2024's in landing/2024
        shutil.copy(path, first / path.name)
    state_a = root / "A"
    run_night(load_study(), load_settings(inbox=str(first), warehouse=str(state_a / "w.duckdb")))
    reference = root / "reference"
    shutil.copytree(state_a, reference)
    run_night(load_study(), load_settings(inbox=str(full), warehouse=str(reference / "w.duckdb")))
    return {
        "root": root,
        "full": full,
        "A": state_a,
        "snapshot_A": snapshot(state_a / "w.duckdb"),
        "expected": snapshot(reference / "w.duckdb"),
        "runs_A": len(state_for(load_settings(warehouse=str(state_a / "w.duckdb"))).runs.runs()),
    }


def scenario(study, name: str) -> Path:
    folder = study["root"] / name
    shutil.copytree(study["A"], folder)
    return folder / "w.duckdb"


def check_and_complete(study, warehouse: Path, context: str) -> str:
    """After a kill: the live warehouse is A or the new one, whole; the next run completes it."""
    published = snapshot(warehouse)  # opens and reads every compared table: intact and readable
    if same(published, study["snapshot_A"]):
        state = "A"
    else:
        assert_same(
            published,
            study["expected"],
            f"{context}: the live warehouse is neither the last publish nor the new one (compared with the new one)",
        )
        state = "new"
    settings = load_settings(inbox=str(study["full"]), warehouse=str(warehouse))
    run_night(load_study(), settings)
    assert_same(snapshot(warehouse), study["expected"], context)
    assert not list(warehouse.parent.glob(".w.duckdb.building-*")), f"{context}: a half-built file was left behind"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        published_runs = {row[0] for row in connection.execute("select run_id from runs").fetchall()}
    logged = {
        run["run_id"] for run in state_for(settings).runs.published_runs()
    }  # a quiet night waits for the next publish
    assert published_runs == logged, f"{context}: the run log and the warehouse's runs disagree"
    assert len(published_runs) == study["runs_A"] + 1, (
        f"{context}: expected one more run than A, got {len(published_runs)}"
    )
    return state


def test_a_run_killed_at_any_point_leaves_the_warehouse_whole_and_the_next_run_completes_it(study):
    # Calibration: two uninterrupted runs in a process give the duration (and the same result);
    # the shorter, so that a first run slowed by cold caches or a busy machine does not push the
    # kills past the publish.
    durations = []
    for name in ("calibration-1", "calibration-2"):
        calibration = Killable(study["full"], scenario(study, name))
        started = calibration.go()
        calibration.finish()
        durations.append(time.perf_counter() - started)
        check_and_complete(study, study["root"] / name / "w.duckdb", "uninterrupted process")
    duration = min(durations)

    outcomes = []
    waiting = Killable(study["full"], scenario(study, "kill-1"))
    for k in range(1, KILL_POINTS + 1):
        current, warehouse = waiting, study["root"] / f"kill-{k}" / "w.duckdb"
        delay = 0.95 * duration * (k - 0.5) / KILL_POINTS
        started = current.go()
        time.sleep(max(0.0, started + delay - time.perf_counter()))
        finished = current.kill()
        if k < KILL_POINTS:  # the next process imports while this one is checked
            waiting = Killable(study["full"], scenario(study, f"kill-{k + 1}"))
        state = check_and_complete(study, warehouse, f"killed after {delay:.2f} s of {duration:.2f} s")
        outcomes.append({"delay_s": round(delay, 2), "live": state, "finished": finished})
        shutil.rmtree(warehouse.parent)
    mid_run = sum(not o["finished"] for o in outcomes)
    print(
        f"\nrun duration {duration:.2f} s; {mid_run} of {KILL_POINTS} kills hit a running process "
        f"({sum(o['live'] == 'A' for o in outcomes)} before its publish); " + json.dumps(outcomes)
    )
    assert sum(o["live"] == "A" for o in outcomes) >= KILL_POINTS // 2, "most kills should land before the publish"


def test_a_run_killed_between_its_publish_and_its_log_line_is_taken_back_from_the_warehouse(study):
    warehouse = scenario(study, "log-window")
    settings = load_settings(inbox=str(study["full"]), warehouse=str(warehouse))
    run_night(load_study(), settings)
    lines = state_for(settings).runs.path.read_text(encoding="utf-8").splitlines(keepends=True)
    state_for(settings).runs.path.write_text(
        "".join(lines[:-1]), encoding="utf-8"
    )  # as if killed right after os.replace
    published = warehouse.read_bytes()
    again = run_night(load_study(), settings)
    assert not again.published and warehouse.read_bytes() == published, "nothing new: no republish"
    runs = state_for(settings).runs.runs()
    assert len(runs) == len(lines) + 1, "the killed run's line taken back, then this quiet night's"
    assert runs[-2]["run_id"] == json.loads(lines[-1])["run_id"]
    assert (runs[-1]["run_id"], runs[-1]["status"]) == (again.run_id, "nothing_new")


def test_a_log_line_cut_short_by_a_kill_is_dropped(study):
    warehouse = scenario(study, "cut-line")
    settings = load_settings(inbox=str(study["full"]), warehouse=str(warehouse))
    with state_for(settings).runs.path.open("a", encoding="utf-8") as log:
        log.write('{"run_id": "20240101T000000Z-abcdef", "sta')
    assert len(state_for(settings).runs.runs()) == study["runs_A"]
    run_night(load_study(), settings)
    assert_same(snapshot(warehouse), study["expected"], "after a cut line")
    assert len(state_for(settings).runs.runs()) == study["runs_A"] + 1
