"""The report's published figures, recomputed from the crosstab and held against it."""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook
from schemas.figures import published_figures_frame

#: Rounding in the report: two complementary published figures may miss 100 by this.
COMPLEMENT_SLACK_PTS = 2.0


def internal_contradictions(figures: pl.DataFrame, *, book: Codebook) -> pl.DataFrame:
    """Pairs of published figures that cannot both be true, whatever the data.

    Two figures of the same single-choice question and segment whose answer sets are
    disjoint cannot add up to more than 100; if together they cover every option they
    must add up to 100 (within rounding).
    """
    rows = []
    single = {q.code for q in book.single}
    records = [r for r in figures.iter_rows(named=True) if r["question"] in single]
    for i, first in enumerate(records):
        for second in records[i + 1 :]:
            if (first["question"], first["segment"]) != (second["question"], second["segment"]):
                continue
            a, b = set(first["answers"].split("|")), set(second["answers"].split("|"))
            if a & b:
                continue
            total = first["published_pct"] + second["published_pct"]
            covers = a | b == set(book.question(first["question"]).option_codes)
            if total > 100 + COMPLEMENT_SLACK_PTS or (covers and abs(total - 100) > COMPLEMENT_SLACK_PTS):
                rows.append(
                    (
                        first["id"],
                        second["id"],
                        f"{first['id']} ({first['published_pct']:g}%) and "
                        f"{second['id']} ({second['published_pct']:g}%) are {'complements' if covers else 'disjoint'} "
                        f"and add up to {total:g}%",
                    )
                )
    return pl.DataFrame(rows, schema={"id": pl.Utf8, "contradicts": pl.Utf8, "reason": pl.Utf8}, orient="row")


def check_claims(
    crosstab: pl.LazyFrame,
    figures: pl.DataFrame,
    *,
    book: Codebook,
    wave: int,
    tolerance_pts: float,
    minimum_base: int,
    unscreened: pl.LazyFrame | None = None,
    weighted: bool = False,
) -> pl.LazyFrame:
    """One row per published figure: published, recomputed, interval and status.

    status (see ``CLAIM_STATUSES``):
    - `reproduced`: the recomputed figure rounds to the published one at the published
      precision (whole points unless the published value has decimals; a half rounds either way);
    - `within_tolerance`: not reproduced, but within ``tolerance_pts`` points of it;
    - `contradicted`: neither, and the report contradicts itself on this figure (see `contradiction`);
    - `not_reproduced`: neither, and no contradiction;
    - `below_minimum_base`: computed, but on a base under ``minimum_base``;
    - `not_computable`: no crosstab row for the figure (no data at all).
    The interval is information only (``is_within_ci``): report and recomputation use the
    same sample, so the interval says nothing about whether the arithmetic was reproduced.
    `unscreened` is the crosstab computed with no exclusions: how the figure would move if
    the screened-out responses were counted (unweighted: the screened-out have no weight).
    ``weighted``: the figure is recomputed as the crosstab's weighted percentage, with its
    weighted interval (``is_weighted``); the minimum base still counts respondents.
    """
    located = published_figures_frame(figures, book=book)
    conflicts = internal_contradictions(figures, book=book)
    reasons: dict[str, str] = {}
    for row in conflicts.iter_rows(named=True):
        reasons[row["id"]] = reasons[row["contradicts"]] = row["reason"]
    keys = ["question", "answer", "segment_name", "segment_value"]
    prefix = "weighted_" if weighted else ""
    computed = _recomputed(
        crosstab,
        wave,
        base_n="base_n",
        computed_pct=f"{prefix}pct",
        ci_low=f"{prefix}ci_low",
        ci_high=f"{prefix}ci_high",
        screened_pct="pct",
    )
    joined = located.lazy().join(computed, on=keys, how="left")
    if unscreened is not None:
        joined = joined.join(_recomputed(unscreened, wave, unscreened_pct="pct"), on=keys, how="left")
    else:
        joined = joined.with_columns(unscreened_pct=pl.lit(None, pl.Float64))
    diff = pl.col("computed_pct") - pl.col("published_pct")
    published, slack = pl.col("published_pct"), FLOAT_SLACK_PTS
    within_ci = (published >= pl.col("ci_low") - slack) & (published <= pl.col("ci_high") + slack)
    return (
        joined.with_columns(
            diff_pts=diff,
            is_reproduced=diff.abs() <= _half_unit(published) + slack,
            is_within_tolerance=diff.abs() <= tolerance_pts + slack,
            is_within_ci=within_ci,
        )
        .with_columns(
            status=_claim_status(minimum_base=minimum_base, contradicted=list(reasons)),
            contradiction=pl.col("id").replace_strict(reasons, default=None),
            screening_effect_pts=pl.col("unscreened_pct") - pl.col("screened_pct"),
            wave=pl.lit(wave, pl.Int32),
            is_weighted=pl.lit(weighted),
        )
        .select(CLAIM_COLUMNS)
        .sort("id")
    )


CLAIM_COLUMNS = [
    "wave",
    "id",
    "question",
    "answers",
    "segment",
    "answer",
    "segment_name",
    "segment_value",
    "published_pct",
    "computed_pct",
    "is_weighted",
    "diff_pts",
    "base_n",
    "ci_low",
    "ci_high",
    "is_within_tolerance",
    "is_within_ci",
    "status",
    "contradiction",
    "unscreened_pct",
    "screening_effect_pts",
    "note",
]


def _recomputed(table: pl.LazyFrame, wave: int, **names: str) -> pl.LazyFrame:
    """The crosstab's rows of ``wave`` keyed as the figures are, its columns renamed (alias=column)."""
    return table.filter(pl.col("wave") == wave).select(
        "question",
        "answer",
        segment_name="segment",
        segment_value="segment_value",
        **{alias: column for alias, column in names.items()},
    )


#: Most decimals a published figure is read with (its precision is the fewest that print it).
MAX_PUBLISHED_DECIMALS = 3


#: Points a figure may differ by at a verdict's boundary (rounding, tolerance, interval) and keep
#: the verdict: the same weighted responses summed in another order (parallel group-bys, raking's
#: iterations) differ in the last bits, and a figure exactly on a boundary (a share raked to its
#: target, one point from the printed figure) must not flip from one night to the next.
FLOAT_SLACK_PTS = 1e-9


def _half_unit(published: pl.Expr) -> pl.Expr:
    """Half the last printed unit of a published figure: 0.5 for 42, 0.05 for 42.5."""
    unit = pl.lit(10.0**-MAX_PUBLISHED_DECIMALS)
    for decimals in range(MAX_PUBLISHED_DECIMALS - 1, -1, -1):
        unit = (
            pl.when((published * 10**decimals - (published * 10**decimals).round()).abs() < 1e-9)
            .then(pl.lit(10.0**-decimals))
            .otherwise(unit)
        )
    return unit / 2


def _claim_status(*, minimum_base: int, contradicted: list[str]) -> pl.Expr:
    """A figure's status (see ``check_claims``), from its recomputed columns."""
    return (
        pl.when(pl.col("computed_pct").is_null())
        .then(pl.lit("not_computable"))
        .when(pl.col("base_n") < minimum_base)
        .then(pl.lit("below_minimum_base"))
        .when(pl.col("is_reproduced"))
        .then(pl.lit("reproduced"))
        .when(pl.col("is_within_tolerance"))
        .then(pl.lit("within_tolerance"))
        .when(pl.col("id").is_in(contradicted))
        .then(pl.lit("contradicted"))
        .otherwise(pl.lit("not_reproduced"))
    )
