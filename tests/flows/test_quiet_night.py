"""`night_is_quiet`: only a night with nothing to do is run without Prefect (cli/night.py).

Nothing new in the landing folder, and a readable warehouse that holds every staged file,
was published with today's settings and has an up-to-date report page: anything else is
work for the full night."""

from __future__ import annotations

import polars as pl

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import night_is_quiet, run_night
from surveyhouse.settings import load_settings
from tests.flows.respondents import small_respondents

CLEAN = [1, 2, 3, 8, 9, 10, 11]  # the respondents of the dozen that pass every check (tests/flows/test_nights.py)


def clean_respondents() -> pl.DataFrame:
    return small_respondents().filter(pl.col("respondent").is_in(CLEAN))


def test_only_a_night_with_nothing_to_do_is_quiet(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "surveyhouse.duckdb"))
    study = load_study()
    write_qualtrics(clean_respondents(), inbox / "AI+in+social+media_night1.csv", seed=9)
    assert not night_is_quiet(study, settings), "no warehouse yet"
    assert run_night(study, settings).published
    assert night_is_quiet(study, settings), "published, nothing new"

    settings.report_file.unlink()
    assert not night_is_quiet(study, settings), "the report page is missing"
    run_night(study, settings)
    assert night_is_quiet(study, settings)

    write_qualtrics(clean_respondents().head(5), inbox / "AI+in+social+media_night2.csv", seed=11)
    assert not night_is_quiet(study, settings), "a new file"
    assert run_night(study, settings).files_new == 1
    assert night_is_quiet(study, settings)

    settings.warehouse.write_bytes(b"not a database")
    assert not night_is_quiet(study, settings), "an unreadable warehouse is rebuilt by the full night"
