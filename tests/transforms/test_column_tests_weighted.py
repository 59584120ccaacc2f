"""Weighted column-proportion tests against an independent computation: with weighting
targets the pair's weighted percentages are compared by a Wald z-test whose variance is the
sum of the two cells' design-based variances p(1-p)/effective_base, computed here with
scipy from the crosstab's weighted_pct and effective_base, adjusted by statsmodels."""

from __future__ import annotations

import itertools
import math

import polars as pl
import pytest
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from tests.transforms.test_column_tests import ALPHA, MINIMUM_BASE, _built, _letters, _skipped_tables
from tests.transforms.test_weighting_oracle import _weighted_responses
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
