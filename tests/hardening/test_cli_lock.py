"""Hardening item 18: the loser of the run lock stops at once, quietly: exit 3, one line,
no traceback, no Prefect server started, no failure webhook."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from surveyhouse.lock import run_lock
from surveyhouse.night import state_for
from surveyhouse.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def _webhook() -> tuple[str, list]:
    received: list = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the handler's name)
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hook", received


def test_a_second_run_exits_3_at_once_quietly_and_calls_no_webhook(tmp_path):
    (tmp_path / "landing").mkdir()
    warehouse = tmp_path / "w.duckdb"
    url, received = _webhook()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    env |= {"SURVEYHOUSE_FAILURE_WEBHOOK": url}
    command = [sys.executable, "-m", "cli.main", "run", "--inbox", str(tmp_path / "landing")]
    with run_lock(state_for(load_settings(warehouse=str(warehouse))).lock_file):
        started = time.monotonic()
        done = subprocess.run(
            [*command, "--warehouse", str(warehouse)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        took = time.monotonic() - started
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("Error: another run is in progress (pid ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr + done.stdout and "Prefect" not in done.stderr + done.stdout
    assert not (tmp_path / ".surveyhouse" / "prefect").exists(), "no Prefect server was started"
    time.sleep(0.5)
    assert received == [] and not warehouse.exists()
    print(f"\nthe lock loser's whole process took {took:.2f} s")
    assert took < 5, "it stops before anything heavy starts (about 1 s of imports here)"
