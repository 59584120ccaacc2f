"""Raking and the weighted crosstab columns against R's survey package (an independent oracle).

These are the crosstab's weighted columns when no raking margins are passed (the Kish
path, ``build_crosstab(weighted=True)``). The nightly build passes the weighting targets'
variables as margins and the columns are then design-based: test_design_oracle.py and
tests/flows/test_design_oracle_demo.py hold those to R's svyciprop and Wald test.

One Rscript run (module fixture; data exchanged as CSV files in a temporary folder)
computes, from the same data:

* raking weights with ``survey::rake`` (iterative proportional fitting, the method of
  ``rake_weights``) and with ``survey::calibrate(calfun = "raking")`` (Newton steps on
  the exponential calibration distance: another algorithm for the same solution), on
  hand-made and random data with two and three margins, with and without design weights.
  Both sides converge tightly (ours ``tol=1e-13`` on the shares, R's ``epsilon=1e-13``)
  and R's weights, which sum to the population total given (n), are scaled to mean 1 like
  ours: they agree to 1e-9 relative (measured: 6e-12 at most). With the default
  ``tol=1e-8`` (what ``weight_responses`` uses) they agree to 1e-6 (measured: 2e-7).
  On the extreme case (weights up to ~280, Kish base 45 of 2,500) survey 4.1's
  ``calibrate`` does not converge and only ``rake`` is compared.
* ``weighted_pct``: the domain mean of the 0/1 indicator "gave this answer" over the
  cell's base, sum(w y) / sum(w), from ``svytotal`` on one design of the respondents
  (what ``svymean`` / ``svyby`` give for a domain), for every cell of three segments,
  both crosstab code paths, to 1e-9 relative (measured: 1e-15).
* ``effective_base``: Kish's (sum w)^2 / sum w^2 computed in R, to 1e-9 relative.
* ``weighted_ci_low`` / ``weighted_ci_high``: our method is the Wilson score interval of
  the weighted proportion with the Kish effective base as its sample size. The survey
  package has no such interval, but R's ``stats::prop.test(x = p n_eff, n = n_eff,
  correct = FALSE)`` computes the Wilson interval independently of our code; given R's
  own p and n_eff the bounds agree to 1e-9 (measured: 1e-13 points).

Tools disagree on the weighted interval because they estimate its variance differently;
``test_design_based_intervals_of_r_differ_from_ours`` records how, asserting no equality.
R's ``svyciprop(method = "beta")`` (Korn-Graubard) takes a design effective size
p(1-p)/var(p), var(p) being the linearised (sandwich) variance of the cell's own 0/1
indicator, and gives the Clopper-Pearson (beta) interval at that size; ``"logit"`` is a
Wald interval on the logit scale with that variance (t quantile, n-1 degrees of
freedom). The Kish base depends on the weights only: it assumes the answer is unrelated
to the weight. So per cell the design's effective size is larger or smaller than ours
(here 0.81-1.33 times it) and its intervals wider or narrower: on these data, bounds
differ from ours by up to 1.8 points (beta, which is also a little wider by
construction) and 2.4 points (logit). Neither side here folds the raking into the
variance (as ``svymean`` on the ``rake()`` design would, which shrinks the interval of
an answer correlated with a raking variable).

When Rscript or the survey package (or MASS) is missing the tests skip locally, and fail
in CI (CI set), where .ci/run installs Debian's r-cran-survey and r-cran-mass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.transforms.reference import crosstab_from_answers
from tests.transforms.test_crosstab import random_responses
from transforms.crosstab import KEY, CrosstabSettings, build_crosstab
from transforms.responses import build_answers
from transforms.weighting import kish_effective_base, rake_weights, weight_responses

TIGHT = {"tol": 1e-13, "max_iter": 10_000}
NO_SURVEY = 3  # the R script's exit status when the survey or MASS package is not installed
SEGMENTS = ["all", "role", "language"]  # the crosstab segments compared cell by cell
EXTREME = "extreme"
CASES = ["hand_two", "hand_three", "random_1", "random_2", "random_3", "random_4", "weight_responses", EXTREME]
# survey 4.1's calibrate(calfun = "raking") (Newton steps) does not converge on the
# extreme case, where rake() (IPF, our method) does: it is compared with rake() only.
R_RAKINGS = [(name, "rake") for name in CASES] + [(name, "calibrate") for name in CASES if name != EXTREME]

R_SCRIPT = r"""
options(warn = 2)  # a warning (e.g. "Raking did not converge") is an error
if (!requireNamespace("survey", quietly = TRUE) || !requireNamespace("MASS", quietly = TRUE)) quit(status = 3)
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
level <- as.numeric(args[2])
put <- function(frame, name) {
  frame[] <- lapply(frame, function(x) if (is.numeric(x)) sprintf("%.17g", x) else x)
  write.csv(frame, file.path(dir, name), row.names = FALSE, quote = FALSE)
}
kish <- function(w) sum(w)^2 / sum(w^2)

# Raking: one case per rake_<name>_data.csv (margins as text, optional design weight d).
for (data_file in list.files(dir, pattern = "^rake_.*_data[.]csv$")) {
  name <- sub("_data[.]csv$", "", data_file)
  data <- read.csv(file.path(dir, data_file), colClasses = "character")
  targets <- read.csv(file.path(dir, paste0(name, "_targets.csv")), colClasses = c("character", "character", "numeric"))
  data$d <- if (is.null(data$d)) rep(1, nrow(data)) else as.numeric(data$d)
  variables <- unique(targets$variable)
  design <- svydesign(ids = ~1, weights = ~d, data = data)
  margins <- lapply(variables, function(v) as.formula(paste("~", v)))
  population <- lapply(variables, function(v) {
    t <- targets[targets$variable == v, ]
    frame <- data.frame(t$category, t$share * nrow(data), stringsAsFactors = FALSE)
    names(frame) <- c(v, "Freq")
    frame
  })
  raked <- rake(design, margins, population, control = list(maxit = 1000, epsilon = 1e-13))
  # calibrate's Newton iteration can fail where IPF converges (the extreme case): NA then.
  calibrated <- tryCatch(
    weights(calibrate(design, margins, population, calfun = "raking", maxit = 1000, epsilon = 1e-13)),
    error = function(e) if (grepl("converge", conditionMessage(e))) rep(NA_real_, nrow(data)) else stop(e)
  )
  put(data.frame(rake = weights(raked), calibrate = calibrated), paste0(name, "_r.csv"))
  put(data.frame(kish_start = kish(data$d), kish_raked = kish(weights(raked))), paste0(name, "_kish.csv"))
}

# Crosstab cells. people.csv: one row per respondent in a base, weight w. cells.csv: for
# each cell (crosstab row), the rows of its base and y = 1 if they gave the answer. One
# design over the respondents; a cell is a domain: its mean is the ratio of the totals
# of y and of base membership (what svyby / subset estimate). svytotal spends its time on
# the variances, so cells sharing a base share the total of its membership.
people <- read.csv(file.path(dir, "people.csv"), colClasses = c("integer", "numeric"))
cells <- read.csv(file.path(dir, "cells.csv"), colClasses = c("integer", "integer", "numeric"))
count <- max(cells$cell) + 1
at <- cbind(cells$row + 1, cells$cell + 1)
in_base <- answered <- matrix(0, nrow(people), count)
in_base[at] <- 1
answered[at] <- cells$y
design <- svydesign(ids = ~1, weights = ~w, data = people)
distinct <- !duplicated(t(in_base))
base_of <- match(apply(in_base, 2, paste, collapse = ""), apply(in_base[, distinct, drop = FALSE], 2, paste, collapse = ""))
out <- data.frame(
  cell = seq_len(count) - 1,
  mean = coef(svytotal(answered, design)) / coef(svytotal(in_base[, distinct, drop = FALSE], design))[base_of],
  kish = colSums(in_base * people$w)^2 / colSums(in_base * people$w^2)
)
bounds <- t(mapply(function(p, n) prop.test(p * n, n, correct = FALSE, conf.level = level)$conf.int, out$mean, out$kish))
out$wilson_low <- bounds[, 1]
out$wilson_high <- bounds[, 2]
put(out, "cells_r.csv")

# Design-based intervals of a few cells (documented.csv), as domains of the same design.
documented <- read.csv(file.path(dir, "documented.csv"))$cell
rows <- lapply(documented, function(cell) {
  domain <- subset(update(design, y = answered[, cell + 1], b = in_base[, cell + 1]), b == 1)
  m <- svymean(~y, domain)
  beta <- attr(svyciprop(~y, domain, method = "beta", level = level), "ci")
  logit <- attr(svyciprop(~y, domain, method = "logit", level = level), "ci")
  p <- coef(m)[[1]]
  data.frame(
    cell = cell, mean = p, design_n_eff = p * (1 - p) / vcov(m)[1, 1],
    beta_low = beta[[1]], beta_high = beta[[2]], logit_low = logit[[1]], logit_high = logit[[2]]
  )
})
put(do.call(rbind, rows), "documented_r.csv")
"""


# --- the data ------------------------------------------------------------------------


def _hand_made_cases() -> dict[str, tuple[pl.DataFrame, dict[str, dict[str, float]]]]:
    two = pl.DataFrame(
        {
            "sex": list("mmmmmfffffff"),
            "age": ["y", "y", "o", "o", "o", "y", "y", "y", "y", "o", "o", "y"],
        }
    )
    three = pl.DataFrame(
        {
            "sex": list("mmmfffmfmf"),
            "age": ["y", "o", "m", "y", "o", "m", "y", "y", "o", "m"],
            "region": [1, 1, 2, 2, 3, 3, 1, 2, 3, 1],  # integer-coded, string targets
            "d": [1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 1.0, 0.8, 1.2, 2.5],  # design weights
        }
    )
    return {
        "hand_two": (two, {"sex": {"m": 0.5, "f": 0.5}, "age": {"y": 0.4, "o": 0.6}}),
        "hand_three": (
            three,
            {
                "sex": {"m": 0.45, "f": 0.55},
                "age": {"y": 0.25, "m": 0.35, "o": 0.4},
                "region": {"1": 0.5, "2": 0.3, "3": 0.2},
            },
        ),
    }


def _random_case(
    seed: int, n: int, margins: int, design: bool, spread: float = 3.0
) -> tuple[pl.DataFrame, dict[str, dict[str, float]]]:
    """Sample skewed away from random targets, so the weights vary a lot (more with a small spread)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    targets: dict[str, dict[str, float]] = {}
    for index in range(margins):
        categories = [f"c{j}" for j in range(int(rng.integers(2, 6)))]
        drawn = rng.choice(categories, n, p=rng.dirichlet(np.full(len(categories), spread)))
        drawn[: len(categories)] = categories  # every category present
        shares = rng.dirichlet(np.full(len(categories), 3.0))
        shares[-1] = 1.0 - shares[:-1].sum()
        columns[f"v{index}"] = drawn
        targets[f"v{index}"] = dict(zip(categories, shares.tolist(), strict=True))
    if design:
        columns["d"] = rng.uniform(0.5, 3.0, n)
    return pl.DataFrame(columns), targets


def _weighted_responses(book) -> tuple[pl.DataFrame, dict[str, dict[str, float]]]:
    """Random responses (uniform over options) raked by weight_responses to uneven targets."""
    responses = random_responses(book, 500, seed=11)
    sizes = next(q for q in book.closed if q.code == "team_size").option_codes
    shares = np.arange(1, len(sizes) + 1, dtype=float) ** 2
    targets = {
        "role": {"vp": 0.05, "senior_director": 0.15, "manager": 0.5, "entry": 0.3},
        "language": {"en": 0.8, "fr": 0.2},
        "team_size": dict(zip(sizes, (shares / shares.sum()).tolist(), strict=True)),
    }
    return weight_responses(responses, targets=targets, key=KEY), targets


def _cell_rows(book, kept: pl.DataFrame, crosstab: pl.DataFrame) -> pl.DataFrame:
    """For every crosstab row (cell): the rows of ``kept`` in its base and y = 1 if they gave the answer."""
    questions = {q.code: q for q in book.closed}
    kept = kept.with_row_index("row")
    parts = []
    for cell, (question_code, answer, segment, value) in enumerate(
        crosstab.select("question", "answer", "segment", "segment_value").iter_rows()
    ):
        question = questions[question_code]
        column = pl.col(question.code)
        members = list(question.nets.get(answer, [answer]))
        if question.type == "multi":
            answered, chose = (
                column.list.len() > 0,
                column.list.eval(pl.element().cast(pl.String).is_in(members)).list.any(),
            )
        else:
            answered, chose = column.is_not_null(), column.cast(pl.String).is_in(members)
        in_segment = pl.lit(True) if segment == "all" else pl.col(segment).cast(pl.String) == value
        parts.append(
            kept.filter(answered & in_segment).select(cell=pl.lit(cell, pl.Int32), row="row", y=chose.cast(pl.Int8))
        )
    return pl.concat(parts)


# --- one R run for the module ---------------------------------------------------------


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; CI must run the R oracle tests (.ci/run installs Debian's r-cran-survey and r-cran-mass)"
        )
    pytest.skip(
        f"{reason} (the R oracle tests run in CI, where .ci/run installs Debian's r-cran-survey and r-cran-mass)"
    )


@pytest.fixture(scope="module")
def oracle(book, tmp_path_factory):
    rscript = shutil.which("Rscript")
    if rscript is None:
        _unavailable("Rscript is not on PATH: apt-get install r-cran-survey r-cran-mass")
    folder: Path = tmp_path_factory.mktemp("r_oracle")

    cases = _hand_made_cases()
    for seed, (n, margins, design) in enumerate(
        [(300, 2, False), (1_000, 3, False), (2_500, 3, True), (40, 2, True)], 1
    ):
        cases[f"random_{seed}"] = _random_case(seed, n, margins, design)
    # 5 respondents of 2,500 carry a target of 29%: weights up to ~280 (see EXTREME).
    cases[EXTREME] = _random_case(3, 2_500, 3, True, spread=1.0)
    responses, targets = _weighted_responses(book)
    kept = responses.filter(~pl.col("is_excluded"))
    cases["weight_responses"] = (kept.select(*targets), targets)
    for name, (frame, case_targets) in cases.items():
        frame.with_columns(pl.exclude("d").cast(pl.String)).write_csv(folder / f"rake_{name}_data.csv")
        pl.DataFrame(
            [(v, c, s) for v, shares in case_targets.items() for c, s in shares.items()],
            schema={"variable": pl.String, "category": pl.String, "share": pl.Float64},
            orient="row",
        ).write_csv(folder / f"rake_{name}_targets.csv")

    settings = CrosstabSettings()
    answers = build_answers(responses.lazy(), book=book)
    crosstabs = {
        "from_answers": crosstab_from_answers(
            responses.lazy(), answers, book=book, settings=settings, weighted=True
        ).collect(),
        "from_responses": build_crosstab(responses.lazy(), book=book, settings=settings, weighted=True).collect(),
    }
    crosstab = crosstabs["from_answers"].filter(pl.col("segment").is_in(SEGMENTS))
    kept.select(pl.int_range(pl.len()).alias("row"), w="weight").write_csv(folder / "people.csv")
    _cell_rows(book, kept, crosstab).write_csv(folder / "cells.csv")
    # Cells for the documented comparison: options with 5 < pct < 95 of questions that are
    # not raking variables (raking fixes the weighted shares of those).
    crosstab.with_row_index("cell").filter(
        pl.col("weighted_pct").is_between(5, 95),
        pl.col("answer_kind") == "option",
        ~pl.col("question").is_in(list(targets)),
    ).filter(pl.int_range(pl.len()).over("segment", "question") < 2).select("cell").write_csv(folder / "documented.csv")

    run = subprocess.run(
        [rscript, "--vanilla", "-", str(folder), repr(settings.confidence)],
        check=False,
        input=R_SCRIPT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode == NO_SURVEY:
        _unavailable(
            "R has no survey package, or no MASS (which calibrate() needs): apt-get install r-cran-survey r-cran-mass"
        )
    assert run.returncode == 0, f"Rscript failed:\n{run.stderr}"

    return {
        "cases": cases,
        "r_weights": {name: pl.read_csv(folder / f"rake_{name}_r.csv") for name in cases},
        "r_kish": {name: pl.read_csv(folder / f"rake_{name}_kish.csv") for name in cases},
        "kept": kept,
        "crosstab": crosstab,
        "crosstabs": crosstabs,
        "cells": pl.read_csv(folder / "cells_r.csv").sort("cell"),
        "documented": pl.read_csv(folder / "documented_r.csv").sort("cell"),
    }


def _rake(oracle, name: str, **kwargs) -> np.ndarray:
    frame, targets = oracle["cases"][name]
    return rake_weights(frame, targets=targets, weight_col="d", **kwargs)["d"].to_numpy()


def _mean_one(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return weights / weights.mean()


def _relative_gap(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300)))


# --- raking ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "r_method"), R_RAKINGS)
def test_raking_matches_r_survey(oracle, name, r_method):
    ours = _rake(oracle, name, **TIGHT)
    assert ours.mean() == pytest.approx(1.0, abs=1e-12)
    theirs = _mean_one(oracle["r_weights"][name][r_method])
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0)


def test_default_tolerance_is_close_to_r_and_weight_responses_uses_it(oracle):
    # weight_responses rakes each wave with the default tol=1e-8 (absolute, on the shares).
    kept = oracle["kept"]
    theirs = _mean_one(oracle["r_weights"]["weight_responses"]["rake"])
    np.testing.assert_allclose(kept["weight"].to_numpy(), theirs, rtol=1e-6, atol=0)
    for name in CASES:
        np.testing.assert_allclose(_rake(oracle, name), _mean_one(oracle["r_weights"][name]["rake"]), rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", CASES)
def test_kish_effective_base_matches_r(oracle, name):
    frame, _ = oracle["cases"][name]
    start = frame.get_column("d") if "d" in frame.columns else pl.Series("d", [1.0] * frame.height)
    raked = pl.Series("raked", _rake(oracle, name, **TIGHT))
    ours = pl.DataFrame([start, raked]).select(kish_effective_base("d"), kish_effective_base(pl.col("raked"))).row(0)
    theirs = oracle["r_kish"][name].row(0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0)


# --- weighted crosstab columns --------------------------------------------------------------


def _with_r(oracle, crosstab: pl.DataFrame) -> pl.DataFrame:
    return (
        crosstab.with_row_index("cell")
        .with_columns(pl.col("cell").cast(pl.Int64))
        .join(oracle["cells"], on="cell", how="left", validate="1:1")
    )


def test_every_cell_reached_r(oracle):
    assert oracle["cells"].height == oracle["crosstab"].height
    assert sorted(oracle["crosstab"]["segment"].unique()) == sorted(SEGMENTS)


@pytest.mark.parametrize("path", ["from_answers", "from_responses"])
def test_weighted_pct_and_effective_base_match_r_svymean(oracle, path):
    rows = oracle["crosstab"].select("wave", "question", "answer", "segment", "segment_value")
    crosstab = rows.join(oracle["crosstabs"][path], on=list(rows.columns), how="left", maintain_order="left")
    both = _with_r(oracle, crosstab)
    np.testing.assert_allclose(both["weighted_pct"].to_numpy(), 100 * both["mean"].to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(both["effective_base"].to_numpy(), both["kish"].to_numpy(), rtol=1e-9, atol=0)


def test_weighted_interval_is_wilson_on_the_kish_base_as_r_prop_test_computes_it(oracle):
    both = _with_r(oracle, oracle["crosstab"])
    for ours, theirs in [("weighted_ci_low", "wilson_low"), ("weighted_ci_high", "wilson_high")]:
        np.testing.assert_allclose(both[ours].to_numpy(), 100 * both[theirs].to_numpy(), rtol=1e-9, atol=1e-10)


def test_design_based_intervals_of_r_differ_from_ours(oracle):
    """Documents, without asserting equality, how R's svyciprop intervals differ from ours."""
    both = _with_r(oracle, oracle["crosstab"]).join(
        oracle["documented"].select("cell", "design_n_eff", "beta_low", "beta_high", "logit_low", "logit_high"),
        on="cell",
    )
    assert both.height >= 20
    pct = both["weighted_pct"]
    for low, high in [("beta_low", "beta_high"), ("logit_low", "logit_high")]:
        assert ((100 * both[low] <= pct) & (pct <= 100 * both[high])).all()
    # The two effective sizes are different quantities: Kish's depends on the weights
    # only, the design's on the weights and the answers. Neither bounds the other.
    ratio = both["design_n_eff"] / both["effective_base"]
    assert ratio.min() < 1 < ratio.max()
