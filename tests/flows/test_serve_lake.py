"""`surveyhouse serve` on a DuckLake warehouse: the deployment serves a lake (catalog in a
throwaway PostgreSQL, data folder from SURVEYHOUSE_LAKE_DATA), a run triggered with the
command serve prints publishes it, and serve stops cleanly. The helpers are the file
warehouse's serve test's (tests/flows/test_serve.py)."""

from __future__ import annotations

import os
import re
import time

from demo.study import write_demo_study
from surveyhouse.settings import load_settings
from tests.flows.test_serve import DEPLOYMENT, Serving, _get, run_the_printed_hint, wait_until_finished
from warehouse.backend import open_reader


def test_serve_publishes_a_lake_when_its_printed_trigger_is_run(tmp_path, new_lake):
    spec, data = new_lake("serve"), tmp_path / "lake" / "data"
    write_demo_study(tmp_path / "landing", waves=((2023, 120),))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    env |= {
        "SURVEYHOUSE_LAKE_DATA": str(data),
        "SURVEYHOUSE_SETTLE_S": "0",  # the demo files were just written
        "DO_NOT_TRACK": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # the runner looks for due runs every second (default 10)
    }
    started = time.monotonic()
    serving = Serving(tmp_path, env, warehouse=spec)
    try:
        output = serving.wait_for("is being served", timeout_s=240)
        api = re.search(r"Prefect server: (http://127\.0\.0\.1:\d+/api)", output).group(1)
        parameters = _get(f"{api}/deployments/name/{DEPLOYMENT}")["parameters"]
        assert parameters["warehouse"] == spec and parameters["lake_data"] == str(data), "a worker needs no environment"
        flow_run_id = run_the_printed_hint(output, api, tmp_path, env)
        assert wait_until_finished(api, flow_run_id) == "COMPLETED", serving.output[-4000:]
    finally:
        status = serving.stop()
    output = serving.output
    assert status == 0 and "Stopped serving." in output and "Traceback" not in output, output[-4000:]
    settings = load_settings(inbox=str(tmp_path / "landing"), warehouse=spec, lake_data=str(data))
    with open_reader(settings.store()) as connection:
        assert connection.execute("select count(*) from responses").fetchone()[0] > 0
        assert connection.execute("select flow_run_id, status from runs").fetchall() == [(flow_run_id, "ok")]
    assert any(data.rglob("*.parquet")), "the lake's data went to SURVEYHOUSE_LAKE_DATA"
    print(f"\nserve on a lake: {time.monotonic() - started:.1f} s")
