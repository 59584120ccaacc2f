"""Submission times that no known format reads are never lost without a word: the file's
record and the night's log say how many (per date column) and the forms seen (digits shown
as 9, personal data masked); a file at the top of the landing folder whose submission times
are all unreadable is held back, not put silently in the questionnaire's `wave:`."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import duckdb

from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings

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
