import threading

import duckdb
import pandera.polars as pa
import polars as pl
import pytest

from schemas.tables import warehouse_schemas
from warehouse.ddl import create_table_sql
from warehouse.publish import (
    SMALL_PUBLISH_ROWS,
    ParquetTable,
    building_files,
    connect_read_only,
    create_tables,
    publish_threads,
    publish_warehouse,
)

SCHEMA = {
    "numbers": pa.DataFrameSchema(
        {
            "k": pa.Column(pl.Int64, nullable=False, description="Key."),
            "v": pa.Column(pl.Enum(["low", "high"]), description="Level, in questionnaire order."),
        },
        description="One row per number.",
    )
}


def publish(path, values):
    frame = pl.DataFrame(
        {"k": list(range(len(values))), "v": values}, schema={"k": pl.Int64, "v": pl.Enum(["low", "high"])}
    )
    publish_warehouse(path, {"numbers": frame}, SCHEMA)


def test_ddl_and_comments_come_from_the_schema():
    sql = create_table_sql("numbers", SCHEMA["numbers"])
    assert (
        sql[0].startswith('CREATE TABLE "numbers"')
        and "ENUM('low', 'high')" in sql[0]
        and '"k" BIGINT NOT NULL' in sql[0]
    )
    assert 'COMMENT ON COLUMN "numbers"."v" IS \'Level, in questionnaire order.\'' in sql


def test_a_reader_keeps_its_snapshot_while_a_publish_swaps_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    publish(path, ["low"] * 3)
    reader = connect_read_only(path)
    publish(path, ["high"] * 5)
    assert reader.execute("select count(*) from numbers").fetchone()[0] == 3
    reader.close()
    with connect_read_only(path) as fresh:
        assert fresh.execute("select count(*), min(v) from numbers").fetchone() == (5, "high")
        comments = fresh.execute(
            "select comment from duckdb_columns() where table_name = 'numbers' order by column_index"
        ).fetchall()
        assert comments == [("Key.",), ("Level, in questionnaire order.",)]


def test_readers_during_many_publishes_never_fail_nor_see_a_partial_state(tmp_path):
    path = tmp_path / "w.duckdb"
    publish(path, ["low"] * 10)
    errors, seen = [], set()
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                with duckdb.connect(str(path), read_only=True) as connection:
                    seen.add(connection.execute("select count(*), count(distinct v) from numbers").fetchone())
            except Exception as error:  # noqa: BLE001 - any error is a failure here
                errors.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(15):
        publish(path, ["low" if i % 2 else "high"] * (10 + i))
    stop.set()
    thread.join()
    assert not errors
    assert all(distinct == 1 for _, distinct in seen)


def test_an_interrupted_publish_leaves_the_live_file_and_is_cleaned_next_time(tmp_path):
    path = tmp_path / "w.duckdb"
    publish(path, ["low"])
    leftover = tmp_path / ".w.duckdb.building-deadbeef"
    leftover.write_bytes(b"half a database")
    with connect_read_only(path) as connection:
        assert connection.execute("select count(*) from numbers").fetchone()[0] == 1
    publish(path, ["high", "high"])
    assert building_files(path) == []


def test_opening_a_missing_warehouse_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="surveyhouse run"):
        connect_read_only(tmp_path / "nope.duckdb")


def test_a_publish_that_fails_removes_its_new_file_and_leaves_the_live_one(tmp_path):
    path = tmp_path / "w.duckdb"
    publish(path, ["low"])

    def slices():
        yield pl.DataFrame({"k": [0], "v": ["high"]}, schema={"k": pl.Int64, "v": pl.Enum(["low", "high"])})
        raise OSError("the source of the second slice went away")

    with pytest.raises(OSError, match="went away"):
        publish_warehouse(path, {"numbers": slices()}, SCHEMA)
    assert building_files(path) == [] and not list(tmp_path.glob("*.wal"))
    with connect_read_only(path) as connection:
        assert connection.execute("select count(*), min(v) from numbers").fetchone() == (1, "low")


def test_a_small_study_is_published_on_one_duckdb_thread_and_a_big_one_on_duckdbs_default(tmp_path):
    """Threads cost a small warehouse's DDL, small inserts and checkpoint more than they give
    (the demo's publish: a third more CPU on two threads); a big table keeps every core."""
    small = {"a": pl.DataFrame({"x": range(1_000)}), "b": ParquetTable((tmp_path / "b.parquet",), 5_000, pl.Schema())}
    assert publish_threads(small) == 1
    big = small | {"c": ParquetTable((tmp_path / "c.parquet",), SMALL_PUBLISH_ROWS, pl.Schema())}
    assert publish_threads(big) is None
    assert publish_threads(small | {"slices": iter([pl.DataFrame({"x": [1]})])}) is None


def test_ids_and_digests_are_stored_as_fsst_without_a_dictionary_tried_first(tmp_path, book):
    """`responses`' ids and keyed hashes and `choices`' ids (values nearly all different) are stored
    with FSST whatever their values: DuckDB does not analyse a dictionary of them first (even of
    ids it would have stored as one, here three values repeated); the other text columns keep DuckDB's choice."""
    schemas = warehouse_schemas(book)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        create_tables(connection, {"choices": schemas["choices"]})
        connection.execute(
            "insert into choices select 2024, 'qualtrics', 'R' || (i % 3), null, null, null from range(5000) t(i)"
        )
        connection.execute("CHECKPOINT")
        stored = connection.execute(
            "select column_name, list(distinct compression) from pragma_storage_info('choices')"
            " where segment_type = 'VARCHAR' group by all order by all"
        ).fetchall()
    assert stored == [("response_id", ["FSST"]), ("source_tool", ["Dictionary"])]
    ddl = create_table_sql("responses", schemas["responses"])[0]
    assert [line.split()[0] for line in ddl.splitlines() if "USING COMPRESSION fsst" in line] == [
        '"response_id"',
        '"email_hash"',
        '"ip_hash"',
    ]
