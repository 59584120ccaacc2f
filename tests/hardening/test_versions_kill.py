"""A run killed (SIGKILL) while it stages edited cumulative exports changes nothing: the next
clean run equals an uninterrupted one on every table, whichever files the killed run had
staged and in whatever order.

State A: the first export published. Then four cumulative exports land, each re-containing
the earlier responses with some answers edited (same response ids, same submission times:
only the files tell which is later) and the same two bad rows. The killed process stages
them in a shuffled order, as the flow's concurrent staging may finish them, with the
ingestion orders the flow gives them; the kill points are spread over its staging.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.exports.qualtrics import write_qualtrics
from demo.model import simulate_respondents
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from surveyhouse.staging import RECORD
from tests.flows.snapshots import assert_same, snapshot
from tests.flows.test_kill import Killable

NEW_FILES = 4
KILL_POINTS = 10
#: The kills are placed by the staging time measured on this machine: no other test may run meanwhile.
pytestmark = pytest.mark.alone
FRACTIONS = (0.0, 0.3, 0.6, 0.15)
FREQUENCIES = ["daily", "few_per_week", "weekly", "few_per_month", "rarely", "never"]
WRITTEN = datetime(2023, 11, 1, 18, 0, tzinfo=UTC)
#: Staged in a shuffled order (as concurrent staging finishes), with the flow's ingestion orders.
STAGE_SHUFFLED = """
import random, sys
from datetime import UTC, datetime
from schemas.study import load_study
from surveyhouse.discover import discover_files
from surveyhouse.night import Night, run_night, stage_file
from surveyhouse.runlog import new_run_id
from surveyhouse.settings import load_settings
settings = load_settings(inbox=sys.argv[1], warehouse=sys.argv[2])
night = Night.of(load_study(), settings)
print("ready", flush=True)
seed = sys.stdin.readline().strip()
run_id = new_run_id(datetime.now(UTC))
found = discover_files(settings.inbox, state=night.state, default_wave=night.study.book.wave, settle_s=0).new
first = night.state.next_file_order()
jobs = list(enumerate(found))
random.Random(seed).shuffle(jobs)
for offset, new in jobs:
    stage_file(night, new, run_id=run_id, file_order=first + offset)
print("staged", flush=True)
run_night(load_study(), settings, report=False)
print("done", flush=True)
"""


def export(frame: pl.DataFrame, path: Path, *, night: int) -> None:
    """Night ``night``'s cumulative export: some answers edited, two bad rows, written that night."""
    shifted = {code: FREQUENCIES[(i + night) % len(FREQUENCIES)] for i, code in enumerate(FREQUENCIES)}
    row = pl.int_range(pl.len())
    edited = frame.with_columns(
        ai_frequency=pl.when(row % 4 == night % 4)
        .then(pl.col("ai_frequency").replace_strict(shifted, default=None))
        .otherwise(pl.col("ai_frequency")),
        role=pl.when(row.is_in([5, 9])).then(pl.lit("!Intern")).otherwise(pl.col("role")),
    )
    write_qualtrics(edited, path, seed=7)  # the same seed: the same response ids row for row
    stamp = (WRITTEN + timedelta(days=night)).timestamp()
    os.utime(path, (stamp, stamp))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("versions-kill")
    people = simulate_respondents(n=500, seed=21)
    first = root / "landing_A"
    first.mkdir()
    export(people.head(200), first / "night 1.csv", night=1)
    full = root / "landing"
    shutil.copytree(first, full)
    for night in range(2, 2 + NEW_FILES):  # names sort against the nights: neither may decide
        export(people.head(200 + 75 * (night - 1)), full / f"night {chr(ord('z') - night)}.csv", night=night)
    state_a = root / "A"
    run_night(load_study(), load_settings(inbox=str(first), warehouse=str(state_a / "w.duckdb")))
    reference = root / "reference"
    shutil.copytree(state_a, reference)
    run_night(load_study(), load_settings(inbox=str(full), warehouse=str(reference / "w.duckdb")))
    return {
        "root": root,
        "full": full,
        "A": state_a,
        "expected": snapshot(reference / "w.duckdb", drop=("run_id", "file_order")),
        "runs_A": len(state_for(load_settings(warehouse=str(state_a / "w.duckdb"))).runs.runs()),
    }


def scenario(study, name: str) -> Path:
    shutil.copytree(study["A"], study["root"] / name)
    return study["root"] / name / "w.duckdb"


def staged_records(folder: Path) -> list[Path]:
    """The staged records under ``folder``, looked for again when a folder the walk entered is
    removed under it (staging removes its slices' folder as it finishes a file)."""
    while True:
        try:
            return list(folder.glob(f"**/{RECORD}"))
        except FileNotFoundError:
            continue


def staged_orders(warehouse: Path) -> list[str]:
    """The staged files' names, in the order they were given (file_order)."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in staged_records(warehouse.parent)]
    return [r["source_file"] for r in sorted(records, key=lambda r: r["file_order"])]


def complete_and_compare(study, warehouse: Path, context: str) -> None:
    settings = load_settings(inbox=str(study["full"]), warehouse=str(warehouse))
    run_night(load_study(), settings)
    assert_same(snapshot(warehouse, drop=("run_id", "file_order")), study["expected"], context)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        runs = connection.execute("select count(*) from runs").fetchone()[0]
    assert runs == study["runs_A"] + 1, f"{context}: {runs} runs"


def wait_until_staged(warehouse: Path, count: int, timeout_s: float = 60) -> None:
    """Until ``count`` files besides A's are staged in ``warehouse``'s state folder."""
    deadline = time.perf_counter() + timeout_s
    while len(staged_records(warehouse.parent)) < count + 1:
        assert time.perf_counter() < deadline, f"{count} files were not staged in {timeout_s} s"
        time.sleep(0.005)


def test_a_run_killed_while_staging_edited_cumulative_exports_changes_nothing_the_next_run_gives(study):
    # Calibration: how long staging one export takes in a process (on this machine, now): the
    # shortest time between two of its files' records.
    calibration = Killable(study["full"], scenario(study, "calibration"), script=STAGE_SHUFFLED)
    calibration.go("calibration")
    calibration.wait_for("staged")
    calibration.finish()
    written = sorted(p.stat().st_mtime for p in staged_records(study["root"] / "calibration"))[-NEW_FILES:]
    per_file_s = min(later - earlier for earlier, later in zip(written, written[1:]))
    complete_and_compare(study, study["root"] / "calibration" / "w.duckdb", "uninterrupted, shuffled staging")

    # Kill points: after 0..3 of the four files are staged, a fraction of the way into the next;
    # taken until KILL_POINTS of them landed inside the staging (on a busy machine a kill can
    # come after it: those are checked too).
    points = [(done, fraction) for fraction in FRACTIONS for done in range(NEW_FILES)]
    outcomes: list[int] = []
    waiting = Killable(study["full"], scenario(study, "kill-1"), script=STAGE_SHUFFLED)
    for k, (done, fraction) in enumerate(points, start=1):
        current, warehouse = waiting, study["root"] / f"kill-{k}" / "w.duckdb"
        current.go(str(k))  # the seed of this run's shuffle
        wait_until_staged(warehouse, done)
        time.sleep(fraction * per_file_s)
        current.kill()
        staged = staged_orders(warehouse)
        outcomes.append(len(staged) - 1)  # the files the killed run had staged (A's file aside)
        last = k == len(points) or sum(n < NEW_FILES for n in outcomes) >= KILL_POINTS
        if not last:  # the next process imports while this one is checked
            waiting = Killable(study["full"], scenario(study, f"kill-{k + 1}"), script=STAGE_SHUFFLED)
        context = f"killed {fraction:.0%} into staging file {done + 1} of {NEW_FILES}, staged {staged}"
        complete_and_compare(study, warehouse, context)
        shutil.rmtree(warehouse.parent)
        if last:
            break
    print(f"\nstaging {per_file_s:.2f} s a file; new files staged when killed: {outcomes}")
    inside = [n for n in outcomes if n < NEW_FILES]
    assert len(inside) >= KILL_POINTS and set(inside) == set(range(NEW_FILES)), f"kills inside staging: {outcomes}"
