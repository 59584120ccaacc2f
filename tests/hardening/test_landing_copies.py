"""A file whose content is already in, landed again under another name, is not read and
counts nothing twice, and the night says so: one line in its log and in its run record,
naming both files (masked), whatever night the copy lands."""

from __future__ import annotations

import json
import logging
import shutil

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from tests.flows.test_nights import respondents

EMAIL = "jane.doe@example.test"


def last_run_record(settings) -> dict:
    return json.loads(state_for(settings).runs.path.read_text(encoding="utf-8").splitlines()[-1])


def test_a_copy_of_a_loaded_file_under_a_new_name_is_said_in_the_log_and_the_run_record_and_counted_once(
    tmp_path, caplog
):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    write_qualtrics(respondents(10), inbox / "export.csv", seed=3)
    first = run_night(load_study(), settings)
    assert (first.files_new, first.rows_read, first.notes) == (1, 10, [])

    shutil.copy2(inbox / "export.csv", inbox / f"export for {EMAIL}.csv")
    with caplog.at_level(logging.WARNING):
        second = run_night(load_study(), settings)
    line = (
        "export for [email].csv was not read: its content is that of export.csv, already loaded; "
        "nothing of it was counted twice (remove the copy from the landing folder)"
    )
    assert second.notes == [line] and second.problems == []
    assert (second.files_new, second.files_failed, second.rows_read) == (0, 0, 0)
    assert line in caplog.text and EMAIL not in caplog.text
    assert last_run_record(settings)["message"] == line
    assert len(state_for(settings).staged()) == 1


def test_two_copies_landed_the_same_night_are_taken_once_and_the_copy_named(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    write_qualtrics(respondents(10), inbox / "a.csv", seed=3)
    shutil.copy2(inbox / "a.csv", inbox / "b.csv")
    run = run_night(load_study(), settings)
    assert (run.files_new, run.rows_read, run.problems) == (1, 10, [])
    assert run.notes == [
        "b.csv was not read: its content is that of a.csv, taken this night; nothing of it was counted twice "
        "(remove the copy from the landing folder)"
    ]
    assert run.notes[0] in last_run_record(settings)["message"]
