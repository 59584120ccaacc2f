"""BENCHMARKS.md from the results of one benchmark run (bench/run.py).

Every figure comes from the results; the prose around them (where the time goes and
what would close a gap) is in ``bench/notes.md``, appended as it is.
"""

from __future__ import annotations

from pathlib import Path

GIB = 1024

STAGES = [
    ("read", "read the file into a raw frame (flows.read.read_export)"),
    ("parse", "recognise the layout, metadata and timestamps (layout.parse, meta)"),
    ("map", "labels to option codes, one row per response (map_cells, canonical_responses)"),
    ("validate", "pandera checks and quarantine rows"),
    ("type_hash_write", "Enum types, keyed hashes of emails and IPs, Parquet"),
    ("screen", "superseded versions, derived segments, screening flags, weights"),
    ("answers", "the answers table (one row per response and choice)"),
    ("crosstab", "every question x answer x segment value, with statistics"),
    ("claims_trend", "unscreened crosstab, claims, trend"),
    ("validate_tables", "pandera on the responses, answers and crosstab tables"),
    ("build_tables", "flows.pipeline.build_tables as a whole (all of the four above and the small tables)"),
    ("publish", "flows.pipeline.publish: a new DuckDB file, swapped in"),
]


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _mib(mib: float | None) -> str:
    if mib is None:
        return "-"
    return f"{mib / GIB:.2f} GiB" if mib >= GIB else f"{mib:.0f} MiB"


def _x(value: float) -> str:
    return f"{value:.1f}x"


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def _rate(n: int, process: dict | None) -> str:
    return f"{n / process['wall_s']:,.0f}" if process else "-"


def _share(process: float | None, pipeline: float) -> str:
    return f"{_s(process - pipeline)} ({(process - pipeline) / process:.0%})" if process else "-"


def _floor(result: dict) -> float:
    return result["floor"][result["floor"]["best"]]["wall_s"]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def write_report(results: dict, out: Path) -> None:
    sizes = results["sizes"]
    qualtrics = {name: r for name, r in sizes.items() if not r.get("mix")}
    one_m = sizes.get("qualtrics_1M")
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "How long the nightly pipeline takes and how much memory it needs, at 100k, 1M and 5M responses,",
        "against the floor (reading the same file into a table, nothing more), a pandas baseline doing the",
        "same mapping, checks and crosstab, and Prefect's own share. All figures come from one run of",
        "the command below on the machine below; the machine is shared, so compare the ratios of one run,",
        "not absolute seconds across runs (passes vary by 20-40% on a quiet machine, more on a busy one).",
        "",
        "Reproduce (from the repository root, after `pip install -e .[bench]`):",
        "",
        "```bash",
        f"{results['command']}",
        "```",
        "",
        f"Run {results['started'][:16]} to {results.get('finished', '')[:16]} UTC. Generated exports and runs are kept in "
        "`.bench-cache/` (git-ignored), with every figure in `.bench-cache/results.json`.",
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
        f"{' '.join(f'{x:.1f}' for x in m.get('load_after', ()))} (1, 5, 15 min; 2 cores shared with other engineers' tests) |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + " |",
        "",
    ]
    lines += _targets(results, qualtrics, one_m)
    lines += _per_size(sizes)
    lines += _stages(sizes)
    lines += _nights(results)
    notes = Path(__file__).with_name("notes.md")
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").rstrip()]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _targets(results: dict, qualtrics: dict, one_m: dict | None) -> list[str]:
    lines = ["## Targets", ""]
    if one_m is None:
        return lines + ["(The 1M size was not part of this run: the targets are stated at 1M.)", ""]
    floor = _floor(one_m)
    process = one_m.get("process", {}).get("wall_s")
    pipeline = one_m["pipeline"]["wall_s"]
    baseline = one_m.get("baseline", {}).get("wall_s")
    crosstab = one_m["stages"]["stages"]["crosstab"]
    query = one_m["query"]
    rss = max(one_m["pipeline"]["rss_mib"], one_m.get("process", {}).get("rss_mib", 0))
    names = sorted(qualtrics, key=lambda name: qualtrics[name]["n"])
    growth = [(qualtrics[n]["n"], qualtrics[n]["bytes"], max(qualtrics[n]["pipeline"]["rss_mib"], qualtrics[n].get("process", {}).get("rss_mib", 0))) for n in names]
    growth_text = "; ".join(f"{_label(n)}: {b / 1e6:.0f} MB in, {_mib(r)}" for n, b, r in growth)
    slower = all(
        (r2 / r1) < (b2 / b1) for (_, b1, r1), (_, b2, r2) in zip(growth, growth[1:])
    ) if len(growth) > 1 else None
    nights = results["nights"].get("qualtrics_1M", {})
    nothing = nights.get("nothing_new", {})
    new = nights.get("new_10k", {})
    full = one_m["pipeline"]["work_s"]
    lines += [
        f"On the 1M-response Qualtrics export ({one_m['bytes'] / 1e6:.0f} MB); the floor is the faster of DuckDB and Polars "
        f"reading it: {_s(floor)} ({one_m['floor']['best']}).",
        "",
        "| target | measured | ratio | verdict |",
        "| --- | --- | --- | --- |",
    ]
    if process is not None:
        lines.append(f"| `surveyhouse run` (whole process) within 3x the floor | {_s(process)} vs floor {_s(floor)} | "
                     f"{_x(process / floor)} | {_verdict(process <= 3 * floor)} |")
    lines.append(f"| the same pipeline without Prefect (`run_once`, whole process) within 3x the floor | {_s(pipeline)} | "
                 f"{_x(pipeline / floor)} | {_verdict(pipeline <= 3 * floor)} |")
    if baseline is not None:
        subject = process if process is not None else pipeline
        lines.append(f"| at least 3x faster than the pandas baseline | baseline {_s(baseline)} vs `surveyhouse run` "
                     f"{_s(subject)} (`run_once` {_s(pipeline)}) | {_x(baseline / subject)} ({_x(baseline / pipeline)} without Prefect) | "
                     f"{_verdict(baseline >= 3 * subject)} ({_verdict(baseline >= 3 * pipeline)} without Prefect) |")
    lines += [
        f"| peak memory at 1M under 2 GiB | {_mib(rss)} | | {_verdict(rss < 2 * GIB)} |",
        f"| peak memory growing slower than the input | {growth_text} | | "
        f"{'-' if slower is None else _verdict(slower)} |",
        f"| crosstab over all segments at 1M under 5 s | {_s(crosstab)} | | {_verdict(crosstab < 5)} |",
        f"| one figure from the warehouse under 50 ms, in process | {_s(query['in_process_s'])} (median of 21: connect, query, close) | | "
        f"{_verdict(query['in_process_s'] < 0.05)} |",
        f"| the same, `surveyhouse sql` as a whole process | {_s(query['process_s'])} (median of 5) | | "
        f"{_verdict(query['process_s'] < 0.05)} |",
    ]
    if nothing:
        lines.append(f"| a night with nothing new: work past process start under 2 s | {_s(nothing['work_s'])} "
                     f"(process start to exit without Prefect {_s(nothing['wall_s'])}) | | {_verdict(nothing['work_s'] < 2)} |")
    if "process_nothing_new" in one_m:
        lines.append(f"| a night with nothing new, `surveyhouse run` start to exit | {_s(one_m['process_nothing_new']['wall_s'])} | | (reported) |")
    if new:
        lines.append(f"| a night with 10k new on a warehouse of 1M, well under a full 1M rebuild | {_s(new['work_s'])} vs full "
                     f"{_s(full)} (work past start) | {new['work_s'] / full:.0%} of a rebuild | {_verdict(new['work_s'] < 0.5 * full)} |")
    if "process_new_10k" in nights:
        lines.append(f"| the same night, `surveyhouse run` start to exit | {_s(nights['process_new_10k']['wall_s'])} | | (reported) |")
    if "process_empty" in results:
        lines += ["", f"Prefect's own cost: `surveyhouse run` with nothing new on a 10k warehouse (warm Prefect home) takes "
                  f"{_s(results['process_empty']['wall_s'])} start to exit; the first run of the bench (10k responses, a new "
                  f"Prefect home) took {_s(results['process_warmup']['wall_s'])}."]
    return lines + [""]


def _per_size(sizes: dict) -> list[str]:
    lines = [
        "## Whole runs, every size",
        "",
        "Each a separate process, from scratch (a new state folder). Rows per second: responses / wall time.",
        "",
        "| input | MB | floor DuckDB | floor Polars | `run_once` (process) | of which imports | `surveyhouse run` | pandas baseline | "
        "peak RSS `run_once` / `surveyhouse run` / baseline / floor (DuckDB, Polars) | rows/s `run_once` | rows/s `surveyhouse run` |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in sizes.items():
        n = r["n"]
        pipeline, process, baseline = r["pipeline"], r.get("process"), r.get("baseline")
        floor = r["floor"]
        rss = " / ".join([
            _mib(pipeline["rss_mib"]), _mib(process["rss_mib"]) if process else "-", _mib(baseline["rss_mib"]) if baseline else "-",
            f"{_mib(floor['duckdb']['rss_mib'])}, {_mib(floor['polars']['rss_mib'])}",
        ])  # fmt: skip
        lines.append(
            f"| {name} ({len(r['files'])} file{'s' if len(r['files']) > 1 else ''}) | {r['bytes'] / 1e6:.0f} | "
            f"{_s(floor['duckdb']['wall_s'])} | {_s(floor['polars']['wall_s'])} | {_s(pipeline['wall_s'])} | {_s(pipeline['imports_s'])} | "
            f"{_s(process['wall_s']) if process else '-'} | {_s(baseline['wall_s']) if baseline else '-'} | {rss} | "
            f"{n / pipeline['wall_s']:,.0f} | {_rate(n, process)} |"
        )
    lines += ["", "Ratios (same run):", "", "| input | `run_once` / floor | `surveyhouse run` / floor | baseline / `run_once` | baseline / `surveyhouse run` | Prefect's share of `surveyhouse run` |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name, r in sizes.items():
        floor = _floor(r)
        pipeline, process, baseline = r["pipeline"]["wall_s"], r.get("process", {}).get("wall_s"), r.get("baseline", {}).get("wall_s")
        lines.append(
            f"| {name} | {_x(pipeline / floor)} | {_x(process / floor) if process else '-'} | {_x(baseline / pipeline) if baseline else '-'} | "
            f"{_x(baseline / process) if baseline and process else '-'} | "
            f"{_share(process, pipeline)} |"
        )
    return lines + [""]


def _stages(sizes: dict) -> list[str]:
    names = list(sizes)
    lines = [
        "## Where the time goes: stages",
        "",
        "Wall time of each stage, its functions called directly (bench/stages.py; no timers in production code). "
        "The per-file stages add up over the files of an input.",
        "",
        "| stage | what | " + " | ".join(names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for stage, what in STAGES:
        lines.append(f"| {stage} | {what} | " + " | ".join(_s(sizes[n]["stages"]["stages"].get(stage)) for n in names) + " |")
    lines.append("| tables | rows published | " + " | ".join(
        ", ".join(f"{t} {v:,}" for t, v in sizes[n]["stages"]["rows"].items() if t in ("responses", "answers", "crosstab", "quarantine"))
        for n in names) + " |")  # fmt: skip
    lines += ["", "| query of one figure | in process | `surveyhouse sql` process |", "| --- | --- | --- |"]
    lines += [f"| {n} | {_s(sizes[n]['query']['in_process_s'])} | {_s(sizes[n]['query']['process_s'])} |" for n in names]
    return lines + [""]


def _nights(results: dict) -> list[str]:
    nights = results["nights"]
    if not nights:
        return []
    lines = [
        "## Nightly cost follows new data",
        "",
        "On the warehouse each from-scratch run built: the next night with nothing new, then a night with one new export of "
        "10k responses. Per-file staging means old files are never read again (each staged Parquet is); the build still "
        "reads every staged response and rebuilds every table. `run_once` work = past imports, to exit.",
        "",
        "| history | full build (work) | nothing new: work / process | 10k new: work / process / peak RSS | 10k new, `surveyhouse run` | 10k new vs full |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, night in nights.items():
        full = results["sizes"][name]["pipeline"]["work_s"]
        nothing, new = night["nothing_new"], night["new_10k"]
        process = night.get("process_new_10k", {}).get("wall_s")
        lines.append(
            f"| {name} | {_s(full)} | {_s(nothing['work_s'])} / {_s(nothing['wall_s'])} | {_s(new['work_s'])} / {_s(new['wall_s'])} / "
            f"{_mib(new['rss_mib'])} | {_s(process)} | {new['work_s'] / full:.0%} |"
        )
    return lines + [""]
