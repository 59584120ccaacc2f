"""BENCHMARKS.md's targets (issue 18's table) and the demo night's profile, from one run's results.

Each target is one row: what was measured, its ratio, met or missed (or not measured at
this run's sizes, saying why). Every figure is a whole process of the same run.
"""

from __future__ import annotations

from bench.report_format import GIB, error_of, get, is_ok, mib, seconds, times, verdict


def _floor(result: dict) -> float | None:
    best = result["floor"].get("best")
    return result["floor"][best]["wall_s"] if best else None


def _peak(result: dict | None) -> float | None:
    if not result:
        return None
    values = [get(result.get(k), "rss_mib") for k in ("pipeline", "process")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def demo_rows(results: dict) -> list[tuple[str, str, str, str]]:
    demo = results.get("demo") or {}
    scratch, nothing, served = demo.get("scratch"), demo.get("nothing_new"), demo.get("served")
    rows = []
    if is_ok(scratch):
        also = (
            f"; beside a running `surveyhouse serve` (its server reused) {seconds(served['wall_s'])}"
            if is_ok(served)
            else ""
        )
        rows.append(("the demo's 10 exports (4,746 rows) from scratch, `surveyhouse run`, whole process: <= 5 s",
                     f"{seconds(scratch['wall_s'])} (temporary Prefect server){also}", times(scratch["wall_s"] / 5),
                     verdict(scratch["wall_s"] <= 5, f"by {seconds(scratch['wall_s'] - 5)}")))  # fmt: skip
    else:
        rows.append(("the demo's 10 exports from scratch: <= 5 s", error_of(scratch), "-", "not measured"))
    if is_ok(nothing):
        rows.append(("the same, a second night with nothing new: <= 1.5 s", seconds(nothing["wall_s"]),
                     times(nothing["wall_s"] / 1.5), verdict(nothing["wall_s"] <= 1.5, f"by {seconds(nothing['wall_s'] - 1.5)}")))  # fmt: skip
    else:
        rows.append(("a second night with nothing new: <= 1.5 s", error_of(nothing), "-", "not measured"))
    return rows


def large_rows(results: dict) -> list[tuple[str, str, str, str]]:
    sizes = results["sizes"]
    one_m = sizes.get("qualtrics_1M")
    if one_m is None:
        why = "not measured: the 1M size was not part of this run"
        return [(text, why, "-", "not measured") for text in (
            "1M Qualtrics export, `surveyhouse run` from scratch: <= 10x the floor (same run)",
            "the same against the pandas + pandera baseline: >= 3x faster",
            "10k new responses on a 1M warehouse: <= 10% of a rebuild")] + _memory_rows(sizes)  # fmt: skip
    floor, process = _floor(one_m), get(one_m.get("process"), "wall_s")
    baseline = get(one_m.get("baseline"), "wall_s")
    rows = []
    if floor and process:
        rows.append(("1M Qualtrics export, `surveyhouse run` from scratch: <= 10x the floor (same run)",
                     f"{seconds(process)}; floor {seconds(floor)} ({one_m['floor']['best']})", times(process / floor),
                     verdict(process <= 10 * floor, f"by {seconds(process - 10 * floor)}")))  # fmt: skip
    else:
        rows.append(("1M from scratch: <= 10x the floor", error_of(one_m.get("process")), "-", "not measured"))
    if baseline and process:
        rows.append(("the same against the pandas + pandera baseline (`bench/baseline_pandas.py`): >= 3x faster",
                     f"baseline {seconds(baseline)}, `surveyhouse run` {seconds(process)}", times(baseline / process),
                     verdict(baseline / process >= 3)))  # fmt: skip
    else:
        rows.append(("against the pandas baseline: >= 3x faster", error_of(one_m.get("baseline")), "-", "not measured"))
    new = results["nights"].get("qualtrics_1M", {}).get("new_10k")
    full = get(one_m.get("pipeline"), "work_s")
    if is_ok(new) and full:
        share = new["work_s"] / full
        rows.append(("10k new responses on a 1M warehouse vs a rebuild (`run_night`, work past imports): <= 10%",
                     f"{seconds(new['work_s'])} vs {seconds(full)}", f"{share:.0%}", verdict(share <= 0.10)))  # fmt: skip
    else:
        rows.append(("10k new on a 1M warehouse: <= 10% of a rebuild", error_of(new), "-", "not measured"))
    return rows + _memory_rows(sizes)


def _flat_memory_row(sizes: dict) -> list[tuple[str, str, str, str]]:
    """Peak RSS of the largest single-export size against the smallest: within 1.3x for memory flat in the input."""
    points = sorted((r["n"], _peak(r)) for r in sizes.values() if not r.get("mix") and _peak(r) is not None)
    if len(points) < 2:
        return []
    (n1, r1), (n2, r2) = points[0], points[-1]
    return [(f"peak RSS flat in the input size: {n2:,} responses within 1.3x of {n1:,} ({n2 / n1:.0f}x the input)",
             f"{mib(r2)} vs {mib(r1)}", times(r2 / r1), verdict(r2 / r1 <= 1.3))]  # fmt: skip


def _memory_rows(sizes: dict) -> list[tuple[str, str, str, str]]:
    rows = _flat_memory_row(sizes)
    measured = (("qualtrics_1M", "at 1M", 1.5), ("mix_1M", "of the 1M mix (5 files, every layout)", 1.5),
                ("qualtrics_5M", "at 5M", 2.0))  # fmt: skip
    for name, what, cap in measured:
        peak = _peak(sizes.get(name))
        label = f"peak RSS {what} (largest of `run_night` and `surveyhouse run`): <= {cap:g} GiB"
        if peak is None:
            rows.append((label, "not measured in this run", "-", "not measured"))
        else:
            rows.append((label, mib(peak), times(peak / (cap * GIB)), verdict(peak <= cap * GIB)))
    return rows


def targets_section(results: dict) -> list[str]:
    rows = demo_rows(results) + large_rows(results)
    return [
        "## Targets (issue 18)",
        "",
        "Every figure a whole process of this run; ratio = measured / target (a ratio against the floor or the "
        "baseline where the target is one).",
        "",
        "| target | measured | ratio | verdict |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
    ]


def demo_section(results: dict) -> list[str]:
    """Where the demo night's seconds go: run_night step by step, beside the whole processes."""
    demo = results.get("demo") or {}
    first, again = demo.get("profile"), demo.get("profile_nothing_new")
    if not is_ok(first):
        return []
    lines = [
        "## The demo night, step by step",
        "",
        "`python -m bench.demo_profile` (bench/demo_profile.py): `run_night` without Prefect, each step timed in one "
        "process; the whole processes beside it. What `surveyhouse run` adds to `run_night` is Prefect: its server "
        "(started at the command's start, in parallel with the imports; none for a night with nothing new, and none "
        "beside a running `surveyhouse serve`) and the flow and task runs.",
        "",
        "| step | from scratch | peak RSS during the step | nothing new |",
        "| --- | --- | --- | --- |",
    ]
    steps_again = again.get("steps", {}) if is_ok(again) else {}
    peaks = first.get("peak_rss_mib", {})
    for step, value in first["steps"].items():
        lines.append(f"| {step} | {seconds(value)} | {mib(peaks.get(step))} | {seconds(steps_again.get(step))} |")
    lines.append(f"| **`run_night`, whole process** | {seconds(first['wall_s'])} | {mib(first['rss_mib'])} | "
                 f"{seconds(get(again, 'wall_s'))} |")  # fmt: skip
    for key, label in (("scratch", "`surveyhouse run`, whole process (temporary Prefect server)"),
                       ("served", "`surveyhouse run` beside a running `surveyhouse serve`")):  # fmt: skip
        part = demo.get(key)
        if part is not None:
            nothing = demo.get("nothing_new") if key == "scratch" else None
            lines.append(f"| **{label}** | {seconds(get(part, 'wall_s')) if is_ok(part) else error_of(part)} | "
                         f"{mib(get(part, 'rss_mib'))} | {seconds(get(nothing, 'wall_s'))} |")  # fmt: skip
    scratch = demo.get("scratch")
    if is_ok(scratch) and scratch.get("flow_begins_s"):
        lines += ["", f"`surveyhouse run` from scratch: the flow's first line {seconds(scratch['flow_begins_s'])} after "
                  f"the start (imports and waiting for the temporary server), its last "
                  f"{seconds(scratch.get('flow_ends_s'))}; peak RSS {mib(scratch['rss_mib'])}."]  # fmt: skip
    return lines + [""]
