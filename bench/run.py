"""One command for the benchmarks: ``python -m bench`` (from the repository root).

For each size (default 100k, 1M and 5M responses), a Qualtrics export of that many
responses, and (``--mix``) 1M responses split over every layout; generated once and
cached under ``.bench-cache/`` (git-ignored). On the same files, in the same run, each in
its own process (wall time and that process's peak RSS):

floor       DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(..., all_varchar)`` into a
            file, and Polars ``scan_csv(..., infer_schema=False).collect()``: the faster
pipeline    ``surveyhouse.night.run_night`` (the nightly job without Prefect), from scratch,
            then the report page the flow writes after its publish
process     ``surveyhouse run`` as a whole process (Prefect's temporary server included)
stages      each stage timed by calling its functions directly (bench/stages.py)
baseline    pandas + pandera doing the same mapping, checks and crosstab (bench/baseline_pandas.py)
query       one figure from the published warehouse: in-process and ``surveyhouse sql``
nights      a night with nothing new and a night with 10k new responses, at every size

and writes BENCHMARKS.md (``--report-only``: again from ``.bench-cache/results.json``).
A command that holds more than ``--memory-cap`` is stopped and reported, not left to the
kernel's out-of-memory killer on a shared machine. Nothing here runs in CI: the sizes are flags.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.demo import bench_demo
from bench.measure import MEMORY_CAP_MIB, ROOT, Measured, measure, python
from bench.report import write_report
from make import compile_sources

SURVEYHOUSE = str(Path(sys.executable).with_name("surveyhouse"))
NEW_NIGHT = 10_000
#: One published figure (F01a: share of VPs) as an analyst would ask for it.
FIGURE_SQL = (
    "select pct from crosstab where wave = 2023 and question = 'role' and answer = 'vp' "
    "and segment = 'all' and segment_value = 'all'"
)
_RUN_ONCE = """
import sys, time
start = time.perf_counter()
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
imported = time.perf_counter()
settings = load_settings(inbox=sys.argv[1], warehouse=sys.argv[2])
run = run_night(load_study(), settings)  # the report page included, as the flow writes it
done = time.perf_counter()
print(f"{imported - start:.3f} {done - imported:.3f} {time.perf_counter() - done:.3f} {run.rows_read} {int(run.published)}")
"""
_QUERY = """
import sys, time, statistics
from warehouse.publish import connect_read_only
from pathlib import Path
times = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    with connect_read_only(Path(sys.argv[1])) as connection:
        value = connection.execute(sys.argv[2]).fetchone()
    times.append(time.perf_counter() - start)
print(f"{statistics.median(times):.6f} {value[0]}")
"""


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def generate(cache: Path, channel: str, n: int, *, seed: int) -> list[Path]:
    """The cached export(s), generated first if need be (bench/generate.py, in a child process)."""
    result = run(python("-m", "bench.generate", str(cache), channel, str(n), str(seed)), f"generating {channel} {n}")
    return [Path(line) for line in result.stdout.split("\n") if line.strip()]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    packages = ("polars", "duckdb", "pandera", "prefect", "pandas", "numpy", "pyarrow")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 1024**2, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": {name: metadata.version(name) for name in packages},
        "load_before": os.getloadavg(),
    }


def fresh_inbox(work: Path, files: list[Path]) -> tuple[Path, Path]:
    """A new landing folder (hard links to the cached files, else copies: the landing folder
    skips symbolic links) and a warehouse path beside it."""
    shutil.rmtree(work, ignore_errors=True)
    inbox = work / "landing"
    inbox.mkdir(parents=True)
    for path in files:
        land(path, inbox / path.name)
    return inbox, work / "warehouse.duckdb"


def land(path: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(path.resolve(), target)
    except OSError:
        shutil.copy2(path, target)


class Failed(RuntimeError):
    """A measured command failed (or was stopped at the memory cap)."""


#: Ceiling on a measured command's memory (MiB); set by --memory-cap.
CAP = {"mib": MEMORY_CAP_MIB}


def run(command: list[str], what: str, *, env: dict | None = None) -> Measured:
    result = measure(command, env=env, memory_cap_mib=CAP["mib"])
    if result.capped:
        raise Failed(f"{what}: stopped at the memory cap of {CAP['mib'] / 1024:.0f} GiB after {result.seconds:.0f} s")
    if result.returncode:
        raise Failed(f"{what} failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:] or ''}")
    return result


def attempt(results: dict, key: str, measure_it) -> None:
    """``results[key]`` = what ``measure_it()`` measured, or why it could not be."""
    try:
        results[key] = measure_it()
    except Failed as error:
        log(f"  {error}")
        results[key] = {"error": str(error)}


def run_once(inbox: Path, warehouse: Path) -> dict:
    result = run(python("-c", _RUN_ONCE, str(inbox), str(warehouse)), f"run_once {inbox.parent.name}")
    imports, work, report, rows, published = result.stdout.split()
    return {"wall_s": result.seconds, "rss_mib": result.peak_rss_mib, "imports_s": float(imports), "work_s": float(work),
            "report_s": float(report), "rows_read": int(rows), "published": bool(int(published))}  # fmt: skip


_PREFECT_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) \| \w+ +\| (.*)$")


def surveyhouse_run(inbox: Path, warehouse: Path, env: dict) -> dict:
    result = run([SURVEYHOUSE, "run", "--inbox", str(inbox), "--warehouse", str(warehouse)], "surveyhouse run", env=env)
    out = {"wall_s": result.seconds, "rss_mib": result.peak_rss_mib}
    # When the flow began and ended, from Prefect's log lines (local wall-clock times).
    day = datetime.fromtimestamp(result.started_at).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    for line in (result.stdout + "\n" + result.stderr).splitlines():
        match = _PREFECT_TIME.match(line)
        if not match:
            continue
        at = day + int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3)) - result.started_at
        if "Beginning flow run" in match.group(4):
            out["flow_begins_s"] = at
        elif "Flow run" in match.group(4) and "Finished in state" in match.group(4):
            out["flow_ends_s"] = at
    return out


def floor(files: list[Path], work: Path) -> dict:
    out = {}
    for engine in ("duckdb", "polars"):
        attempt(out, engine, lambda engine=engine: _floor_one(engine, files, work))
    (work / "floor.duckdb").unlink(missing_ok=True)
    done = [engine for engine in ("duckdb", "polars") if "error" not in out[engine]]
    out["best"] = min(done, key=lambda engine: out[engine]["wall_s"]) if done else None
    return out


def _floor_one(engine: str, files: list[Path], work: Path) -> dict:
    result = run(python("-m", "bench.floor", engine, *map(str, files), str(work / "floor.duckdb")), f"floor {engine}")
    return {"wall_s": result.seconds, "work_s": float(result.stdout.split()[0]), "rss_mib": result.peak_rss_mib}


def query(warehouse: Path) -> dict:
    inside = run(python("-c", _QUERY, str(warehouse), FIGURE_SQL, "21"), "query")
    median, value = inside.stdout.split()
    whole = [
        run([SURVEYHOUSE, "sql", "--warehouse", str(warehouse), "--format", "csv", FIGURE_SQL], "sql").seconds
        for _ in range(5)
    ]
    return {"in_process_s": float(median), "value": float(value), "process_s": statistics.median(whole)}


def stages(warehouse: Path, files: list[Path]) -> dict:
    result = run(python("-m", "bench.stages", str(warehouse), *map(str, files)), "stages")
    return json.loads(result.stdout.strip().splitlines()[-1]) | {"rss_mib": result.peak_rss_mib}


def baseline(files: list[Path]) -> dict:
    result = run(python("-m", "bench.baseline_pandas", str(files[0])), "pandas baseline")
    seconds, rows, cells = result.stdout.split()
    return {"wall_s": result.seconds, "work_s": float(seconds), "rss_mib": result.peak_rss_mib,
            "rows_kept": int(rows), "crosstab_rows": int(cells)}  # fmt: skip


def same_work(files: list[Path]) -> dict:
    result = run(python("-m", "bench.same_work", str(files[0])), "same work")
    seconds, rows, cells = result.stdout.split()
    return {"wall_s": result.seconds, "work_s": float(seconds), "rss_mib": result.peak_rss_mib,
            "rows_kept": int(rows), "crosstab_rows": int(cells)}  # fmt: skip


def bench_files(
    name: str, files: list[Path], cache: Path, *, env: dict, baseline_too: bool, process: bool, stages_too: bool = True
) -> dict:
    """Every measure on one set of export files."""
    work = cache / "runs" / name
    result: dict = {"files": [p.name for p in files], "bytes": sum(p.stat().st_size for p in files)}
    log(f"{name}: floor")
    result["floor"] = floor(files, cache)
    log(f"{name}: run_once from scratch")
    inbox, warehouse = fresh_inbox(work / "pipeline", files)
    attempt(result, "pipeline", lambda: run_once(inbox, warehouse))
    if "error" not in result["pipeline"] and stages_too:
        log(f"{name}: stages")
        attempt(result, "stages", lambda: stages(warehouse, files))
        log(f"{name}: query")
        attempt(result, "query", lambda: query(warehouse))
    if process:
        log(f"{name}: surveyhouse run from scratch")
        p_inbox, p_warehouse = fresh_inbox(work / "process", files)
        attempt(result, "process", lambda: surveyhouse_run(p_inbox, p_warehouse, env))
        if "error" not in result["process"]:
            log(f"{name}: surveyhouse run, nothing new")
            attempt(result, "process_nothing_new", lambda: surveyhouse_run(p_inbox, p_warehouse, env))
    if baseline_too:
        log(f"{name}: pandas baseline")
        attempt(result, "baseline", lambda: baseline(files))
        log(f"{name}: the same work with the pipeline's functions")
        attempt(result, "same_work", lambda: same_work(files))
    return result


def nights(name: str, cache: Path, new_file: Path, *, env: dict, process: bool) -> dict:
    """On the warehouse the from-scratch run built: a night with nothing new, then one with 10k new responses."""
    work = cache / "runs" / name
    inbox, warehouse = work / "pipeline" / "landing", work / "pipeline" / "warehouse.duckdb"
    out: dict = {}
    if not warehouse.exists():
        return out
    log(f"{name}: night with nothing new (run_once)")
    attempt(out, "nothing_new", lambda: run_once(inbox, warehouse))
    land(new_file, inbox / new_file.name)
    log(f"{name}: night with {NEW_NIGHT:,} new (run_once)")
    attempt(out, "new_10k", lambda: run_once(inbox, warehouse))
    p_inbox, p_warehouse = work / "process" / "landing", work / "process" / "warehouse.duckdb"
    if process and p_warehouse.exists():
        land(new_file, p_inbox / new_file.name)
        log(f"{name}: night with {NEW_NIGHT:,} new (surveyhouse run)")
        attempt(out, "process_new_10k", lambda: surveyhouse_run(p_inbox, p_warehouse, env))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="100k,1m,5m", help="responses per Qualtrics export, comma-separated (default 100k,1m,5m)"
    )
    parser.add_argument("--mix", default="1m", help="responses split over every layout ('' to skip; default 1m)")
    parser.add_argument("--cache", default=str(ROOT / ".bench-cache"), help="generated files and runs (git-ignored)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="report to write")
    parser.add_argument("--no-prefect", action="store_true", help="skip the whole-process `surveyhouse run` measures")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo study's night (bench/demo.py)")
    parser.add_argument("--baseline-max", default="1m", help="largest size the pandas baseline runs at (default 1m)")
    parser.add_argument(
        "--stages-max",
        default="1m",
        help="largest size the stage profile runs at (it reads the file whole; default 1m)",
    )
    parser.add_argument(
        "--memory-cap", type=float, default=MEMORY_CAP_MIB / 1024, help="GiB a measured command may hold (default 16)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="write the report again from the cache's results.json"
    )
    args = parser.parse_args(argv)
    cache = Path(args.cache).absolute()
    if args.report_only:
        write_report(json.loads((cache / "results.json").read_text(encoding="utf-8")), Path(args.out))
        log(f"wrote {args.out}")
        return 0
    CAP["mib"] = args.memory_cap * 1024
    # As `python3 make.py` leaves the project: its modules' bytecode written (make.py says why).
    compile_sources(sys.executable)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    cache.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    command = ".venv/bin/python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    # One Prefect home for every `surveyhouse run` (warm, as on a machine that runs nightly).
    env = {"PREFECT_HOME": str(cache / "prefect-home")}
    process = not args.no_prefect
    results: dict = {
        "machine": machine(),
        "command": command.strip(),
        "started": started.isoformat(),
        "sizes": {},
        "nights": {},
    }
    # The landing folder takes files only once they have not changed for settle_s seconds;
    # a hard link made for a measure has just changed (its link count).
    os.environ["SURVEYHOUSE_SETTLE_S"] = "0"
    # The 5M export is 2.3 GB, over the default SURVEYHOUSE_MAX_FILE_MB (2048): a tracker
    # that size raises it, as the refusal's message says.
    os.environ.setdefault("SURVEYHOUSE_MAX_FILE_MB", "8192")
    if not args.no_demo:
        results["demo"] = bench_demo(cache, env=env, process=process)
        _save(cache, results)
    new_file = generate(cache, "qualtrics_en", NEW_NIGHT, seed=7)[0]
    if process:
        log(
            "Prefect's own cost: `surveyhouse run` on an empty landing folder, first and second time (new Prefect home)"
        )
        shutil.rmtree(cache / "prefect-home", ignore_errors=True)
        empty, warehouse = fresh_inbox(cache / "runs" / "empty", [])
        attempt(results, "process_empty_first", lambda: surveyhouse_run(empty, warehouse, env))
        attempt(results, "process_empty", lambda: surveyhouse_run(empty, warehouse, env))
        attempt(results, "run_once_empty", lambda: run_once(empty, warehouse))
    for n in sizes:
        log(f"generating the {label(n)} Qualtrics export")
        begin = time.perf_counter()
        path = generate(cache, "qualtrics_en", n, seed=1)[0]
        name = f"qualtrics_{label(n)}"
        results["sizes"][name] = {"n": n, "generate_s": time.perf_counter() - begin}
        baseline_too = n <= parse_size(args.baseline_max)
        stages_too = n <= parse_size(args.stages_max)
        results["sizes"][name] |= bench_files(
            name, [path], cache, env=env, baseline_too=baseline_too, process=process, stages_too=stages_too
        )
        _save(cache, results)
        results["nights"][name] = nights(name, cache, new_file, env=env, process=process)
        _save(cache, results)
    if args.mix.strip():
        n = parse_size(args.mix)
        log(f"generating {label(n)} responses over every layout")
        files = generate(cache, "mix", n, seed=2)
        name = f"mix_{label(n)}"
        results["sizes"][name] = {"n": n, "mix": True} | bench_files(
            name, files, cache, env=env, baseline_too=False, process=process
        )
        _save(cache, results)
    results["finished"] = datetime.now(UTC).isoformat()
    results["machine"]["load_after"] = os.getloadavg()
    _save(cache, results)
    write_report(results, Path(args.out))
    log(f"wrote {args.out}")
    return 0


def _save(cache: Path, results: dict) -> None:
    (cache / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
