"""Wave on wave: each crosstab row next to the same row of the previous wave."""

from __future__ import annotations

import polars as pl

from transforms.statistics import adjusted_p_value, two_proportion_p_value

ROW = ["question", "answer", "segment", "segment_value"]


def build_trend(crosstab: pl.LazyFrame, *, alpha: float, adjust: str) -> pl.LazyFrame:
    """One row per crosstab row of a wave that has an earlier wave: the change and its test.

    The previous wave is the latest earlier wave holding the same question, answer and
    segment value. The change is tested with the two-proportion z-test between the two
    independent samples, corrected for the table's many comparisons like the crosstab.
    """
    rows = crosstab.select("wave", *ROW, "base_n", "n", "pct")
    waves = rows.select("wave").unique().sort("wave")
    previous_wave = waves.with_columns(previous_wave=pl.col("wave").shift(1)).drop_nulls("previous_wave")
    previous = rows.select(*ROW, previous_wave="wave", previous_base_n="base_n", previous_n="n", previous_pct="pct")
    return (
        rows.join(previous_wave, on="wave")
        .join(previous, on=[*ROW, "previous_wave"], how="inner")
        .with_columns(
            change_pts=pl.col("pct") - pl.col("previous_pct"),
            p_value=two_proportion_p_value(
                pl.col("n"), pl.col("base_n"), pl.col("previous_n"), pl.col("previous_base_n")
            ),
        )
        .with_columns(p_adjusted=adjusted_p_value(pl.col("p_value"), method=adjust, over=["wave"]))
        .with_columns(is_significant=(pl.col("p_adjusted") < alpha).fill_null(False))
        .with_columns(
            pl.col("previous_wave").cast(pl.Int32),
            pl.col("previous_base_n").cast(pl.Int64),
            pl.col("previous_n").cast(pl.Int64),
        )
        .sort("wave", *ROW)
    )
