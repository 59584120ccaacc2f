"""`surveyhouse serve` end to end: its own local Prefect server, the deployment on a cron
in a time zone with a concurrency limit of 1, runs triggered the way the scheduler
triggers them (`prefect deployment run`), the failure hook, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

import duckdb

from demo.study import write_demo_study
from flows.serve import is_healthy
from surveyhouse.lock import run_lock
from surveyhouse.night import state_for
from surveyhouse.settings import load_settings

BIN = Path(sys.executable).parent
DEPLOYMENT = "surveyhouse-nightly/nightly"


def _command(name: str, module: str) -> list[str]:
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


class Serving:
    """`surveyhouse serve` in a subprocess, its output in a file."""

    def __init__(self, root: Path, env: dict[str, str], *, warehouse: str = "w.duckdb"):
        self.log_path = root / "serve.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    *_command("surveyhouse", "cli.main"),
                    "serve",
                    "--inbox",
                    "landing",
                    "--warehouse",
                    warehouse,
                    "--cron",
                    "30 3 * * *",
                    "--timezone",
                    "Europe/Paris",
                ],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while text not in self.output:
            assert self.process.poll() is None, (
                f"serve exited ({self.process.returncode}) before {text!r}:\n{self.output[-4000:]}"
            )
            assert time.monotonic() < deadline, (
                f"serve did not print {text!r} within {timeout_s} s:\n{self.output[-4000:]}"
            )
            time.sleep(0.2)
        return self.output

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # what a service manager sends
        try:
            return self.process.wait(90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"serve did not stop within 90 s of SIGTERM:\n{self.output[-4000:]}") from None


def deployment_run(api: str, root: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, str]:
    """`prefect deployment run ... --watch`, as an operator (or the scheduler) starts a run."""
    result = subprocess.run(
        [
            *_command("prefect", "prefect"),
            "deployment",
            "run",
            DEPLOYMENT,
            "--watch",
            "--watch-interval",
            "1",
            "--watch-timeout",
            "240",
        ],
        cwd=root,
        env=env | {"PREFECT_API_URL": api, "PREFECT_HOME": str(root / "operator-prefect-home")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    match = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout)
    assert match, f"no flow run was created:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result, match.group(1)


def run_the_printed_hint(output: str, api: str, root: Path, env: dict[str, str]) -> str:
    """Run the trigger command serve printed, as printed, in a shell; the id of the run it created."""
    lines = output.splitlines()
    assert "To start a run now, from any shell on this machine:" in lines, output[-4000:]
    hint = lines[lines.index("To start a run now, from any shell on this machine:") + 1].strip()
    assert hint.startswith(f"PREFECT_API_URL={api} ")
    result = subprocess.run(
        hint, shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    match = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout)
    assert result.returncode == 0 and match, f"the printed hint failed:\n{hint}\n{result.stdout}\n{result.stderr}"
    return match.group(1)


def wait_until_finished(api: str, flow_run_id: str, timeout_s: float = 240) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _get(f"{api}/flow_runs/{flow_run_id}")["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(0.5)
    return "TIMED OUT"


def test_serve_runs_the_deployment_on_its_own_server_and_stops_cleanly(tmp_path, webhook):
    hook_url, received = webhook
    write_demo_study(tmp_path / "landing", waves=((2023, 300),))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    env |= {
        "SURVEYHOUSE_FAILURE_WEBHOOK": f"{hook_url}/nightly",
        "DO_NOT_TRACK": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "SURVEYHOUSE_SETTLE_S": "0",  # the demo files were just written
    }  # the runner looks for due runs every second (default 10)
    started = time.monotonic()
    serving = Serving(tmp_path, env)
    try:
        output = serving.wait_for("is being served", timeout_s=240)
        api = re.search(r"Prefect server: (http://127\.0\.0\.1:\d+/api)", output).group(1)
        deployment = _get(f"{api}/deployments/name/{DEPLOYMENT}")
        [schedule] = deployment["schedules"]
        assert schedule["schedule"]["cron"] == "30 3 * * *" and schedule["schedule"]["timezone"] == "Europe/Paris"
        assert schedule["active"] and not deployment["paused"]
        assert deployment["global_concurrency_limit"]["limit"] == 1, "never two runs at once"
        assert deployment["parameters"] == {"inbox": str(tmp_path / "landing"), "warehouse": str(tmp_path / "w.duckdb")}

        phases = {"serving": time.monotonic() - started}
        flow_run_id = run_the_printed_hint(output, api, tmp_path, env)
        assert wait_until_finished(api, flow_run_id) == "COMPLETED", serving.output[-4000:]
        phases["first run"] = time.monotonic() - started
        clean = serving.output
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
            assert connection.execute("select count(*) from responses").fetchone()[0] == 297
            assert connection.execute("select flow_run_id, status from runs").fetchall() == [(flow_run_id, "ok")]

        # `surveyhouse run` beside a running serve reports to serve's server and starts none.
        write_demo_study(tmp_path / "landing" / "2024", waves=((2024, 60),))
        server_log = tmp_path / ".surveyhouse" / "prefect" / "temporary-server.log"
        run = subprocess.run(
            [*_command("surveyhouse", "cli.main"), "run", "--inbox", "landing", "--warehouse", "w.duckdb"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        assert not server_log.exists(), "no temporary Prefect server"
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
            [(cli_run_id,)] = connection.execute(
                "select flow_run_id from runs where flow_run_id <> ?", [flow_run_id]
            ).fetchall()
        assert _get(f"{api}/flow_runs/{cli_run_id}")["state"]["type"] == "COMPLETED"

        # While another process holds the warehouse, a run ends at once, Cancelled: it changed
        # nothing and warns nobody (no failure hook, no webhook).
        with run_lock(state_for(load_settings(warehouse=str(tmp_path / "w.duckdb"))).lock_file):
            _, busy_id = deployment_run(api, tmp_path, env)
            assert wait_until_finished(api, busy_id) == "CANCELLED"
        assert not received, "a run that found the warehouse busy is not a failure"

        # A run that fails (here: a staged record damaged by hand) is reported by the hook.
        [record] = list((tmp_path / ".surveyhouse" / "staged").rglob("file.json"))[:1]
        kept = record.read_bytes()
        record.write_text("{damaged", encoding="utf-8")
        try:
            _, failed_id = deployment_run(api, tmp_path, env)
            assert wait_until_finished(api, failed_id) == "FAILED"
            deadline = time.monotonic() + 60
            while not received and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            record.write_bytes(kept)
        assert received, f"the failure hook posted nothing:\n{serving.output[-4000:]}"
        # Nor later: every post, until the failed run's was received, is the failed run's.
        assert {post["json"]["flow_run_id"] for post in received} == {failed_id}, received
        payload = received[0]["json"]
        assert payload["flow_run_id"] == failed_id and payload["state"] == "Failed"
        assert "JSONDecodeError" in payload["message"] or "Expecting" in payload["message"], payload["message"]
        assert payload["warehouse_unchanged"] is True
        assert "failed (Failed)" in serving.output and "is unchanged; readers keep querying it" in serving.output
        phases["failed run"] = time.monotonic() - started
    finally:
        status = serving.stop()
    output = serving.output
    assert status == 0 and "Stopped serving." in output, output[-4000:]
    assert "Pausing all deployments" in output
    assert not is_healthy(api), "the local Prefect server stopped with serve"
    assert "Traceback" not in clean, f"until the deliberately failed run:\n{clean[-4000:]}"
    for link in ("View at", "Prefect UI", "/deployments/deployment/"):
        assert link not in output, f"a link to a UI the local server does not serve: {link!r}\n{output[-4000:]}"
    for noise in ("database is locked", "telemetry"):
        assert noise not in output, f"{noise!r} in serve's output:\n{output[-4000:]}"
    phases["stopped"] = time.monotonic() - started
    print("\nserve test, seconds from start: " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))


def test_the_prefect_server_command_runs_prefects_cli_after_importing_the_server_uncollected(tmp_path):
    """The server's command imports the server's modules with the garbage collector off and frozen
    after (a fifth of its start), then runs Prefect's own command line with the arguments given."""
    from flows.serve import PREFECT_FAST_START, server_command

    probe = PREFECT_FAST_START.replace(
        "runpy.run_module(", "print('frozen', gc.get_freeze_count() > 100_000, gc.isenabled()); runpy.run_module("
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PREFECT_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe, "--version"], capture_output=True, text=True, timeout=120, env=env, check=True
    )
    assert out.stdout.split() == ["frozen", "True", "True", version("prefect")], out.stderr[-2000:]
    assert server_command(4200)[1:3] == ["-c", PREFECT_FAST_START]
