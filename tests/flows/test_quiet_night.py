"""`night_is_quiet`: only a night with nothing to do is run without Prefect (cli/night.py).

Nothing new in the landing folder, and a readable warehouse that holds every staged file,
was published with today's settings and has an up-to-date report page: anything else is
work for the full night."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from cli.main import main
from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import night_is_quiet, run_night, state_for
from surveyhouse.settings import load_settings
from tests.flows.respondents import small_respondents
from tests.hardening.test_waves import WAVES_2023_2024, settings_for, study_folder, typeform_export

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


def test_a_quiet_night_is_recorded_in_the_run_log_and_listed_in_runs_at_the_next_publish(tmp_path, capsys):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "surveyhouse.duckdb"))
    study = load_study()
    write_qualtrics(clean_respondents(), inbox / "AI+in+social+media_night1.csv", seed=9)
    first = run_night(study, settings)
    published = settings.warehouse.read_bytes()
    quiet = [run_night(study, settings), run_night(study, settings)]
    assert not any(run.published for run in quiet)
    assert settings.warehouse.read_bytes() == published, "a quiet night does not rewrite the warehouse"
    log = state_for(settings).runs.runs()
    assert [(run["run_id"], run["status"]) for run in log[1:]] == [(run.run_id, "nothing_new") for run in quiet]
    assert quiet[0].unchanged_since == datetime.fromisoformat(log[0]["finished_at"])
    assert (log[1]["responses"], log[1]["quarantined_rows"], log[1]["files_new"]) == (log[0]["responses"], 0, 0)
    capsys.readouterr()
    assert main(["quality", "--warehouse", str(settings.warehouse)]) == 0
    assert (
        f"Nothing new since {quiet[0].unchanged_since:%Y-%m-%d %H:%M} UTC: 2 night(s) since found nothing new, the "
        f"last at {quiet[1].started_at:%Y-%m-%d %H:%M} UTC (listed in `runs` from the next publish on)"
    ) in capsys.readouterr().out

    write_qualtrics(clean_respondents().head(5), inbox / "AI+in+social+media_night2.csv", seed=11)
    last = run_night(study, settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        runs = connection.execute(
            "select run_id, status, started_at, finished_at from runs order by started_at"
        ).fetchall()
    assert [(run_id, status) for run_id, status, *_ in runs] == [
        (first.run_id, "ok"),
        (quiet[0].run_id, "nothing_new"),
        (quiet[1].run_id, "nothing_new"),
        (last.run_id, "ok"),
    ]
    assert [started for _, _, started, _ in runs[1:3]] == [run.started_at for run in quiet]
    assert all(started <= finished for _, _, started, finished in runs)
    capsys.readouterr()
    assert main(["quality", "--warehouse", str(settings.warehouse)]) == 0
    assert "Nothing new since" not in capsys.readouterr().out


def test_a_held_file_keeps_a_night_from_being_quiet_once_it_could_be_taken_and_only_then(tmp_path):
    only_2023 = "waves:\n  - {wave: 2023, start: 2023-10-01, end: 2023-12-15}\n"
    settings = settings_for(tmp_path)
    study = load_study(study_folder(tmp_path, only_2023))
    landing = tmp_path / "landing"
    typeform_export(landing / "2023" / "kept.csv", wave=2023, seed=9)
    misfiled = typeform_export(landing / "2023" / "typeform.csv", wave=2024)  # its dates fit no wave: held
    typeform_export(landing / "2024" / "later.csv", wave=2024, seed=7)  # a folder that is no wave's: held unread
    first = run_night(study, settings, report=False)
    assert first.published and len(first.problems) == 2
    run_night(study, settings)  # the report page
    assert night_is_quiet(study, settings), "both files would be held again"

    study = load_study(study_folder(tmp_path, WAVES_2023_2024))  # wave 2024 declared: later.csv can be taken
    assert not night_is_quiet(study, settings)
    declared = run_night(study, settings)
    assert declared.published and declared.files_new == 1 and len(declared.problems) == 1
    assert night_is_quiet(study, settings), "typeform.csv is held again, outside wave 2023's period"

    misfiled.rename(landing / "2024" / misfiled.name)  # moved into its wave's folder: it can be taken
    assert not night_is_quiet(study, settings)
    moved = run_night(study, settings)
    assert moved.published and moved.files_new == 1 and not moved.problems
    assert night_is_quiet(study, settings)
