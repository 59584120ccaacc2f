"""The trend's matched respondents: who took part in both waves of a pair, by email_hash."""

import polars as pl

from transforms.trend import build_trend


def _crosstab() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "wave": [2023, 2024, 2025],
            "question": ["role"] * 3,
            "answer": ["vp"] * 3,
            "segment": ["all"] * 3,
            "segment_value": ["all"] * 3,
            "base_n": [100, 100, 100],
            "n": [40, 50, 60],
            "pct": [40.0, 50.0, 60.0],
        },
        schema_overrides={"wave": pl.Int32},
    )


def test_matched_respondents_count_the_same_email_hash_in_both_waves_of_a_pair_and_leave_the_test_alone():
    # 2023: a, b, null, a again; 2024: a, b, c, null; 2025: c, d. Nulls never match; a counts once.
    respondents = pl.LazyFrame(
        {
            "wave": [2023, 2023, 2023, 2023, 2024, 2024, 2024, 2024, 2025, 2025],
            "email_hash": ["a", "b", None, "a", "a", "b", "c", None, "c", "d"],
        },
        schema_overrides={"wave": pl.Int32},
    )
    matched = build_trend(_crosstab(), alpha=0.05, adjust="bh", respondents=respondents).collect()
    plain = build_trend(_crosstab(), alpha=0.05, adjust="bh").collect()
    assert dict(zip(matched["wave"], matched["matched_respondents"], strict=True)) == {2024: 2, 2025: 1}
    assert plain["matched_respondents"].to_list() == [None, None]
    assert matched.drop("matched_respondents").equals(plain.drop("matched_respondents"))


def test_waves_with_no_respondent_in_common_have_zero_matched_respondents():
    respondents = pl.LazyFrame(
        {"wave": [2023, 2024, 2025], "email_hash": ["a", "b", None]}, schema_overrides={"wave": pl.Int32}
    )
    trend = build_trend(_crosstab(), alpha=0.05, adjust="bh", respondents=respondents).collect()
    assert trend["matched_respondents"].to_list() == [0, 0]
