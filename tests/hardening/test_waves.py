"""Waves declared, not guessed (issue 16.2): a file's wave comes from its wave folder or its
submission dates; a file whose dates do not fit is held back, said in one line, looked at
again every night; `assign` and `forget` put a misfiled file right, republish and are
recorded in `runs`."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cli.main import main
from demo.exports.typeform import write_typeform
from demo.study import demo_respondents
from schemas.questionnaire_checks import QuestionnaireError, check_questionnaire
from schemas.study import load_study
from surveyhouse.night import Night, run_night
from surveyhouse.rebuild import rebuild_warehouse
from surveyhouse.refile import assign_file, files_seen, forget_file
from surveyhouse.settings import load_settings

BUILTIN = resources.files("schemas").joinpath("data/questionnaire.yaml").read_text(encoding="utf-8")
WAVES_2023_2024 = """waves:
  - {wave: 2023, start: 2023-10-01, end: 2023-12-15, label: "Autumn 2023"}
  - {wave: 2024, start: 2024-10-01, end: 2024-12-13, label: "Autumn 2024"}
"""


def typeform_export(path: Path, *, wave: int, n: int = 30, seed: int = 5) -> Path:
    """A Typeform export of ``n`` demo respondents of ``wave`` (submitted in its autumn)."""
    frame, _ = demo_respondents(seed=seed, n=n, wave=wave)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_typeform(frame, path, seed=seed)
    return path


def study_folder(tmp_path: Path, waves: str | None) -> Path:
    """The built-in questionnaire with other `waves:` (None: no `waves:` key, the old format)."""
    assert WAVES_2023_2024 in BUILTIN
    folder = tmp_path / "study"
    folder.mkdir(exist_ok=True)
    (folder / "questionnaire.yaml").write_text(BUILTIN.replace(WAVES_2023_2024, waves or ""), encoding="utf-8")
    figures = resources.files("schemas").joinpath("data/published_figures.csv").read_bytes()
    (folder / "published_figures.csv").write_bytes(figures)  # a study without figures is s16-study's case
    return folder


def settings_for(tmp_path: Path):
    (tmp_path / "landing").mkdir(exist_ok=True)
    return load_settings(inbox=str(tmp_path / "landing"), warehouse=str(tmp_path / "w.duckdb"))


def responses_by_wave(tmp_path: Path) -> dict[int, int]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        return dict(connection.execute("select wave, count(*) from responses group by 1").fetchall())


def seen(study, settings) -> dict[str, dict]:
    return {row["file"]: row for row in files_seen(Night.of(study, settings))}


def test_a_2024_export_at_the_top_of_the_landing_folder_is_filed_by_its_dates_not_as_2023(tmp_path):
    settings, study = settings_for(tmp_path), load_study()
    typeform_export(tmp_path / "landing" / "typeform.csv", wave=2024)
    run = run_night(study, settings, report=False)
    assert run.published and not run.problems
    assert set(responses_by_wave(tmp_path)) == {2024}
    assert seen(study, settings)["typeform.csv"]["wave"] == 2024


def test_an_export_whose_dates_are_outside_its_folders_wave_is_held_back_then_taken_once_moved(tmp_path):
    settings, study = settings_for(tmp_path), load_study()
    typeform_export(tmp_path / "landing" / "2023" / "other.csv", wave=2023, seed=9)
    misfiled = typeform_export(tmp_path / "landing" / "2023" / "typeform.csv", wave=2024)
    run = run_night(study, settings, report=False)
    [problem] = run.problems
    assert problem.startswith("typeform.csv: submissions 2024-10-")
    assert "fall outside wave 2023's field period 2023-10-01..2023-12-15; move it to landing/2024/ or run " in problem
    assert problem.endswith("`surveyhouse assign typeform.csv --wave 2024`")
    assert set(responses_by_wave(tmp_path)) == {2023}  # the other file published, none of the held one
    held = seen(study, settings)["2023/typeform.csv"]
    assert (held["status"], held["layout"], held["message"]) == ("held", "typeform", problem)
    assert len(list(Night.of(study, settings).state.staged_dir.iterdir())) == 1  # not staged, no quarantine rows
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from quarantine where source_file = 'typeform.csv'").fetchone() == (
            0,
        )

    again = run_night(study, settings, report=False)  # looked at again the next night, held again
    assert again.problems == [problem] and not again.published
    (tmp_path / "landing" / "2024").mkdir()
    misfiled.rename(tmp_path / "landing" / "2024" / "typeform.csv")
    moved = run_night(study, settings, report=False)
    assert moved.published and not moved.problems and moved.files_new == 1
    assert set(responses_by_wave(tmp_path)) == {2023, 2024}
    assert seen(study, settings)["typeform.csv"]["status"] == "accepted"
    assert "2023/typeform.csv" not in seen(study, settings)


def test_an_export_of_a_wave_not_yet_declared_is_held_until_declared_and_moved_to_its_folder(tmp_path):
    only_2023 = "waves:\n  - {wave: 2023, start: 2023-10-01, end: 2023-12-15}\n"
    settings = settings_for(tmp_path)
    study = load_study(study_folder(tmp_path, only_2023))
    export = typeform_export(tmp_path / "landing" / "typeform-2024.csv", wave=2024)
    [problem] = run_night(study, settings, report=False).problems
    assert problem.startswith("typeform-2024.csv: submissions 2024-10-") and "fall in no wave's field period" in problem
    assert "(2023 2023-10-01..2023-12-15)" in problem
    assert seen(study, settings)["typeform-2024.csv"]["status"] == "held"

    study = load_study(study_folder(tmp_path, WAVES_2023_2024))  # the team declares 2024 and moves the file
    (tmp_path / "landing" / "2024").mkdir()
    export.rename(tmp_path / "landing" / "2024" / export.name)
    run = run_night(study, settings, report=False)
    assert run.published and not run.problems
    assert set(responses_by_wave(tmp_path)) == {2024}
    assert [row["status"] for row in files_seen(Night.of(study, settings))] == ["accepted"]


def test_a_file_spanning_two_field_periods_is_held_back(tmp_path):
    settings, study = settings_for(tmp_path), load_study()
    autumn_2023, _ = demo_respondents(seed=3, n=20, wave=2023)
    autumn_2024, _ = demo_respondents(seed=4, n=20, wave=2024)
    both = pl.concat([autumn_2023, autumn_2024.with_columns(pl.col("respondent") + 1000)], how="vertical_relaxed")
    write_typeform(both, tmp_path / "landing" / "both.csv", seed=3)
    run = run_night(study, settings, report=False)
    [problem] = run.problems
    assert problem.startswith("both.csv: submissions 2023-10-") and "..2024-11-" in problem
    assert "span the field periods of waves 2023, 2024; split the export by wave" in problem
    assert run.files_failed == 1 and seen(study, settings)["both.csv"]["status"] == "held"


def test_a_folder_naming_an_undeclared_wave_is_held_back_naming_it_and_the_declared_ones(tmp_path):
    settings, study = settings_for(tmp_path), load_study()
    typeform_export(tmp_path / "landing" / "2025" / "typeform.csv", wave=2024)
    [problem] = run_night(study, settings, report=False).problems
    assert problem == (
        "2025/typeform.csv was held back: it sits in the folder 2025/, which is no declared wave's (the waves' "
        "folders: 2023, 2024); move it into one of them, or declare the wave under `waves:` in questionnaire.yaml"
    )
    assert seen(study, settings)["2025/typeform.csv"]["status"] == "held"


def test_a_questionnaire_without_waves_files_by_year_folder_else_its_wave_as_before(tmp_path):
    settings = settings_for(tmp_path)
    study = load_study(study_folder(tmp_path, None))
    assert [(w.wave, w.start, w.folder) for w in study.waves] == [(2023, None, None)]
    typeform_export(tmp_path / "landing" / "top.csv", wave=2024)  # filed as `wave:`, as before (no field period)
    typeform_export(tmp_path / "landing" / "wave=2024" / "folder.csv", wave=2023, seed=8)
    run = run_night(study, settings, report=False)
    assert run.published and not run.problems
    files = seen(study, settings)
    assert (files["top.csv"]["wave"], files["folder.csv"]["wave"]) == (2023, 2024)


def test_assign_files_a_held_export_and_forget_takes_its_rows_out_both_recorded_in_runs(tmp_path):
    settings, study = settings_for(tmp_path), load_study()
    typeform_export(tmp_path / "landing" / "2023" / "kept.csv", wave=2023, seed=9)
    typeform_export(tmp_path / "landing" / "2023" / "typeform.csv", wave=2024)
    run_night(study, settings, report=False)
    before = responses_by_wave(tmp_path)

    row, assigned = assign_file(study, settings, "2023/typeform.csv", 2024)
    assert assigned.published and assigned.files_new == 1
    after_assign = responses_by_wave(tmp_path)
    assert after_assign[2023] == before[2023] and after_assign[2024] > 0
    row, moved = assign_file(study, settings, "typeform.csv", 2023)  # a staged file, staged again in another wave
    assert moved.published and responses_by_wave(tmp_path) == {2023: before[2023] + after_assign[2024]}
    assert run_night(study, settings, report=False).problems == []  # assigned: held no more, counted once

    _, forgot = forget_file(study, settings, "typeform.csv")
    assert forgot.published and responses_by_wave(tmp_path) == before  # nothing counted twice, nothing left
    assert not run_night(study, settings, report=False).published  # still in the landing folder: not taken again
    assert seen(study, settings)["typeform.csv"]["status"] == "forgotten"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        triggers = [t for (t,) in connection.execute("select trigger from runs order by started_at").fetchall()]
        assert connection.execute("select count(*) from files where source_file = 'typeform.csv'").fetchone() == (0,)
    assert triggers[-4:] == [
        "assign 2023/typeform.csv --wave 2024",
        "assign typeform.csv --wave 2023",
        None,  # the night between them, which found nothing new
        "forget typeform.csv",
    ]
    state = Night.of(study, settings).state
    assert oct(state.root.joinpath(f"{state.name}.file-waves.json").stat().st_mode & 0o777) == "0o600"
    assert any(state.archive_dir.iterdir())  # the forgotten file's raw copy stays in the archive

    rebuilt = rebuild_warehouse(study, settings)  # assignments and forgotten files hold across a rebuild
    assert rebuilt.published and responses_by_wave(tmp_path) == before


def test_files_assign_and_forget_on_the_command_line(tmp_path, capsys):
    settings_for(tmp_path)
    options = ["--warehouse", str(tmp_path / "w.duckdb")]
    typeform_export(tmp_path / "landing" / "typeform.csv", wave=2024)
    run_night(load_study(), load_settings(inbox=str(tmp_path / "landing"), **{"warehouse": options[1]}), report=False)
    capsys.readouterr()
    assert main(["files", "--format", "json", *options]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert {k: row[k] for k in ("file", "wave", "layout", "language", "status")} == {
        "file": "typeform.csv", "wave": 2024, "layout": "typeform", "language": "en", "status": "accepted",
    }  # fmt: skip
    inbox = ["--inbox", str(tmp_path / "landing")]
    assert main(["assign", "nothing.csv", "--wave", "2024", *inbox, *options]) == 2
    assert capsys.readouterr().err == (
        "Error: no file nothing.csv was ever seen: run `surveyhouse files` to see the names\n"
    )
    assert main(["assign", "typeform.csv", "--wave", "2031", *inbox, *options]) == 2
    assert "wave 2031 is not one of the study's waves (2023, 2024)" in capsys.readouterr().err
    assert main(["assign", str(tmp_path / "landing" / "typeform.csv"), "--wave", "2023", *inbox, *options]) == 0
    assert capsys.readouterr().out.startswith("Assigned typeform.csv to wave 2023; the warehouse was republished")
    assert main(["forget", "typeform.csv", *inbox, *options]) == 0
    assert capsys.readouterr().out.startswith("Forgot typeform.csv (wave 2023,")
    assert main(["forget", "typeform.csv", *inbox, *options]) == 2
    assert "is forgotten already" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "landing")


@pytest.mark.parametrize(
    ("waves", "line", "problem"),
    [
        ("waves: 2024", 1, "`waves:` is not a list of waves"),
        ("waves:\n  - {wave: 2024, start: 2024-10-01}", 2, "wave 2024's `end:` is None; write `end:` as a date"),
        ("waves:\n  - {wave: 2024, start: 2024-12-01, end: 2024-10-01}", 2, "wave 2024 ends before it starts"),
        ("waves:\n  - {wave: 2024, start: 2024-10-01, end: 2024-12-13, when: autumn}", 2, "unknown key `when:`"),
        (
            "waves:\n  - {wave: 2023, start: 2023-10-01, end: 2024-10-15}\n  - {wave: 2024, start: 2024-10-01, end: 2024-12-13}",
            3,
            "wave 2024's field period overlaps wave 2023's",
        ),
        ("waves:\n  - {wave: 2024, start: '2024-02-30', end: 2024-12-13}", 2, "`start:` is '2024-02-30'"),
    ],
)
def test_a_mistake_in_waves_is_one_line_naming_the_file_line_and_fix(waves, line, problem):
    text = BUILTIN.replace(WAVES_2023_2024, "").replace("languages: [en, fr]\n", f"languages: [en, fr]\n{waves}\n")
    import yaml

    offset = text.splitlines().index(waves.splitlines()[0])
    with pytest.raises(QuestionnaireError) as raised:
        check_questionnaire(yaml.safe_load(text), text=text, name="questionnaire.yaml")
    assert str(raised.value).startswith(f"questionnaire.yaml, line {offset + line}: ")
    assert problem in str(raised.value) and "\n" not in str(raised.value)


def test_a_file_moved_into_another_waves_folder_after_it_was_taken_is_said_not_silently_ignored(tmp_path):
    settings, study = settings_for(tmp_path), load_study()
    export = typeform_export(tmp_path / "landing" / "typeform.csv", wave=2024)
    assert run_night(study, settings, report=False).published
    (tmp_path / "landing" / "2023").mkdir()
    export.rename(tmp_path / "landing" / "2023" / "typeform.csv")
    assert run_night(study, settings, report=False).problems == [
        "2023/typeform.csv sits in wave 2023's folder but its rows are in wave 2024: run "
        "`surveyhouse assign typeform.csv --wave 2023` to move them"
    ]
    assign_file(study, settings, "typeform.csv", 2023)
    assert set(responses_by_wave(tmp_path)) == {2023}
    assert run_night(study, settings, report=False).problems == []


def test_assign_and_forget_exit_3_while_another_run_holds_the_warehouse(tmp_path):
    import os
    import subprocess
    import sys

    from surveyhouse.lock import run_lock
    from surveyhouse.night import state_for

    settings = settings_for(tmp_path)
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    options = ["--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]
    with run_lock(state_for(settings).lock_file):
        for command in (["assign", "typeform.csv", "--wave", "2024"], ["forget", "typeform.csv"]):
            done = subprocess.run(
                [sys.executable, "-m", "cli.main", *command, *options],
                cwd=root, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 3, done.stderr
            assert done.stderr.startswith("Error: ") and len(done.stderr.splitlines()) == 1


def test_an_assignment_staged_but_not_published_is_published_by_the_next_night(tmp_path):
    from surveyhouse.refile import _restage

    settings, study = settings_for(tmp_path), load_study()
    typeform_export(tmp_path / "landing" / "typeform.csv", wave=2024)
    run_night(study, settings, report=False)
    night = Night.of(study, settings)
    _restage(night, night.state.staged()[0].record, 2023)  # `assign` killed before its publish
    assert run_night(study, settings, report=False).published
    assert set(responses_by_wave(tmp_path)) == {2023}
    assert not run_night(study, settings, report=False).published  # then nothing new again
