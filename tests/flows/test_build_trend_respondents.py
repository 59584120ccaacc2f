"""The trend's matched respondents, counted where there is a wave pair to match them in (a build
of one wave reads none: tests/flows/test_incremental_costs.py)."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.study import load_study
from surveyhouse import build
from surveyhouse.settings import load_settings


def _crosstab(waves: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "wave": waves,
            "question": ["role"] * len(waves),
            "answer": ["vp"] * len(waves),
            "segment": ["all"] * len(waves),
            "segment_value": ["all"] * len(waves),
            "base_n": [100] * len(waves),
            "n": [40 + 10 * i for i in range(len(waves))],
            "pct": [40.0 + 10 * i for i in range(len(waves))],
        },
        schema_overrides={"wave": pl.Int32},
    )


@pytest.fixture
def study():
    study = load_study()
    assert study.versions.is_empty  # one questionnaire: no option merged between waves
    return study


def test_the_trend_of_two_waves_still_counts_their_matched_respondents(study, tmp_path):
    respondents = pl.LazyFrame(
        {"wave": [2023, 2023, 2024, 2024], "email_hash": ["a", "b", "a", "c"]}, schema_overrides={"wave": pl.Int32}
    )
    settings = load_settings(warehouse=str(tmp_path / "w.duckdb"))
    trend = build._trend(_crosstab([2023, 2024]), respondents, study, settings, weighted=False, respondents=respondents)
    assert trend["matched_respondents"].to_list() == [1]
