"""The live warehouse's proof of health without reading every table whole each night: the digests of
the bytes last verified (read whole by a night, or read back by the incremental publish that wrote
them) are kept beside the file; a night whose live file hashes to them needs no whole read. Anything
else (no record, a block garbled since, even with the file's size and times put back) is read whole,
as before, and a corrupt block is still caught."""

from __future__ import annotations

import logging
import os
import shutil

import duckdb
import pytest

import warehouse.store
from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.test_incremental_answers import keep_rows
from tests.flows.test_nights import respondents
from tests.hardening.test_incremental_read_back import ROWS, publish_ten_more
from tests.hardening.test_warehouse_corrupt import SCHEMA, answered_responses, numbers
from tests.hardening.warehouse_files import corrupt_table
from warehouse.health import chunk_digests, recorded_digests, verified_record
from warehouse.publish import publish_warehouse
from warehouse.store import FileWarehouse


@pytest.fixture()
def live(tmp_path):
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, ROWS)}, SCHEMA)
    return path


@pytest.fixture()
def whole_reads(monkeypatch) -> list:
    """The live files read whole (``FileWarehouse.unreadable``'s fallback), as they are read."""
    read: list = []
    real = warehouse.store.warehouse_unreadable
    monkeypatch.setattr(warehouse.store, "warehouse_unreadable", lambda path: read.append(path) or real(path))
    return read


def test_a_live_file_holding_the_bytes_last_verified_is_not_read_whole_again(live, whole_reads):
    assert recorded_digests(live) is None  # a full build's publish records none: the next check reads it whole
    assert FileWarehouse(live).unreadable() is None and whole_reads == [live]
    assert recorded_digests(live) == chunk_digests(live)
    assert FileWarehouse(live).unreadable() is None and whole_reads == [live]  # hashed, not read whole


def test_an_incremental_publish_records_the_digests_of_the_file_it_swapped_in(live, whole_reads):
    assert FileWarehouse(live).unreadable() is None  # read whole, recorded (as a night does first)
    publish_ten_more(live)
    assert recorded_digests(live) == chunk_digests(live)  # the live chunks' digests reused, the written ones new
    assert FileWarehouse(live).unreadable() is None and whole_reads == [live]
    with duckdb.connect(str(live), read_only=True) as connection:
        assert connection.execute("select count(*) from numbers").fetchone() == (ROWS + 10,)


def test_a_block_garbled_after_its_digests_were_recorded_is_still_caught(live, whole_reads):
    assert FileWarehouse(live).unreadable() is None and recorded_digests(live) is not None
    before = live.stat()
    corrupt_table(live, "numbers", row_group=0)
    os.utime(live, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same size and times
    assert live.stat().st_size == before.st_size and live.stat().st_mtime_ns == before.st_mtime_ns
    reason = FileWarehouse(live).unreadable()
    assert reason.startswith("table numbers: IO Error: Corrupt database file: computed checksum")
    assert whole_reads == [live, live]


def test_a_record_that_cannot_be_read_means_a_whole_read(live, whole_reads):
    assert FileWarehouse(live).unreadable() is None
    verified_record(live).write_text("{not json", encoding="utf-8")
    assert FileWarehouse(live).unreadable() is None and whole_reads == [live, live]
    assert recorded_digests(live) == chunk_digests(live)  # recorded again after the whole read


def test_a_full_build_publish_forgets_the_digests_of_the_file_it_replaced(live):
    assert FileWarehouse(live).unreadable() is None and verified_record(live).exists()
    publish_warehouse(live, {"numbers": numbers(0, 10)}, SCHEMA)
    assert not verified_record(live).exists()


@pytest.fixture(scope="module")
def verified_night(tmp_path_factory):
    """A warehouse of one night (ten responses) whose live file was then checked: its digests recorded."""
    root = tmp_path_factory.mktemp("verified")
    (root / "landing").mkdir()
    write_qualtrics(respondents(10), root / "landing" / "night1.csv", seed=9)
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "w.duckdb"))
    run_night(load_study(), settings, report=False)
    assert FileWarehouse(settings.warehouse).unreadable() is None and recorded_digests(settings.warehouse)
    return root


def second_night(root) -> object:
    inbox = root / "landing"
    write_qualtrics(respondents(14), inbox / "night2_new.csv", seed=9)
    keep_rows(inbox / "night2_new.csv", [10, 11, 12, 13])  # four new responses
    return load_settings(inbox=str(inbox), warehouse=str(root / "w.duckdb"))


def test_a_run_over_a_live_warehouse_garbled_after_its_digests_were_recorded_rebuilds_it(
    verified_night, tmp_path, caplog
):
    root = tmp_path / "night"
    shutil.copytree(verified_night, root)
    before = (root / "w.duckdb").stat()
    corrupt_table(root / "w.duckdb", "choices", "runs")
    os.utime(root / "w.duckdb", ns=(before.st_atime_ns, before.st_mtime_ns))
    settings = second_night(root)
    with caplog.at_level(logging.WARNING, logger="surveyhouse.night"):
        run = run_night(load_study(), settings, report=False)
    assert run.published and answered_responses(settings.warehouse) == (14, 14)
    said = [r.getMessage() for r in caplog.records if "could not be read whole" in r.getMessage()]
    assert len(said) == 1 and "checksum" in said[0] and said[0].endswith("): rebuilt from the staged files")


def test_a_night_over_the_bytes_last_verified_reads_no_table_whole_and_records_its_own(
    verified_night, tmp_path, whole_reads
):
    root = tmp_path / "night"
    shutil.copytree(verified_night, root)
    settings = second_night(root)
    run = run_night(load_study(), settings, report=False)
    assert run.published and run.files_new == 1 and answered_responses(settings.warehouse) == (14, 14)
    assert whole_reads == [] and recorded_digests(settings.warehouse) == chunk_digests(settings.warehouse)


def test_a_live_file_with_a_write_ahead_log_beside_it_is_read_whole(live, whole_reads):
    assert FileWarehouse(live).unreadable() is None and whole_reads == [live]
    with duckdb.connect(str(live)) as connection:  # a connection that writes, left without a checkpoint
        connection.execute("SET checkpoint_threshold = '1GB'")
        connection.execute("PRAGMA disable_checkpoint_on_shutdown")
        connection.execute("INSERT INTO numbers VALUES (-1, 'x')")
    assert (live.parent / f"{live.name}.wal").exists()
    assert FileWarehouse(live).unreadable() is None and whole_reads == [live, live]


def test_a_record_left_half_written_by_a_kill_is_replaced_by_the_next_not_piled_up(live):
    from warehouse.health import record_digests

    draft = verified_record(live).with_name(f"{verified_record(live).name}-draft")
    draft.write_text('{"chunk_bytes": 10', encoding="utf-8")  # what a kill mid-write leaves
    record_digests(live, chunk_digests(live))
    record_digests(live, chunk_digests(live))
    assert sorted(p.name for p in live.parent.iterdir() if p.name.startswith(f".{live.name}")) == [
        verified_record(live).name
    ]
    assert recorded_digests(live) == chunk_digests(live)
