"""Crash safety on the lake writer: the kill test of tests/flows/test_kill.py, repeated on
a DuckLake warehouse (catalog in a throwaway PostgreSQL, data as Parquet in a folder).

A run into the lake is killed (SIGKILL) at points spread over its measured duration, and
once the moment its publish writes its first Parquet file (inside the lake transaction).
Each scenario starts from the same published lake A (the 2023 exports): its catalog is a
copy of A's database (``createdb -T``), its data and state folders copies of A's, as a
restore from backup would make them. The 2024 exports are newly landed. After each kill
the lake's live snapshot is A or the new warehouse, whole; the next complete run makes
it exactly what an uninterrupted run makes, with one more snapshot and one more run in
all (nothing published twice), and every file staged into the lake once.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.study import write_demo_study
from flows.failure import record_failure
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import Settings, load_settings
from tests.flows.snapshots import assert_same, same, snapshot
from tests.flows.test_kill import RUN, Killable
from warehouse.backend import open_reader

#: The killed process of the run-log scenario: the pipeline, SIGKILLed by itself in the middle
#: of appending its run's line (after the lake committed its snapshot), half the line on disk.
KILLED_IN_APPEND = (
    """
import os, json, signal
from surveyhouse.runlog import RunLog
def append(self, record):
    line = (json.dumps(record, default=str) + "\\n").encode()
    descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(descriptor, line[: len(line) // 2])
    os.kill(os.getpid(), signal.SIGKILL)
RunLog.append = append
"""
    + RUN
)

KILL_POINTS = (
    5  # and one as the publish writes its first Parquet file; fewer than the embedded test's 20 (a lake run costs more)
)
#: The kills are spread over a run timed on this machine: no other test may run meanwhile.
pytestmark = pytest.mark.alone


@dataclass
class LakeCopy:
    """One scenario's lake: its catalog database, its folder (data/ and the state .surveyhouse/)."""

    spec: str
    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def settings(self, inbox: Path) -> Settings:
        return load_settings(inbox=str(inbox), warehouse=self.spec, lake_data=str(self.data))


def _counts(lake: LakeCopy) -> dict[str, int]:
    """Snapshots, published runs, and staged files (rows, distinct) of the lake."""
    with open_reader(lake.settings(Path(".")).store()) as connection:
        snapshots = connection.execute("select count(*) from lake.snapshots()").fetchone()[0]
        runs = connection.execute("select count(*) from runs").fetchone()[0]
        staged, distinct = connection.execute(
            "select count(*), count(distinct file_sha256) from staging.files"
        ).fetchone()
    return {"snapshots": snapshots, "runs": runs, "staged": staged, "staged_distinct": distinct}


@pytest.fixture(scope="module")
def study(postgres, tmp_path_factory):
    """Lake A (2023 published), the full landing folder, and the uninterrupted run's result."""
    root = tmp_path_factory.mktemp("kill-lake")
    full = root / "landing"
    written = write_demo_study(full, waves=((2023, 300), (2024, 300)))
    first = root / "landing_2023"
    first.mkdir()
    for path in full.glob("*.csv"):  # the 2023 exports sit at the top, 2024's in landing/2024
        shutil.copy(path, first / path.name)
    lake_a = LakeCopy("ducklake:postgres:" + postgres.create_database("kill_lake_a"), root / "A")
    run_night(load_study(), lake_a.settings(first))

    def copy(name: str) -> LakeCopy:
        """A's lake restored under another name: catalog database, data folder, state folder."""
        dbname = f"kill_lake_{name.replace('-', '_')}"
        copied = LakeCopy("ducklake:postgres:" + postgres.create_database(dbname, template="kill_lake_a"), root / name)
        shutil.copytree(lake_a.folder, copied.folder)
        postgres.execute(dbname, f"update ducklake_metadata set value = '{copied.data}/' where key = 'data_path'")
        return copied

    # The uninterrupted run, in a process started as the killed ones are: the result to
    # reach, and the duration to spread the kills over.
    reference = copy("reference")
    process = Killable(full, reference.spec, reference.data)
    started = process.go()
    process.finish()
    duration = time.perf_counter() - started
    return {
        "root": root, "full": full, "files": len(written), "copy": copy, "duration": duration,
        "snapshot_A": snapshot(lake_a.settings(full).store()), "expected": snapshot(reference.settings(full).store()),
        "counts_A": _counts(lake_a), "runs_A": len(state_for(lake_a.settings(full)).runs.runs()),
    }  # fmt: skip


def check_and_complete(study, lake: LakeCopy, context: str) -> str:
    """After a kill: the live snapshot is A or the new one, whole; the next run completes it, once."""
    settings = lake.settings(study["full"])
    published = snapshot(settings.store())  # opens and reads every compared table: intact and readable
    if same(published, study["snapshot_A"]):
        state = "A"
    else:
        assert_same(
            published,
            study["expected"],
            f"{context}: the live lake is neither the last publish nor the new one (compared with the new one)",
        )
        state = "new"
    run_night(load_study(), settings)
    assert_same(snapshot(settings.store()), study["expected"], context)
    counts, before = _counts(lake), study["counts_A"]
    assert counts["snapshots"] == before["snapshots"] + 1, (
        f"{context}: expected one more snapshot than A: {counts} vs {before}"
    )
    assert counts["runs"] == before["runs"] + 1 == study["runs_A"] + 1, (
        f"{context}: expected one more run than A: {counts}"
    )
    assert counts["staged"] == counts["staged_distinct"] == study["files"], (
        f"{context}: every file staged into the lake once: {counts}"
    )
    with open_reader(settings.store()) as connection:
        published_runs = {row[0] for row in connection.execute("select run_id from runs").fetchall()}
    assert published_runs == {run["run_id"] for run in state_for(settings).runs.published_runs()}, (
        f"{context}: the run log and the lake's runs disagree"
    )
    return state


def test_a_lake_run_killed_at_any_point_leaves_the_lake_whole_and_the_next_run_completes_it(study):
    duration = study["duration"]
    # Kills spread over the run, and one the moment the publish writes its first Parquet
    # file into the data folder (inside the lake transaction, before its commit).
    points = [0.9 * duration * (k - 0.5) / KILL_POINTS for k in range(1, KILL_POINTS + 1)] + [None]
    outcomes = []
    lake = study["copy"]("kill-0")
    waiting = Killable(study["full"], lake.spec, lake.data)
    for k, delay in enumerate(points):
        current, this_lake = waiting, lake
        before = set(this_lake.data.rglob("*.parquet"))
        started = current.go()
        if delay is None:
            context = "killed as its first Parquet file of the snapshot appeared"
            deadline = started + 3 * duration + 60
            while (
                current.process.poll() is None
                and time.perf_counter() < deadline
                and not set(this_lake.data.rglob("*.parquet")) - before
            ):
                time.sleep(0.005)
        else:
            context = f"killed after {delay:.2f} s of {duration:.2f} s"
            time.sleep(max(0.0, started + delay - time.perf_counter()))
        finished = current.kill()
        if k + 1 < len(points):  # the next process imports while this one is checked
            lake = study["copy"](f"kill-{k + 1}")
            waiting = Killable(study["full"], lake.spec, lake.data)
        state = check_and_complete(study, this_lake, context)
        outcomes.append(
            {"kill": "first parquet" if delay is None else round(delay, 2), "live": state, "finished": finished}
        )
        shutil.rmtree(this_lake.folder)
    mid_run = sum(not o["finished"] for o in outcomes)
    print(
        f"\nlake run duration {duration:.2f} s; {mid_run} of {len(points)} kills hit a running process "
        f"({sum(o['live'] == 'A' for o in outcomes)} before its commit); " + json.dumps(outcomes)
    )
    assert mid_run > 0, "no kill hit a running process"


def test_a_lake_run_killed_while_appending_its_run_log_line_is_finished_by_the_next_run_and_hook(study):
    """A real SIGKILL inside the run log's append (the process kills itself there: a kill at
    a random moment almost never lands in that window) leaves the lake published and a line
    cut short; the failure hook then appends after it, the next run completes, and the
    lake ends as an uninterrupted run leaves it, the cut text kept aside."""
    lake = study["copy"]("kill-in-append")
    killed = Killable(study["full"], lake.spec, lake.data, script=KILLED_IN_APPEND)
    killed.go()
    killed.process.wait(300)
    killed.kill()  # closes its pipes
    assert killed.process.returncode == -signal.SIGKILL, (
        f"the run was killed, not finished: {killed.process.returncode}"
    )
    settings = lake.settings(study["full"])
    log = state_for(settings).runs.path
    cut = log.read_bytes().splitlines(keepends=True)[-1]
    assert not cut.endswith(b"\n") and b'"run_id"' in cut, "the run log ends with a line cut short"
    assert record_failure(settings, flow_run_id="hook-after-the-kill", started_at=None, error=RuntimeError("killed"))
    assert check_and_complete(study, lake, "killed while appending its run log line") == "new"
    runs = state_for(settings).runs.runs()
    failed = [run["flow_run_id"] for run in runs if run["status"] == "failed"]
    assert failed == ["hook-after-the-kill"], f"the hook's line is whole and kept: {failed}"
    assert log.with_name(log.name + ".damaged").read_bytes() == cut + b"\n", "the cut text kept aside, once"
    shutil.rmtree(lake.folder)
