"""The trend of a questionnaire that changes: rows compared only where both waves asked
them, the others kept with a reason, merged options against their older options' NET."""

import polars as pl

from schemas.versions import CHANGE_SCHEMA
from transforms.trend import build_trend

ROW = {"segment": "all", "segment_value": "all"}


def _crosstab() -> pl.LazyFrame:
    # 2023 asked a, c (dropped after) and d (merged into m); 2024 asks a, b (added) and m.
    rows = [(2023, "a", 100, 40), (2023, "c", 100, 30), (2023, "d", 100, 20),
            (2024, "a", 200, 100), (2024, "b", 200, 50), (2024, "m", 200, 60)]  # fmt: skip
    return pl.LazyFrame(
        [
            {"wave": w, "question": "q", "answer": a, **ROW, "base_n": b, "n": n, "pct": 100 * n / b}
            for w, a, b, n in rows
        ],
        schema_overrides={"wave": pl.Int32},
    )


def _changes() -> pl.LazyFrame:
    rows = [("a", "both", None, None), ("b", "current", "answer added in 2024", None),
            ("c", "previous", "answer dropped after 2023", None),
            ("d", "previous", "answer merged into m in 2024", None),
            ("m", "both", None, "compared with d|e in 2023")]  # fmt: skip
    return pl.LazyFrame(
        [(2024, 2023, "q", answer, side, reason, note) for answer, side, reason, note in rows],
        schema=CHANGE_SCHEMA,
        orient="row",
    )


def test_rows_only_one_wave_asked_are_kept_with_a_reason_and_the_other_wave_s_figures_null():
    merged = pl.LazyFrame(
        [
            {
                "question": "q",
                "answer": "m",
                **ROW,
                "previous_wave": 2023,
                "previous_base_n": 100,
                "previous_n": 25,
                "previous_pct": 25.0,
            }
        ],  # fmt: skip
        schema_overrides={"previous_wave": pl.Int32},
    )
    trend = build_trend(_crosstab(), alpha=0.05, adjust="bh", changes=_changes(), merged_previous=merged).collect()
    got = {
        r["answer"]: (r["n"], r["previous_n"], r["change_pts"], r["reason"], r["note"])
        for r in trend.iter_rows(named=True)
    }
    assert got == {
        "a": (100, 40, 10.0, None, None),
        "b": (50, None, None, "answer added in 2024", None),
        "c": (None, 30, None, "answer dropped after 2023", None),
        "d": (None, 20, None, "answer merged into m in 2024", None),
        "m": (60, 25, 5.0, None, "compared with d|e in 2023"),
    }
    assert trend.filter(pl.col("reason").is_not_null())["p_value"].is_null().all()
    assert set(trend["wave"]) == {2024} and set(trend["previous_wave"]) == {2023}


def test_without_changes_the_trend_is_the_rows_both_waves_hold_and_reason_and_note_are_null():
    trend = build_trend(_crosstab(), alpha=0.05, adjust="bh").collect()
    assert trend["answer"].to_list() == ["a"]
    assert trend["reason"].is_null().all() and trend["note"].is_null().all()
