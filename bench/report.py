"""BENCHMARKS.md from the results of one benchmark run (bench/run.py).

Every figure comes from the results. Two files beside this one are included verbatim
when they exist: ``bench/notes.md`` (where the time goes and what would close each
gap, written from a run's profiles) and ``bench/distributed.md`` (the scale-out
measurements, written by whoever measures them).
"""

from __future__ import annotations

from pathlib import Path

from bench.report_format import error_of, get, is_ok, mib, seconds, times, verdict
from bench.targets import demo_section, targets_section

HERE = Path(__file__).resolve().parent

STAGES = [
    ("read", "read the file into a raw frame (surveyhouse.read.read_export)"),
    ("parse", "recognise the layout, metadata and timestamps (layout.parse, meta)"),
    ("map", "labels to option codes, one row per response (surveyhouse.staging.canonical_frame)"),
    ("validate", "pandera checks (canonical schema) and quarantine rows"),
    ("type_hash_write", "Enum types, keyed hashes of emails and IPs, masks, Parquet"),
    ("screen", "superseded versions, derived segments, screening flags, weights"),
    (
        "answers",
        "the answers table (one row per response and choice), built and validated a slice of 100k responses at a time; in the flow this happens inside the publish",
    ),
    (
        "crosstab",
        "every question x answer x segment value, with statistics, and the same with no exclusions (for the claims), from one pass",
    ),
    ("claims_trend", "claims (against the unscreened crosstab too), trend"),
    ("validate_tables", "pandera on the responses, answers and crosstab tables"),
    (
        "build_tables",
        "surveyhouse.build.build_tables as a whole, from every staged file (the stages above but the answers, and the small tables)",
    ),
    (
        "publish",
        "surveyhouse.night.publish: a new DuckDB file, the answers built and written a slice at a time, swapped in",
    ),
    ("report_page", "the HTML report page the flow writes after its publish"),
]


_ok, _get, _s, _mib, _x, _error, _verdict = is_ok, get, seconds, mib, times, error_of, verdict


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def _floor(result: dict) -> float | None:
    best = result["floor"].get("best")
    return result["floor"][best]["wall_s"] if best else None


def write_report(results: dict, out: Path) -> None:
    sizes = results["sizes"]
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "How long the nightly pipeline takes and how much memory it needs at 100k, 1M and 5M responses,",
        "against the floor (reading the same file into a table, nothing more), a pandas baseline doing the",
        "same mapping, checks and crosstab, and Prefect's own share. Every figure comes from one run of the",
        "command below on the machine below, written into this file by that command. The machine is",
        "shared (2 cores; other people's test suites ran at the same time, see the load averages): compare",
        "the ratios of one run, not absolute seconds across runs.",
        "",
        "Reproduce (from the repository root, with the `bench` extra: `pip install -e .[bench]`, which adds pandas):",
        "",
        "```bash",
        results["command"],
        "```",
        "",
        f"Run {results['started'][:16]} to {results.get('finished', '')[:16]} UTC. The generated exports and the runs are kept in "
        "`.bench-cache/` (git-ignored; generating the 5M export takes a few minutes the first time), every figure in "
        "`.bench-cache/results.json`; `python -m bench --report-only` writes this file again from it.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS, Python | {m['os']}, Python {m['python']} |",
        f"| load average before / after | {' '.join(f'{x:.1f}' for x in m['load_before'])} / "
        f"{' '.join(f'{x:.1f}' for x in m.get('load_after', ()))} (1, 5, 15 min) |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + " |",
        "",
    ]
    lines += targets_section(results)
    lines += demo_section(results)
    lines += _prefect(results)
    lines += _per_size(sizes)
    lines += _stages(sizes)
    lines += _nights(results)
    for extra in ("notes.md", "distributed.md"):
        path = HERE / extra
        if path.exists():
            lines += [path.read_text(encoding="utf-8").rstrip(), ""]
    out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def _peak(result: dict) -> float | None:
    values = [_get(result.get(k), "rss_mib") for k in ("pipeline", "process")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _prefect(results: dict) -> list[str]:
    lines = ["## Prefect's own cost", ""]
    first, again, bare = results.get("process_empty_first"), results.get("process_empty"), results.get("run_once_empty")
    if not _ok(again):
        return []
    lines += [
        "`surveyhouse run` on an empty landing folder, as a whole process: what a night costs before any data.",
        "`surveyhouse run` starts Prefect's temporary server (no UI, no services, SQLite in the project's Prefect home) "
        "as its first step, so the server starts while the command imports its modules (flows/prefect_server.py).",
        "",
        "| | start to exit | start to the flow's first line | flow's first line to exit | peak RSS of the command |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, part in (("first run, new Prefect home (database created)", first), ("second run, same home", again)):
        if _ok(part):
            begins = part.get("flow_begins_s")
            lines.append(f"| `surveyhouse run`, {label} | {_s(part['wall_s'])} | {_s(begins)} | "
                         f"{_s(part['wall_s'] - begins) if begins else '-'} | {_mib(part['rss_mib'])} |")  # fmt: skip
    if _ok(bare):
        lines.append(f"| `run_night` (no Prefect), same folder | {_s(bare['wall_s'])} | imports {_s(bare['imports_s'])} | "
                     f"{_s(bare['work_s'] + bare['report_s'])} | {_mib(bare['rss_mib'])} |")  # fmt: skip
    return lines + [""]


def _per_size(sizes: dict) -> list[str]:
    lines = [
        "## Whole runs, every size",
        "",
        "Each a separate process, from scratch (a new state folder and warehouse). `run_night` includes the report page "
        "the flow writes after its publish. Rows per second: responses in the input / wall time of the whole process.",
        "",
        "| input | MB | floor DuckDB | floor Polars | `run_night` | of which imports, report page | `surveyhouse run` | pandas baseline | "
        "peak RSS `run_night` / `surveyhouse run` / baseline / floor DuckDB, Polars | rows/s `run_night` | rows/s `surveyhouse run` |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in sizes.items():
        n = r["n"]
        pipeline, process, baseline, floor = r.get("pipeline"), r.get("process"), r.get("baseline"), r["floor"]
        rss = " / ".join([
            _mib(_get(pipeline, "rss_mib")), _mib(_get(process, "rss_mib")), _mib(_get(baseline, "rss_mib")),
            f"{_mib(_get(floor.get('duckdb'), 'rss_mib'))}, {_mib(_get(floor.get('polars'), 'rss_mib'))}",
        ])  # fmt: skip
        parts = (
            f"{_s(_get(pipeline, 'imports_s'))}, {_s(_get(pipeline, 'report_s'))}"
            if _ok(pipeline)
            else _error(pipeline)
        )
        lines.append(
            f"| {name} ({len(r['files'])} file{'s' if len(r['files']) > 1 else ''}) | {r['bytes'] / 1e6:,.0f} | "
            f"{_s(_get(floor.get('duckdb'), 'wall_s'))} | {_s(_get(floor.get('polars'), 'wall_s'))} | {_s(_get(pipeline, 'wall_s'))} | "
            f"{parts} | {_s(_get(process, 'wall_s')) if _ok(process) else _error(process)} | "
            f"{_s(_get(baseline, 'wall_s')) if _ok(baseline) or baseline is None else _error(baseline)} | {rss} | "
            f"{_rate(n, pipeline)} | {_rate(n, process)} |"
        )
    lines += [
        "",
        "Ratios (same run):",
        "",
        "| input | `run_night` / floor | `surveyhouse run` / floor | baseline / `run_night` | baseline / `surveyhouse run` | Prefect's share of `surveyhouse run` |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in sizes.items():
        floor = _floor(r)
        pipeline, process, baseline = (_get(r.get(k), "wall_s") for k in ("pipeline", "process", "baseline"))
        share = f"{_s(process - pipeline)} ({(process - pipeline) / process:.0%})" if process and pipeline else "-"
        lines.append(f"| {name} | {_x(_div(pipeline, floor))} | {_x(_div(process, floor))} | {_x(_div(baseline, pipeline))} | "
                     f"{_x(_div(baseline, process))} | {share} |")  # fmt: skip
    return lines + [""]


def _rate(n: int, part) -> str:
    seconds = _get(part, "wall_s")
    return f"{n / seconds:,.0f}" if seconds else "-"


def _stages(sizes: dict) -> list[str]:
    names = [name for name, r in sizes.items() if _ok(r.get("stages"))]
    if not names:
        return []
    lines = [
        "## Where the time goes: stages",
        "",
        "Wall time of each stage, its functions called directly in one process per input (bench/stages.py; production "
        "code has no timers), and the peak RSS during it (the high-water mark reset before each stage). The per-file "
        "stages add up over the files of an input; `build_tables` is timed again as a whole.",
        "",
        "| stage | what | " + " | ".join(names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for stage, what in STAGES:
        lines.append(
            f"| {stage} | {what} | " + " | ".join(_stage_cell(sizes[n]["stages"], stage) for n in names) + " |"
        )
    lines.append("| rows | published | " + " | ".join(
        ", ".join(f"{t} {v:,}" for t, v in sizes[n]["stages"]["rows"].items() if t in ("responses", "answers", "crosstab", "quarantine"))
        for n in names) + " |")  # fmt: skip
    queried = [n for n in sizes if _ok(sizes[n].get("query"))]
    if queried:
        lines += ["", "| query of one figure (`select pct from crosstab where ...`) | in process (connect, query, close) | `surveyhouse sql`, whole process |",
                  "| --- | --- | --- |"]  # fmt: skip
        lines += [
            f"| {n} | {_s(sizes[n]['query']['in_process_s'])} | {_s(sizes[n]['query']['process_s'])} |" for n in queried
        ]
    return lines + [""]


def _stage_cell(stages: dict, stage: str) -> str:
    """The stage's seconds, and its peak RSS when measured (bench/stages.py)."""
    peak = stages.get("peak_rss_mib", {}).get(stage)
    return _s(stages["stages"].get(stage)) + (f", peak {_mib(peak)}" if peak is not None else "")


def _nights(results: dict) -> list[str]:
    nights = results["nights"]
    if not nights:
        return []
    lines = [
        "## Nightly cost follows new data",
        "",
        "On the warehouse each from-scratch run built: the next night with nothing new, then a night with one new export "
        "of 10k responses. Old exports are never read again: a file already ingested is recognised by its size, inode and "
        "times (its SHA-256 is computed once). A night with new files on an unweighted study is incremental: screening is "
        "decided from each response's screening inputs kept in the warehouse (`_build.screening`) and the new files' rows, "
        "the crosstab from the kept sums (`_build.crosstab_sums`) plus the changed responses' and minus the replaced ones', "
        "and only the `responses` rows that changed are written, into a copy of the live file made while the night stages "
        "(surveyhouse/incremental.py). Work = past imports, to exit.",
        "",
        "| history | from scratch (work) | nothing new: work / whole process | 10k new: work / whole process / peak RSS | "
        "10k new vs from scratch | 10k new, `surveyhouse run` |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, night in nights.items():
        full = _get(results["sizes"][name].get("pipeline"), "work_s")
        nothing, new = night.get("nothing_new"), night.get("new_10k")
        process = _get(night.get("process_new_10k"), "wall_s")
        lines.append(
            f"| {name} | {_s(full)} | "
            + (f"{_s(nothing['work_s'])} / {_s(nothing['wall_s'])}" if _ok(nothing) else _error(nothing))
            + " | "
            + (f"{_s(new['work_s'])} / {_s(new['wall_s'])} / {_mib(new['rss_mib'])}" if _ok(new) else _error(new))
            + " | "
            + (f"{new['work_s'] / full:.0%}" if _ok(new) and full else "-")
            + f" | {_s(process)} |"
        )
    return lines + [""]
