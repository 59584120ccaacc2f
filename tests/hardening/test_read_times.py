"""Submission times that no known format reads are never lost without a word: the file's
record and the night's log say how many (per date column) and the forms seen (digits shown
as 9, personal data masked); a file at the top of the landing folder whose submission times
are all unreadable is held back, not put silently in the questionnaire's `wave:`."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
TIME = re.compile(r"2023-10-(\d\d) (\d\d):(\d\d):\d\d")


def night_on(tmp_path, monkeypatch, text: str, *, name: str = "typeform_en.csv"):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    (inbox / name).write_text(text, encoding="utf-8")
    # (the dozen respondents of the cases have 5 that fail a check, on purpose)
    monkeypatch.setenv("SURVEYHOUSE_MAX_QUARANTINED_SHARE", "1")
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    return settings, run_night(load_study(), settings)


def test_times_no_format_reads_are_counted_in_the_files_record_and_the_nights_log(tmp_path, monkeypatch, caplog):
    text = (CASES / "typeform_en.csv").read_text(encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        settings, run = night_on(
            tmp_path, monkeypatch, text.replace("2023-10-02 13:05:09", "2 oct. 2023 13h05 jane@example.test")
        )
    line = (
        "typeform_en.csv: times that no known format reads were left empty (submitted_at 1 of 11; forms seen, "
        "digits shown as 9: '9 oct. 9999 99h99 [email]'); write them as 2023-10-02 14:03:04 and land the file again"
    )
    assert run.published and run.problems == [] and run.notes == [line]
    assert line in caplog.text and "jane@" not in caplog.text
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("select status, wave, message from files").fetchall() == [("loaded", 2023, line)]


def test_a_file_whose_submission_times_are_all_unreadable_is_held_not_put_in_the_questionnaires_wave(
    tmp_path, monkeypatch
):
    text = TIME.sub(r"\1 oct. 2023 \2h\3", (CASES / "typeform_en.csv").read_text(encoding="utf-8"))
    settings, run = night_on(tmp_path, monkeypatch, text)
    [problem] = run.problems
    assert problem == (
        "typeform_en.csv: none of its 11 submission times could be read (forms seen, digits shown as 9: "
        "'99 oct. 9999 99h99'), so its wave cannot come from its dates; move it to a wave's folder "
        "(landing/<folder>/) or run `surveyhouse assign typeform_en.csv --wave W`"
    )
    assert run.files_failed == 1 and state_for(settings).staged() == []


def _qualtrics_staged(tmp_path, first_start: str):
    """A Qualtrics export whose times are in New York (its ImportIds say so), the source's setting
    Paris, the first response's StartDate ``first_start``: (file record, staged responses)."""
    text = (CASES / "qualtrics_en_labels_joined.csv").read_text(encoding="utf-8")
    assert '"timeZone"":""America/New_York""' in text
    path = tmp_path / "qualtrics_en.csv"
    path.write_text(text.replace("2023-10-02 09:00:09", first_start, 1), encoding="utf-8")
    record, staged, _ = process_export(
        path, run_id="r", file_order=1, wave=2023, book=load_study().book, key=b"k",
        time_zones={"qualtrics": "Europe/Paris"}, max_quarantined_share=1.0,
    )  # fmt: skip
    return record, staged


def test_a_time_read_in_its_columns_zone_is_not_counted_unread_where_the_sources_zone_has_no_such_time(tmp_path):
    # 26 March 2023, 02:30 does not exist in Paris (clocks went from 02:00 to 03:00); in New York it does.
    record, staged = _qualtrics_staged(tmp_path, "3/26/2023 2:30")
    assert record["message"] is None
    assert datetime(2023, 3, 26, 6, 30, tzinfo=UTC) in staged["started_at"].to_list()


def test_a_time_that_does_not_exist_in_its_columns_zone_is_counted_unread_not_left_empty_unsaid(tmp_path):
    # 12 March 2023, 02:30 does not exist in New York (its column's zone); in Paris (the setting) it does.
    record, staged = _qualtrics_staged(tmp_path, "3/12/2023 2:30")
    assert record["message"].startswith("qualtrics_en.csv: times that no known format reads were left empty "
                                        "(started_at 1 of ")  # fmt: skip
    assert staged.filter(pl.col("response_id") == "R_KcBs2cs7WlGCfPQ")["started_at"].to_list() == [None]
