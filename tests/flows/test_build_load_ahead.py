"""A full build's `responses` and `choices` go into the new warehouse file on a thread while the
build goes on (issue 18: DuckDB's ordered insert runs on one core beside the build's Polars work);
the publish writes the rest into that file, checks it and swaps it in. Whatever fails, no file
is left beside the warehouse and the live one stays as it was."""

from __future__ import annotations

import dataclasses
import threading
import time

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import warehouse.publish
from surveyhouse import build, responses_file
from surveyhouse.night import Night, publish
from surveyhouse.runlog import RunSummary
from tests.flows.builds import full_build, published_demo_night
from tests.flows.snapshots import assert_same, snapshot
from warehouse.publish import building_files


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo staged and published."""
    root = tmp_path_factory.mktemp("ahead")
    return published_demo_night(root)


def test_a_full_build_has_responses_and_choices_in_the_new_file_before_its_publish(demo):
    live = demo.settings.warehouse
    before = snapshot(live)
    tables = full_build(demo)
    loaded = tables["_loaded"]
    assert loaded.building in building_files(live) and loaded.tables["choices"] == tables["choices"]
    connection = loaded.take()
    try:
        for name in ("responses", "choices"):
            (rows,) = connection.execute(f'select count(*) from "{name}"').fetchone()
            assert rows == tables[name].height > 0, name
        inserted = connection.execute("select * from responses").pl()
    finally:
        connection.close()
        loaded.building.unlink()
    expected = tables["responses"].lazy().collect().select(inserted.columns)
    assert_frame_equal(_as_text(inserted), _as_text(expected))  # the rows in the table's order
    assert_same(snapshot(live), before, "the live warehouse while a build loads ahead")


def test_the_builds_responses_files_are_written_without_column_statistics_no_reader_uses(demo):
    """Every reader of the build's files reads every row group: the min, max and null count of each
    column of each row group (every id and hash compared) are not computed."""
    tables = full_build(demo)
    tables.pop("_loaded").discard()
    paths = [str(path) for path in tables["responses"].paths]
    statistics = duckdb.execute(
        "select count(*), count(stats_min_value), count(stats_max_value), count(stats_null_count)"
        " from parquet_metadata(?)",
        [paths],
    ).fetchone()
    assert statistics[0] > 30 and statistics[1:] == (0, 0, 0)


def test_a_publish_of_a_build_that_loaded_ahead_equals_one_that_did_not(demo, tmp_path):
    live = demo.settings.warehouse
    publish(demo, RunSummary.starting(), full_build(demo))
    loaded_ahead, stored = snapshot(live), _stored(live)
    assert not building_files(live)
    tables = full_build(demo)
    tables.pop("_loaded").discard()
    assert not building_files(live)
    publish(demo, RunSummary.starting(), tables)
    assert_same(snapshot(live), loaded_ahead, "published without the file loaded ahead")
    for name, frame in _stored(live).items():  # the rows in the same order
        assert frame.equals(stored[name]), name


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame``'s values as text (DuckDB's types come back as other Polars types: enums, time zones)."""
    return frame.select(pl.all().cast(pl.String))


def _stored(warehouse) -> dict[str, pl.DataFrame]:
    """`responses` and `choices` in their stored order."""
    with duckdb.connect(str(warehouse), read_only=True) as reader:
        return {
            name: reader.execute(f'select * from "{name}" order by rowid').pl() for name in ("responses", "choices")
        }


def test_a_build_that_fails_after_its_tables_went_ahead_leaves_no_new_file(demo, monkeypatch):
    live = demo.settings.warehouse
    before = snapshot(live)
    started = []
    load_ahead = build._load_ahead
    monkeypatch.setattr(build, "_load_ahead", lambda *a, **k: started.append(load_ahead(*a, **k)) or started[-1])

    def broken(*args, **kwargs):
        raise duckdb.IOException("No space left on device")  # what a full disk says

    monkeypatch.setattr(build, "_quarantine", broken)
    with pytest.raises(duckdb.IOException):
        full_build(demo)
    assert started and started[0] is not None
    assert not building_files(live) and not started[0].building.exists()
    assert_same(snapshot(live), before, "the live warehouse after a failed build")


def test_a_publish_tried_again_after_taking_the_file_loaded_ahead_writes_every_table(demo):
    """A publish that failed after taking the file (removed then) and is tried again (the flow
    retries I/O failures) inserts the big tables itself."""
    live = demo.settings.warehouse
    tables = full_build(demo)
    connection = tables["_loaded"].take()
    connection.close()
    tables["_loaded"].building.unlink()
    before = snapshot(live)
    publish(demo, RunSummary.starting(), tables)
    assert_same(snapshot(live), before, "published by a second try")
    with duckdb.connect(str(live), read_only=True) as reader:
        (rows,) = reader.execute("select count(*) from choices").fetchone()
    assert rows == tables["choices"].height and not building_files(live)


@pytest.mark.parametrize("unordered", [False, True])
def test_the_insert_ahead_takes_one_core_when_ordered_and_every_core_when_not(demo, monkeypatch, unordered):
    """An ordered insert keeps one core busy whatever it is given: one thread for each table
    (`choices`' shorter insert beside `responses`'); an unordered one (from ``_UNORDERED_ROWS``
    rows) runs on every core."""
    if unordered:
        monkeypatch.setattr(warehouse.publish, "_UNORDERED_ROWS", 10)
    loaded = full_build(demo)["_loaded"]
    connection = loaded.take()
    try:
        (threads,) = connection.execute("select current_setting('threads')").fetchone()
    finally:
        connection.close()
        loaded.building.unlink()
    with duckdb.connect() as default:
        (every,) = default.execute("select current_setting('threads')").fetchone()
    assert threads == (every if unordered else 1)


def test_a_build_published_into_another_warehouse_writes_it_whole_and_leaves_no_file(demo, tmp_path):
    """A build of one warehouse's staged files published into another (the bench's scratch
    warehouse): its file loaded ahead, for the first, is removed; the other is written whole."""
    live = demo.settings.warehouse
    tables = full_build(demo)
    other = Night.of(demo.study, dataclasses.replace(demo.settings, warehouse=live.with_name("other.duckdb")))
    publish(other, RunSummary.starting(), tables)
    assert not building_files(live) and not building_files(other.settings.warehouse)
    assert_same(snapshot(other.settings.warehouse), snapshot(live), "published into another warehouse")


def _waiting_insert(monkeypatch, *, until: threading.Event, started: dict) -> None:
    """`responses`' insert ahead held until ``until`` is set (10 s at most, then it goes on),
    ``started`` noting when each table's insert began and whether `responses` waited in vain."""
    insert = warehouse.publish._insert_parquet

    def held(connection, name, table, columns, **kwargs):
        started[name] = time.monotonic()
        if name == "responses" and threading.current_thread().name.startswith("load-ahead"):
            started["held_in_vain"] = not until.wait(10)
        return insert(connection, name, table, columns, **kwargs)

    monkeypatch.setattr(warehouse.publish, "_insert_parquet", held)


def test_choices_go_in_while_responses_go_in(demo, monkeypatch):
    """The two big tables are inserted at once, each on its own thread (one core each)."""
    choices_started, started = threading.Event(), {}
    _waiting_insert(monkeypatch, until=choices_started, started=started)
    create = warehouse.publish._insert_parquet

    def noted(connection, name, table, columns, **kwargs):
        if name == "choices":
            choices_started.set()
        return create(connection, name, table, columns, **kwargs)

    monkeypatch.setattr(warehouse.publish, "_insert_parquet", noted)
    loaded = full_build(demo)["_loaded"]
    loaded.take().close()  # every row in
    loaded.building.unlink()
    assert started.get("held_in_vain") is False, "choices waited for responses"


def test_a_publish_writes_the_other_tables_while_the_big_tables_rows_go_in(demo, monkeypatch):
    """What the publish writes besides `responses` and `choices` (the small tables, the build's
    own, the views) goes into the new file while their rows go in; the file is checkpointed,
    read back and swapped in once they are all in, and equals a publish that loaded nothing ahead."""
    views_written, started = threading.Event(), {}
    _waiting_insert(monkeypatch, until=views_written, started=started)
    create_views = warehouse.publish.create_views

    def noted(*args, **kwargs):
        create_views(*args, **kwargs)
        views_written.set()

    monkeypatch.setattr(warehouse.publish, "create_views", noted)
    live = demo.settings.warehouse
    tables = full_build(demo)
    publish(demo, RunSummary.starting(), tables)
    assert started.get("held_in_vain") is False, "the publish waited for the rows loaded ahead"
    overlapped, stored = snapshot(live), _stored(live)
    tables = full_build(demo)
    tables.pop("_loaded").discard()
    publish(demo, RunSummary.starting(), tables)
    assert_same(snapshot(live), overlapped, "published without the file loaded ahead")
    for name, frame in _stored(live).items():  # the rows in the same order
        assert frame.equals(stored[name]), name
    assert not building_files(live)


def test_the_insert_ahead_starts_with_the_first_part_while_the_next_ones_are_written(demo, monkeypatch):
    """A table of several parts (``responses_file.write_responses``): its first part goes into the new
    file while the build writes the next (10 s at most held, then it goes on); published, the same
    warehouse as a build of one part."""
    live = demo.settings.warehouse
    publish(demo, RunSummary.starting(), full_build(demo))
    one_part, stored = snapshot(live), _stored(live)
    first_inserted, held = threading.Event(), {}
    insert = warehouse.publish._insert_parquet

    def noted(connection, name, table, columns, **kwargs):
        if name == "responses" and any(path.name == "responses-00000.parquet" for path in table.paths):
            first_inserted.set()
        return insert(connection, name, table, columns, **kwargs)

    written_privately = responses_file.written_privately

    def holding(path):
        if path.name == "responses-00002.parquet":
            held["in_vain"] = not first_inserted.wait(10)
        return written_privately(path)

    monkeypatch.setattr(warehouse.publish, "_insert_parquet", noted)
    monkeypatch.setattr(responses_file, "written_privately", holding)
    monkeypatch.setattr(responses_file, "rows_per_part", lambda current, *, memory_mb: 1_000)
    tables = full_build(demo)
    assert len(tables["responses"].paths) > 3 and held.get("in_vain") is False
    publish(demo, RunSummary.starting(), tables)
    assert_same(snapshot(live), one_part, "published from parts inserted as they were written")
    for name, frame in _stored(live).items():  # the rows in the same order
        assert frame.equals(stored[name]), name
    assert not building_files(live)


def test_an_insert_ahead_that_fails_while_the_publish_writes_the_rest_publishes_nothing(demo, monkeypatch):
    """`choices`' insert fails (a full disk) while the publish writes the other tables into the same
    file: the publish raises it, removes the file, and the live warehouse stays as it was."""
    live = demo.settings.warehouse
    before = snapshot(live)
    insert = warehouse.publish._insert_parquet

    def failing(connection, name, table, columns, **kwargs):
        if name == "choices" and threading.current_thread().name.startswith("load-ahead"):
            time.sleep(0.2)  # while the publish writes
            raise duckdb.IOException("No space left on device")
        return insert(connection, name, table, columns, **kwargs)

    monkeypatch.setattr(warehouse.publish, "_insert_parquet", failing)
    tables = full_build(demo)
    with pytest.raises(duckdb.IOException, match="No space left"):
        publish(demo, RunSummary.starting(), tables)
    assert not building_files(live)
    assert_same(snapshot(live), before, "the live warehouse after a failed insert ahead")
