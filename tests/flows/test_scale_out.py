"""Beyond one machine, end to end: the nightly deployment run by a Prefect worker, its
per-file steps on a Dask cluster, into a DuckLake on PostgreSQL; the same warehouse as
the embedded run, table for table.

Every piece is the real thing, started as the README's "Beyond one machine" section
starts it, on loopback in temporary folders:

- PostgreSQL (tests/warehouse/postgres.py): one database for the Prefect server, one
  for the lake's catalog;
- ``prefect server start`` with PREFECT_API_DATABASE_CONNECTION_URL on that PostgreSQL;
- ``prefect work-pool create surveyhouse --type process``, ``prefect worker start``;
- ``dask scheduler`` and two ``dask worker`` processes (tests/flows/dask_cluster.py);
- ``prefect --no-prompt deploy`` of this repository's prefect.yaml, its parameters
  pointing at the lake and its job variables carrying SURVEYHOUSE_DASK_ADDRESS (the
  worker's environment carries SURVEYHOUSE_SECRET); then ``prefect deployment run ... --watch``.

The landing folder holds ten exports (two waves, five layouts). The same folder run
embedded (``run_night`` into a plain .duckdb file) gives the reference.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from demo.study import write_demo_study
from flows.serve import is_healthy, stop_process_group
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.dask_cluster import dask_cluster, free_port
from tests.warehouse.test_lake import TABLES, comparable
from warehouse.backend import open_reader

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "scale-out-test-secret"
DEPLOYMENT = "surveyhouse-nightly/nightly"
WAVES = ((2023, 400), (2024, 200))


def _prefect(*args: str) -> list[str]:
    script = BIN / "prefect"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "prefect", *args]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else ""


@pytest.fixture(scope="module")
def scaled_out(postgres, new_lake, tmp_path_factory):
    """Everything started, the deployment run once; what the test checks about it."""
    pytest.importorskip("prefect_dask")
    pytest.importorskip("asyncpg")  # Prefect's PostgreSQL driver
    root = tmp_path_factory.mktemp("scale-out")
    inbox, lake_data = root / "landing", root / "lake" / "data"
    written = write_demo_study(inbox, seed=2023, waves=WAVES)
    spec = new_lake("scale_out")
    postgres.create_database("prefect_scale_out")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))} | {
        "SURVEYHOUSE_SETTLE_S": "0"
    }
    clean |= {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    api = f"http://127.0.0.1:{free_port()}/api"
    started, phases = time.monotonic(), {}
    processes: list[tuple[subprocess.Popen, Path]] = []

    def spawn(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
        with open(log, "wb") as handle:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                       stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        processes.append((process, log))
        return process

    def client(*args: str, cwd: Path = root, timeout_s: float = 300, **extra: str) -> subprocess.CompletedProcess:
        env = clean | {"PREFECT_API_URL": api, "PREFECT_HOME": str(root / "client-home")} | extra
        result = subprocess.run(_prefect(*args), cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout_s, check=False)  # fmt: skip
        assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    # The Prefect server on PostgreSQL (it takes the longest to start: the rest overlaps).
    server_log = root / "server.log"
    server = spawn(
        _prefect("server", "start", "--host", "127.0.0.1", "--port", api.rsplit(":", 1)[1].removesuffix("/api"), "--no-ui", "--analytics-off", "--no-prompt"),
        server_log,
        clean | {"PREFECT_HOME": str(root / "server-home"), "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
                 "PREFECT_API_DATABASE_CONNECTION_URL": postgres.sqlalchemy_url("prefect_scale_out")},
        root,
    )  # fmt: skip
    try:
        with dask_cluster(root / "dask", workers=2) as (address, dask_logs):
            phases["dask cluster"] = time.monotonic() - started
            embedded = dataclasses.replace(
                load_settings(inbox=str(inbox), warehouse=str(root / "embedded" / "surveyhouse.duckdb")), secret=SECRET
            )
            run_night(load_study(), embedded)
            phases["embedded run"] = time.monotonic() - started
            deadline = time.monotonic() + 300
            while not is_healthy(api):
                assert server.poll() is None, f"the Prefect server exited ({server.returncode}):\n{_tail(server_log)}"
                assert time.monotonic() < deadline, (
                    f"the Prefect server did not answer within 300 s:\n{_tail(server_log)}"
                )
                time.sleep(0.25)
            phases["prefect server"] = time.monotonic() - started

            client("work-pool", "create", "surveyhouse", "--type", "process")
            worker_log = root / "worker.log"
            spawn(_prefect("worker", "start", "--pool", "surveyhouse", "--name", "scale-out-worker"), worker_log,
                  clean | {"PREFECT_API_URL": api, "PREFECT_HOME": str(root / "worker-home"), "PREFECT_WORKER_QUERY_SECONDS": "1",
                           "SURVEYHOUSE_SECRET": SECRET},  # the secret in the worker's environment, not stored by the server
                  root)  # fmt: skip
            parameters = {"inbox": str(inbox), "warehouse": spec, "lake_data": str(lake_data)}
            job_env = {"SURVEYHOUSE_DASK_ADDRESS": address, "SURVEYHOUSE_RUN_TIMEOUT_S": "3600", "DO_NOT_TRACK": "1"}
            client(
                "--no-prompt",
                "deploy",
                "--prefect-file",
                "prefect.yaml",
                "--name",
                "nightly",
                "--params",
                json.dumps(parameters),
                "--job-variable",
                json.dumps({"env": job_env}),
                cwd=ROOT,
                PWD=str(ROOT),
            )  # fmt: skip  (PWD: the deployment's working folder, as from a shell)
            phases["deployed"] = time.monotonic() - started

            watched = client(
                "deployment",
                "run",
                DEPLOYMENT,
                "--watch",
                "--watch-interval",
                "1",
                "--watch-timeout",
                "480",
                timeout_s=540,
            )
            match = re.search(r"UUID: ([0-9a-f-]{36})", watched.stdout)
            assert match, f"no flow run was created:\n{watched.stdout[-3000:]}"
            phases["flow run"] = time.monotonic() - started
            flow_run = _get(f"{api}/flow_runs/{match.group(1)}")
            deployment = _get(f"{api}/deployments/name/{DEPLOYMENT}")
            stored = postgres.execute(
                "prefect_scale_out", f"select state_type from flow_run where id = '{flow_run['id']}'"
            )
            outputs = {"watch": watched.stdout, "worker": _tail(worker_log, 200_000),
                       "dask": [log.read_text(errors="replace") for log in dask_logs]}  # fmt: skip
    finally:
        for process, _ in reversed(processes):  # the worker first, then the server
            stop_process_group(process, ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)))
    phases["stopped"] = time.monotonic() - started
    print("\nscale-out test, seconds from start: " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    lake = load_settings(warehouse=spec, lake_data=str(lake_data))
    return {"embedded": embedded, "lake": lake, "files": len(written), "flow_run": flow_run, "deployment": deployment,
            "stored_state": stored, "address": address, "outputs": outputs}  # fmt: skip


def test_the_deployment_runs_on_the_worker_against_a_prefect_server_on_postgresql(scaled_out):
    flow_run, outputs = scaled_out["flow_run"], scaled_out["outputs"]
    assert flow_run["state"]["type"] == "COMPLETED", outputs["watch"][-3000:] + outputs["worker"][-4000:]
    assert scaled_out["stored_state"] == "COMPLETED"  # the server's state lives in PostgreSQL
    assert flow_run["work_pool_name"] == "surveyhouse" and f"Flow run '{flow_run['name']}'" in outputs["worker"]
    deployment = scaled_out["deployment"]
    assert deployment["entrypoint"] == "flows.nightly.nightly" and deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]
    with open_reader(scaled_out["lake"].store()) as connection:
        assert connection.execute("select flow_run_id, status from runs").fetchall() == [(flow_run["id"], "ok")]


def test_the_per_file_steps_ran_on_both_dask_workers(scaled_out):
    outputs = scaled_out["outputs"]
    assert f"Connecting to an existing Dask cluster at {scaled_out['address']}" in outputs["worker"]
    finished = [log.count("Finished in state Completed()") for log in outputs["dask"]]  # only `ingest` is submitted
    assert sum(finished) == scaled_out["files"] and all(n > 0 for n in finished), finished
    assert not any("Starting temporary server" in log for log in outputs["dask"])  # they reported to the real server


def test_the_lake_equals_the_embedded_warehouse_table_for_table(scaled_out):
    with open_reader(scaled_out["embedded"].store()) as file, open_reader(scaled_out["lake"].store()) as lake:
        assert lake.execute("select count(*) from files").fetchone()[0] == scaled_out["files"]
        for table in TABLES:
            expected, got = comparable(file, table), comparable(lake, table)
            assert got.height == expected.height > 0, table
            assert_frame_equal(got, expected, check_dtypes=False, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
