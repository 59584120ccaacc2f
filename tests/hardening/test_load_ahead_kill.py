"""A night killed while its build inserts `responses` and `choices` into the new warehouse file
ahead of its publish (``warehouse.publish.LoadedAhead``) publishes nothing half-built, and the
next night removes that file and publishes what an uninterrupted night does."""

from __future__ import annotations

import time

import pytest

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.snapshots import assert_same, snapshot
from tests.flows.test_kill import Killable
from warehouse.publish import building_files

#: Killed at a moment found by watching the folder: no other test may run meanwhile.
pytestmark = pytest.mark.alone


def test_a_first_night_killed_while_its_tables_go_ahead_leaves_nothing_and_the_next_night_completes(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SURVEYHOUSE_SECRET", "one-secret")  # the same keyed ids in both warehouses
    landing = tmp_path / "landing"
    write_demo_study(landing, waves=((2023, 300), (2024, 300)))
    reference = tmp_path / "reference" / "w.duckdb"
    run_night(load_study(), load_settings(inbox=str(landing), warehouse=str(reference)), report=False)
    warehouse = tmp_path / "killed" / "w.duckdb"
    night = Killable(landing, warehouse)
    night.go()
    deadline = time.monotonic() + 120
    while not building_files(warehouse):  # the new file appears when the build starts loading it
        assert night.process.poll() is None and time.monotonic() < deadline, "the night never loaded ahead"
        time.sleep(0.002)
    night.kill()
    if warehouse.exists():  # the kill came after the swap: the whole new warehouse
        assert_same(snapshot(warehouse), snapshot(reference), "published before the kill")
    run_night(load_study(), load_settings(inbox=str(landing), warehouse=str(warehouse)), report=False)
    assert_same(snapshot(warehouse), snapshot(reference), "the night after the kill")
    assert not building_files(warehouse), "a half-built file was left behind"
