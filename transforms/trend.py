"""Wave on wave: each crosstab row next to the same row of the previous wave."""

from __future__ import annotations

import polars as pl

from transforms.statistics import adjusted_p_value, two_proportion_p_value, wald_p_value

ROW = ["question", "answer", "segment", "segment_value"]


def build_trend(
    crosstab: pl.LazyFrame,
    *,
    alpha: float,
    adjust: str,
    respondents: pl.LazyFrame | None = None,
    changes: pl.LazyFrame | None = None,
    merged_previous: pl.LazyFrame | None = None,
    weighted: bool = False,
) -> pl.LazyFrame:
    """One row per crosstab row of a wave that has an earlier wave: the change and its test.

    The previous wave is the latest earlier wave holding the same question, answer and
    segment value. Unweighted, the change is tested with the two-proportion z-test between
    the two waves taken as independent samples. ``weighted`` (the crosstab's weighted
    columns are filled): ``pct`` and ``previous_pct`` are the weighted percentages, and the
    change is tested by the Wald z-test of their difference whose variance is the sum of the
    two waves' design-based variances (see :func:`design_variance`): independent waves
    again. The p-values are corrected for the table's many comparisons like the crosstab.
    ``respondents`` (wave, email_hash of the responses in the bases) gives
    ``matched_respondents``: how many took part in both waves (see ``matched_respondents``);
    without it the column is null.

    ``changes`` (``schemas.versions.trend_changes``: how each answer of each wave pair is
    compared, for a questionnaire that changes between waves) adds a row, with a
    ``reason`` and the other wave's figures null, for each row of an answer one wave of
    the pair did not ask, and a ``note`` to the rows compared across a change (merged
    options: their previous figures are ``merged_previous``'s, the older options counted
    once as a NET; renamed). Without it ``reason`` and ``note`` are null.
    """
    pct, variance = ("weighted_pct", design_variance()) if weighted else ("pct", pl.lit(None, pl.Float64))
    rows = crosstab.select("wave", *ROW, "base_n", "n", pct=pct, _variance=variance)
    waves = rows.select("wave").unique().sort("wave")
    previous_wave = waves.with_columns(previous_wave=pl.col("wave").shift(1)).drop_nulls("previous_wave")
    previous = rows.select(
        *ROW,
        previous_wave="wave",
        previous_base_n="base_n",
        previous_n="n",
        previous_pct="pct",
        _previous_variance="_variance",
    )
    if merged_previous is not None:  # a merged option's previous figures: its older options as a NET
        merged = merged_previous.with_columns(_previous_variance=pl.lit(None, pl.Float64))
        previous = pl.concat([previous, merged.select(previous.collect_schema().names())])
    change = pl.col("pct") - pl.col("previous_pct")
    if weighted:
        p_value = wald_p_value(change / 100.0, pl.col("_variance") + pl.col("_previous_variance"))
    else:
        p_value = two_proportion_p_value(pl.col("n"), pl.col("base_n"), pl.col("previous_n"), pl.col("previous_base_n"))
    compared = (
        rows.join(previous_wave, on="wave")
        .join(previous, on=[*ROW, "previous_wave"], how="inner")
        .join(_matched(respondents, previous_wave), on=["wave", "previous_wave"], how="left")
        .with_columns(change_pts=change, p_value=p_value, is_weighted=pl.lit(weighted))
        .drop("_variance", "_previous_variance")
        .with_columns(p_adjusted=adjusted_p_value(pl.col("p_value"), method=adjust, over=["wave"]))
        .with_columns(is_significant=(pl.col("p_adjusted") < alpha).fill_null(False))
        .with_columns(
            pl.col("previous_wave").cast(pl.Int32),
            pl.col("previous_base_n").cast(pl.Int64),
            pl.col("previous_n").cast(pl.Int64),
        )
    )
    return (
        _with_reasons(
            compared,
            rows.drop("_variance"),
            previous.drop("_previous_variance"),
            changes=changes,
            matched=_matched(respondents, previous_wave),
        )
        .with_columns(is_weighted=pl.lit(weighted))
        .sort("wave", *ROW)
    )


PAIR = ["wave", "previous_wave", "question", "answer"]


def _with_reasons(
    compared: pl.LazyFrame,
    rows: pl.LazyFrame,
    previous: pl.LazyFrame,
    *,
    changes: pl.LazyFrame | None,
    matched: pl.LazyFrame,
) -> pl.LazyFrame:
    """The compared rows with their ``note``, and a row with a ``reason`` for each row of
    an answer only one wave of the pair asked (``changes``; none without it)."""
    if changes is None:
        return compared.with_columns(reason=pl.lit(None, pl.Utf8), note=pl.lit(None, pl.Utf8))
    changes = changes.with_columns(pl.col("wave", "previous_wave").cast(pl.Int32))
    compared = compared.with_columns(pl.col("previous_wave").cast(pl.Int32)).join(
        changes.select(*PAIR, "note"), on=PAIR, how="left"
    )
    this_wave_only = rows.join(changes.filter(pl.col("side") == "current"), on=["wave", "question", "answer"])
    previous_only = previous.join(
        changes.filter(pl.col("side") == "previous"), on=["previous_wave", "question", "answer"]
    )
    uncompared = (
        pl.concat([this_wave_only, previous_only], how="diagonal_relaxed")
        .join(matched.with_columns(pl.col("wave", "previous_wave").cast(pl.Int32)), on=["wave", "previous_wave"])
        .with_columns(is_significant=pl.lit(False))
    )
    columns = [name for name in compared.collect_schema().names() if name != "note"]
    return pl.concat([compared, uncompared.drop("side")], how="diagonal_relaxed").select(*columns, "reason", "note")


def design_variance() -> pl.Expr:
    """The design-based variance of a crosstab row's weighted proportion (0-1 scale):
    p(1-p) / effective_base, the variance the effective base was made from; 0 where the
    crosstab has no effective base (a share of 0 or 100%, or one the raking fixes)."""
    p = pl.col("weighted_pct") / 100.0
    return pl.when(pl.col("effective_base") > 0).then(p * (1.0 - p) / pl.col("effective_base")).otherwise(0.0)


def matched_respondents(respondents: pl.LazyFrame, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Per wave pair (wave, previous_wave): the respondents in both, by the same non-null email_hash.

    The trend's z-test takes the two waves as independent samples; these respondents make
    them paired. When they answer alike in both waves (the usual case) the change's true
    variance is smaller than the test assumes, so the test is conservative; it would be
    anti-conservative only if their answers were negatively correlated across waves.
    """
    people = respondents.drop_nulls("email_hash").select("wave", "email_hash").unique()
    return (
        pairs.join(people, on="wave")
        .join(people.rename({"wave": "previous_wave"}), on=["previous_wave", "email_hash"])
        .group_by("wave", "previous_wave")
        .agg(matched_respondents=pl.len().cast(pl.Int64))
    )


def _matched(respondents: pl.LazyFrame | None, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """``matched_respondents`` of every wave pair: 0 where none match, null without ``respondents``."""
    if respondents is None:
        return pairs.with_columns(matched_respondents=pl.lit(None, pl.Int64))
    counted = matched_respondents(respondents, pairs)
    return pairs.join(counted, on=["wave", "previous_wave"], how="left").with_columns(
        pl.col("matched_respondents").fill_null(0)
    )
