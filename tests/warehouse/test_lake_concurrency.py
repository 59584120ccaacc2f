"""Two writers load two waves into one lake at once while four readers query it.

Each writer is its own process with its own landing folder and state folder, as on two
machines; they share only the lake (the PostgreSQL catalog and the data folder) and the
secret. Both publish from the same snapshot (tests/warehouse/lake_writer.py makes the
race certain), so one commit conflicts and is redone on top of the other. Meanwhile four
reader threads query without pause. Nothing fails, no response is lost or counted
twice, and every read sees a whole snapshot: nothing, one wave, or both.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.warehouse.test_lake import SECRET, comparable
from warehouse.backend import open_reader
from warehouse.lake import connect_lake

ROOT = Path(__file__).resolve().parents[2]
WAVES = ((2023, 300), (2024, 200))
READERS = 4
SNAPSHOT = """
select
    (select count(*) from responses) as responses,
    (select coalesce(sum(accepted), 0) from files) as accepted,
    (select count(*) from (select distinct wave, source_tool, response_id from responses)) as distinct_responses,
    (select list(distinct wave order by wave) from responses) as waves,
    (select count(*) from runs) as runs,
    (select count(*) from responses where not is_excluded) as included,
    (select coalesce(sum(base_n), 0) from (
        select wave, max(base_n) as base_n from crosstab where segment = 'all' and question = 'role' group by wave
    )) as role_base
"""


def _read_until(stop: threading.Event, lake, seen: list, errors: list) -> None:
    """Query on one connection (opened before any publish) until stopped; record every answer."""
    with connect_lake(lake, read_only=True) as connection:
        while not stop.is_set():
            try:
                seen.append(connection.execute(SNAPSHOT).fetchone())
            except duckdb.CatalogException as error:  # no tables: nothing published yet
                if any(row is not None for row in seen):  # they were there and went away
                    errors.append(repr(error))
                seen.append(None)
            except Exception as error:  # noqa: BLE001 - every error is a finding
                errors.append(repr(error))
            time.sleep(0.02)  # four readers on two cores: leave the writers some CPU


def test_two_writers_and_four_readers_at_once_lose_nothing_and_see_whole_snapshots(tmp_path, new_lake):
    everything = tmp_path / "everything"
    write_demo_study(everything, seed=2023, waves=WAVES)
    inbox_a, inbox_b = tmp_path / "landing-a", tmp_path / "landing-b"
    shutil.copytree(everything, inbox_a, ignore=shutil.ignore_patterns("2024"))
    shutil.copytree(everything / "2024", inbox_b / "2024")
    spec, data, barrier = new_lake("concurrency"), tmp_path / "lake-data", tmp_path / "barrier"
    barrier.mkdir()

    lake_settings = load_settings(warehouse=spec)
    connect_lake(dataclasses.replace(lake_settings.store(), data_path=data), read_only=False).close()  # the empty lake
    stop, seen, errors = threading.Event(), [[] for _ in range(READERS)], []
    readers = [
        threading.Thread(target=_read_until, args=(stop, lake_settings.store(), seen[i], errors))
        for i in range(READERS)
    ]
    for reader in readers:
        reader.start()
    environment = os.environ | {"SURVEYHOUSE_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    writers = []
    for inbox, name, peer in ((inbox_a, "a", "b"), (inbox_b, "b", "a")):
        command = [
            sys.executable,
            "-m",
            "tests.warehouse.lake_writer",
            str(inbox),
            spec,
            str(data),
            str(tmp_path / f"state-{name}"),
            str(barrier),
            name,
            peer,
        ]
        writers.append(
            subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    try:
        outcomes = [writer.communicate(timeout=240) for writer in writers]
    finally:
        for writer in writers:
            writer.kill()
        time.sleep(0.5)  # the readers see the last snapshot a few times more
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    for writer, (_out, err) in zip(writers, outcomes):
        assert writer.returncode == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outcomes]
    assert all(report["published"] for report in reports)
    assert sum(report["conflicts"] for report in reports) == 1, (
        reports
    )  # the second commit lost the race once, then won

    assert errors == []
    reads = [row for rows in seen for row in rows if row is not None]  # None: before the first publish
    assert all(sum(row is not None for row in rows) > 10 for rows in seen), [len(rows) for rows in seen]
    for responses, accepted, distinct, waves, _runs, included, role_base in reads:
        assert (
            responses == accepted == distinct and included == role_base
        )  # a whole snapshot: every table from one publish
        assert waves in (None, [2023], [2024], [2023, 2024]), waves
    for rows in seen:  # a reader never goes back to an older snapshot (nor to none)
        assert pl.Series([-1 if row is None else row[0] for row in rows]).is_sorted()

    # The lake ends up as one writer loading both waves would have made it.
    embedded = load_settings(inbox=str(everything), warehouse=str(tmp_path / "embedded.duckdb"))
    run_night(load_study(), dataclasses.replace(embedded, secret=SECRET))
    with open_reader(embedded.store()) as file, open_reader(lake_settings.store()) as lake:
        final = lake.execute(SNAPSHOT).fetchone()
        assert final[3] == [2023, 2024] and final[4] == 2  # both waves, both runs
        for table in ("responses", "answers", "crosstab", "trend", "claims", "quarantine"):
            assert_frame_equal(
                comparable(lake, table),
                comparable(file, table),
                check_dtypes=False,
                check_exact=False,
                rel_tol=1e-12,
                abs_tol=1e-9,
            )

        def files(connection):
            return comparable(connection, "files").drop("file_order").sort("file_sha256")

        assert_frame_equal(files(lake), files(file), check_dtypes=False)
    print(
        f"\nreads: {len(reads)}; snapshots seen (waves, responses): {sorted({(tuple(r[3] or ()), r[0]) for r in reads})}"
    )
