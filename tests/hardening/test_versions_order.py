"""Which version of a response wins is decided by what the exports say, never by the order
in which files happened to be staged (``file_order``) nor by their names.

Two exports of the same responses (same ids, same submission times), the second with
edited answers and written later: the edited answers win whatever the files are called,
whichever was staged first, and after a run killed between the two stagings.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.exports.qualtrics import write_qualtrics
from demo.model import simulate_respondents
from schemas.codebook import codebook
from schemas.study import load_study
from surveyhouse.discover import discover_files
from surveyhouse.night import Night, build_night, run_night, stage_file, state_for
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import load_settings
from surveyhouse.staging import RECORD
from tests.flows.snapshots import assert_same, snapshot
from transforms.responses import mark_superseded

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
FREQUENCIES = ["daily", "few_per_week", "weekly", "few_per_month", "rarely", "never"]
WRITTEN = datetime(2023, 11, 30, 18, 0, tzinfo=UTC)


def corrected(frame: pl.DataFrame, *, every: int) -> pl.DataFrame:
    """``frame`` with ai_frequency changed for every ``every``-th respondent (times unchanged)."""
    shifted = {code: FREQUENCIES[(i + 1) % len(FREQUENCIES)] for i, code in enumerate(FREQUENCIES)}
    changed = pl.int_range(pl.len()) % every == 0
    return frame.with_columns(
        ai_frequency=pl.when(changed)
        .then(pl.col("ai_frequency").replace_strict(shifted, default=None))
        .otherwise(pl.col("ai_frequency"))
    )


def write_export(frame: pl.DataFrame, path: Path, *, hours_after: int) -> Path:
    """A Qualtrics export (seed 4: the same response ids for the same rows) written at a set time."""
    write_qualtrics(frame, path, seed=4)
    stamp = (WRITTEN + timedelta(hours=hours_after)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def settings_for(landing: Path, warehouse: Path):
    """Settings of a warehouse; one hashing key for all (their personal-data hashes compare)."""
    return dataclasses.replace(load_settings(inbox=str(landing), warehouse=str(warehouse)), secret="versions")


def current_answers(warehouse: Path) -> pl.DataFrame:
    """The responses' ai_frequency and source file, in the exports' row order."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            "select ai_frequency::varchar as ai_frequency, source_file from responses order by source_row"
        ).pl()


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory):
    """The landing folder: an export, and a later one of the same responses with 40 corrections."""
    root = tmp_path_factory.mktemp("versions")
    landing = root / "landing"
    landing.mkdir()
    original = simulate_respondents(n=200, seed=11)
    # Named so that the name puts the later export first (and staging would, by name).
    write_export(corrected(original, every=5), landing / "Survey export 2023-11-30 (corrected).csv", hours_after=1)
    write_export(original, landing / "Survey export 2023-11-30 (older).csv", hours_after=0)
    expected = corrected(original, every=5)["ai_frequency"].to_list()
    return root, landing, expected


def test_the_later_export_wins_whatever_its_name(two_exports):
    root, landing, expected = two_exports
    settings = settings_for(landing, root / "named" / "w.duckdb")
    run_night(load_study(), settings)
    answers = current_answers(settings.warehouse)
    assert set(answers["source_file"]) == {"Survey export 2023-11-30 (corrected).csv"}
    assert answers["ai_frequency"].to_list() == expected, "the 40 corrections must win"


def test_which_version_wins_does_not_depend_on_the_order_files_were_staged(two_exports):
    root, landing, _ = two_exports
    book = codebook()
    uninterrupted = settings_for(landing, root / "uninterrupted" / "w.duckdb")
    run_night(load_study(), uninterrupted)
    # A run that staged the second file (staging is concurrent in the flow) and was killed
    # before the first: the next run stages the first with a later file_order.
    killed = settings_for(landing, root / "killed" / "w.duckdb")
    found = discover_files(killed.inbox, state=state_for(killed), default_wave=book.wave, settle_s=0).new
    night = Night.of(load_study(), killed)
    first = night.state.next_file_order()
    stage_file(night, found[1], run_id="20231130T000000Z-killed", file_order=first + 1)
    run_night(load_study(), killed)
    orders = dict(
        (json.loads(p.read_text())["source_file"], json.loads(p.read_text())["file_order"])
        for p in state_for(killed).staged_dir.glob(f"*/{RECORD}")
    )
    assert orders[found[1].path.name] < orders[found[0].path.name], "the kill changed the staging order"
    assert_same(
        snapshot(killed.warehouse, drop=("run_id", "file_order")),
        snapshot(uninterrupted.warehouse, drop=("run_id", "file_order")),
        "after a kill between two stagings",
    )


def test_a_version_is_chosen_by_submission_then_export_time_then_modification_time_then_sha():
    at = lambda day: datetime(2023, 12, day, tzinfo=UTC)  # noqa: E731
    rows = pl.DataFrame(
        {
            "wave": [2023] * 8,
            "source_tool": ["qualtrics"] * 8,
            "response_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "submitted_at": [at(2), at(1), at(1), at(1), at(1), at(1), at(1), at(1)],
            # a: submitted later wins over any file time; b: the export time beats the modification time;
            # c: a missing export time is older than a known one; d: equal times, the larger SHA-256.
            "exported_at": [at(1), at(9), at(3), at(2), None, at(2), None, None],
            "file_modified_at": [at(1), at(9), at(1), at(9), at(9), at(1), at(5), at(5)],
            "file_sha256": ["1", "2", "1", "2", "1", "2", "9", "8"],
            "file_order": [1, 2, 2, 1, 2, 1, 1, 2],
            "source_row": [5, 5, 5, 5, 5, 5, 5, 5],
        },
        schema_overrides={"submitted_at": pl.Datetime("us", "UTC"), "exported_at": pl.Datetime("us", "UTC")},
    )
    kept = mark_superseded(rows.lazy()).filter(~pl.col("is_superseded")).collect().sort("response_id")
    assert kept["file_sha256"].to_list() == ["1", "1", "2", "9"]


def test_the_tools_export_time_is_read_from_a_workbooks_properties_and_an_spss_header(tmp_path):
    from surveyhouse.read import export_time

    assert export_time(CASES / "spss_en_missing.sav") == datetime(2023, 10, 25, 0, 1, 37, tzinfo=UTC)
    assert export_time(CASES / "qualtrics_en_labels_joined.csv") is None
    workbook = tmp_path / "with properties.xlsx"
    shutil.copyfile(CASES / "surveymonkey_en.xlsx", workbook)
    assert export_time(workbook) is None  # no document properties
    core = (
        '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dcterms:created xsi:type="dcterms:W3CDTF">2023-11-29T08:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2023-11-30T09:15:00+01:00</dcterms:modified>'
        "</cp:coreProperties>"
    )
    data = io.BytesIO(workbook.read_bytes())
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("docProps/core.xml", core)
    workbook.write_bytes(data.getvalue())
    assert export_time(workbook) == datetime(2023, 11, 30, 8, 15, tzinfo=UTC)


def test_state_staged_before_the_file_times_were_recorded_still_builds(two_exports):
    root, landing, expected = two_exports
    settings = settings_for(landing, root / "old-state" / "w.duckdb")
    run_night(load_study(), settings)
    for record_path in state_for(settings).staged_dir.glob(f"*/{RECORD}"):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        for name in ("exported_at", "file_modified_at"):
            record.pop(name)
        record_path.write_text(json.dumps(record), encoding="utf-8")
    run = RunSummary(run_id="20231201T000000Z-oldsta", started_at=datetime.now(UTC))
    tables = build_night(Night.of(load_study(), settings), run)
    files = tables["files"]
    assert files["file_modified_at"].is_null().all() and files["exported_at"].is_null().all()
    assert tables["responses"].height == len(expected)
    assert sorted(files["superseded"].to_list()) == [0, len(expected)]
