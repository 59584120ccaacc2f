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
its margin categories, domain, rest and answer): cells times margin categories times
five classes, whatever the number of responses. The nightly build adds the classes up
from the crosstab's cubes (:func:`design_classes_from_cubes`, when the margins are
segments): on the demo's two weighted waves the crosstab pair takes 1.1 s instead of
7.0 s summed from one row per cell and response (:func:`design_units`, kept for margins
that are not segments and as the tests' second computation).
"""

from __future__ import annotations

import polars as pl

from transforms.statistics import wald_p_value, z_for_level

__all__ = [
    "design_based_cells",
    "design_based_domains",
    "design_classes",
    "design_classes_from_cubes",
    "design_units",
    "t_quantile",
]

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


def _with_residuals(frame: pl.LazyFrame, columns: list[str], *, groups: list[str]) -> pl.LazyFrame:
    """``columns`` (linearised values divided by the weight, one per class of ``count``
    responses) made residuals of the raking margins: ``ave`` is a mean over responses.

    ``groups``: per margin, an integer column naming the cell and the margin's category.
    Each step is its own column update: nested, the expression would double in size per step.
    """
    count = pl.col("count")
    for _ in range(RAKING_PASSES):
        for group in groups:
            frame = frame.with_columns(
                pl.col(c) - (count * pl.col(c)).sum().over(group) / count.sum().over(group) for c in columns
            )
    return frame


def _linearised_variance(column: str) -> pl.Expr:
    """With-replacement variance of the total of ``w * column`` over the design's responses
    (an aggregate over classes: ``count`` responses, ``sw`` and ``sw2`` their sums of w, w^2)."""
    u = pl.col(column)
    n = pl.col("count").sum().cast(pl.Float64)
    mean = (pl.col("sw") * u).sum() / n
    return n / (n - 1.0) * ((pl.col("sw2") * u * u).sum() - n * mean * mean)


def design_classes(units: pl.LazyFrame, *, by: list[str], margins: list[str]) -> pl.LazyFrame:
    """One row per ``by`` (a cell), margin categories, ``in_domain``, ``in_rest`` and ``y``:
    ``count`` responses, ``sw`` and ``sw2`` their sums of w and w^2 (see :func:`design_units`)."""
    w = pl.col("w")
    return units.group_by(*by, *margins, "in_domain", "in_rest", "y").agg(
        count=pl.len().cast(pl.Int64), sw=w.sum(), sw2=(w * w).sum()
    )


def design_based_domains(
    classes: pl.LazyFrame, *, by: list[str], margins: list[str], confidence: float
) -> pl.LazyFrame:
    """One row per ``by`` (a cell): the design-based proportion, its interval and test.

    ``classes`` (from :func:`design_classes` or :func:`design_classes_from_cubes`) hold
    the whole (raked) design each cell belongs to, summed per class of responses: the
    raking ``margins`` columns, ``in_domain`` and ``in_rest`` (booleans: the cell's
    domain, and the rest of its base it is tested against), ``y`` (bool: gave the
    answer), ``count``, ``sw``, ``sw2``. Out: ``weighted_pct``, ``weighted_ci_low``,
    ``weighted_ci_high`` (percent 0-100), ``design_effective_base`` (p(1-p)/var(p),
    respondents), ``design_p_value`` (0-1; null without a rest or a variance).

    A response's residual depends only on its class (margin categories, domain, rest,
    answer): the passes run over classes, a few dozen rows per cell.
    """
    # The windows run over integer keys: a cell's number, and per margin the cell and category.
    # (Numbered within one pass over the classes: joined back, the classes' plan would run twice.)
    listed = [c for c in ("count", "sw", "sw2", "in_domain", "in_rest", "y", *margins)]
    groups = [f"_group:{m}" for m in margins]
    keyed = (
        classes.group_by(by)
        .agg(pl.col(listed))
        .with_row_index("_cell")
        .explode(listed)
        .with_columns(
            (pl.col("_cell").cast(pl.UInt64) * 2**32 + pl.col(m).cast(pl.String).rank("dense").cast(pl.UInt64)).alias(g)
            for m, g in zip(margins, groups, strict=True)
        )
    )
    sw, y, cell = pl.col("sw"), pl.col("y").cast(pl.Float64), "_cell"
    d1, d2 = pl.col("in_domain").cast(pl.Float64), pl.col("in_rest").cast(pl.Float64)
    shares = keyed.with_columns(
        _w1=(sw * d1).sum().over(cell),
        _w2=(sw * d2).sum().over(cell),
        _p1=(sw * d1 * y).sum().over(cell) / (sw * d1).sum().over(cell),
        _p2=pl.when((sw * d2).sum().over(cell) > 0).then((sw * d2 * y).sum().over(cell) / (sw * d2).sum().over(cell)),
    )
    u1 = d1 * (y - pl.col("_p1")) / pl.col("_w1")
    u2 = pl.when(pl.col("_w2") > 0).then(d2 * (y - pl.col("_p2")) / pl.col("_w2")).otherwise(0.0)
    residuals = shares.with_columns(_u=u1, _d=u1 - u2).pipe(_with_residuals, ["_u", "_d"], groups=groups)
    per_cell = residuals.group_by(cell).agg(
        pl.col(by).first(),
        p=pl.col("_p1").first(),
        p_rest=pl.col("_p2").first(),
        n_domain=pl.col("count").filter(pl.col("in_domain")).sum(),
        var=_linearised_variance("_u"),
        var_difference=_linearised_variance("_d"),
    )
    return per_cell.pipe(_intervals_and_tests, confidence=confidence).drop(cell, "p", "p_rest", "var", "var_difference")


def _intervals_and_tests(cells: pl.LazyFrame, *, confidence: float) -> pl.LazyFrame:
    p, var = pl.col("p"), pl.col("var")
    # A share the raking fixes (a category of a margin) has no variance but rounding noise:
    # an effective base above 1e12 respondents is that noise.
    interior = (p > 0) & (p < 1) & (var > 1e-12 * p * (1 - p))
    t = t_quantile(z_for_level(confidence), pl.col("n_domain") - 1)
    half = t * var.sqrt() / (p * (1 - p))
    logit = (p / (1 - p)).log()
    expit = lambda x: 1.0 / (1.0 + (-x).exp())  # noqa: E731
    return cells.with_columns(
        weighted_pct=100.0 * p,
        weighted_ci_low=pl.when(interior).then(100.0 * expit(logit - half)).otherwise(100.0 * p),
        weighted_ci_high=pl.when(interior).then(100.0 * expit(logit + half)).otherwise(100.0 * p),
        design_effective_base=pl.when(interior).then(p * (1 - p) / var),
        # Null without a rest (p_rest null); a segment crossed with itself has no variance: p 0.
        design_p_value=wald_p_value(p - pl.col("p_rest"), pl.col("var_difference")),
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
    classes = design_classes(units, by=keys, margins=margins)
    return design_based_domains(classes, by=keys, margins=margins, confidence=confidence)


#: The classes of a cell's design, as sums of the cube columns: (in_domain, in_rest, y, the
#: columns added, the columns subtracted). ``d1`` the domain's answer, ``db`` the domain's
#: base, ``c`` and ``b`` the whole base's answer and base, ``p`` every response of the design.
_CLASSES = (
    (True, False, True, ["d1"], []),
    (True, False, False, ["db"], ["d1"]),
    (False, True, True, ["c"], ["d1"]),
    (False, True, False, ["b", "d1"], ["db", "c"]),
    (False, False, False, ["p"], ["b"]),
)


def design_classes_from_cubes(
    base_cube: pl.LazyFrame,
    count_cube: pl.LazyFrame,
    people: pl.LazyFrame,
    *,
    answers: pl.LazyFrame,
    segments: list[str],
    margins: list[str],
) -> pl.LazyFrame:
    """What :func:`design_classes` gives (``by`` = wave, question, answer, segment, segment
    value), added up from the crosstab's cubes instead of one row per cell and response.

    ``base_cube`` (wave, question, ``seg_<segment>``..., n, w, w2: who answered) and
    ``count_cube`` (the same with answer: who gave it) are the crosstab's sums per
    combination of segment values; ``people`` (wave, ``seg_<margin>``..., n, w, w2) every
    response of the design; ``answers`` (question, answer) the cells of each question.
    Every raking margin must be a segment (a ``seg_`` column of the cubes). The cost
    follows cells times margin categories, not responses.
    """
    keyed = [f"seg_{m}" for m in margins]
    sums = [pl.col("n", "w", "w2").sum()]

    def per_value(cube: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
        return pl.concat(
            cube.with_columns(segment_value=pl.lit("all") if s == "all" else pl.col(f"seg_{s}"))
            .drop_nulls("segment_value")
            .group_by(*keys, "segment_value", *keyed)
            .agg(*sums)
            .with_columns(segment=pl.lit(s))
            for s in ["all", *segments]
        )

    def named(frame: pl.LazyFrame, prefix: str) -> pl.LazyFrame:
        return frame.rename({c: f"{prefix}_{c}" for c in ("n", "w", "w2")})

    domain_base = named(per_value(base_cube, ["wave", "question"]), "db")
    cells = domain_base.select("wave", "question", "segment", "segment_value").unique().join(answers, on="question")
    cell = ["wave", "question", "segment", "segment_value"]
    grid = (
        cells.join(named(people.group_by("wave", *keyed).agg(*sums), "p"), on="wave")
        .join(domain_base, on=[*cell, *keyed], how="left")
        .join(
            named(per_value(count_cube, ["wave", "question", "answer"]), "d1"), on=[*cell, "answer", *keyed], how="left"
        )
        .join(
            named(base_cube.group_by("wave", "question", *keyed).agg(*sums), "b"),
            on=["wave", "question", *keyed],
            how="left",
        )
        .join(
            named(count_cube.group_by("wave", "question", "answer", *keyed).agg(*sums), "c"),
            on=["wave", "question", "answer", *keyed],
            how="left",
        )
    )
    classes = pl.concat(
        grid.select(
            *cell,
            "answer",
            *[pl.col(k).alias(m) for k, m in zip(keyed, margins, strict=True)],
            in_domain=pl.lit(in_domain),
            in_rest=pl.lit(in_rest),
            y=pl.lit(y),
            count=_sum_of("n", plus, minus).cast(pl.Int64),
            sw=_sum_of("w", plus, minus).cast(pl.Float64),
            sw2=_sum_of("w2", plus, minus).cast(pl.Float64),
        )
        for in_domain, in_rest, y, plus, minus in _CLASSES
    )
    return classes.filter(pl.col("count") > 0)


def _sum_of(column: str, plus: list[str], minus: list[str]) -> pl.Expr:
    """The sum of the ``plus`` cubes' ``column`` less the ``minus`` ones' (a missing row is 0)."""
    term = lambda x: pl.col(f"{x}_{column}").fill_null(0)  # noqa: E731
    return sum((term(x) for x in plus), pl.lit(0)) - sum((term(x) for x in minus), pl.lit(0))
