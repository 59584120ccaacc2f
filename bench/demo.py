"""The demo study's night (10 exports, 4,746 rows): what a small study pays, as whole processes.

A small survey's night is fixed costs: Python and its imports, Prefect's server and flow
run, the report page. Measured here on the demo's exports (generated once into the cache):

scratch        ``surveyhouse run`` on a new landing folder and warehouse (Prefect's temporary server)
nothing_new    the same command again: nothing new (no Prefect server, no flow, no build)
served         ``surveyhouse run`` from scratch while ``surveyhouse serve`` runs: it reports to serve's server
profile        ``python -m bench.demo_profile``: each step of ``run_night`` timed in one process
               (imports, discovery, each file's staging, build, publish, report page)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVED_WITHIN_S = 300.0


def demo_template(cache: Path) -> Path:
    """The demo study's landing folder, written once into the cache (demo/study.py, seed 2023)."""
    template = cache / "demo" / "template"
    if not (template / ".complete").exists():
        shutil.rmtree(template, ignore_errors=True)
        from demo.study import write_demo_study

        write_demo_study(template, seed=2023)
        (template / ".complete").write_text("", encoding="utf-8")
    return template


def landing_copy(template: Path, work: Path) -> tuple[Path, Path]:
    """A new landing folder with the template's exports (hard links where it can, else copies;
    never symbolic links, which the landing folder skips) and a warehouse path beside it."""
    shutil.rmtree(work, ignore_errors=True)
    inbox = work / "landing"
    for path in template.rglob("*.*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        target = inbox / path.relative_to(template)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    return inbox, work / "warehouse.duckdb"


def profile(inbox: Path, warehouse: Path) -> dict:
    from bench.run import python, run

    result = run(python("-m", "bench.demo_profile", str(inbox), str(warehouse)), "demo profile")
    return json.loads(result.stdout.strip().splitlines()[-1]) | {
        "wall_s": result.seconds,
        "rss_mib": result.peak_rss_mib,
    }


def bench_demo(cache: Path, *, env: dict, process: bool) -> dict:
    """Every measure of the demo night (see the module's docstring)."""
    from bench.run import attempt, log, surveyhouse_run

    template = demo_template(cache)
    out: dict = {"rows": 4746, "files": sum(1 for p in template.rglob("*.*") if not p.name.startswith("."))}
    log("demo: run_night step by step, from scratch and with nothing new")
    inbox, warehouse = landing_copy(template, cache / "runs" / "demo" / "profile")
    attempt(out, "profile", lambda: profile(inbox, warehouse))
    attempt(out, "profile_nothing_new", lambda: profile(inbox, warehouse))
    if not process:
        return out
    log("demo: surveyhouse run from scratch, then with nothing new")
    inbox, warehouse = landing_copy(template, cache / "runs" / "demo" / "process")
    attempt(out, "scratch", lambda: surveyhouse_run(inbox, warehouse, env))
    attempt(out, "nothing_new", lambda: surveyhouse_run(inbox, warehouse, env))
    log("demo: surveyhouse run from scratch beside a running surveyhouse serve")
    attempt(out, "served", lambda: _beside_serve(template, cache / "runs" / "demo" / "served", env))
    return out


def _beside_serve(template: Path, work: Path, env: dict) -> dict:
    """``surveyhouse run`` from scratch while ``surveyhouse serve`` (same folder: same Prefect home) runs."""
    from bench.run import SURVEYHOUSE, Failed, surveyhouse_run

    shutil.rmtree(work, ignore_errors=True)
    inbox, warehouse = landing_copy(template, work / "run")
    serve_inbox = work / "serve-landing"
    serve_inbox.mkdir(parents=True)
    command = [SURVEYHOUSE, "serve", "--inbox", str(serve_inbox), "--warehouse", str(work / "run" / "served.duckdb")]
    log_path = work / "serve.log"
    with open(log_path, "wb") as log:
        serving = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + SERVED_WITHIN_S
        while "is being served" not in log_path.read_text(encoding="utf-8", errors="replace"):
            if serving.poll() is not None or time.monotonic() > deadline:
                raise Failed(f"surveyhouse serve did not start: {log_path.read_text(errors='replace')[-300:]}")
            time.sleep(0.2)
        measured = surveyhouse_run(inbox, warehouse, env)
        if (warehouse.parent / ".surveyhouse" / "prefect" / "temporary-server.log").exists():
            raise Failed("surveyhouse run started its own server beside serve")
        return measured
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        try:
            serving.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
            serving.wait()


if __name__ == "__main__":  # python -m bench.demo CACHE: the demo measures alone, printed as JSON
    cache = Path(sys.argv[1]).absolute()
    os.environ.setdefault("SURVEYHOUSE_SETTLE_S", "0")
    print(json.dumps(bench_demo(cache, env={"PREFECT_HOME": str(cache / "prefect-home")}, process=True), indent=1))
