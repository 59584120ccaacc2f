"""A night stages small files side by side, up to SURVEYHOUSE_THREADS at a time, and a big file
alone: its peak memory is one big file's working set, not the sum of every file's."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from surveyhouse.settings import SettingsError, load_settings
from surveyhouse.slots import BIG_FILE_BYTES, StagingSlots

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path, sizes: dict[str, int]) -> list[Path]:
    paths = []
    for name, size in sizes.items():
        path = folder / name
        with path.open("wb") as handle:
            handle.truncate(size)  # sparse: no disk written
        paths.append(path)
    return paths


def _staged_at_once(slots: StagingSlots, paths: list[Path]) -> list[set[str]]:
    """Which files were being staged together, seen each time one started (every file takes 50 ms)."""
    held, seen, lock = set(), [], threading.Lock()

    def stage(path: Path) -> None:
        with slots.taken(path):
            with lock:
                held.add(path.name)
                seen.append(set(held))
            time.sleep(0.05)
            with lock:
                held.discard(path.name)

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        list(pool.map(stage, paths))
    return seen


def test_small_files_are_staged_side_by_side_up_to_the_threads_setting(tmp_path):
    paths = _files(tmp_path, {f"small{i}.csv": 1000 for i in range(6)})
    seen = _staged_at_once(StagingSlots(2), paths)
    assert max(len(together) for together in seen) == 2
    assert max(len(together) for together in _staged_at_once(StagingSlots(1), paths)) == 1


def test_a_big_file_is_staged_alone(tmp_path):
    paths = _files(tmp_path, {"small0.csv": 10, "big.csv": BIG_FILE_BYTES + 1, "small1.csv": 10, "small2.csv": 10})
    seen = _staged_at_once(StagingSlots(3), paths)
    assert {"big.csv"} in seen and all(together == {"big.csv"} for together in seen if "big.csv" in together)
    assert max(len(together) for together in seen) >= 2  # the small ones still side by side


def test_a_file_that_went_missing_takes_one_slot_and_staging_says_what_is_wrong(tmp_path):
    assert StagingSlots(4).slots_for(tmp_path / "gone.csv") == 1


def test_the_slots_sent_to_a_dask_worker_are_that_workers_own():
    slots = StagingSlots(3)
    copy = pickle.loads(pickle.dumps(slots))
    assert copy.threads == 3 and copy._free == 3 and copy._changed is not slots._changed


def test_the_threads_setting_defaults_to_the_cores_and_refuses_zero_naming_the_variable(monkeypatch):
    assert load_settings(inbox="in", warehouse="w.duckdb").threads == (os.cpu_count() or 1)
    monkeypatch.setenv("SURVEYHOUSE_THREADS", "1")
    assert load_settings(inbox="in", warehouse="w.duckdb").threads == 1
    monkeypatch.setenv("SURVEYHOUSE_THREADS", "0")
    with pytest.raises(SettingsError, match="SURVEYHOUSE_THREADS"):
        load_settings(inbox="in", warehouse="w.duckdb")


@pytest.mark.parametrize(
    ("environment", "pool"),
    [({"SURVEYHOUSE_THREADS": "1"}, 1), ({"SURVEYHOUSE_THREADS": "1", "POLARS_MAX_THREADS": "2"}, 2)],
)
def test_the_command_sizes_polars_thread_pool_by_the_threads_setting(environment, pool):
    script = "from cli.main import polars_threads; polars_threads(); import polars; print(polars.thread_pool_size())"
    env = {k: v for k, v in os.environ.items() if k not in ("POLARS_MAX_THREADS", "SURVEYHOUSE_THREADS")} | environment
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert int(done.stdout) == pool
