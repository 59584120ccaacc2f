"""The study folder reaches every command that reads the study, and the served flow."""

from __future__ import annotations

from pathlib import Path

from cli.main import main
from flows.serve import deployment_parameters
from surveyhouse.settings import load_settings

STUDY = Path(__file__).resolve().parents[1] / "cases" / "studies" / "city_transit"


def test_the_served_flow_gets_the_study_folder_as_a_parameter(tmp_path):
    settings = load_settings(inbox=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"), study=str(STUDY))
    assert deployment_parameters(settings)["study"] == str(STUDY)
    assert "study" not in deployment_parameters(load_settings(inbox=str(tmp_path)))


def test_the_dictionary_of_a_study_without_a_warehouse_has_its_questions(tmp_path, capsys):
    argv = ["dictionary", "--warehouse", str(tmp_path / "none.duckdb"), "--study", str(STUDY)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| `sat_punctuality` | ENUM | Answer to 'Punctuality' (option code). |" in out
    assert "ai_frequency" not in out


def test_the_report_language_is_any_language_of_the_study_and_only_those(tmp_path, monkeypatch, capsys):
    argv = ["report", "--warehouse", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html")]
    assert main([*argv, "--lang", "es"]) == 2
    assert capsys.readouterr().err == (
        "Error: the report language 'es' is not a language of the study schemas/data "
        "(its `languages:` are en, fr); choose one of them\n"
    )
    monkeypatch.setenv("SURVEYHOUSE_REPORT_LANG", "spanish")
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(
        "Error: SURVEYHOUSE_REPORT_LANG=spanish is not valid: a language of the study, as its ISO 639-1 code"
    )
    monkeypatch.setenv("SURVEYHOUSE_REPORT_LANG", "es")
    main([*argv, "--study", str(STUDY)])  # Spanish is a language of this study: past the study's check
    assert "is not a language of the study" not in capsys.readouterr().err
