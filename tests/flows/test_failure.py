"""The nightly flow's failure hook: a log line saying what failed and what state is left,
a failed run in the run log, and a JSON POST to the webhook (whose own failures are
logged, never raised)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from flows.failure import post_webhook, report_failure
from surveyhouse.night import state_for
from surveyhouse.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def failed_run(tmp_path, *, state_name="TimedOut", message="Flow run exceeded timeout of 3600.0 second(s)"):
    flow = SimpleNamespace(name="surveyhouse-nightly")
    flow_run = SimpleNamespace(
        id="0b7e3a4c-0000-4000-8000-000000000001",
        name="savvy-mule",
        start_time=datetime.now(UTC),
        parameters={"inbox": str(tmp_path / "landing"), "warehouse": str(tmp_path / "w.duckdb")},
    )
    state = SimpleNamespace(name=state_name, message=message, result=lambda raise_on_failure=False: None)
    return flow, flow_run, state


def test_a_failed_run_is_logged_recorded_and_posted_to_the_webhook(tmp_path, webhook, monkeypatch, caplog):
    url, received = webhook
    monkeypatch.setenv("SURVEYHOUSE_FAILURE_WEBHOOK", url + "/hooks/T000/secret-token")
    (tmp_path / "w.duckdb").write_bytes(b"a published warehouse")
    os.utime(tmp_path / "w.duckdb", (0, 1_700_000_000))
    with caplog.at_level(logging.INFO, logger="surveyhouse.failure"):
        report_failure(*failed_run(tmp_path))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert (
        "surveyhouse nightly run savvy-mule failed (TimedOut): Flow run exceeded timeout of 3600.0 second(s)."
        in errors[0]
    )
    assert (
        f"The last published warehouse {tmp_path / 'w.duckdb'} (published 2023-11-14 22:13:20 UTC) is unchanged"
        in errors[0]
    )
    assert "raise SURVEYHOUSE_RUN_TIMEOUT_S" in errors[0]
    assert len(received) == 1 and received[0]["path"] == "/hooks/T000/secret-token"
    payload = received[0]["json"]
    assert received[0]["type"] == "application/json"
    assert payload["event"] == "surveyhouse.run_failed" and payload["state"] == "TimedOut"
    assert payload["flow_run_id"] == "0b7e3a4c-0000-4000-8000-000000000001" and payload["warehouse_unchanged"] is True
    assert payload["warehouse_published_at"] == "2023-11-14T22:13:20+00:00"
    runs = state_for(load_settings(warehouse=str(tmp_path / "w.duckdb"))).runs.runs()
    assert [(r["status"], r["flow_run_id"]) for r in runs] == [("failed", "0b7e3a4c-0000-4000-8000-000000000001")]
    assert "exceeded timeout" in runs[0]["message"] and "previous warehouse stayed live" in runs[0]["message"]
    report_failure(*failed_run(tmp_path))  # the same run reported twice is recorded once
    assert len(state_for(load_settings(warehouse=str(tmp_path / "w.duckdb"))).runs.runs()) == 1


def test_a_failure_before_any_publish_says_no_warehouse_exists_yet(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="surveyhouse.failure"):
        report_failure(
            *failed_run(tmp_path, state_name="Failed", message="Flow run encountered an exception: OSError: disk full")
        )
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "failed (Failed): Flow run encountered an exception: OSError: disk full." in error
    assert "No warehouse has been published yet" in error and "SURVEYHOUSE_RUN_TIMEOUT_S" not in error


@pytest.mark.parametrize("path", ["/broken", None])
def test_a_webhook_that_fails_is_logged_and_never_raised(webhook, path, caplog):
    url, _ = webhook
    target = url + path if path else "http://127.0.0.1:9/closed-port"
    logger = logging.getLogger("surveyhouse.failure")
    with caplog.at_level(logging.WARNING, logger="surveyhouse.failure"):
        assert post_webhook(target, {"event": "x"}, logger=logger, timeout_s=5) is False
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("Could not send the failure notice to the webhook at http://127.0.0.1:")
    assert "closed-port" not in warning and "broken" not in warning, "the URL's path (often a secret) is not logged"


def test_the_flow_has_its_time_limit_from_the_settings_and_the_failure_hook():
    """The limit is read when a run starts (settings are never read at import)."""
    code = (
        "from flows.nightly import nightly, nightly_for; from surveyhouse.settings import load_settings\n"
        "print(nightly.timeout_seconds, nightly_for(load_settings()).timeout_seconds,"
        " [h.__name__ for h in nightly_for(load_settings()).on_failure_hooks])"
    )
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
        | {"SURVEYHOUSE_SETTLE_S": "0"}
        | {"SURVEYHOUSE_RUN_TIMEOUT_S": "7"}
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.stdout.split("\n")[0] == "None 7.0 ['report_failure']", out.stderr[-2000:]
