"""`quarantine` names its columns so that SQL reads them as they are (`check` and `column`
are SQL keywords: `select check from quarantine` was a parser error), and says each row's wave."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from schemas.study import load_study
from surveyhouse.night import run_night
from tests.hardening.test_versions_quarantine import settings_for

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"


def test_quarantine_columns_need_no_quoting_and_each_row_has_its_files_wave(tmp_path):
    landing = tmp_path / "landing"
    (landing / "2023").mkdir(parents=True)  # the export's submissions are in wave 2023's field period
    shutil.copyfile(CASES / "qualtrics_en_labels_joined.csv", landing / "2023" / "export.csv")
    settings = settings_for(landing, tmp_path / "w.duckdb")
    run_night(load_study(), settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select wave, check_name, column_name from quarantine where source_row is not null order by all"
        ).fetchall()
        file_waves = connection.execute("select distinct wave from files").fetchall()
        columns = [name for (name,) in connection.execute("select column_name from (describe quarantine)").fetchall()]
    assert rows and {wave for wave, _, _ in rows} == {2023} and file_waves == [(2023,)]
    assert ("check" not in columns) and ("column" not in columns)
    assert {check for _, check, _ in rows} >= {"valid_option"}
