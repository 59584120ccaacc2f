"""Design-based inference for weighted proportions on a raked design (R survey's method).

The variance of a domain proportion is the Taylor-linearised (sandwich) variance of
R's ``svymean`` on a ``rake()``d design: with-replacement, each response its own PSU,
no strata. The linearised values of the estimator are first made residuals of the
raking margins exactly as ``survey:::svyrecvar`` does for a "raking" design: ten passes,
margin after margin, of ``x <- x - w * ave(x / w, margin)``. Intervals are
``svyciprop(method = "logit")``: a Wald interval on the logit scale, t quantile with
(domain respondents - 1) degrees of freedom. The test of a domain against the rest of
its base is the Wald z-test of the difference of the two domain proportions with their
linearised covariance: what ``svycontrast(svyby(~y, ~in_domain, subset(design, in_base),
svymean, covmat = TRUE), c(1, -1))`` gives, with a two-sided normal p-value.

Cost: the passes run over classes of responses (a response's residual depends only on
its margin categories, domain, rest and answer): a few dozen rows per cell. The classes
are still summed from one row per cell and response (the demo's two weighted waves: the
night 6.6 s instead of 2 s unweighted); for the nightly million they should come from
the crosstab's cubes when the margins are segments: the next step.
"""

from __future__ import annotations

import math

import polars as pl

from transforms.statistics import erfc, z_for_level

__all__ = ["design_based_cells", "design_based_domains", "design_units", "t_quantile"]

RAKING_PASSES = 10  # survey:::svyrecvar's fixed number of passes over the margins


def t_quantile(z: float, df: pl.Expr) -> pl.Expr:
    """Student t quantile for the normal quantile ``z`` and ``df`` degrees of freedom.

    Cornish-Fisher expansion (Abramowitz and Stegun 26.7.5) to the fourth order: error
    below 1e-5 for df >= 10 at the usual levels.
    """
    df = df.cast(pl.Float64)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _with_residuals(frame: pl.LazyFrame, columns: list[str], *, by: list[str], margins: list[str]) -> pl.LazyFrame:
    """``columns`` (linearised values divided by the weight, one per class of ``count``
    responses) made residuals of the raking margins: ``ave`` is a mean over responses.

    Each step is its own column update: nested, the expression would double in size per step.
    """
    count = pl.col("count")
    for _ in range(RAKING_PASSES):
        for margin in margins:
            frame = frame.with_columns(
                pl.col(c) - (count * pl.col(c)).sum().over(*by, margin) / count.sum().over(*by, margin) for c in columns
            )
    return frame


def _linearised_variance(column: str) -> pl.Expr:
    """With-replacement variance of the total of ``w * column`` over the design's responses
    (an aggregate over classes: ``count`` responses, ``sw`` and ``sw2`` their sums of w, w^2)."""
    u = pl.col(column)
    n = pl.col("count").sum().cast(pl.Float64)
    mean = (pl.col("sw") * u).sum() / n
    return n / (n - 1.0) * ((pl.col("sw2") * u * u).sum() - n * mean * mean)


def design_based_domains(units: pl.LazyFrame, *, by: list[str], margins: list[str], confidence: float) -> pl.LazyFrame:
    """One row per ``by`` (a cell): the design-based proportion, its interval and test.

    ``units`` has one row per cell and response of the whole (raked) design the cell
    belongs to: ``w`` the weight, the raking ``margins`` columns, ``in_domain`` and
    ``in_rest`` (booleans: the cell's domain, and the rest of its base it is tested
    against) and ``y`` (bool: gave the answer). Out: ``weighted_pct``, ``weighted_ci_low``,
    ``weighted_ci_high`` (percent 0-100), ``design_effective_base`` (p(1-p)/var(p),
    respondents), ``design_p_value`` (0-1; null without a rest or a variance).

    A response's residual depends only on its class (margin categories, domain, rest,
    answer): the responses are summed per class first, and the passes run over classes.
    """
    w = pl.col("w")
    classes = units.group_by(*by, *margins, "in_domain", "in_rest", "y").agg(
        count=pl.len(), sw=w.sum(), sw2=(w * w).sum()
    )
    sw, y = pl.col("sw"), pl.col("y").cast(pl.Float64)
    d1, d2 = pl.col("in_domain").cast(pl.Float64), pl.col("in_rest").cast(pl.Float64)
    shares = classes.with_columns(
        _w1=(sw * d1).sum().over(by),
        _w2=(sw * d2).sum().over(by),
        _p1=(sw * d1 * y).sum().over(by) / (sw * d1).sum().over(by),
        _p2=pl.when((sw * d2).sum().over(by) > 0).then((sw * d2 * y).sum().over(by) / (sw * d2).sum().over(by)),
    )
    u1 = d1 * (y - pl.col("_p1")) / pl.col("_w1")
    u2 = pl.when(pl.col("_w2") > 0).then(d2 * (y - pl.col("_p2")) / pl.col("_w2")).otherwise(0.0)
    residuals = shares.with_columns(_u=u1, _d=u1 - u2).pipe(_with_residuals, ["_u", "_d"], by=by, margins=margins)
    per_cell = residuals.group_by(by).agg(
        p=pl.col("_p1").first(),
        p_rest=pl.col("_p2").first(),
        n_domain=(pl.col("count") * pl.col("in_domain").cast(pl.UInt32)).sum(),
        var=_linearised_variance("_u"),
        var_difference=_linearised_variance("_d"),
    )
    return per_cell.pipe(_intervals_and_tests, confidence=confidence).drop("p", "p_rest", "var", "var_difference")


def _intervals_and_tests(cells: pl.LazyFrame, *, confidence: float) -> pl.LazyFrame:
    p, var = pl.col("p"), pl.col("var")
    # A share the raking fixes (a category of a margin) has no variance but rounding noise:
    # an effective base above 1e12 respondents is that noise.
    interior = (p > 0) & (p < 1) & (var > 1e-12 * p * (1 - p))
    t = t_quantile(z_for_level(confidence), pl.col("n_domain") - 1)
    half = t * var.sqrt() / (p * (1 - p))
    logit = (p / (1 - p)).log()
    expit = lambda x: 1.0 / (1.0 + (-x).exp())  # noqa: E731
    statistic = (p - pl.col("p_rest")) / pl.col("var_difference").sqrt()
    return cells.with_columns(
        weighted_pct=100.0 * p,
        weighted_ci_low=pl.when(interior).then(100.0 * expit(logit - half)).otherwise(100.0 * p),
        weighted_ci_high=pl.when(interior).then(100.0 * expit(logit + half)).otherwise(100.0 * p),
        design_effective_base=pl.when(interior).then(p * (1 - p) / var),
        # No variance (rounding noise aside): equal shares (both 0 or 100%) are not different
        # (p 1, where R gives NaN); different ones (a segment crossed with itself) are (p 0, as R).
        design_p_value=pl.when(pl.col("var_difference") > 1e-24)
        .then(erfc(statistic.abs() / math.sqrt(2.0)).clip(0.0, 1.0))
        .when(pl.col("p_rest").is_not_null())
        .then(pl.when((p - pl.col("p_rest")).abs() < 1e-9).then(1.0).otherwise(0.0)),
    )


def design_units(
    responses: pl.LazyFrame, *, cells: list[tuple[str, str, pl.Expr, pl.Expr]], segments: list[str], margins: list[str]
) -> pl.LazyFrame:
    """One row per wave, cell (question, answer, segment, segment value) and response (``_unit``) of the design.

    ``responses``: the responses of the raked design (those in bases), with ``wave``,
    ``weight``, the ``margins`` and ``segments`` columns. ``cells``: (question, answer,
    answered, chose) with ``answered`` and ``chose`` boolean expressions on a response.
    A cell's domain is its segment value among those who answered; its rest, the others
    who answered (none for the segment ``all``).
    """
    people = responses.with_row_index("_unit").with_columns(
        *[pl.col(s).cast(pl.String).alias(f"_seg:{s}") for s in segments],
        *[pl.col(m).cast(pl.String).alias(f"_margin:{m}") for m in margins],
        w=pl.col("weight").cast(pl.Float64),
    )
    flags = people.select(
        "_unit",
        "wave",
        "w",
        *[f"_margin:{m}" for m in margins],
        *[f"_seg:{s}" for s in segments],
        *[
            pl.struct(answered=answered.fill_null(False), y=chose.fill_null(False)).alias(f"_cell:{i}")
            for i, (_, _, answered, chose) in enumerate(cells)
        ],
    )
    catalog = pl.LazyFrame(
        [(f"_cell:{i}", question, answer) for i, (question, answer, _, _) in enumerate(cells)],
        schema={"_cell": pl.String, "question": pl.String, "answer": pl.String},
        orient="row",
    )
    per_cell = (
        flags.unpivot(
            index=["_unit", "wave", "w", *[f"_margin:{m}" for m in margins]],
            on=[f"_cell:{i}" for i in range(len(cells))],
            variable_name="_cell",
        )
        .unnest("value")
        .join(catalog, on="_cell")
        .drop("_cell")
    )
    values = flags.unpivot(index="_unit", on=[f"_seg:{s}" for s in segments], variable_name="segment", value_name="own")
    values = values.with_columns(pl.col("segment").str.strip_prefix("_seg:"))
    domains = pl.concat(
        [
            values.select("_unit", segment=pl.lit("all"), own=pl.lit("all")).unique(),
            values,
        ]
    )
    levels = domains.drop_nulls("own").select("segment", segment_value="own").unique()
    units = per_cell.join(domains, on="_unit").join(levels, on="segment")
    is_all = pl.col("segment") == "all"
    return units.select(
        "_unit",
        "wave",
        "question",
        "answer",
        "segment",
        "segment_value",
        "w",
        *[pl.col(f"_margin:{m}").alias(m) for m in margins],
        "y",
        in_domain=pl.col("answered") & (pl.col("own") == pl.col("segment_value")).fill_null(False),
        in_rest=pl.col("answered") & ~is_all & ~(pl.col("own") == pl.col("segment_value")).fill_null(False),
    )


def design_based_cells(
    responses: pl.LazyFrame,
    *,
    answer_cells: tuple[list[tuple[str, str | None, pl.Expr]], list[pl.Expr]],
    segments: list[str],
    margins: list[str],
    confidence: float,
) -> pl.LazyFrame:
    """One row per wave, question, answer, segment and segment value: the design-based
    weighted columns (see :func:`design_based_domains`) of the responses in bases, raked on ``margins``.

    ``answer_cells``: (cells, masks) as the crosstab's ``_answer_cells`` gives them (a
    question's base has answer None).
    """
    cells, masks = answer_cells
    answered = {question: condition for question, answer, condition in cells if answer is None}
    per_answer = [(q, a, answered[q], condition) for q, a, condition in cells if a is not None]
    units = design_units(
        responses.filter(~pl.col("is_excluded")).with_columns(masks),
        cells=per_answer,
        segments=segments,
        margins=margins,
    )
    keys = ["wave", "question", "answer", "segment", "segment_value"]
    return design_based_domains(units, by=keys, margins=margins, confidence=confidence)
