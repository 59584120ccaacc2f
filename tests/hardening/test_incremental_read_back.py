"""A publish that keeps live rows (an incremental night) reads back what it wrote, not the rows it
copied: those are the live file's blocks, which the night read whole, and the copy is compared
byte for byte with the live file. A garbled block among the rows it wrote, or a copy that is not
the live file's bytes (then read back whole), never goes live."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

import warehouse.publish
from tests.hardening.test_warehouse_corrupt import SCHEMA, numbers
from tests.hardening.warehouse_files import corrupt_table
from warehouse.health import ROW_GROUP_ROWS, NewWarehouseUnreadable, WrittenRows, warehouse_unreadable
from warehouse.publish import KeptRows, LiveCopy, building_files, publish_warehouse

#: Three DuckDB row groups: a publish that adds rows copies the first ones' blocks as they are.
ROWS = 3 * ROW_GROUP_ROWS


@pytest.fixture()
def live(tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, ROWS)}, SCHEMA)
    return path


def publish_ten_more(path: Path) -> None:
    """Ten rows added to the live table, every live row kept (read whole first, as a night does)."""
    keep_all = {"numbers": KeptRows(pl.DataFrame(schema={"k": pl.Int64}), read_whole=True)}
    publish_warehouse(path, {"numbers": numbers(ROWS, 10)}, SCHEMA, incremental=keep_all, ahead=LiveCopy(path))


def bytes_read(read) -> int:
    """What ``read()`` read from files (Linux's count of this process's reads)."""

    def count() -> int:
        lines = Path("/proc/self/io").read_text().splitlines()
        return int(next(line for line in lines if line.startswith("rchar:")).split()[1])

    before = count()
    assert read() is None
    return count() - before


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_reading_back_an_incremental_publish_reads_the_rows_it_wrote_not_those_it_copied(live):
    publish_ten_more(live)
    written = {"numbers": WrittenRows(ROWS - ROW_GROUP_ROWS, ("k",))}
    whole = bytes_read(lambda: warehouse_unreadable(live))
    partial = bytes_read(lambda: warehouse_unreadable(live, written=written))
    assert partial < whole * 0.6, (partial, whole)


def test_a_copy_of_the_live_file_is_compared_with_it_byte_for_byte(live):
    copy = LiveCopy(live)
    assert copy.take() is not None and copy.identical
    copy.building.unlink()


def last_row_group(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select max(row_group_id) from pragma_storage_info('numbers')").fetchone()[0]


def test_an_incremental_publish_never_swaps_in_a_garbled_block_among_the_rows_it_added(live, monkeypatch):
    real = warehouse.publish._write_warehouse
    garbled = []

    def write_then_corrupt(building, *args):  # a disk that garbles what was written
        written = real(building, *args)
        garbled.extend(corrupt_table(building, "numbers", row_group=last_row_group(building)))
        return written

    monkeypatch.setattr(warehouse.publish, "_write_warehouse", write_then_corrupt)
    before = live.read_bytes()
    with pytest.raises(NewWarehouseUnreadable, match="could not be read back whole"):
        publish_ten_more(live)
    assert garbled and live.read_bytes() == before and building_files(live) == []


def test_an_incremental_publish_over_a_copy_that_is_not_the_live_files_bytes_reads_it_back_whole(live, monkeypatch):
    real = shutil.copyfile

    def copy_then_corrupt(source, target, **options):  # a disk that garbles the copy's first row group
        real(source, target, **options)
        corrupt_table(Path(target), "numbers", row_group=0)
        return target

    monkeypatch.setattr(warehouse.publish.shutil, "copyfile", copy_then_corrupt)
    before = live.read_bytes()
    with pytest.raises(NewWarehouseUnreadable, match="could not be read back whole"):
        publish_ten_more(live)
    monkeypatch.undo()
    assert live.read_bytes() == before and building_files(live) == []


def test_reading_back_rows_added_after_a_part_filled_last_row_group_starts_at_that_group(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, ROWS + 100)}, SCHEMA)  # three full row groups and 100 rows
    real, read_back = warehouse.publish._read_back, []

    def recorded(building, beside, written=None):
        read_back.append(written)
        return real(building, beside, written)

    monkeypatch.setattr(warehouse.publish, "_read_back", recorded)
    publish_ten_more(path)
    # the 100 rows' row group, written again with the ten added; not the full one before it, copied as it was
    assert read_back == [{"numbers": WrittenRows(ROWS, ("k",))}]
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select count(*) from numbers").fetchone() == (ROWS + 110,)
