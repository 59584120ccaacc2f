"""`rebuild` on a DuckLake: the lake rebuilt from the archive equals the one built night by
night, its shared staged files (``staging.files``) hold each file once, and another writer
(its own state folder, the same lake) publishing afterwards still finds each file once."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.rebuild import rebuild_warehouse
from surveyhouse.settings import Settings, load_settings
from tests.flows.snapshots import assert_same, snapshot
from warehouse.backend import open_reader

SECRET = "test-secret-shared-by-every-writer"


def _writer(inbox, spec: str, data, state=None) -> Settings:
    settings = load_settings(inbox=str(inbox), warehouse=spec, lake_data=str(data))
    return dataclasses.replace(settings, secret=SECRET, state=state)


def _shared_records(settings: Settings) -> dict[str, dict]:
    """The lake's staging.files records by SHA-256."""
    with open_reader(settings.store()) as connection:
        rows = connection.execute("select file_sha256, record from staging.files").fetchall()
    return {sha: json.loads(record) for sha, record in rows}


def _local_records(settings: Settings) -> dict[str, dict]:
    return {staged.sha256: staged.record for staged in state_for(settings).staged()}


def _staged_in_lake(settings: Settings) -> tuple[int, int, int]:
    """Rows and distinct files of the lake's staging.files, and rows of its files table."""
    with open_reader(settings.store()) as connection:
        rows, distinct = connection.execute(
            "select count(*), count(distinct file_sha256) from staging.files"
        ).fetchone()
        return rows, distinct, connection.execute("select count(*) from files").fetchone()[0]


@pytest.fixture()
def lake(tmp_path, new_lake):
    """A lake built in two nights (the 2023 exports, then the 2024 ones), and its full landing folder."""
    full = tmp_path / "landing"
    write_demo_study(full, waves=((2023, 120), (2024, 120)))
    first = tmp_path / "landing_2023"
    first.mkdir()
    for path in full.glob("*.csv"):  # the 2023 exports sit at the top, 2024's in landing/2024
        shutil.copy(path, first / path.name)
    spec, data = new_lake("rebuild"), tmp_path / "lake" / "data"
    assert run_night(load_study(), _writer(first, spec, data)).published
    assert run_night(load_study(), _writer(full, spec, data)).published
    return _writer(full, spec, data)


def test_a_rebuilt_lake_equals_the_incremental_one_and_shares_each_file_once(lake, tmp_path):
    before = snapshot(lake.store(), drop=())  # run ids included: a rebuild keeps the run that ingested each file
    files = before["files"].height
    assert _staged_in_lake(lake) == (files, files, files) and files >= 8

    run = rebuild_warehouse(load_study(), lake)
    assert run.published
    assert_same(snapshot(lake.store(), drop=()), before, "rebuilt lake")
    assert _staged_in_lake(lake) == (files, files, files), "the rebuild's staged files replace the lake's copies"
    assert _shared_records(lake) == _local_records(lake), "the lake shares what the rebuilt staged folder holds"
    with open_reader(lake.store()) as connection:
        assert connection.execute("select count(*) filter (where status = 'ok') from runs").fetchone()[0] == 3

    # Another writer, with its own (empty) state folder, lands one new export into the same lake.
    later = tmp_path / "later"
    write_demo_study(later, seed=7, waves=((2024, 60),))
    other_inbox = tmp_path / "other-landing"
    other_inbox.mkdir()
    shutil.copy(next(later.rglob("*.csv")), other_inbox / "later.csv")
    other = _writer(other_inbox, lake.warehouse, lake.lake_data, state=tmp_path / "other-state")
    assert run_night(load_study(), other).published
    assert _staged_in_lake(other) == (files + 1, files + 1, files + 1), "each file once, after the other writer"
    assert _shared_records(other) == _local_records(other) and len(_local_records(other)) == files + 1
    with open_reader(other.store()) as connection:
        orders = connection.execute("select file_order from files order by file_order").fetchall()
    assert [order for (order,) in orders] == list(range(1, files + 2)), "ingestion order unbroken"
