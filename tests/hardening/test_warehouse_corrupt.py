"""Item 5 of the hardening: a corrupt block of the live warehouse is never carried into the
next one, and `run` and `rebuild` recover from it, saying so in one line."""

from __future__ import annotations

import logging
import shutil

import duckdb
import pandera.polars as pa
import polars as pl
import pytest

import warehouse.publish
from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.rebuild import rebuild_warehouse
from surveyhouse.settings import load_settings
from tests.flows.test_incremental_answers import keep_rows
from tests.flows.test_nights import respondents
from tests.hardening.warehouse_files import corrupt_table, select_all_fails
from warehouse.health import LiveWarehouseUnreadable, NewWarehouseUnreadable, warehouse_unreadable
from warehouse.publish import building_files, publish_warehouse

SCHEMA = {"numbers": pa.DataFrameSchema({"k": pa.Column(pl.Int64), "v": pa.Column(pl.Utf8)})}
#: More rows than one DuckDB row group (122,880): a publish that adds rows rewrites the last
#: row group only, and copies the first one's blocks as they are.
ROWS = 200_000


def numbers(start: int, count: int) -> pl.DataFrame:
    return pl.DataFrame({"k": pl.int_range(start, start + count, eager=True)}).with_columns(v=pl.col("k").cast(pl.Utf8))


def test_a_corrupt_block_fails_a_plain_select_with_a_checksum_error(tmp_path):
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, ROWS)}, SCHEMA)
    assert warehouse_unreadable(path) is None
    corrupt_table(path, "numbers", row_group=0)
    assert "checksum" in select_all_fails(path, "numbers")
    with duckdb.connect(str(path), read_only=True) as connection:  # a count still works: it reads no data block
        assert connection.execute("select count(*) from numbers").fetchone() == (ROWS,)
    reason = warehouse_unreadable(path)
    assert reason.startswith("table numbers: IO Error: Corrupt database file: computed checksum") and "\n" not in reason


def test_a_publish_that_keeps_rows_of_a_corrupt_live_warehouse_raises_live_warehouse_unreadable(tmp_path):
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, ROWS)}, SCHEMA)
    corrupt_table(path, "numbers", row_group=0)
    live = path.read_bytes()
    keep_all = {"numbers": pl.DataFrame(schema={"k": pl.Int64})}  # no row replaced: every live row kept
    with pytest.raises(LiveWarehouseUnreadable, match=r"the live warehouse .*w\.duckdb could not be read whole"):
        publish_warehouse(path, {"numbers": numbers(ROWS, 10)}, SCHEMA, incremental=keep_all)
    assert path.read_bytes() == live and building_files(path) == []


def test_a_publish_never_swaps_in_a_file_that_cannot_be_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": numbers(0, 10)}, SCHEMA)
    real = warehouse.publish._write_warehouse

    def write_then_corrupt(building, *args):  # a disk that garbles what was written
        real(building, *args)
        corrupt_table(building, "numbers")

    monkeypatch.setattr(warehouse.publish, "_write_warehouse", write_then_corrupt)
    with pytest.raises(NewWarehouseUnreadable, match="could not be read back whole .*previous warehouse is still live"):
        publish_warehouse(path, {"numbers": numbers(0, ROWS)}, SCHEMA)
    assert warehouse_unreadable(path) is None and building_files(path) == []
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select count(*) from numbers").fetchone() == (10,)


@pytest.fixture(scope="module")
def first_night(tmp_path_factory):
    """A warehouse of one night: ten responses."""
    root = tmp_path_factory.mktemp("corrupt")
    (root / "landing").mkdir()
    write_qualtrics(respondents(10), root / "landing" / "night1.csv", seed=9)
    run_night(load_study(), load_settings(inbox=str(root / "landing"), warehouse=str(root / "w.duckdb")))
    return root


@pytest.fixture()
def corrupt_night(first_night, tmp_path):
    """A copy of the first night whose warehouse has corrupt blocks in `choices` (the table a night keeps rows of) and `runs`."""
    root = tmp_path / "night"
    shutil.copytree(first_night, root)
    corrupt_table(root / "w.duckdb", "choices", "runs")
    for table in ("choices", "runs"):
        assert "checksum" in select_all_fails(root / "w.duckdb", table)
    return root


def answered_responses(path) -> tuple[int, int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(
            "select (select count(*) from responses), (select count(distinct response_id) from answers)"
        ).fetchone()


def test_a_run_over_a_corrupt_live_warehouse_rebuilds_it_from_the_staged_files(corrupt_night, caplog):
    inbox = corrupt_night / "landing"
    write_qualtrics(respondents(14), inbox / "night2_new.csv", seed=9)
    keep_rows(inbox / "night2_new.csv", [10, 11, 12, 13])  # four new responses
    settings = load_settings(inbox=str(inbox), warehouse=str(corrupt_night / "w.duckdb"))
    with caplog.at_level(logging.WARNING, logger="surveyhouse.night"):
        run = run_night(load_study(), settings)
    assert run.published and warehouse_unreadable(settings.warehouse) is None
    assert answered_responses(settings.warehouse) == (14, 14)
    said = [r.getMessage() for r in caplog.records if "could not be read whole" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"the live warehouse {settings.warehouse} could not be read whole")
    assert "checksum" in said[0] and said[0].endswith("): rebuilt from the staged files")


def test_a_run_with_nothing_new_over_a_corrupt_live_warehouse_publishes_it_anew(corrupt_night):
    settings = load_settings(inbox=str(corrupt_night / "landing"), warehouse=str(corrupt_night / "w.duckdb"))
    run = run_night(load_study(), settings)
    assert run.published and warehouse_unreadable(settings.warehouse) is None
    assert answered_responses(settings.warehouse) == (10, 10)


def test_a_rebuild_over_a_corrupt_live_warehouse_recovers_and_says_so(corrupt_night, caplog):
    settings = load_settings(warehouse=str(corrupt_night / "w.duckdb"))
    with caplog.at_level(logging.WARNING, logger="surveyhouse.night"):
        rebuild_warehouse(load_study(), settings)
    assert warehouse_unreadable(settings.warehouse) is None
    assert answered_responses(settings.warehouse) == (10, 10)
    said = [r.getMessage() for r in caplog.records if "could not be read whole" in r.getMessage()]
    assert len(said) == 1 and "checksum" in said[0] and said[0].endswith("): rebuilt from the archive")
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from runs").fetchone() == (2,)  # the first night's, from the log


def test_the_live_warehouse_is_read_whole_on_a_thread_while_the_night_stages(first_night, tmp_path, monkeypatch):
    import threading

    import warehouse.store

    root = tmp_path / "night"
    shutil.copytree(first_night, root)
    write_qualtrics(respondents(12), root / "landing" / "night2_new.csv", seed=9)
    keep_rows(root / "landing" / "night2_new.csv", [10, 11])
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "w.duckdb"))
    checked: list[str] = []
    real = warehouse.store.warehouse_unreadable
    monkeypatch.setattr(
        warehouse.store,
        "warehouse_unreadable",
        lambda path: checked.append(threading.current_thread().name) or real(path),
    )
    run = run_night(load_study(), settings, report=False)
    assert run.published and run.files_new == 1 and answered_responses(settings.warehouse) == (12, 12)
    # the live file read whole once, not on the night's own thread (which recovers, discovers and stages meanwhile)
    assert len(checked) == 1 and checked[0] != threading.main_thread().name
