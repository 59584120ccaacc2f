"""Three nights of the same survey: each response once, with its latest answers; a file
seen before is a no-op whatever its name; a broken file does not stop the others.

Night 1: a Qualtrics export of ten responses. Night 2: the cumulative export (the ten,
two of them edited since: same ResponseId, later EndDate, other answers; and four new
ones), plus a file cut short. Night 3: night 2's export again, under another name.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.respondents import small_respondents

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
CLEAN = [1, 2, 3, 8, 9, 10, 11]  # the respondents of the dozen that pass every check
EDITED = {1: "daily", 4: "never"}  # row of the cumulative export -> its new ai_frequency


def respondents(n: int) -> pl.DataFrame:
    """n clean respondents, submitted one after the other (night 1's first, then later ones)."""
    base = small_respondents().filter(pl.col("respondent").is_in(CLEAN))
    copies = [base.with_columns(pl.col("started_at", "submitted_at") + timedelta(days=30 * k)) for k in range(3)]
    return pl.concat(copies).head(n).with_columns(respondent=pl.int_range(1, n + 1, dtype=pl.Int64))


def edited(frame: pl.DataFrame) -> pl.DataFrame:
    row = pl.int_range(pl.len())
    changed = row.is_in(list(EDITED))
    return frame.with_columns(
        ai_frequency=pl.when(changed).then(row.replace_strict(EDITED, default=None)).otherwise(pl.col("ai_frequency")),
        submitted_at=pl.when(changed)
        .then(pl.col("submitted_at") + timedelta(days=1))
        .otherwise(pl.col("submitted_at")),
    )


def query(settings, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        return connection.execute(sql).pl()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("nights")
    inbox = root / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(root / "surveyhouse.duckdb"))
    seen = {}

    write_qualtrics(respondents(10), inbox / "AI+in+social+media_night1.csv", seed=9)
    seen[1] = (
        run_night(load_study(), settings),
        query(settings, "select * from responses"),
        query(settings, "select * from files"),
    )

    write_qualtrics(
        edited(respondents(14)), inbox / "AI+in+social+media_night2.csv", seed=9
    )  # same seed: same ResponseIds
    shutil.copyfile(CASES / "broken" / "truncated_mid_row.csv", inbox / "AI+in+social+media_partial_download.csv")
    seen[2] = (
        run_night(load_study(), settings),
        query(settings, "select * from responses"),
        query(settings, "select * from files"),
    )

    shutil.copyfile(inbox / "AI+in+social+media_night2.csv", inbox / "AI+in+social+media_night2 (1).csv")
    seen[3] = (
        run_night(load_study(), settings),
        query(settings, "select * from responses"),
        query(settings, "select * from files"),
    )
    return settings, seen


def test_night_one_loads_the_first_export(nights):
    _, seen = nights
    run, responses, files = seen[1]
    assert (run.files_new, run.files_failed, run.published) == (1, 0, True)
    assert responses.height == 10 and responses["response_id"].n_unique() == 10
    assert files.select("status", "rows_read", "accepted", "quarantined", "superseded").rows() == [
        ("loaded", 10, 10, 0, 0)
    ]


def test_each_response_is_there_once_with_its_latest_answers(nights):
    _, seen = nights
    _, responses, _ = seen[2]
    night1 = seen[1][1]
    assert responses.height == 14 and responses["response_id"].n_unique() == 14
    assert set(night1["response_id"]) < set(responses["response_id"])
    # Rows 1 and 4 of the export (spreadsheet rows 5 and 8: three header rows) were edited.
    ids = dict(night1.select("source_row", "response_id").iter_rows())
    latest = responses.filter(pl.col("response_id").is_in([ids[4 + row] for row in EDITED]))
    before = night1.filter(pl.col("response_id").is_in([ids[4 + row] for row in EDITED]))
    assert sorted(latest["ai_frequency"].cast(pl.Utf8).to_list()) == sorted(EDITED.values())
    assert (latest.sort("response_id")["submitted_at"] - before.sort("response_id")["submitted_at"]).to_list() == [
        timedelta(days=1)
    ] * 2
    assert set(latest["source_file"]) == {"AI+in+social+media_night2.csv"}
    unchanged = responses.filter(
        ~pl.col("response_id").is_in(latest["response_id"].implode()),
        pl.col("response_id").is_in(night1["response_id"].implode()),
    )
    assert unchanged.height == 8


def test_files_account_for_every_row_and_the_broken_file_does_not_stop_the_others(nights):
    _, seen = nights
    run, _, files = seen[2]
    assert (run.files_new, run.files_failed, run.published) == (2, 1, True)
    summary = {row["source_file"]: row for row in files.to_dicts()}
    assert (
        summary["AI+in+social+media_night1.csv"]["accepted"],
        summary["AI+in+social+media_night1.csv"]["superseded"],
    ) == (0, 10)
    night2 = summary["AI+in+social+media_night2.csv"]
    assert (night2["status"], night2["rows_read"], night2["accepted"], night2["superseded"]) == ("loaded", 14, 14, 0)
    broken = summary["AI+in+social+media_partial_download.csv"]
    assert (broken["status"], broken["accepted"], broken["superseded"]) == ("failed", 0, 0)
    assert broken["message"].startswith("AI+in+social+media_partial_download.csv was not loaded: the file is truncated")
    assert (files["rows_read"] == files["accepted"] + files["quarantined"] + files["superseded"]).all()


def test_the_same_export_under_another_name_is_a_no_op(nights):
    settings, seen = nights
    run, responses, files = seen[3]
    assert (run.files_new, run.published) == (0, False)
    assert files.equals(seen[2][2]) and responses.equals(seen[2][1])
    runs = query(settings, "select status, files_new, files_failed from runs order by started_at")
    assert runs.rows() == [("ok", 1, 0), ("warning", 2, 1)]
