"""A publish that keeps live rows keeps the live file it replaces as a spare (``.NAME.spare``), and the
next one brings that spare to the live file's bytes, writing only the blocks that differ, instead of
copying the live file whole. The spare is never trusted without the compare, never written while a
reader may still hold it, and never kept where it would be of no use."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.hardening.test_warehouse_corrupt import SCHEMA, numbers
from warehouse.health import warehouse_unreadable
from warehouse.publish import KeptRows, LiveCopy, building_files, publish_warehouse, spare_file
from warehouse.store import FileWarehouse

ROWS = 50_000


@pytest.fixture()
def live(tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, ROWS)}, SCHEMA)
    return path


def publish_more(path: Path, start: int, count: int = 10) -> LiveCopy:
    """``count`` rows from ``start`` added to the live table, every live row kept; the copy it took."""
    keep_all = {"numbers": KeptRows(pl.DataFrame(schema={"k": pl.Int64}), read_whole=True)}
    copy = LiveCopy(path)
    publish_warehouse(path, {"numbers": numbers(start, count)}, SCHEMA, incremental=keep_all, ahead=copy)
    return copy


def keys(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return [k for (k,) in connection.execute("select k from numbers order by k").fetchall()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_publish_keeping_live_rows_patches_the_spare_the_one_before_kept_and_loses_nothing(live):
    first = publish_more(live, ROWS)
    assert not first.patched and spare_file(live).exists(), "the first keeps the file it replaced"
    second = publish_more(live, ROWS + 10)
    assert second.patched and second.identical, "the second patched the spare instead of copying"
    assert keys(live) == list(range(ROWS + 20)) and warehouse_unreadable(live) is None
    assert spare_file(live).exists() and building_files(live) == []


def test_a_spare_left_half_patched_by_a_kill_is_compared_again_and_becomes_the_live_files_bytes(live):
    publish_more(live, ROWS)
    spare = spare_file(live)
    with open(spare, "r+b") as handle:  # blocks of either file and garbage, cut short: whatever a kill left
        handle.seek(4096)
        handle.write(os.urandom(70_000))
        handle.truncate(spare.stat().st_size // 2)
    copy = LiveCopy(live)
    building = copy.take()
    assert copy.patched and building.read_bytes() == live.read_bytes()
    building.unlink()


def test_a_spare_longer_than_the_live_file_is_cut_to_its_size(live):
    publish_more(live, ROWS)
    with open(spare_file(live), "ab") as handle:
        handle.write(b"\1" * 300_000)
    copy = LiveCopy(live)
    building = copy.take()
    assert copy.patched and building.read_bytes() == live.read_bytes()
    building.unlink()


def test_a_spare_that_is_the_live_file_itself_is_never_written(live):
    os.link(live, spare_file(live))  # a kill between the spare's link and the swap
    before = digest(live)
    copy = LiveCopy(live)
    building = copy.take()
    assert not copy.patched and copy.identical and digest(live) == before and digest(building) == before
    assert not spare_file(live).exists()
    building.unlink()


ANALYST = textwrap.dedent(
    """
    import sys, duckdb
    connection = duckdb.connect(sys.argv[1], read_only=True)
    (count,) = connection.execute("select count(*) from numbers").fetchone()
    print("open", flush=True)
    sys.stdin.readline()
    print(connection.execute("select count(*) from numbers").fetchone()[0] == count, flush=True)
    """
)


def held_bytes(pid: int, path: Path) -> str:
    """The digest of the file that process ``pid`` opened as ``path`` (whatever its name now), read
    through its descriptor from this process (the analyst's own close would drop its lock)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith(str(path.parent)) and target.removesuffix(" (deleted)").endswith((path.name, ".spare")):
            return digest(fd)
    raise AssertionError("the analyst's file is not open")


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux's /proc/self/fd")
def test_an_analysts_session_open_on_the_replaced_file_never_sees_a_byte_of_it_change(live):
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(live)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert analyst.stdout.readline().strip() == "open"
        before = held_bytes(analyst.pid, live)
        publish_more(live, ROWS)  # the analyst's file is now the spare
        second = publish_more(live, ROWS + 10)
        after = held_bytes(analyst.pid, live)
        same_answer = analyst.communicate("go\n", timeout=60)[0].strip()
    finally:
        analyst.kill()
    assert not second.patched, "a spare a reader holds is not written: the live file is copied whole"
    assert after == before and same_answer == "True"
    assert keys(live) == list(range(ROWS + 20))


def test_a_spare_open_in_this_process_is_never_written(live):
    publish_more(live, ROWS)
    spare = spare_file(live)
    before = digest(spare)
    with open(spare, "rb") as reader:  # (a process's own fcntl locks never stop it)
        second = publish_more(live, ROWS + 10)
        reader.seek(0)
        assert hashlib.sha256(reader.read()).hexdigest() == before
    assert not second.patched and keys(live) == list(range(ROWS + 20))


def test_the_spare_keeps_the_live_files_mode_and_the_patched_file_too(live):
    live.chmod(0o640)
    publish_more(live, ROWS)
    assert spare_file(live).stat().st_mode & 0o777 == 0o640
    assert publish_more(live, ROWS + 10).patched
    assert live.stat().st_mode & 0o777 == 0o640


def test_a_full_build_keeps_no_spare(live):
    publish_more(live, ROWS)
    assert spare_file(live).exists()
    publish_warehouse(live, {"numbers": numbers(0, ROWS)}, SCHEMA)
    assert not spare_file(live).exists()


def test_a_full_disk_removes_the_spare_with_the_partial_files(live):
    publish_more(live, ROWS)
    FileWarehouse(live).discard_partial()
    assert not spare_file(live).exists() and keys(live) == list(range(ROWS + 10))


PATCHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import warehouse.publish as publish
    write = publish._write_all
    def slow_write(handle, data, offset):  # each block written, said, then a pause for the kill
        write(handle, data, offset)
        print("wrote", flush=True)
        time.sleep(0.2)
    publish._write_all = slow_write
    publish.LiveCopy(Path(sys.argv[1])).take()
    """
)


def test_a_night_killed_while_patching_the_spare_leaves_the_live_file_as_it_was_and_the_next_one_correct(live):
    publish_more(live, ROWS)
    with open(spare_file(live), "r+b") as handle:  # many blocks to write back
        handle.write(os.urandom(1 << 20))
    before = digest(live)
    patcher = subprocess.Popen([sys.executable, "-c", PATCHER, str(live)], stdout=subprocess.PIPE, text=True)
    try:
        assert patcher.stdout.readline().strip() == "wrote"
    finally:
        patcher.kill()
        patcher.wait()
    assert digest(live) == before and spare_file(live).exists(), "killed while patching: the spare stays a spare"
    copy = publish_more(live, ROWS + 10)
    assert copy.patched and keys(live) == list(range(ROWS + 20)) and warehouse_unreadable(live) is None
