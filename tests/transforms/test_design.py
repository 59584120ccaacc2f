"""The design-based weighted crosstab: summed from the cubes, tested where the families test.

R holds the numbers (test_design_oracle.py); these hold how they are put together.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.transforms.test_weighting_oracle import _weighted_responses
from transforms.crosstab import EXTRA_SEGMENTS, CrosstabSettings, _answer_cells, build_crosstab
from transforms.design import design_based_cells
from transforms.families import family_columns
from transforms.statistics import adjusted_p_value

KEYS = ["wave", "question", "answer", "segment", "segment_value"]


@pytest.fixture(scope="module")
def weighted(book):
    responses, targets = _weighted_responses(book)
    crosstab = build_crosstab(
        responses.lazy(), book=book, settings=CrosstabSettings(), weighted=True, margins=tuple(targets)
    ).collect()
    return responses, targets, crosstab


def test_design_classes_from_the_cubes_give_the_numbers_summed_per_response(book, weighted):
    responses, targets, crosstab = weighted
    per_response = design_based_cells(
        responses.lazy(),
        answer_cells=_answer_cells(book),
        segments=[*book.segments, *EXTRA_SEGMENTS],
        margins=list(targets),
        confidence=0.95,
    ).collect()
    joined = crosstab.join(per_response, on=KEYS, how="full", coalesce=True, suffix="_response")
    assert joined.height == crosstab.height == per_response.height
    for ours, theirs in [
        ("weighted_pct", "weighted_pct_response"),
        ("weighted_ci_low", "weighted_ci_low_response"),
        ("weighted_ci_high", "weighted_ci_high_response"),
        ("effective_base", "design_effective_base"),
    ]:
        assert joined.select((pl.col(ours) - pl.col(theirs)).abs().max()).item() < 1e-9, ours
    tested = joined.filter(pl.col("is_tested"))
    assert tested.select((pl.col("p_value") - pl.col("design_p_value")).abs().max()).item() < 1e-12


def test_weighted_p_values_exist_only_where_the_row_is_tested_and_are_adjusted_in_its_family(book, weighted):
    responses, _, crosstab = weighted
    unweighted = build_crosstab(responses.lazy(), book=book, settings=CrosstabSettings()).collect()
    # The same rows are hypotheses, weighted or not.
    assert crosstab.select(KEYS, "is_tested", "not_tested_reason").equals(
        unweighted.select(KEYS, "is_tested", "not_tested_reason")
    )
    assert crosstab.filter(~pl.col("is_tested"))["p_value"].is_null().all()
    assert crosstab.filter(pl.col("is_tested"))["p_value"].null_count() == 0
    expected = crosstab.with_columns(
        expected=adjusted_p_value("p_value", method="bh", over=family_columns(CrosstabSettings().family))
    )
    assert expected.select((pl.col("p_adjusted") - pl.col("expected")).abs().max()).item() < 1e-15
    assert (crosstab["is_significant"] == (crosstab["p_adjusted"] < 0.05).fill_null(False)).all()
    # And the weighted test is not the unweighted one.
    assert not crosstab["p_value"].equals(unweighted["p_value"])
