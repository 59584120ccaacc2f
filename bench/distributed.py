"""The nightly flow's time against the number of Dask workers: ``python -m bench.distributed``.

A landing folder of several large exports (default 8 files of 50,000 responses, the
layouts in turn; generated once, cached under ``.bench-cache/distributed/``) is run
from scratch by the Prefect flow (``flows.nightly``, in its own process, as `surveyhouse
run` runs it) in each configuration:

- no cluster: Prefect's default task runner (threads in the flow's process);
- a Dask cluster of N single-threaded workers (``dask scheduler`` and N ``dask worker``
  processes on this machine, as the README starts them), SURVEYHOUSE_DASK_ADDRESS set.

One Prefect server (SQLite, started once) serves every run, so its start-up is not
counted. Each run's phases come from the server's task runs: the per-file fan-out
(first ``ingest`` start to last ``ingest`` end), and the serial rest (discover, build,
publish, report page) in the flow's process. Configurations are interleaved over the
repeats (the machine is shared; its load average is recorded with each run), and every
run's warehouse must hold the same rows. Writes ``bench/distributed.md`` (a section that
BENCHMARKS.md includes) and ``.bench-cache/distributed/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import export
from bench.measure import ROOT, measure
from demo.study import EXPORTS

CACHE = ROOT / ".bench-cache" / "distributed"
REPORT = ROOT / "bench" / "distributed.md"
SECRET = "bench-distributed-secret"
BIN = Path(sys.executable).parent

#: The flow run as `surveyhouse run` runs it (cli/main.py), timed; prints a JSON line.
_FLOW = """
import json, sys, time
start = time.perf_counter()
from surveyhouse.settings import load_settings
from flows.nightly import run_nightly
settings = load_settings(inbox=sys.argv[1], warehouse=sys.argv[2])
imported = time.perf_counter()
run = run_nightly(settings)
done = time.perf_counter()
print(json.dumps({"imports_s": imported - start, "flow_s": done - imported, "flow_run_id": run.flow_run_id,
                  "files": run.files_new, "rows_read": run.rows_read, "published": run.published}))
"""


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dask(*args: str) -> list[str]:
    script = BIN / "dask"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "dask", *args]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def dask_cluster(workers: int, folder: Path):
    """A scheduler and ``workers`` single-threaded workers on loopback, as processes; yields the address."""
    from distributed import Client

    folder.mkdir(parents=True, exist_ok=True)
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "SURVEYHOUSE_DASK_ADDRESS")}
    env |= {
        "PREFECT_HOME": str(folder / "prefect-home"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    commands = [_dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard")]
    commands += [_dask("worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}")
                 for i in range(1, workers + 1)]  # fmt: skip
    processes = []
    try:
        for index, command in enumerate(commands):
            with open(folder / f"{'scheduler' if index == 0 else f'worker-{index}'}.log", "wb") as handle:
                processes.append(
                    subprocess.Popen(
                        command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT
                    )
                )
        with Client(address, timeout=120) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        _stop(list(reversed(processes)))


def inbox_files(files: int, responses: int) -> list[Path]:
    """``files`` exports of ``responses`` each, the layouts in turn, each its own seed (own respondents)."""
    channels = list(EXPORTS)
    paths = []
    for index in range(files):
        path = export(CACHE / "exports", channels[index % len(channels)], responses, seed=101 + index)
        paths.append(path)
    return paths


def _post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def phases(api: str, flow_run_id: str) -> dict:
    """The run's phases from its task runs: the per-file fan-out window, and each serial task."""
    runs = _post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200})
    ingest = [r for r in runs if r["name"].startswith("ingest ")]
    out = {
        "ingest_window_s": max(_seconds(r["end_time"]) for r in ingest)
        - min(_seconds(r["start_time"]) for r in ingest),
        "ingest_busy_s": sum(r["total_run_time"] for r in ingest),
        "ingest_tasks": len(ingest),
    }
    for r in runs:
        if not r["name"].startswith("ingest "):
            out[f"{r['name'].rsplit('-', 1)[0]}_s"] = r["total_run_time"]
    return out


def fingerprint(warehouse: Path) -> dict[str, int]:
    """Row counts of every table, and the sum of the crosstab's bases (the same in every configuration)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        counts = {t: connection.execute(f"select count(*) from {t}").fetchone()[0]
                  for t in ("responses", "answers", "crosstab", "claims", "quarantine", "files")}  # fmt: skip
        counts["crosstab_n"] = int(connection.execute("select sum(n) from crosstab").fetchone()[0])
    return counts


def run_flow(api: str, files: list[Path], work: Path, address: str | None) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    inbox = work / "landing"
    inbox.mkdir(parents=True)
    for path in files:
        (inbox / path.name).symlink_to(path.resolve())
    env = {"PREFECT_API_URL": api, "PREFECT_HOME": str(CACHE / "client-home"), "SURVEYHOUSE_SECRET": SECRET,
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_TO_API_ENABLED": "false"}  # fmt: skip
    if address:
        env["SURVEYHOUSE_DASK_ADDRESS"] = address
    load = os.getloadavg()[0]
    measured = measure([sys.executable, "-c", _FLOW, str(inbox), str(work / "warehouse.duckdb")], env=env, cwd=ROOT)
    if measured.returncode:
        raise RuntimeError(f"the flow failed ({measured.returncode}):\n{measured.stderr[-3000:]}")
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    result |= {"wall_s": measured.seconds, "rss_mib": measured.peak_rss_mib, "load_1m_before": load}
    result |= phases(api, result["flow_run_id"])
    result["fingerprint"] = fingerprint(work / "warehouse.duckdb")
    shutil.rmtree(work, ignore_errors=True)
    return result


def measure_all(files: list[Path], worker_counts: list[int], repeats: int, with_threads: bool) -> list[dict]:
    from flows.serve import local_prefect_server
    from surveyhouse.settings import load_settings

    os.environ.pop("SURVEYHOUSE_DASK_ADDRESS", None)
    os.environ.pop("PREFECT_API_URL", None)
    server_settings = load_settings(warehouse=str(CACHE / "server" / "bench.duckdb"))
    configurations = ([0] if with_threads else []) + worker_counts
    results = []
    with local_prefect_server(server_settings) as api:
        log(f"Prefect server {api}")
        for repeat in range(1, repeats + 1):
            for workers in configurations:
                what = f"{workers} Dask worker(s)" if workers else "no cluster (threads)"
                if workers:
                    with dask_cluster(workers, CACHE / "dask") as address:
                        result = run_flow(api, files, CACHE / "runs" / f"w{workers}-r{repeat}", address)
                else:
                    result = run_flow(api, files, CACHE / "runs" / f"threads-r{repeat}", None)
                result |= {"workers": workers, "repeat": repeat}
                results.append(result)
                log(f"{what}, repeat {repeat}: flow {result['flow_s']:.1f} s (fan-out {result['ingest_window_s']:.1f} s, "
                    f"build {result.get('build_s', 0):.1f} s, publish {result.get('publish_s', 0):.1f} s); load {result['load_1m_before']:.1f}")  # fmt: skip
    return results


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _serial(run: dict) -> float:
    return run.get("build_s", 0) + run.get("publish_s", 0) + run.get("report_s", 0)


def _spread(rows: list[dict], key: str) -> str:
    """The median, and the range when there are several runs."""
    values = [r[key] for r in rows]
    return f"{statistics.median(values):.1f}" + (f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else "")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def markdown(data: dict) -> str:
    results, files, per_file = data["results"], data["files"], data["responses_per_file"]
    rows_total = results[0]["rows_read"]
    by_config: dict[int, list[dict]] = {}
    for r in results:
        by_config.setdefault(r["workers"], []).append(r)
    same = len({json.dumps(r["fingerprint"], sort_keys=True) for r in results}) == 1
    one = by_config.get(1)
    per_worker = rows_total / _median(one, "ingest_busy_s") if one else None
    lines = [
        "## Distributed runs: the per-file steps on Dask workers",
        "",
        (
            f"The nightly flow (`flows.nightly`, in its own process as `surveyhouse run` runs it) from scratch on a landing folder "
            f"of {files} exports of {per_file:,} responses each ({rows_total:,} rows; the five layouts in turn), with the per-file "
            "steps (read, map, validate, stage) on Prefect's default runner (threads in the flow's process) or on a Dask cluster of "
            "N single-threaded workers (`dask scheduler` and N `dask worker` processes, `SURVEYHOUSE_DASK_ADDRESS` set). One "
            "Prefect server serves every run (its start-up is not counted). *Fan-out* is the first `ingest` task's start to the "
            "last one's end; *task time, summed*: the `ingest` tasks' run times added up (the same work: it grows when workers "
            "share cores); *serial* is what runs in the flow's process whatever the workers: build every table, publish, "
            "write the report page; *rest*: the flow's own start and end, discovering files, connecting to the cluster and "
            "collecting its results. Median (and range) of "
            f"{data['repeats']} interleaved repeat(s); `{data['command']}`, {data['started'][:16].replace('T', ' ')} UTC."
        ),
        "",
        "| runner | flow (s) | fan-out (s) | `ingest` task time, summed (s) | serial: build + publish + report (s) | rest (s) | fan-out throughput (responses/s) | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workers in sorted(by_config):
        rows = by_config[workers]
        serial = statistics.median(_serial(r) for r in rows)
        name = f"Dask, {workers} worker{'s' if workers > 1 else ''}" if workers else "threads, no cluster"
        lines.append(
            f"| {name} | {_spread(rows, 'flow_s')} | {_spread(rows, 'ingest_window_s')} | {_median(rows, 'ingest_busy_s'):.1f} | {serial:.1f} | "
            f"{statistics.median(r['flow_s'] - r['ingest_window_s'] - _serial(r) for r in rows):.1f} | "
            f"{rows_total / _median(rows, 'ingest_window_s'):,.0f} | {statistics.median(r['load_1m_before'] for r in rows):.1f} |"
        )
    lines += [
        "",
        (
            f"Every run's warehouse holds the same rows ({'checked: row counts of every table and the crosstab counts' if same else '**NOT the same: see results.json**'}); "
            "tests/flows/test_dask.py and tests/flows/test_scale_out.py check table-for-table equality with the embedded run."
        ),
        "",
        (
            f"**Two cores here.** This machine has {data['machine']['cores']} cores, shared with other work (the load average "
            'before each run is in the table: above 2, other processes were already using both cores). A "single-threaded" '
            "worker runs one file at a time, but Polars inside it uses every core for its parallel parts, as do the threads "
            "of the run without a cluster; so here one worker already uses both cores, more workers only take turns on them "
            "(and on memory bandwidth), and the flow's own process and the scheduler compete with them. No speed-up from "
            "more workers can show on this machine: these numbers show that the fan-out works and what it costs, not the "
            "speed-up of separate machines."
        ),
    ]
    if per_worker:
        serial_1 = statistics.median(_serial(r) for r in one)
        file_s = per_file / per_worker  # one file on one worker
        archive_files = 1000
        lines += [
            "",
            (
                f"**At ten machines.** One worker (one file at a time, Polars on this machine's two cores) stages about {per_worker:,.0f} responses per second of task time "
                f"(with one worker: {rows_total:,} responses in {_median(one, 'ingest_busy_s'):.1f} s of `ingest` tasks, while other work "
                f"kept the load average near {statistics.median(r['load_1m_before'] for r in one):.0f}: a worker on an idle machine is faster), so one "
                f"file of {per_file:,} takes it about {file_s:.1f} s. A file is the unit of work: with W workers the fan-out takes "
                f"about ceil(files / W) file-times. Ten machines with one worker each would take this landing folder's fan-out from "
                f"{_median(one, 'ingest_window_s'):.1f} s (one worker) to one file-time, about {file_s:.1f} s ({files} files, ten "
                f"workers: {max(0, 10 - files)} idle), while the serial part stays where it was measured, about {serial_1:.1f} s "
                "on the flow's machine: a night's handful of files gains little. The fan-out pays off when many files arrive at "
                f"once: a first load of years of exports, {archive_files:,} such files landed for one run, is about {_minutes(archive_files * file_s)} "
                f"of one worker's staging, about {_minutes(archive_files * file_s / 10)} on ten single-worker machines "
                f"(machines like this one: two cores each; more cores per machine speed up each file's Polars work, not one file per worker), "
                "if the shared landing and state folders keep up (not measured here). (`surveyhouse rebuild` re-stages the "
                "archive in its own process, not on the cluster.) Building the tables and publishing stay on "
                "one machine and grow with the whole warehouse (the pipeline runs at each size above): at that scale they, not "
                "the staging, set the night's length."
            ),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8, help="exports in the landing folder (default 8)")
    parser.add_argument("--responses", type=int, default=50_000, help="responses per export (default 50000)")
    parser.add_argument("--workers", default="1,2,4", help="Dask worker counts, comma-separated (default 1,2,4)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each configuration, interleaved (default 2)")
    parser.add_argument("--no-threads", action="store_true", help="leave out the run without a cluster")
    parser.add_argument("--report-only", action="store_true", help="write bench/distributed.md from the last results")
    args = parser.parse_args(argv)
    results_file = CACHE / "results.json"
    if not args.report_only:
        files = inbox_files(args.files, args.responses)
        log(f"{len(files)} exports of {args.responses:,} responses in {CACHE / 'exports'}")
        from bench.run import machine

        started = datetime.now(UTC).isoformat()
        workers = [int(w) for w in args.workers.split(",") if w.strip()]
        results = measure_all(files, workers, args.repeats, not args.no_threads)
        command = " ".join([".venv/bin/python -m bench.distributed", *(sys.argv[1:] if argv is None else argv)])
        data = {"started": started, "command": command, "machine": machine(), "files": args.files,
                "responses_per_file": args.responses, "repeats": args.repeats, "results": results}  # fmt: skip
        CACHE.mkdir(parents=True, exist_ok=True)
        results_file.write_text(json.dumps(data, indent=1))
    data = json.loads(results_file.read_text())
    REPORT.write_text(markdown(data), encoding="utf-8")
    log(f"wrote {REPORT.relative_to(ROOT)}")
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
