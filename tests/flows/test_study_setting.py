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
