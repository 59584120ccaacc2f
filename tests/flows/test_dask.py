"""With a Dask cluster configured, the per-file steps run on its workers; the warehouse is the same.

The cluster is started the way a team starts one: a `dask scheduler` process and two
`dask worker` processes pointed at it (separate processes need no `__main__` guard,
unlike a LocalCluster made inside the flow's process). `surveyhouse run` with
SURVEYHOUSE_DASK_ADDRESS sends each file's ingestion to the workers through
prefect-dask's DaskTaskRunner; without it, Prefect's default runner.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from polars.testing import assert_frame_equal

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

SECRET = "dask-test-secret"


def _surveyhouse(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = shutil.which("surveyhouse") or ""
    argv = [command, *args] if command else [sys.executable, "-m", "cli.main", *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_per_file_steps_run_on_the_dask_workers_and_give_the_same_warehouse(cluster, tmp_path):
    address, worker_logs = cluster
    inbox = tmp_path / "landing"
    written = write_demo_study(inbox, seed=2023, waves=((2023, 600),))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))} | {
        "SURVEYHOUSE_SETTLE_S": "0"
    }
    env |= {"SURVEYHOUSE_DASK_ADDRESS": address, "SURVEYHOUSE_SECRET": SECRET}
    result = _surveyhouse("run", "--inbox", "landing", "--warehouse", "dask.duckdb", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Connecting to an existing Dask cluster at {address}" in result.stdout + result.stderr

    ran = [log.read_text(errors="replace").count("Task run 'ingest ") for log in worker_logs]
    finished = [log.read_text(errors="replace").count("Finished in state Completed()") for log in worker_logs]
    assert sum(finished) == len(written) and all(n > 0 for n in finished), (ran, finished)  # both workers took files
    assert "Starting temporary server" not in "".join(log.read_text(errors="replace") for log in worker_logs)

    local = dataclasses.replace(
        load_settings(inbox=str(inbox), warehouse=str(tmp_path / "local" / "w.duckdb")), secret=SECRET
    )
    run_night(load_study(), local)
    with (
        duckdb.connect(str(tmp_path / "dask.duckdb"), read_only=True) as dask,
        duckdb.connect(str(local.warehouse), read_only=True) as plain,
    ):
        for table in ("responses", "answers", "crosstab", "claims", "quarantine", "files"):
            columns = ", ".join(f'"{c}"' for c in dask.table(table).columns if c not in ("run_id", "flow_run_id"))
            query = f"select {columns} from {table} order by all"
            assert_frame_equal(dask.execute(query).pl(), plain.execute(query).pl(), check_exact=False, rel_tol=1e-12)
