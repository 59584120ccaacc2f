"""BENCHMARKS.md is written from a run's results (bench/report.py), without running any
benchmark: every target has a line and a verdict, a failed measure says why, and the
scale-out section (bench/distributed.md, written by whoever measures it) is included
verbatim when it exists."""

from __future__ import annotations

import json
from pathlib import Path

import bench.report as report

SAMPLE = Path(__file__).with_name("results_sample.json")  # a 20k run's results, relabelled as 1M


def test_the_report_states_every_target_with_a_verdict(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "HERE", tmp_path)  # no notes.md, no distributed.md
    out = tmp_path / "BENCHMARKS.md"
    report.write_report(json.loads(SAMPLE.read_text()), out)
    text = out.read_text()
    for target in ("the demo's 10 exports (4,746 rows) from scratch", "a second night with nothing new",
                   "<= 10x the floor", "pandas + pandera baseline", "peak RSS at 1M", "peak RSS of the 1M mix", "peak RSS at 5M",
                   "10k new responses on a 1M warehouse"):  # fmt: skip
        line = next(line for line in text.splitlines() if target in line)
        assert "**met**" in line or "**missed**" in line or "(reported" in line or "not measured" in line, line
    assert "stopped at the memory cap" in text  # a measure that failed says why
    assert "## Nightly cost follows new data" in text and "## Where the time goes: stages" in text


def test_the_report_profiles_the_demo_night_step_by_step(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "HERE", tmp_path)
    out = tmp_path / "BENCHMARKS.md"
    report.write_report(json.loads(SAMPLE.read_text()), out)
    section = out.read_text().split("## The demo night, step by step")[1].split("\n## ")[0]
    for step in ("| imports |", "| discover |", "| ingest ", "| build |", "| publish |", "| report |"):
        assert step in section, step
    assert "`surveyhouse run` beside a running `surveyhouse serve`" in section


def test_notes_and_the_distributed_section_are_included_verbatim(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "HERE", tmp_path)
    (tmp_path / "notes.md").write_text("## Closing note\n\nWhere the time goes.\n")
    (tmp_path / "distributed.md").write_text("## Distributed\n\n| workers | seconds |\n| --- | --- |\n| 2 | 1.0 |\n")
    out = tmp_path / "BENCHMARKS.md"
    report.write_report(json.loads(SAMPLE.read_text()), out)
    text = out.read_text()
    assert "## Closing note\n\nWhere the time goes." in text
    assert text.rstrip().endswith("## Distributed\n\n| workers | seconds |\n| --- | --- |\n| 2 | 1.0 |")
