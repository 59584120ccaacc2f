"""Item 4 of the hardening: a file is read at exactly its name, never as a glob pattern
(``[final]``, ``(v2) [EN]``, ``*`` are letters of a name), whatever its kind."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from schemas.codebook import codebook
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.read import read_export
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"


def staged(path: Path) -> dict:
    """The file's record; the dozen respondents of the cases have 5 that fail a check, on purpose."""
    record, _, _ = process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0
    )
    return record


@pytest.mark.parametrize("source", ["qualtrics_en_labels_split.csv", "surveymonkey_en.xlsx", "spss_en_missing.sav"])
@pytest.mark.parametrize("name", ["Survey export [final]", "AI survey export (v2) [EN]", "new_*", "a?b{c,d}"])
def test_a_file_named_like_a_glob_pattern_is_read_at_its_own_name(tmp_path, source, name):
    path = tmp_path / (name + Path(source).suffix)
    shutil.copy(CASES / source, path)
    record = staged(path)
    assert (record["status"], record["rows_read"], record["quarantined"]) == ("loaded", 12, 5)


def test_a_star_in_a_name_does_not_read_the_files_it_would_match(tmp_path):
    starred, other = tmp_path / "new_*.csv", tmp_path / "new_one.csv"
    shutil.copy(CASES / "qualtrics_en_labels_split.csv", starred)
    shutil.copy(CASES / "qualtrics_fr_labels_split.csv", other)
    alone = read_export(CASES / "qualtrics_en_labels_split.csv").frame
    assert read_export(starred).frame.equals(alone)
    record = staged(starred)
    assert (record["status"], record["rows_read"], record["quarantined"]) == ("loaded", 12, 5)


def test_a_warehouse_in_a_folder_named_like_a_glob_pattern_builds_from_its_staged_files(tmp_path):
    folder = tmp_path / "AI survey [2024] (v2)"
    inbox = folder / "landing"
    inbox.mkdir(parents=True)
    shutil.copy(CASES / "typeform_en.csv", inbox / "typeform_en.csv")
    shutil.copy(CASES / "google_forms_fr.csv", inbox / "google_forms_fr.csv")
    run = run_night(load_study(), load_settings(inbox=str(inbox), warehouse=str(folder / "w.duckdb")))
    assert run.published and run.files_new == 2
    with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from quarantine").fetchone()[0] > 0
