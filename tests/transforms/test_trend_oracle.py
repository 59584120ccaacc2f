"""The weighted trend against R's survey package: two waves stacked, each its own stratum.

Two waves of random responses (600 and 500, 10% screened out), each raked by
``weight_responses`` on role, language and team size; the crosstab is design-based
(``margins``) and ``build_trend(weighted=True)`` tests each change. R stacks the two
waves as strata of one design (independent samples), rakes each wave to its own margins
(wave x variable) and, for a seeded sample of trend rows, takes the contrast of the two
waves' domain means, ``svycontrast(svytotal(~yd + d + yr + r), quote(yd/d - yr/r))``
(``d`` the row's domain in this wave, ``r`` in the previous one), p = 2 pnorm(-|z|).
That variance is the sum of the two waves' linearised variances, computed by R
independently of ours. Acceptance: change within 1e-6 points, p within 1e-4.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tests.transforms.test_crosstab import random_responses
from tests.transforms.test_design_oracle import answered_and_chose
from tests.transforms.test_weighting_oracle import _unavailable
from transforms.crosstab import KEY, CrosstabSettings, build_crosstab
from transforms.trend import build_trend
from transforms.weighting import weight_responses

SAMPLE = 150
R_SCRIPT = Path(__file__).with_name("trend_oracle.R")
ROW = ["question", "answer", "segment", "segment_value"]


def _two_waves(book) -> tuple[pl.DataFrame, dict[str, dict[str, float]]]:
    waves = [
        random_responses(book, 600, seed=31),
        random_responses(book, 500, seed=32).with_columns(wave=pl.lit(2024, pl.Int64)),
    ]
    sizes = next(q for q in book.closed if q.code == "team_size").option_codes
    targets = {
        "role": {"vp": 0.1, "senior_director": 0.2, "manager": 0.4, "entry": 0.3},
        "language": {"en": 0.75, "fr": 0.25},
        "team_size": {code: 1 / len(sizes) for code in sizes},
    }
    both = pl.concat(waves).with_columns(pl.col("wave").cast(pl.Int32))
    return weight_responses(both, targets=targets, key=KEY), targets


def _units_of_rows(kept: pl.DataFrame, rows: pl.DataFrame, book) -> pl.DataFrame:
    """For each sampled trend row: the responses of its domain in this wave (now) and the previous (before)."""
    questions = {q.code: q for q in book.closed}
    kept = kept.with_row_index("unit")
    parts = []
    for cell, wave, previous, question_code, answer, segment, value in rows.select(
        "cell", "wave", "previous_wave", *ROW
    ).iter_rows():
        answered, chose = answered_and_chose(questions[question_code], answer)
        inside = pl.lit(True) if segment == "all" else (pl.col(segment).cast(pl.String) == value).fill_null(False)
        parts.append(
            kept.filter(answered & inside & pl.col("wave").is_in([wave, previous])).select(
                cell=pl.lit(cell, pl.Int64),
                unit="unit",
                y=chose.cast(pl.Int8),
                now=(pl.col("wave") == wave).cast(pl.Int8),
                before=(pl.col("wave") == previous).cast(pl.Int8),
            )
        )
    return pl.concat(parts)


@pytest.fixture(scope="module")
def compared(book, tmp_path_factory):
    rscript = shutil.which("Rscript")
    if rscript is None:
        _unavailable("Rscript is not on PATH: apt-get install r-cran-survey")
    folder = tmp_path_factory.mktemp("trend_oracle")
    responses, targets = _two_waves(book)
    crosstab = build_crosstab(
        responses.lazy(), book=book, settings=CrosstabSettings(), weighted=True, margins=tuple(targets)
    )
    trend = (
        build_trend(crosstab, alpha=0.05, adjust="bh", weighted=True)
        .collect()
        .filter(pl.col("segment").is_in(["all", "role", "language", "industry"]))
        .sample(SAMPLE, seed=17)
        .with_row_index("cell")
        .with_columns(pl.col("cell").cast(pl.Int64))
    )
    kept = responses.filter(~pl.col("is_excluded"))
    sizes = kept.group_by("wave").len()
    # Each wave raked to its own margins: the categories are wave:category, the totals the wave's share.
    kept.select(
        pl.col("wave").cast(pl.String),
        *[pl.format("{}:{}", "wave", pl.col(v).cast(pl.String)).alias(v) for v in targets],
        "weight",
    ).write_csv(folder / "people.csv")
    pl.DataFrame(
        [
            (v, f"{wave}:{c}", s * n)
            for wave, n in sizes.iter_rows()
            for v, shares in targets.items()
            for c, s in shares.items()
        ],
        schema={"variable": pl.String, "category": pl.String, "total": pl.Float64},
        orient="row",
    ).write_csv(folder / "targets.csv")
    _units_of_rows(kept, trend, book).write_csv(folder / "units.csv")
    run = subprocess.run(
        [rscript, "--vanilla", str(R_SCRIPT), str(folder)], check=False, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, f"Rscript failed:\n{run.stderr}"
    theirs = pl.read_csv(folder / "r.csv", null_values=["NA", "NaN"], schema_overrides={"r_p": pl.Float64})
    return trend.join(theirs, on="cell", how="left", validate="1:1")


def test_weighted_trend_change_is_r_contrast_of_the_two_waves_weighted_means(compared):
    assert compared.height == SAMPLE
    assert compared["is_weighted"].all()
    assert compared.select((pl.col("change_pts") - pl.col("r_change")).abs().max()).item() < 1e-6


def test_weighted_trend_p_value_is_r_design_based_test_on_independent_waves_within_1e_4(compared):
    both = compared.filter(pl.col("r_p").is_not_null())
    assert both.height > 100
    assert both.select((pl.col("p_value") - pl.col("r_p")).abs().max()).item() < 1e-4
    # R gives NaN (0/0) where neither wave has a variance (a share the raking fixes): ours is 1 or 0.
    assert compared.filter(pl.col("r_p").is_null())["p_value"].is_in([0.0, 1.0]).all()
