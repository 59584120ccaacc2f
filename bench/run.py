"""One command for the benchmarks: ``python -m bench --sizes 100k,1m,5m`` (from the repository root).

For each size, a Qualtrics export of that many responses (cached under ``.bench-cache/``,
git-ignored), and with ``--mix`` the same number of responses split over every layout.
On the same files, in the same run, each in its own process (wall time and that
process's peak RSS):

floor       DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(..., all_varchar)`` into a
            file, and Polars ``scan_csv(..., infer_schema=False).collect()``: the faster
pipeline   ``flows.pipeline.run_once`` (the nightly job without Prefect), from scratch
process    ``surveyhouse run`` as a whole process (Prefect's temporary server included)
stages     each stage timed by calling its functions directly (bench/stages.py)
baseline   pandas + pandera doing the same mapping, checks and crosstab (bench/baseline_pandas.py)
query      one figure from the published warehouse: in-process and ``surveyhouse sql``
nights     a night with nothing new and a night with 10k new responses, at every size

and writes BENCHMARKS.md. Nothing here runs in CI: the sizes are flags.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.generate import export, mixed_exports
from bench.measure import ROOT, Measured, measure, python
from bench.report import write_report

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
from flows.pipeline import run_once
from flows.settings import load_settings
imported = time.perf_counter()
run = run_once(load_settings(inbox=sys.argv[1], warehouse=sys.argv[2]))
print(f"{imported - start:.3f} {time.perf_counter() - imported:.3f} {run.rows_read} {int(run.published)}")
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


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
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
    """A new landing folder (links to the cached files) and a warehouse path beside it."""
    shutil.rmtree(work, ignore_errors=True)
    inbox = work / "landing"
    inbox.mkdir(parents=True)
    for path in files:
        (inbox / path.name).symlink_to(path.resolve())
    return inbox, work / "warehouse.duckdb"


def ok(result: Measured, what: str) -> Measured:
    if result.returncode:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def run_once(inbox: Path, warehouse: Path) -> dict:
    result = ok(measure(python("-c", _RUN_ONCE, str(inbox), str(warehouse))), f"run_once {inbox}")
    imports, work, rows, published = result.stdout.split()
    return {"wall_s": result.seconds, "rss_mib": result.peak_rss_mib, "imports_s": float(imports), "work_s": float(work),
            "rows_read": int(rows), "published": bool(int(published))}  # fmt: skip


def surveyhouse_run(inbox: Path, warehouse: Path, env: dict) -> dict:
    result = ok(measure([SURVEYHOUSE, "run", "--inbox", str(inbox), "--warehouse", str(warehouse)], env=env), "surveyhouse run")
    return {"wall_s": result.seconds, "rss_mib": result.peak_rss_mib}


def floor(files: list[Path], work: Path) -> dict:
    out = {}
    for engine in ("duckdb", "polars"):
        result = ok(measure(python("-m", "bench.floor", engine, *map(str, files), str(work / "floor.duckdb"))), f"floor {engine}")
        out[engine] = {"wall_s": result.seconds, "work_s": float(result.stdout.split()[0]), "rss_mib": result.peak_rss_mib}
    (work / "floor.duckdb").unlink(missing_ok=True)
    out["best"] = min(("duckdb", "polars"), key=lambda engine: out[engine]["wall_s"])
    return out


def query(warehouse: Path) -> dict:
    inside = ok(measure(python("-c", _QUERY, str(warehouse), FIGURE_SQL, "21")), "query")
    median, value = inside.stdout.split()
    whole = [ok(measure([SURVEYHOUSE, "sql", "--warehouse", str(warehouse), "--format", "csv", FIGURE_SQL]), "sql").seconds
             for _ in range(5)]  # fmt: skip
    return {"in_process_s": float(median), "value": float(value), "process_s": statistics.median(whole)}


def bench_files(name: str, files: list[Path], cache: Path, *, env: dict, baseline: bool, process: bool) -> dict:
    """Every measure on one set of export files."""
    work = cache / "runs" / name
    result: dict = {"files": [p.name for p in files], "bytes": sum(p.stat().st_size for p in files)}
    log(f"{name}: floor")
    result["floor"] = floor(files, cache)
    log(f"{name}: run_once from scratch")
    inbox, warehouse = fresh_inbox(work / "pipeline", files)
    result["pipeline"] = run_once(inbox, warehouse)
    log(f"{name}: stages")
    stages = ok(measure(python("-m", "bench.stages", str(warehouse), *map(str, files))), "stages")
    result["stages"] = json.loads(stages.stdout.strip().splitlines()[-1])
    log(f"{name}: query")
    result["query"] = query(warehouse)
    if process:
        log(f"{name}: surveyhouse run from scratch")
        p_inbox, p_warehouse = fresh_inbox(work / "process", files)
        result["process"] = surveyhouse_run(p_inbox, p_warehouse, env)
        log(f"{name}: surveyhouse run, nothing new")
        result["process_nothing_new"] = surveyhouse_run(p_inbox, p_warehouse, env)
    if baseline:
        log(f"{name}: pandas baseline")
        base = ok(measure(python("-m", "bench.baseline_pandas", str(files[0]))), "baseline")
        seconds, rows, cells = base.stdout.split()
        result["baseline"] = {"wall_s": base.seconds, "work_s": float(seconds), "rss_mib": base.peak_rss_mib,
                              "rows_kept": int(rows), "crosstab_rows": int(cells)}  # fmt: skip
    return result


def nights(name: str, cache: Path, new_file: Path, *, env: dict, process: bool) -> dict:
    """On the warehouse the from-scratch run built: a night with nothing new, then one with 10k new responses."""
    work = cache / "runs" / name
    inbox, warehouse = work / "pipeline" / "landing", work / "pipeline" / "warehouse.duckdb"
    out = {}
    log(f"{name}: night with nothing new (run_once)")
    out["nothing_new"] = run_once(inbox, warehouse)
    (inbox / new_file.name).unlink(missing_ok=True)
    (inbox / new_file.name).symlink_to(new_file.resolve())
    log(f"{name}: night with {NEW_NIGHT} new (run_once)")
    out["new_10k"] = run_once(inbox, warehouse)
    if process:
        p_inbox, p_warehouse = work / "process" / "landing", work / "process" / "warehouse.duckdb"
        (p_inbox / new_file.name).unlink(missing_ok=True)
        (p_inbox / new_file.name).symlink_to(new_file.resolve())
        log(f"{name}: night with {NEW_NIGHT} new (surveyhouse run)")
        out["process_new_10k"] = surveyhouse_run(p_inbox, p_warehouse, env)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="responses per Qualtrics export, comma-separated (default 100k,1m)")
    parser.add_argument("--mix", default="1m", help="responses split over every layout ('' to skip; default 1m)")
    parser.add_argument("--cache", default=str(ROOT / ".bench-cache"), help="generated files and runs (git-ignored)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="report to write")
    parser.add_argument("--no-prefect", action="store_true", help="skip the whole-process `surveyhouse run` measures")
    parser.add_argument("--baseline-max", default="5m", help="largest size the pandas baseline runs at (default 5m)")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    cache = Path(args.cache).absolute()
    cache.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    # One Prefect home for every `surveyhouse run` (warm, as on a machine that runs nightly).
    env = {"PREFECT_HOME": str(cache / "prefect-home")}
    process = not args.no_prefect
    results: dict = {"machine": machine(), "command": command.strip(), "started": started.isoformat(), "sizes": {}, "nights": {}}
    new_file = export(cache, "qualtrics_en", NEW_NIGHT, seed=7)
    if process:
        # (An empty landing folder would do, but a first run on one fails in build_tables: see notes.md.)
        log("warming up Prefect's home (a run on the 10k export, then a night with nothing new)")
        small, warehouse = fresh_inbox(cache / "runs" / "warmup", [new_file])
        results["process_warmup"] = surveyhouse_run(small, warehouse, env)
        results["process_empty"] = surveyhouse_run(small, warehouse, env)
    for n in sizes:
        log(f"generating the {label(n)} Qualtrics export")
        begin = time.perf_counter()
        path = export(cache, "qualtrics_en", n)
        name = f"qualtrics_{label(n)}"
        results["sizes"][name] = {"n": n, "generate_s": time.perf_counter() - begin}
        results["sizes"][name] |= bench_files(name, [path], cache, env=env, baseline=n <= parse_size(args.baseline_max), process=process)
        results["nights"][name] = nights(name, cache, new_file, env=env, process=process)
        _save(cache, results)
    if args.mix.strip():
        n = parse_size(args.mix)
        log(f"generating {label(n)} responses over every layout")
        files = mixed_exports(cache, n)
        name = f"mix_{label(n)}"
        results["sizes"][name] = {"n": n, "mix": True} | bench_files(name, files, cache, env=env, baseline=False, process=process)
        _save(cache, results)
    results["finished"] = datetime.now(UTC).isoformat()
    results["machine"]["load_after"] = os.getloadavg()
    _save(cache, results)
    write_report(results, Path(args.out))
    log(f"wrote {args.out}")
    return 0


def _save(cache: Path, results: dict) -> None:
    (cache / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
