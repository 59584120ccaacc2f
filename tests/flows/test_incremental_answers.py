"""A night's answers are built for the responses it brings, the others kept from the live
warehouse: the result equals a rebuild from the archive, superseding versions included."""

from __future__ import annotations

import csv
import shutil

import surveyhouse.build
from cli.main import main
from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.snapshots import assert_same, snapshot
from tests.flows.test_nights import edited, respondents


def keep_rows(path, rows: list[int], header_rows: int = 3) -> None:
    """Keep the header rows and these data rows (0-based) of a CSV export, in place."""
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    kept = records[:header_rows] + [records[header_rows + i] for i in rows]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(kept)


def test_a_night_builds_the_answers_of_its_own_responses_and_equals_a_rebuild(tmp_path, monkeypatch):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    write_qualtrics(respondents(10), inbox / "night1.csv", seed=9)
    run_night(load_study(), settings)

    write_qualtrics(edited(respondents(10)), inbox / "night2_edits.csv", seed=9)  # same ResponseIds, later EndDate
    keep_rows(inbox / "night2_edits.csv", [1, 4])  # only the two edited responses
    write_qualtrics(respondents(14), inbox / "night2_new.csv", seed=9)
    keep_rows(inbox / "night2_new.csv", [10, 11, 12, 13])  # only the four new ones
    built: list[int] = []
    real = surveyhouse.build.build_choices
    monkeypatch.setattr(
        surveyhouse.build,
        "build_choices",
        lambda responses, **k: built.append(responses.collect().height) or real(responses, **k),
    )
    second = run_night(load_study(), settings)
    assert second.files_new == 2 and built == [6]  # two new versions and four new responses, not all fourteen

    incremental = snapshot(settings.warehouse, drop=())
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy"))
    assert main(["rebuild", "--warehouse", str(copy / "w.duckdb")]) == 0
    assert_same(snapshot(copy / "w.duckdb", drop=()), incremental, "rebuilt")
    assert snapshot(copy / "w.duckdb")["answers"].height > 0
