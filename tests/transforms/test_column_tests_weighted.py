"""Weighted column-proportion tests against an independent computation: with weighting
targets the pair's weighted percentages are compared by a Wald z-test whose variance is the
sum of the two cells' design-based variances p(1-p)/effective_base, computed here with
scipy from the crosstab's weighted_pct and effective_base, adjusted by statsmodels.

And how far neglecting the covariance between the two domains goes, against R's survey on
the raked design (``design_oracle.R``: the Wald test of the contrast of the two domains'
means, ``svycontrast`` of ``svytotal``, the raking residuals and the covariance included)
on a seeded sample of pairs of the raking variables' values, where the covariance is
largest. Measured on 150 pairs: our p is 0.55 to 1.12 times R's (role 0.94-1.06,
language 0.96-1.03, team_size 0.55-1.12: a raking variable with very uneven targets),
largest absolute gap 0.116, no pair on the other side of 0.05."""

from __future__ import annotations

import itertools
import math
import shutil

import polars as pl
import pytest
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from tests.transforms.test_column_tests import ALPHA, MINIMUM_BASE, _built, _letters, _skipped_tables
from tests.transforms.test_design_oracle import answered_and_chose, r_design_results
from tests.transforms.test_weighting_oracle import _unavailable, _weighted_responses
from transforms.column_tests import ColumnTestSettings, build_column_tests
from transforms.crosstab import CrosstabSettings, build_crosstab


@pytest.fixture(scope="module")
def weighted_crosstab(book) -> pl.DataFrame:
    responses, targets = _weighted_responses(book)
    return build_crosstab(
        responses.lazy(), book=book, settings=CrosstabSettings(), weighted=True, margins=tuple(targets)
    ).collect()


def _design_p_value(a: dict, b: dict) -> float:
    """Two-sided Wald p of weighted_pct a - b, variance p(1-p)/effective_base summed (0 without a base)."""
    variance = 0.0
    for cell in (a, b):
        p = cell["weighted_pct"] / 100.0
        if cell["effective_base"]:
            variance += p * (1.0 - p) / cell["effective_base"]
    difference = (a["weighted_pct"] - b["weighted_pct"]) / 100.0
    if variance <= 1e-24:
        return 1.0 if abs(difference) < 1e-9 else 0.0
    return float(2.0 * norm.sf(abs(difference) / math.sqrt(variance)))


def expected_weighted_column_tests(book, crosstab: pl.DataFrame) -> dict[tuple, tuple]:
    """Every pair of columns of every row: key -> (p, p Bonferroni, higher, letters)."""
    skipped = _skipped_tables(book, crosstab)
    expected = {}
    for (wave, question, answer, segment), row in crosstab.filter(pl.col("segment") != "all").group_by(
        ["wave", "question", "answer", "segment"]
    ):
        if (question, segment) in skipped:
            continue
        letters = _letters(book, segment, row["segment_value"].to_list())
        tested = sorted(
            (r for r in row.iter_rows(named=True) if r["base_n"] >= MINIMUM_BASE),
            key=lambda r: letters[r["segment_value"]],
        )
        pairs = list(itertools.combinations(tested, 2))
        if not pairs:
            continue
        p_values = [_design_p_value(a, b) for a, b in pairs]
        adjusted = multipletests(p_values, method="bonferroni")[1]
        for (a, b), p, p_adj in zip(pairs, p_values, adjusted, strict=True):
            pct_a, pct_b = a["weighted_pct"], b["weighted_pct"]
            higher = None if p_adj >= ALPHA or pct_a == pct_b else (a if pct_a > pct_b else b)["segment_value"]
            key = (wave, question, answer, segment, a["segment_value"], b["segment_value"])
            expected[key] = (p, p_adj, higher, letters[a["segment_value"]], letters[b["segment_value"]])
    return expected


def test_weighted_column_tests_are_the_design_based_wald_test_of_the_weighted_percentages(book, weighted_crosstab):
    built = build_column_tests(
        weighted_crosstab.lazy(), book=book, settings=ColumnTestSettings(minimum_base=MINIMUM_BASE), weighted=True
    ).collect()
    expected = expected_weighted_column_tests(book, weighted_crosstab)
    assert len(expected) >= 200
    assert sum(1 for value in expected.values() if value[2] is not None) >= 20  # significant pairs too
    got = _built(built)
    assert got.keys() == expected.keys()
    for key, (p, p_adj, higher, letter_a, letter_b) in expected.items():
        assert got[key][0] == pytest.approx(p, rel=1e-6, abs=1e-12), key
        assert got[key][1] == pytest.approx(p_adj, rel=1e-6, abs=1e-12), key
        assert got[key][2:] == (higher, letter_a, letter_b), key
    assert built["is_weighted"].all()
    by_pct = built.join(
        weighted_crosstab.select("wave", "question", "answer", "segment", value_a="segment_value", w="weighted_pct"),
        on=["wave", "question", "answer", "segment", "value_a"],
    )
    assert (by_pct["pct_a"] == by_pct["w"]).all()  # the cells show the weighted percentages


def test_weighted_column_tests_differ_from_the_unweighted_ones(book, weighted_crosstab):
    settings = ColumnTestSettings(minimum_base=MINIMUM_BASE)
    weighted = build_column_tests(weighted_crosstab.lazy(), book=book, settings=settings, weighted=True).collect()
    unweighted = build_column_tests(weighted_crosstab.lazy(), book=book, settings=settings).collect()
    assert not unweighted["is_weighted"].any()
    assert weighted.height == unweighted.height
    assert (weighted["p_value"] - unweighted["p_value"]).abs().max() > 1e-3


R_PAIRS = 150  # pairs compared with R (~0.03 s a pair)


def _units_of_pairs(kept: pl.DataFrame, pairs: pl.DataFrame, book) -> pl.DataFrame:
    """For each pair: the rows of ``kept`` in value_a (in_domain) or value_b (in_rest), and whether they gave the answer."""
    questions = {q.code: q for q in book.closed}
    kept = kept.with_row_index("unit")
    parts = []
    for cell, question_code, answer, segment, value_a, value_b in pairs.select(
        "cell", "question", "answer", "segment", "value_a", "value_b"
    ).iter_rows():
        answered, chose = answered_and_chose(questions[question_code], answer)
        value = pl.col(segment).cast(pl.String)
        parts.append(
            kept.filter(answered).select(
                cell=pl.lit(cell, pl.Int64),
                unit="unit",
                y=chose.cast(pl.Int8),
                in_domain=(value == value_a).fill_null(False).cast(pl.Int8),
                in_rest=(value == value_b).fill_null(False).cast(pl.Int8),
            )
        )
    return pl.concat(parts)


def test_weighted_column_test_neglects_only_the_covariance_r_survey_includes(book, weighted_crosstab, tmp_path):
    if shutil.which("Rscript") is None:
        _unavailable("Rscript is not on PATH: apt-get install r-cran-survey")
    responses, targets = _weighted_responses(book)
    kept = responses.filter(~pl.col("is_excluded"))
    pairs = (
        build_column_tests(weighted_crosstab.lazy(), book=book, settings=ColumnTestSettings(), weighted=True)
        .collect()
        .filter(pl.col("segment").is_in(list(targets)))
        .sample(R_PAIRS, seed=5)
        .with_row_index("cell")
        .with_columns(pl.col("cell").cast(pl.Int64))
    )
    people = kept.select(*[pl.col(v).cast(pl.String) for v in targets], "weight")
    theirs = r_design_results(tmp_path, people, targets, _units_of_pairs(kept, pairs, book))
    compared = pairs.join(theirs, on="cell", how="left", validate="1:1")
    assert compared["r_p"].null_count() == 0
    assert compared.select((pl.col("pct_a") - pl.col("r_pct")).abs().max()).item() < 1e-4  # the same estimate
    ratio = compared["p_value"] / compared["r_p"]
    assert 0.5 < ratio.min() and ratio.max() < 1.2, (ratio.min(), ratio.max())
    assert ((compared["p_value"] < ALPHA) == (compared["r_p"] < ALPHA)).all()
