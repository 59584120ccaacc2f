"""The warehouse in a DuckLake (PostgreSQL catalog, Parquet data) equals the embedded file.

A throwaway PostgreSQL on loopback holds the catalog (tests/warehouse/postgres.py); the
pipeline runs once into an embedded file and once into a lake, from the same landing
folder, and every table reads back the same, run ids and clock times aside.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from warehouse.backend import exists, open_reader
from warehouse.lake import (
    Lake,
    LakeConflict,
    connect_lake,
    in_transaction,
    trim,
    write_snapshot,
)

SECRET = "test-secret-shared-by-every-writer"
TABLES = ["responses", "answers", "crosstab", "trend", "claims", "quarantine", "files", "runs"]
#: Columns that differ between any two runs by nature (ids and clock times).
RUN_SPECIFIC = {"run_id", "flow_run_id", "started_at", "finished_at"}


def comparable(connection: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A table's rows with enums as text (the lake has no ENUM), run ids and times left out, sorted."""
    frame = connection.table(table).pl()
    frame = frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
    )
    if table != "responses":  # responses' started_at/submitted_at are the respondents', not the run's
        frame = frame.drop([c for c in frame.columns if c in RUN_SPECIFIC])
    else:
        frame = frame.drop([c for c in frame.columns if c in {"run_id", "flow_run_id"}])
    return frame.sort(frame.columns, nulls_last=True)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("landing")
    write_demo_study(folder, seed=2023, waves=((2023, 600), (2024, 300)))
    return folder


def pair(inbox, folder, catalog):
    """Settings of an embedded warehouse and of a lake, from the same landing folder and secret."""
    embedded = dataclasses.replace(
        load_settings(inbox=str(inbox), warehouse=str(folder / "embedded" / "surveyhouse.duckdb")), secret=SECRET
    )
    lake = dataclasses.replace(
        load_settings(inbox=str(inbox), warehouse=catalog, lake_data=str(folder / "lake" / "data")), secret=SECRET
    )
    return embedded, lake


@pytest.fixture(scope="module")
def published(inbox, tmp_path_factory, new_lake):
    """Both warehouses, each published once by the pipeline."""
    embedded, lake = pair(inbox, tmp_path_factory.mktemp("published"), new_lake("published"))
    runs = run_night(load_study(), embedded), run_night(load_study(), lake)
    return embedded, lake, runs


@pytest.fixture()
def both(inbox, tmp_path, lake_catalog):
    return pair(inbox, tmp_path, lake_catalog)


def test_the_lake_holds_what_the_embedded_file_holds_table_for_table(published):
    embedded, lake, (first, second) = published
    assert first.published and second.published and second.files_new == first.files_new >= 4
    with open_reader(embedded.store()) as file, open_reader(lake.store()) as lakehouse:
        for table in TABLES:
            expected, got = comparable(file, table), comparable(lakehouse, table)
            assert got.height == expected.height > 0, table
            assert_frame_equal(got, expected, check_dtypes=False, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        for view in ("headline", "quality_examples", "screening", "crosstab_by_role"):
            assert_frame_equal(
                lakehouse.table(view).pl(),
                file.table(view).pl().with_columns(pl.selectors.categorical().cast(pl.Utf8)),
                check_dtypes=False,
            )


def test_the_lake_keeps_descriptions_and_types_enums_as_text(published):
    _, lake, _ = published
    with open_reader(lake.store()) as connection:
        dictionary = connection.execute(
            "select table_name, column_name, data_type, description from dictionary where table_name = 'responses'"
        ).pl()
        assert dictionary.filter(pl.col("description").is_null()).is_empty()
        language = dictionary.filter(pl.col("column_name") == "language").row(0, named=True)
        assert language["data_type"] == "VARCHAR" and "Language" in language["description"]
        assert connection.execute("select current_database()").fetchone()[0] == "lake"


def test_a_second_run_with_nothing_new_does_not_publish_again(published):
    _, lake, _ = published
    with open_reader(lake.store()) as connection:
        snapshots = connection.execute("select count(*) from lake.snapshots()").fetchone()[0]
    again = run_night(load_study(), lake)
    assert not again.published and again.files_new == 0
    with open_reader(lake.store()) as connection:
        assert connection.execute("select count(*) from lake.snapshots()").fetchone()[0] == snapshots


def test_readers_cannot_write_and_a_lake_never_published_is_reported_missing(both, published):
    _, fresh = both
    assert not exists(fresh.store())
    with pytest.raises(FileNotFoundError, match="no warehouse in the lake"):
        open_reader(fresh.store())
    _, lake, _ = published
    with open_reader(lake.store()) as connection, pytest.raises(duckdb.Error, match="read-only"):
        connection.execute("create table lake.intruder (a integer)")


def test_a_commit_that_loses_the_race_is_redone_on_the_new_snapshot(both):
    """Two transactions from the same snapshot: the second commit conflicts, nothing of it stays, the redo wins."""
    _, lake = both
    store: Lake = lake.store()
    schema = {"numbers": _schema()}

    def write(value: int):
        def work(connection):
            write_snapshot(connection, {"numbers": pl.DataFrame({"n": [value]})}, schema, None)
            if value == 2 and not conflicts:  # the other writer commits between this one's start and commit
                in_transaction(
                    store, lambda other: write_snapshot(other, {"numbers": pl.DataFrame({"n": [1]})}, schema, None)
                )

        return work

    conflicts: list[int] = []
    in_transaction(store, write(2), on_conflict=lambda attempt, error: conflicts.append(attempt), delay_s=0.01)
    assert conflicts == [1]
    with connect_lake(store, read_only=True) as connection:  # a lake without `runs`: no pipeline warehouse
        assert connection.execute("select n from numbers").fetchall() == [(2,)]
        changes = connection.execute(
            "select count(*) from lake.snapshots() where changes::varchar like '%numbers%'"
        ).fetchone()[0]
        assert changes >= 2  # the other writer's snapshot, then the redone one; the conflicting attempt left none
    assert issubclass(LakeConflict, RuntimeError)


def _schema():
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {"n": pa.Column(pl.Int64, description="A number.")}, name="numbers", description="Numbers."
    )


def test_the_commands_run_the_flow_into_the_lake_and_read_it(inbox, tmp_path, lake_catalog, monkeypatch, capsys):
    """`surveyhouse run --warehouse ducklake:... --lake-data DIR`, then sql, claims and quality on the lake."""
    import os
    import shutil
    import subprocess
    import sys

    from cli.main import main

    env = (
        {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
        | {"SURVEYHOUSE_SETTLE_S": "0"}
        | {"SURVEYHOUSE_SECRET": SECRET}
    )
    command = shutil.which("surveyhouse")
    argv = [command] if command else [sys.executable, "-m", "cli.main"]
    argv += ["run", "--inbox", str(inbox), "--warehouse", lake_catalog, "--lake-data", str(tmp_path / "data")]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "published in" in result.stdout and "(data " in result.stdout
    assert (tmp_path / ".surveyhouse" / "extensions").is_dir()  # the state folder: beside the data folder

    monkeypatch.setenv("SURVEYHOUSE_STATE", str(tmp_path / ".surveyhouse"))
    capsys.readouterr()
    assert (
        main(
            [
                "sql",
                "--warehouse",
                lake_catalog,
                "--format",
                "csv",
                "select count(distinct wave) as waves from responses",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "waves\n2\n"
    assert main(["sql", "--warehouse", lake_catalog, "create table intruder (a integer)"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["claims", "--warehouse", lake_catalog]) == 0
    assert "Published figures reproduced from the data" in capsys.readouterr().out
    assert main(["quality", "--warehouse", lake_catalog]) == 0
    assert "Failed checks" in capsys.readouterr().out


def test_the_failure_report_says_what_the_lake_readers_see(published, both):
    """The flow's failure hook reads the lake's last snapshot (it once took every warehouse for
    a file), through the Warehouse protocol's published_at, as the hook builds its report."""
    from flows.failure import failure_report

    def report(settings):
        return failure_report(
            settings, flow_name="surveyhouse-nightly", flow_run_id=None, flow_run_name=None,
            state_name="Failed", message="boom", started_at=None,
        )  # fmt: skip

    _, lake, _ = published
    with open_reader(lake.store()) as connection:
        committed = connection.execute("select max(snapshot_time) from lake.snapshots()").fetchone()[0]
    said = report(lake)
    assert said["warehouse_unchanged"] and said["warehouse_published_at"] == committed.astimezone(UTC).isoformat()
    assert "is unchanged; readers keep querying it" in said["summary"]
    _, fresh = both
    said = report(fresh)
    assert said["warehouse_unchanged"] and said["warehouse_published_at"] is None
    assert "No warehouse has been published yet at ducklake:postgres:" in said["summary"]


def test_old_snapshots_and_the_files_only_they_used_are_trimmed(inbox, tmp_path, lake_catalog):
    """Every publish replaces the tables whole: under the default retention (30 days) the
    data folder keeps each snapshot's files; with 0 days, the next publish leaves only
    what the latest snapshot uses, and the lake reads the same."""
    landing = tmp_path / "landing"
    shutil.copytree(inbox, landing)
    _, lake = pair(landing, tmp_path, lake_catalog)
    data = tmp_path / "lake" / "data"
    assert lake.lake_keep_days == 30.0 and run_night(load_study(), lake).published
    first = set(data.rglob("*.parquet"))
    with open_reader(lake.store()) as connection:
        first_snapshot = connection.execute("select max(snapshot_id) from lake.snapshots()").fetchone()[0]
    write_demo_study(tmp_path / "later", seed=7, waves=((2024, 120),))
    shutil.copy(next((tmp_path / "later").rglob("*.csv")), landing / "later.csv")
    assert run_night(load_study(), lake).published
    assert first < set(data.rglob("*.parquet"))  # kept for time travel
    with open_reader(lake.store()) as connection:
        before = {table: comparable(connection, table) for table in TABLES}

    trimmed = trim(lake.store(), keep_days=0.0)
    assert trimmed["snapshots_expired"] >= 1 and trimmed["files_deleted"] >= 1
    left = set(data.rglob("*.parquet"))
    assert first - left  # the first snapshot's files are gone
    with open_reader(lake.store()) as connection:
        for table in TABLES:
            assert_frame_equal(comparable(connection, table), before[table])
        assert connection.execute("select count(*) from lake.snapshots()").fetchone()[0] == 1
        with pytest.raises(duckdb.Error):
            connection.execute(f"select count(*) from responses at (version => {first_snapshot})").fetchall()


def test_the_retention_setting_refuses_what_is_not_a_number_of_days(monkeypatch):
    for bad in ("-1", "soon", "nan"):
        monkeypatch.setenv("SURVEYHOUSE_LAKE_KEEP_DAYS", bad)
        with pytest.raises(ValueError, match="SURVEYHOUSE_LAKE_KEEP_DAYS"):
            load_settings()
    monkeypatch.setenv("SURVEYHOUSE_LAKE_KEEP_DAYS", "7")
    assert load_settings().lake_keep_days == 7.0
