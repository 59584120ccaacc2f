"""Design-based weighted columns and test of the crosstab against R's survey package.

The responses of ``test_weighting_oracle`` (500 random responses, 449 in bases, raked by
``weight_responses`` on role, language and team size) are raked again in R with
``survey::rake`` (tight convergence), and for a seeded sample of crosstab cells (segments
all, role, language; see ``SAMPLE``) R computes, on the raked design:

* the interval: ``svyciprop(~y, subset(design, in_domain), method = "logit")``;
* the test of a segment value against the rest of its base: the Wald z-test of the
  difference of the two domain means, ``svycontrast(svytotal(~yd + d + yr + r, design),
  quote(yd / d - yr / r))`` (delta method = linearisation, the raking residuals
  included), p = 2 * pnorm(-|estimate / SE|). (``svyby(..., covmat = TRUE)`` on a raked
  design fails in survey 4.x with "number of items to replace"; the contrast of totals
  is the same estimator.)

Acceptance: every bound within 0.05 points (measured: 2.3e-6 points, the gap being our
raking's default tol=1e-8) and every p within 1e-4 (measured below 1e-6).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from scipy import stats

from tests.transforms.test_weighting_oracle import _unavailable, _weighted_responses
from transforms.crosstab import CrosstabSettings, build_crosstab
from transforms.design import t_quantile

KEYS = ["wave", "question", "answer", "segment", "segment_value"]
SAMPLE = 200  # cells compared with R (R takes ~0.045 s a cell)
R_SCRIPT = Path(__file__).with_name("design_oracle.R")


def answered_and_chose(question, answer: str) -> tuple[pl.Expr, pl.Expr]:
    """(the row answered ``question``, the row chose ``answer``: an option or a NET's members)."""
    column, members = pl.col(question.code), list(question.nets.get(answer, [answer]))
    if question.type == "multi":
        return column.list.len() > 0, column.list.eval(pl.element().cast(pl.String).is_in(members)).list.any()
    return column.is_not_null(), column.cast(pl.String).is_in(members)


def _units_of_cells(kept: pl.DataFrame, crosstab: pl.DataFrame, book) -> pl.DataFrame:
    """For each sampled cell: the rows of ``kept`` in its domain or its rest, and whether they gave the answer."""
    questions = {q.code: q for q in book.closed}
    kept = kept.with_row_index("unit")
    parts = []
    for cell, question_code, answer, segment, value in crosstab.select("cell", *KEYS[1:]).iter_rows():
        answered, chose = answered_and_chose(questions[question_code], answer)
        inside = pl.lit(True) if segment == "all" else (pl.col(segment).cast(pl.String) == value).fill_null(False)
        parts.append(
            kept.filter(answered).select(
                cell=pl.lit(cell, pl.Int64),
                unit="unit",
                y=chose.cast(pl.Int8),
                in_domain=inside.cast(pl.Int8),
                in_rest=(~inside & pl.lit(segment != "all")).cast(pl.Int8),
            )
        )
    return pl.concat(parts)


def r_design_results(folder: Path, people: pl.DataFrame, targets: dict, units: pl.DataFrame) -> pl.DataFrame:
    """R's figures (``design_oracle.R``) for each cell of ``units``, on the design of ``people``
    (the raking variables and weights) raked to ``targets``; the R oracle tests skip (fail in CI)
    where Rscript is missing."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        _unavailable("Rscript is not on PATH: apt-get install r-cran-survey")
    people.write_csv(folder / "people.csv")
    pl.DataFrame(
        [(v, c, s) for v, shares in targets.items() for c, s in shares.items()],
        schema={"variable": pl.String, "category": pl.String, "share": pl.Float64},
        orient="row",
    ).write_csv(folder / "targets.csv")
    units.write_csv(folder / "units.csv")
    run = subprocess.run(
        [rscript, "--vanilla", str(R_SCRIPT), str(folder), "0.95"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"Rscript failed:\n{run.stderr}"
    return pl.read_csv(folder / "r.csv", null_values="NA", schema_overrides={"r_p": pl.Float64})


@pytest.fixture(scope="module")
def compared(book, tmp_path_factory):
    if shutil.which("Rscript") is None:
        _unavailable("Rscript is not on PATH: apt-get install r-cran-survey")
    folder = tmp_path_factory.mktemp("design_oracle")
    responses, targets = _weighted_responses(book)
    kept = responses.filter(~pl.col("is_excluded"))
    crosstab = (
        build_crosstab(responses.lazy(), book=book, settings=CrosstabSettings(), weighted=True, margins=tuple(targets))
        .collect()
        .filter(pl.col("segment").is_in(["all", "role", "language"]))
        .sample(SAMPLE, seed=17)
        .with_row_index("cell")
        .with_columns(pl.col("cell").cast(pl.Int64))
    )
    people = kept.select(*[pl.col(v).cast(pl.String) for v in targets], "weight")
    theirs = r_design_results(folder, people, targets, _units_of_cells(kept, crosstab, book))
    return crosstab.join(theirs, on="cell", how="left", validate="1:1")


def test_weighted_interval_is_r_svyciprop_logit_on_the_raked_design(compared):
    assert compared.height == SAMPLE
    for ours, theirs in [("weighted_pct", "r_pct"), ("weighted_ci_low", "r_low"), ("weighted_ci_high", "r_high")]:
        gap = compared.select((pl.col(ours) - pl.col(theirs)).abs().max()).item()
        assert gap < 0.05, (ours, gap)


def test_weighted_p_value_is_r_wald_test_of_the_domain_difference(compared):
    tested = compared.filter(pl.col("is_tested"))
    assert tested.height > 100
    assert tested["p_value"].null_count() == 0
    assert tested.select((pl.col("p_value") - pl.col("r_p")).abs().max()).item() < 1e-4
    # Rows that are no hypothesis (the segment 'all', role x role, a suppressed cell...) carry no test.
    assert compared.filter(~pl.col("is_tested"))["p_value"].null_count() == compared.filter(~pl.col("is_tested")).height


@pytest.mark.parametrize("df", [10, 29, 100, 2_333])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_t_quantile_matches_scipy(df, level):
    z = stats.norm.ppf(0.5 + level / 2)
    ours = pl.select(t_quantile(z, pl.lit(df))).item()
    assert ours == pytest.approx(stats.t.ppf(0.5 + level / 2, df), abs=1e-4)
