"""Respondent weights: raking to population margins, and the Kish effective base.

Weights are relative: they are normalised to mean 1, so a weighted base equals the
unweighted number of respondents it covers on average. Shares are proportions 0-1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

__all__ = ["kish_effective_base", "rake_weights"]

SHARE_SUM_TOLERANCE = 1e-6


def kish_effective_base(weight: pl.Expr | str) -> pl.Expr:
    """Kish effective sample size ``(sum w)^2 / sum(w^2)``, in respondents (an aggregate).

    Equals the number of rows when all weights are equal and shrinks as weights vary.
    Null weights are ignored; null when there is no non-zero weight.
    """
    w = (pl.col(weight) if isinstance(weight, str) else weight).cast(pl.Float64)
    sum_squares = (w * w).sum()
    return pl.when(sum_squares > 0).then(w.sum() ** 2 / sum_squares)


def _target_key(variable: str) -> pl.Expr:
    # Targets name categories as strings; compare the data's categories in string form
    # so String, Enum, Categorical and integer-coded columns all work.
    return pl.col(variable).cast(pl.String)


def _validate(frame: pl.DataFrame, targets: Mapping[str, Mapping[str, float]], weight_col: str) -> None:
    if not targets:
        raise ValueError("raking needs at least one target variable")
    if frame.height == 0:
        raise ValueError("cannot rake an empty frame")
    for variable, shares in targets.items():
        if variable not in frame.columns:
            raise ValueError(f"target variable {variable!r} is not a column of the frame")
        if variable == weight_col:
            raise ValueError(f"target variable {variable!r} is also the weight column")
        if not shares:
            raise ValueError(f"targets for {variable!r} are empty")
        bad = {category: share for category, share in shares.items() if not (share > 0 and math.isfinite(share))}
        if bad:
            raise ValueError(f"target shares for {variable!r} must be positive and finite, got {bad}")
        total = math.fsum(shares.values())
        if abs(total - 1.0) > SHARE_SUM_TOLERANCE:
            raise ValueError(f"target shares for {variable!r} sum to {total!r}, not 1")
        null_rows = frame.get_column(variable).null_count()
        if null_rows:
            raise ValueError(
                f"{null_rows} row(s) have no value for target variable {variable!r}; "
                "impute them or give missing an explicit category with its own target"
            )
        present = set(frame.select(_target_key(variable).unique()).to_series().to_list())
        untargeted = sorted(present - set(shares))
        if untargeted:
            raise ValueError(
                f"categories of {variable!r} present in the data but absent from the targets: {untargeted}"
            )
        empty = sorted(set(shares) - present)
        if empty:
            raise ValueError(f"target categories of {variable!r} with no respondents to weight: {empty}")
    if weight_col in frame.columns:
        start = frame.get_column(weight_col)
        if not start.dtype.is_numeric():
            raise ValueError(f"starting weight column {weight_col!r} is not numeric")
        if start.null_count() or not bool((start.cast(pl.Float64) > 0).all()):
            raise ValueError(f"starting weights in {weight_col!r} must all be positive and non-null")


def rake_weights(
    frame: pl.DataFrame,
    *,
    targets: dict[str, dict[str, float]],
    max_iter: int = 100,
    tol: float = 1e-8,
    weight_col: str = "weight",
    cap: float | None = None,
) -> pl.DataFrame:
    """Rake (iterative proportional fitting) one weight per row to target margins.

    ``targets`` maps a variable (a column) to ``{category: share}``, shares being
    proportions 0-1 summing to 1; categories are matched on the column's string form.
    Each iteration scales the weights, one variable after another, so that the
    weighted share of every category equals its target; it stops once every
    weighted share is within ``tol`` (absolute, on the 0-1 scale) of its target.

    Starting weights: the ``weight_col`` column if the frame has one (design weights,
    which must be positive and non-null), otherwise 1 for every row. The result is
    the frame with ``weight_col`` (Float64) added or replaced, normalised to mean 1.

    ``cap``, if given (> 1), bounds the weights relative to their mean: after every
    iteration the weights are normalised to mean 1 and trimmed to at most ``cap``,
    and raking continues from the trimmed weights (so at convergence the margins
    hold and the largest weight is ``cap`` up to the tolerance).

    Raises ValueError, before any iteration, when a target variable has a null (a
    respondent with no category cannot be put on a margin: impute, or make missing
    an explicit category with its own target), a category present in the data but
    not in the targets, a target category with no respondents, or shares that are
    not positive or do not sum to 1; and after ``max_iter`` iterations without
    convergence (e.g. a cap that the margins cannot meet), rather than return
    weights that miss the targets.

    This takes and returns an eager DataFrame: each iteration needs the totals of
    the previous one, so the data is materialised. Work per iteration is vectorised
    (window sums); Python loops only over iterations and target variables.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter!r}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    if cap is not None and not cap > 1:
        raise ValueError(f"cap is relative to a mean weight of 1 and must exceed 1, got {cap!r}")
    _validate(frame, targets, weight_col)

    variables = list(targets)
    keys = [f"__key_{i}" for i in range(len(variables))]
    shares = [f"__share_{i}" for i in range(len(variables))]
    w = pl.col("__w")
    start = pl.col(weight_col).cast(pl.Float64) if weight_col in frame.columns else pl.lit(1.0, dtype=pl.Float64)
    work = frame.select(
        start.alias("__w"),
        # Dense integer codes: window sums over integers are cheaper than over strings.
        *(_target_key(v).rank("dense").alias(k) for v, k in zip(variables, keys, strict=True)),
        *(
            _target_key(v).replace_strict(dict(targets[v]), return_dtype=pl.Float64).alias(s)
            for v, s in zip(variables, shares, strict=True)
        ),
    )
    # Largest gap between a category's weighted share and its target, over all variables.
    gap = pl.max_horizontal(
        *(((w.sum().over(k) / w.sum()) - pl.col(s)).abs().max() for k, s in zip(keys, shares, strict=True))
    )

    for _ in range(max_iter):
        for key, share in zip(keys, shares, strict=True):
            work = work.with_columns(w * pl.col(share) * w.sum() / w.sum().over(key))
        work = work.with_columns(w / w.mean())
        if cap is not None:
            work = work.with_columns(w.clip(upper_bound=cap))
        if work.select(gap).item() < tol:
            break
    else:
        achieved = work.select(gap).item()
        raise ValueError(
            f"raking did not converge in {max_iter} iterations: largest share gap {achieved:.3g} "
            f"(tol {tol:g}{'' if cap is None else f', cap {cap:g}'})"
        )

    weights = work.select(w / w.mean()).to_series().alias(weight_col)
    return frame.with_columns(weights)


def weight_responses(
    responses: pl.DataFrame, *, targets: Mapping[str, Mapping[str, float]] | None, key: list[str]
) -> pl.DataFrame:
    """One row per response with ``weight``: raked within each wave over the responses in bases.

    Excluded responses get no weight (they enter no base); without targets every weight
    is null and the crosstab's weighted columns stay empty.
    """
    if not targets:
        return responses.with_columns(weight=pl.lit(None, pl.Float64))
    weighted = []
    for (wave,), part in responses.filter(~pl.col("is_excluded")).group_by(["wave"], maintain_order=True):
        try:
            raked = rake_weights(part.select(*key, *targets), targets={k: dict(v) for k, v in targets.items()})
        except ValueError as error:
            raise ValueError(f"weighting wave {wave}: {error}") from error
        weighted.append(raked.select(*key, "weight"))
    if not weighted:
        return responses.with_columns(weight=pl.lit(None, pl.Float64))
    return responses.join(pl.concat(weighted), on=key, how="left", maintain_order="left")
