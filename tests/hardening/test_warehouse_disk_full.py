"""Item 19 of the hardening: a full disk during a run says where to free space, in one line,
and the failed run is in the run log (its partial files removed, so that the line fits).

The full disk is a real one: a tmpfs of 2 MiB mounted for the test (root only; skipped
where mounting is not permitted), filled but for a few kilobytes.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.diskspace import NoSpaceLeft, no_space_message
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from surveyhouse.staging import RECORD
from warehouse.publish import building_files


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("full") / "landing"
    write_demo_study(folder, waves=((2023, 300),))  # five exports, some 150 kB
    return folder


@pytest.fixture()
def small_disk(tmp_path):
    """A 2 MiB filesystem of its own, unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def fill(disk: Path, leave_kb: int) -> Path:
    """A file that takes all the free space of ``disk`` but ``leave_kb``; its path."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    filler.write_bytes(b"\0" * (free - leave_kb * 1024))
    return filler


def runs_logged(settings) -> list[dict]:
    return [json.loads(line) for line in state_for(settings).runs.path.read_text(encoding="utf-8").splitlines()]


MESSAGE = "no space left on {}: free space there (or move the state folder with SURVEYHOUSE_STATE), then run again"


@pytest.mark.parametrize("leave_kb", [20, 100, 300])  # while archiving; writing staged Parquet; its footer
def test_a_full_disk_during_staging_says_where_and_the_failed_run_is_logged(landing, small_disk, tmp_path, leave_kb):
    state = small_disk / "state"
    settings = dataclasses.replace(load_settings(inbox=str(landing), warehouse=str(tmp_path / "w.duckdb")), state=state)
    filler = fill(small_disk, leave_kb)
    with pytest.raises(NoSpaceLeft) as raised:
        run_night(load_study(), settings)
    assert str(raised.value) == MESSAGE.format(state)
    failed = runs_logged(settings)
    assert [run["status"] for run in failed] == ["failed"] and MESSAGE.format(state) in failed[0]["message"]
    staged = state_for(settings).staged_dir
    assert all((folder / RECORD).exists() for folder in staged.iterdir()) if staged.exists() else True
    assert not list(state_for(settings).archive_dir.glob("*.part"))

    filler.unlink()  # space freed: the next run publishes, and `runs` keeps the failed one
    run_night(load_study(), settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("select status from runs order by started_at").fetchall() == [("failed",), ("ok",)]
        assert connection.execute("select count(*) from files").fetchone() == (5,)


def test_a_full_disk_during_the_publish_leaves_no_partial_warehouse_and_logs_the_run(landing, small_disk, tmp_path):
    settings = dataclasses.replace(
        load_settings(inbox=str(landing), warehouse=str(small_disk / "w.duckdb")), state=tmp_path / "state"
    )
    fill(small_disk, 900)  # the warehouse takes some 2.5 MB
    with pytest.raises(NoSpaceLeft, match=f"^no space left on {small_disk}: free space there"):
        run_night(load_study(), settings)
    assert building_files(settings.warehouse) == [] and not settings.warehouse.exists()
    assert [run["status"] for run in runs_logged(settings)] == ["failed"]


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_an_os_error_of_a_full_disk_a_quota_or_a_file_size_limit_names_the_folder(tmp_path, number):
    error = OSError(number, os.strerror(number), "/somewhere/else.csv")
    assert no_space_message(error, [tmp_path]) == MESSAGE.format(tmp_path)


def test_other_errors_are_not_taken_for_a_full_disk(tmp_path):
    assert no_space_message(ValueError("bad value in column q1"), [tmp_path]) is None
    assert no_space_message(OSError(errno.EACCES, "Permission denied"), [tmp_path]) is None
