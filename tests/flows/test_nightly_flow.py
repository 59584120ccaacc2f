"""The real Prefect flow, run the way a user runs it: the `surveyhouse` command, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

NOISE = ("telemetry", "database is locked", "Traceback", "Timed out while attempting to connect")


def surveyhouse(*args: str, cwd: Path, settle_s: str = "0") -> subprocess.CompletedProcess:
    command = shutil.which("surveyhouse") or ""
    argv = [command, *args] if command else [sys.executable, "-m", "cli.main", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))} | {
        "SURVEYHOUSE_SETTLE_S": settle_s
    }
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("flow")
    # A settle time far longer than the run: the demo's own exports, just written, are taken all the same.
    result = surveyhouse("demo", "--inbox", "landing", "--warehouse", "surveyhouse.duckdb", cwd=root, settle_s="600")
    return root, result


def test_demo_runs_the_prefect_flow_offline_on_a_fresh_home_without_warnings(demo_run):
    root, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "Flow run" in output and "Finished in state Completed()" in output
    for noise in NOISE:
        assert noise not in output, noise
    assert "WARNING" not in result.stderr
    assert (
        "Published figures reproduced from the data (round to the published figure): 55 of 71; within 1 points: 9; "
        "not reproduced: 6; contradicted by the report itself: 1" in result.stdout
    )
    assert "The report contradicts itself: F08c (11%) and F28 (71%)" in result.stdout
    with duckdb.connect(str(root / "surveyhouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from runs").fetchone()[0] == 1
        assert connection.execute("select count(*) from files").fetchone()[0] == 10


def _flow_began_at(prefect_home: Path) -> datetime:
    """When the run's flow began: its "Beginning flow run" line in the run's Prefect log (local time)."""
    for line in (prefect_home / "runs.log").read_text(encoding="utf-8").splitlines():
        if "Beginning flow run" in line:
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    raise AssertionError("the flow never began")


def test_a_run_stages_while_its_prefect_server_starts(demo_run):
    """The night starts while the run's Prefect server starts (flows/head_start.py): the first
    staged file's record is written before the flow could begin, i.e. before the server answered."""
    root, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    records = list((root / ".surveyhouse" / "staged").glob("*/*/file.json"))
    assert len(records) == 10
    first_staged = datetime.fromtimestamp(min(record.stat().st_mtime for record in records))
    assert first_staged < _flow_began_at(root / ".surveyhouse" / "prefect")
    for record in records:  # and the flow shows every file's staging as its task run, completed
        name = json.loads(record.read_text(encoding="utf-8"))["source_file"]
        assert f"Task run 'ingest {name}' - Finished in state Completed()" in result.stdout + result.stderr


def test_the_flow_writes_the_report_page_beside_the_warehouse_and_the_demo_says_where(demo_run):
    root, result = demo_run
    page = root / "surveyhouse.report.html"
    assert f"Report page: {page}" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 20


def test_a_second_run_with_nothing_new_publishes_nothing(demo_run):
    root, first = demo_run
    assert first.returncode == 0
    before = (root / "surveyhouse.duckdb").read_bytes()
    result = surveyhouse("run", "--inbox", "landing", "--warehouse", "surveyhouse.duckdb", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing new since " in result.stdout and " UTC: warehouse unchanged in " in result.stdout
    assert (root / "surveyhouse.duckdb").read_bytes() == before


def test_a_night_with_nothing_new_starts_no_prefect_server_and_no_flow(demo_run):
    root, first = demo_run
    assert first.returncode == 0
    server_log = root / ".surveyhouse" / "prefect" / "temporary-server.log"
    assert server_log.exists(), "the demo's run started the temporary server"
    logged = server_log.stat().st_size
    result = surveyhouse("run", "--inbox", "landing", "--warehouse", "surveyhouse.duckdb", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Flow run" not in result.stdout + result.stderr
    assert server_log.stat().st_size == logged, "no temporary Prefect server was started"
    runs = [json.loads(line) for line in (root / ".surveyhouse" / "surveyhouse.runs.jsonl").read_text().splitlines()]
    published = next(run for run in runs if run["status"] == "ok")
    since = datetime.fromisoformat(published["finished_at"])
    run_id = result.stdout.split("Run ", 1)[1].split(":", 1)[0]
    assert f"Run {run_id}: 0 new file(s), nothing new since {since:%Y-%m-%d %H:%M} UTC: warehouse unchanged in " in (
        result.stdout
    )
    assert (runs[-1]["run_id"], runs[-1]["status"], runs[-1]["flow_run_id"]) == (run_id, "nothing_new", None)


def test_a_damaged_run_log_stops_a_night_with_one_line_naming_it_and_the_fix(demo_run, tmp_path):
    root, first = demo_run
    assert first.returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("prefect"))
    log = copy / ".surveyhouse" / "surveyhouse.runs.jsonl"
    with log.open("a", encoding="utf-8") as damaged:
        damaged.write('{"run_id": "edited by hand"}\n')
    result = surveyhouse("run", "--inbox", "landing", "--warehouse", "surveyhouse.duckdb", cwd=copy)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: the run log {log} is damaged: line {len(log.read_text().splitlines())} is no run's (started_at, "
        "status, settings missing); delete that line (the runs the warehouse published come back from its `runs` table)"
    ]


def test_the_flow_run_of_surveyhouse_run_waits_for_no_heartbeat_thread(tmp_path):
    """Prefect's heartbeat thread sleeps a second at a time and each run's end waited for it;
    `run_nightly` runs its flow without one (flows/nightly.py, ONE_RUN_SETTINGS)."""
    code = (
        "from prefect.flow_engine import FlowRunEngine\n"
        "from flows.nightly import nightly, one_run_settings\n"
        "outside = FlowRunEngine(flow=nightly).heartbeat_seconds\n"
        "with one_run_settings():\n"
        "    print(outside, FlowRunEngine(flow=nightly).heartbeat_seconds)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))} | {
        "PREFECT_HOME": str(tmp_path / "prefect")
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    outside, inside = result.stdout.split()
    assert int(outside) > 0 and inside == "None"


def _processes_with(text: str) -> list[str]:
    """The processes whose environment holds ``text`` (Linux's /proc; those of this user)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if text.encode() in environ.read_bytes():
                found.append(environ.parent.name)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_a_first_night_starts_its_prefect_server_before_reading_the_study_and_a_mistake_stops_it(tmp_path):
    """The server's start (seconds) overlaps the study's reading and the imports; a mistake in the
    study is still one line, and leaves no server running."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "questionnaire.yaml").write_text("questions: [\n", encoding="utf-8")
    result = surveyhouse("run", "--inbox", "landing", "--warehouse", "w.duckdb", "--study", "study", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.startswith("Error: ") and "questionnaire.yaml" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    home = tmp_path / ".surveyhouse" / "prefect"
    assert (home / "temporary-server.log").exists(), "the server was started before the study was read"
    assert not _processes_with(f"PREFECT_HOME={home}"), "and stopped"
