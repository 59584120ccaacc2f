"""A failure shown again by a re-export is one failure: the quarantine keeps one row per
response, check and column (as the latest file gives it), and a run counts only the
failures the published quarantine lacked (runs.quarantined_rows)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.respondents import small_respondents

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
WRITTEN = datetime(2023, 11, 30, 18, 0, tzinfo=UTC)


def settings_for(landing: Path, warehouse: Path):
    """Settings under which a file with the dozen's five bad rows is loaded, not rejected whole."""
    settings = load_settings(inbox=str(landing), warehouse=str(warehouse))
    return dataclasses.replace(settings, secret="versions", max_quarantined_share=0.9)


def written_at(path: Path, *, hours_after: int) -> None:
    stamp = (WRITTEN + timedelta(hours=hours_after)).timestamp()
    os.utime(path, (stamp, stamp))


def query(settings, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        return connection.execute(sql).pl()


def failures(settings) -> pl.DataFrame:
    return query(settings, "select response_id, check_name, column_name, source_file from quarantine order by all")


def quarantined_rows_by_run(settings) -> list[int]:
    return query(settings, "select quarantined_rows from runs order by started_at")["quarantined_rows"].to_list()


def test_an_export_saved_again_does_not_count_its_quarantined_rows_again(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    export = landing / "AI in social media.csv"
    shutil.copyfile(CASES / "qualtrics_en_labels_joined.csv", export)
    written_at(export, hours_after=0)
    settings = settings_for(landing, tmp_path / "w.duckdb")
    run_night(load_study(), settings)
    before = failures(settings)
    assert before.height > 0 and before["response_id"].null_count() == 0
    # The same export saved again by an editor with other line endings: other bytes, the same rows.
    resaved = landing / "AI in social media (LF).csv"
    resaved.write_bytes(export.read_bytes().replace(b"\r\n", b"\n"))
    written_at(resaved, hours_after=1)
    run_night(load_study(), settings)
    after = failures(settings)
    assert after.drop("source_file").equals(before.drop("source_file"))
    assert set(after["source_file"]) == {resaved.name}, "each failure as the latest file shows it"
    assert quarantined_rows_by_run(settings) == [before.height, 0]


def test_a_cumulative_export_counts_the_same_bad_rows_once(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    settings = settings_for(landing, tmp_path / "w.duckdb")
    dozen = small_respondents()  # some of the twelve fail checks
    night1 = landing / "export night 1.csv"
    write_qualtrics(dozen, night1, seed=9)
    written_at(night1, hours_after=0)
    run_night(load_study(), settings)
    first = failures(settings)
    later = dozen.with_columns(
        pl.col("started_at", "submitted_at") + timedelta(days=40), respondent=pl.col("respondent") + 12
    ).filter(pl.col("respondent").is_in([13, 14, 15]))
    night2 = landing / "export night 2.csv"  # the same responses (same ids) and three new ones, all clean
    write_qualtrics(pl.concat([dozen, later]), night2, seed=9)
    written_at(night2, hours_after=24)
    run_night(load_study(), settings)
    second = failures(settings)
    assert second.drop("source_file").equals(first.drop("source_file"))
    assert quarantined_rows_by_run(settings) == [first.height, 0]


def test_latest_failures_keeps_one_row_per_response_check_and_column_from_the_latest_file():
    from transforms.quarantine import (  # (new: imported here, so the other tests run before it exists)
        QUARANTINE_SCHEMA,
        latest_failures,
    )

    day = lambda d: datetime(2023, 12, d, tzinfo=UTC)  # noqa: E731
    rows = [
        # (file, exported_at, modified, source_row, response_id, column, check)
        ("a", None, day(1), 5, "R_1", "role", "valid_option"),
        ("b", None, day(2), 7, "R_1", "role", "valid_option"),  # the same failure, later file: kept
        ("b", None, day(2), 7, "R_1", "team_size", "required_answered"),  # another check of it: kept
        ("c", day(1), day(1), 4, "R_1", "role", "valid_option"),  # a known export time is later than none
        ("a", None, day(1), 9, None, "role", "valid_option"),  # no response id: one per file
        ("b", None, day(2), 9, None, "role", "valid_option"),
        ("a", None, day(1), None, None, None, "file_quarantined_share"),  # whole-file rows: one per file
        ("b", None, day(2), None, None, None, "file_quarantined_share"),
    ]
    names = ["file_sha256", "exported_at", "file_modified_at", "source_row", "response_id", "column", "check"]
    frame = pl.DataFrame(
        rows,
        schema=dict(
            zip(names, [pl.Utf8, pl.Datetime("us", "UTC"), pl.Datetime("us", "UTC"), pl.Int64] + [pl.Utf8] * 3)
        ),
        orient="row",
    ).with_columns(
        run_id=pl.lit("r"), source_file=pl.col("file_sha256"), failure_case=pl.lit(None, pl.Utf8), message=pl.lit("m")
    )
    kept = latest_failures(frame.lazy()).collect()
    assert kept.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert sorted(kept.select("source_file", "source_row", "check").rows(), key=str) == sorted(
        [
            ("c", 4, "valid_option"),
            ("b", 7, "required_answered"),
            ("a", 9, "valid_option"),
            ("b", 9, "valid_option"),
            ("a", None, "file_quarantined_share"),
            ("b", None, "file_quarantined_share"),
        ],
        key=str,
    )
