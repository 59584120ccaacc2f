"""`surveyhouse claims` on a study without published figures, and with figure ids of any length."""

from __future__ import annotations

from pathlib import Path

from cli.main import main
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

STUDIES = Path(__file__).resolve().parents[1] / "cases" / "studies"


def test_claims_of_a_study_without_published_figures_says_so_instead_of_an_empty_table(tmp_path, capsys):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    warehouse = tmp_path / "w.duckdb"
    settings = load_settings(inbox=str(inbox), warehouse=str(warehouse))
    assert run_night(load_study(STUDIES / "versions"), settings).published
    capsys.readouterr()
    assert main(["claims", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == (
        "The study has no published figures to check (add a published_figures.csv to the study folder)."
    )
