"""Analysts query while runs publish: four read-only reader processes, each opening,
querying and closing the warehouse in a loop, never see an error or a partial state,
and never wait long; and `surveyhouse sql` starts fast (no Prefect on that path)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
READERS = 4

#: One reader: open read-only, check the state is whole, close; until the stop file appears.
READER = r"""
import json, os, sys, time
import duckdb
path, stop = sys.argv[1], sys.argv[2]
QUERY = '''
select
    (select count(*) from responses) as responses,
    (select sum(accepted) from files) as accepted,
    (select count(*) from files) as files,
    (select count(*) from runs) as runs,
    (select count(*) from answers a anti join responses r using (wave, source_tool, response_id)) as orphan_answers,
    (select count(*) from crosstab) > 0 as has_crosstab
'''
stats = {"cycles": 0, "errors": [], "inconsistent": [], "files_seen": [], "latencies": []}
while not os.path.exists(stop):
    started = time.perf_counter()
    try:
        connection = duckdb.connect(path, read_only=True)
        try:
            responses, accepted, files, runs, orphans, has_crosstab = connection.execute(QUERY).fetchone()
        finally:
            connection.close()
    except Exception as error:
        stats["errors"].append(f"{type(error).__name__}: {error}")
        continue
    stats["latencies"].append(time.perf_counter() - started)
    stats["cycles"] += 1
    if stats["cycles"] == 1:  # in its loop: the test may start publishing
        open(f"{stop}.reading-{os.getpid()}", "w").close()
    if responses != accepted or orphans or not has_crosstab or 2 + runs * 2 != files:
        stats["inconsistent"].append([responses, accepted, files, runs, orphans, has_crosstab])
    if not stats["files_seen"] or stats["files_seen"][-1] != files:
        stats["files_seen"].append(files)
print(json.dumps(stats))
"""


def test_four_readers_see_only_whole_states_while_runs_publish(tmp_path):
    exports = tmp_path / "exports"
    written = write_demo_study(exports, waves=((2023, 300), (2024, 300)))
    inbox, warehouse, stop = tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "stop"
    settings = load_settings(inbox=str(inbox), warehouse=str(warehouse))

    def land(paths):  # drop exports into the landing folder, keeping their wave folders
        for path in paths:
            target = inbox / path.relative_to(exports)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)

    batches = [written[:4], written[4:6], written[6:8], written[8:]]  # 4 files, then 3 runs of 2 new files each
    land(batches[0])
    run_night(load_study(), settings)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(warehouse), str(stop)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(READERS)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("stop.reading-*"))) < READERS:  # every reader is in its loop
        ended = [reader for reader in readers if reader.poll() is not None]
        assert not ended, [reader.stderr.read()[-2000:] for reader in ended]
        assert time.monotonic() < deadline, "the readers did not start reading within 120 s"
        time.sleep(0.01)
    publishes = []
    for batch in batches[1:]:
        land(batch)
        started = time.perf_counter()
        assert run_night(load_study(), settings).published
        publishes.append(time.perf_counter() - started)
    time.sleep(0.5)
    stop.touch()
    results = []
    for reader in readers:
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err[-2000:]
        results.append(json.loads(out))

    for number, result in enumerate(results, start=1):
        assert result["errors"] == [], f"reader {number}: {result['errors'][:5]}"
        assert result["inconsistent"] == [], f"reader {number} saw partial states: {result['inconsistent'][:5]}"
        seen = result["files_seen"]
        assert seen == sorted(seen) and set(seen) <= {4, 6, 8, 10}, f"reader {number}: states {seen}"
        assert len(seen) >= 2, f"reader {number} saw only {seen}: it should have seen publishes happen"
    latencies = [t for result in results for t in result["latencies"]]
    print(
        f"\n{READERS} readers, {len(latencies)} open-query-close cycles during {len(publishes)} publishes "
        f"({', '.join(f'{p:.1f}' for p in publishes)} s): median {statistics.median(latencies) * 1000:.1f} ms, "
        f"longest {max(latencies) * 1000:.0f} ms, 0 errors, 0 partial states"
    )


def test_surveyhouse_sql_starts_fast(tmp_path):
    exports = tmp_path / "landing"
    write_demo_study(exports, waves=((2023, 300),))
    warehouse = tmp_path / "w.duckdb"
    run_night(load_study(), load_settings(inbox=str(exports), warehouse=str(warehouse)))
    script = Path(sys.executable).parent / "surveyhouse"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))} | {
        "SURVEYHOUSE_SETTLE_S": "0"
    }
    walls = []
    for _ in range(3):
        started = time.perf_counter()
        out = subprocess.run(
            [*command, "sql", "--warehouse", str(warehouse), "--format", "csv", "select 1 as one"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        walls.append(time.perf_counter() - started)
        assert out.returncode == 0 and out.stdout == "one\n1\n", out.stderr
    print(f'\n`surveyhouse sql "select 1"`: {", ".join(f"{w:.2f}" for w in walls)} s wall from process start')
    assert min(walls) < 5, "`surveyhouse sql` should start in well under a second or two"
