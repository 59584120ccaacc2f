"""Survey statistics for crosstab cells, as Polars expressions.

Every helper here is a noun that returns a ``pl.Expr`` (or a pair of them), so it can
be used inside ``select``/``with_columns``/``agg`` of a lazy or eager frame and tested
on a three-row frame. Nothing here does I/O, collects, or needs scipy at run time: the
normal tail probability is computed with an erfc approximation written in expressions.

Units, as the names say:

* ``pct`` / interval bounds: percent, 0-100.
* ``proportion``: 0-1 (only inside this module).
* p-values: probabilities, 0-1.
* counts and bases: respondents (or weighted / effective respondents), >= 0.

Arguments typed ``pl.Expr | str`` accept an expression or a column name.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import polars as pl

__all__ = [
    "adjusted_p_value",
    "erfc",
    "is_low_base",
    "is_suppressed",
    "two_proportion_p_value",
    "two_proportion_p_value_from_pct",
    "wald_p_value",
    "wilson_interval",
    "wilson_interval_from_pct",
    "z_for_level",
]

P_VALUE_METHODS = ("bh", "bonferroni", "none")

# Numerical Recipes (2nd ed., section 6.2) ``erfcc``: Chebyshev-fitted exponent,
# fractional error below 1.2e-7 for every x (also deep in the tail).
_ERFC_COEFFICIENTS = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def _expr(value: pl.Expr | str) -> pl.Expr:
    return pl.col(value) if isinstance(value, str) else value


def z_for_level(level: float) -> float:
    """Two-sided standard-normal critical value for a confidence level given as 0-1.

    ``z_for_level(0.95)`` is 1.959963984540054 (the 97.5th normal percentile).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be strictly between 0 and 1, got {level!r}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def erfc(x: pl.Expr | str) -> pl.Expr:
    """Complementary error function ``erfc(x) = 1 - erf(x)`` of a float expression.

    Numerical Recipes' Chebyshev approximation: relative (fractional) error below
    1.2e-7 over the whole real line, so tail probabilities keep their significant
    digits (it does not compute ``1 - erf``). Null stays null. Result in [0, 2].
    """
    x = _expr(x).cast(pl.Float64)
    # erfc(-x) = 2 - erfc(x); erfc(0) comes out as exactly 1.
    sign = x.sign()
    # Evaluate the tail on a one-element list per row so that the argument expression
    # is referenced once: written out, the Horner scheme would copy it a dozen times
    # into the query plan, which makes planning slow for a large argument.
    tail = pl.concat_list([x.abs()]).list.eval(_erfc_tail(pl.element())).list.first()
    return sign * tail + (1.0 - sign)  # exact: tail + 0.0 for x > 0, 1.0 at x = 0


def _erfc_tail(z: pl.Expr) -> pl.Expr:
    """erfc(z) for z >= 0 (Numerical Recipes ``erfcc``)."""
    t = 1.0 / (1.0 + 0.5 * z)
    poly = pl.lit(_ERFC_COEFFICIENTS[-1])
    for coefficient in reversed(_ERFC_COEFFICIENTS[:-1]):
        poly = coefficient + t * poly  # Horner; the loop builds the expression, not rows
    return t * (-z * z + poly).exp()


def wilson_interval(count: pl.Expr | str, base: pl.Expr | str, *, z: float) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval for ``count / base``, as ``(low, high)`` in percent 0-100.

    ``count`` and ``base`` are unweighted respondent counts (0 <= count <= base).
    ``z`` is the two-sided critical value, e.g. ``z_for_level(0.95)``. Both bounds are
    null when ``base`` is 0 or null, or ``count`` is null or outside 0..base (an
    impossible cell is reported as missing rather than as NaN). For weighted data use
    :func:`wilson_interval_from_pct` with the Kish effective base.
    """
    base = _expr(base).cast(pl.Float64)
    return wilson_interval_from_pct(_expr(count).cast(pl.Float64) / base * 100.0, base, z=z)


def wilson_interval_from_pct(pct: pl.Expr | str, n_eff: pl.Expr | str, *, z: float) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval around a (weighted) percentage, as ``(low, high)`` in percent 0-100.

    ``pct`` is the point estimate in percent 0-100 (e.g. weighted count / weighted base
    * 100); ``n_eff`` is the sample size the interval is based on, normally the Kish
    effective base of the cell's base (see ``transforms.weighting.kish_effective_base``);
    it may be fractional. With ``pct = count / base * 100`` and ``n_eff = base`` this is
    exactly :func:`wilson_interval`. Null when ``n_eff`` is 0 or null, or ``pct`` is null
    or outside 0-100.
    """
    pct, n = _expr(pct).cast(pl.Float64), _expr(n_eff).cast(pl.Float64)
    p = pct / 100.0
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = (z / denominator) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt()
    # Mathematically 0 <= low <= pct <= high <= 100; the clips only absorb floating-point
    # rounding (e.g. low = -1e-15 when pct is 0).
    low = ((centre - half) * 100.0).clip(0.0, pct)
    high = ((centre + half) * 100.0).clip(pct, 100.0)
    valid = (n > 0) & pct.is_between(0.0, 100.0)
    return (pl.when(valid).then(low), pl.when(valid).then(high))


def _pooled_p_value(p1: pl.Expr, n1: pl.Expr, p2: pl.Expr, n2: pl.Expr) -> pl.Expr:
    """Two-sided pooled z-test p-value from proportions 0-1 and their sample sizes."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    z = (p1 - p2) / variance.sqrt()
    p_value = erfc(z.abs() / math.sqrt(2.0)).clip(0.0, 1.0)  # 2 * (1 - Phi(|z|))
    testable = (n1 > 0) & (n2 > 0) & p1.is_between(0.0, 1.0) & p2.is_between(0.0, 1.0)
    return (
        pl.when(testable & (variance > 0))
        .then(p_value)
        .when(testable)  # variance 0: pooled proportion 0 or 1, both groups identical
        .then(1.0)
    )  # otherwise (a base of 0, an impossible proportion, a null input) null


def two_proportion_p_value(n1: pl.Expr | str, base1: pl.Expr | str, n2: pl.Expr | str, base2: pl.Expr | str) -> pl.Expr:
    """Two-sided p-value (0-1) of the pooled two-proportion z-test of n1/base1 vs n2/base2.

    The two groups must be disjoint: for "segment vs the rest of the sample" pass the
    segment as group 1 and the complement as group 2 (``n2 = n_total - n1``,
    ``base2 = base_total - base1``), never the total itself.

    Edge cases:

    * null when either base is 0 (or negative), any input is null, or a count lies
      outside 0..base: nothing (sensible) to test;
    * 1.0 when the pooled proportion is 0 or 1 (nobody / everybody in both groups).
      The z statistic is 0/0 there, but the two observed proportions are identical,
      so there is no evidence of a difference; 1.0 is also what the exact
      (Fisher) test gives. It stays a real test result that counts in the
      multiple-comparison family, whereas null means "not testable".
    """
    n1, base1 = _expr(n1).cast(pl.Float64), _expr(base1).cast(pl.Float64)
    n2, base2 = _expr(n2).cast(pl.Float64), _expr(base2).cast(pl.Float64)
    return _pooled_p_value(n1 / base1, base1, n2 / base2, base2)


def two_proportion_p_value_from_pct(
    pct1: pl.Expr | str, n_eff1: pl.Expr | str, pct2: pl.Expr | str, n_eff2: pl.Expr | str
) -> pl.Expr:
    """Weighted form of :func:`two_proportion_p_value`: p-value (0-1) from percentages 0-100.

    ``pct1``/``pct2`` are (weighted) percentages 0-100 of two disjoint groups and
    ``n_eff1``/``n_eff2`` their Kish effective bases. Same edge cases as the count form.
    """
    return _pooled_p_value(
        _expr(pct1).cast(pl.Float64) / 100.0,
        _expr(n_eff1).cast(pl.Float64),
        _expr(pct2).cast(pl.Float64) / 100.0,
        _expr(n_eff2).cast(pl.Float64),
    )


def wald_p_value(difference: pl.Expr | str, variance: pl.Expr | str) -> pl.Expr:
    """Two-sided p-value (0-1) of the Wald z-test of an estimated ``difference`` with its ``variance``
    (z = difference / sqrt(variance), p = 2 (1 - Phi(|z|)), as R's ``2 * pnorm(-abs(z))``).

    With no variance (below 1e-24: rounding noise) there is no z: equal estimates (within
    1e-9) are not different (p 1, where R gives NaN), different ones are (p 0, as R).
    Null when either input is null.
    """
    difference, variance = _expr(difference).cast(pl.Float64), _expr(variance).cast(pl.Float64)
    return (
        pl.when(variance > 1e-24)
        .then(erfc(difference.abs() / variance.sqrt() / math.sqrt(2.0)).clip(0.0, 1.0))
        .when(variance.is_not_null() & difference.is_not_null())
        .then(pl.when(difference.abs() < 1e-9).then(1.0).otherwise(0.0))
    )


def adjusted_p_value(p: pl.Expr | str, *, method: str, over: list[str] | None = None) -> pl.Expr:
    """p-values (0-1) adjusted for multiple comparisons across the column, or per group.

    ``method``:

    * ``"bh"``: Benjamini-Hochberg step-up (false discovery rate):
      ``p_adj(i) = min(1, min_{j: rank j >= rank i} p(j) * m / rank(j))``. Monotone in
      the raw p order; tied raw p-values get the same adjusted value.
    * ``"bonferroni"``: ``min(1, p * m)``.
    * ``"none"``: p unchanged.

    ``m`` is the number of non-null p-values in the family; null p-values are not
    counted and stay null. The family is the whole column, or each group of the
    ``over`` columns (a window expression: use it in ``select``/``with_columns``).
    """
    if method not in P_VALUE_METHODS:
        raise ValueError(f"unknown p-value adjustment {method!r}; expected one of {P_VALUE_METHODS}")
    p = _expr(p).cast(pl.Float64)
    if method == "none":
        return p
    m = p.count()
    if method == "bonferroni":
        adjusted = (p * m).clip(upper_bound=1.0)
    else:
        rank = p.rank(method="ordinal")  # 1..m over non-null values, null for null
        step = p * (m / rank)  # m / rank >= 1 exactly, so step >= p despite rounding
        # Reverse cumulative minimum in rank order, then back to row order: the
        # value at sorted position rank-1 belongs to the row with that rank.
        adjusted = step.sort_by(rank, nulls_last=True).cum_min(reverse=True).gather(rank - 1).clip(upper_bound=1.0)
    return adjusted.over(over) if over else adjusted


def is_suppressed(base: pl.Expr | str, *, minimum: int) -> pl.Expr:
    """True when a cell's base (respondents) is below ``minimum`` and must not be shown.

    A null base counts as suppressed (fail closed: a figure whose base is unknown is
    never published).
    """
    return (_expr(base) < minimum).fill_null(True)


def is_low_base(base: pl.Expr | str, *, minimum: int, low: int) -> pl.Expr:
    """True when a cell's base (respondents) is shown but small: at or above ``minimum``
    (else it is suppressed) and under ``low``. A null base is suppressed, so never low."""
    base = _expr(base)
    return ((base >= minimum) & (base < low)).fill_null(False)
