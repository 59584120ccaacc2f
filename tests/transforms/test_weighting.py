"""Tests for transforms.weighting: raking and the Kish effective base."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.weighting import kish_effective_base, rake_weights

TARGETS = {
    "sex": {"m": 0.49, "f": 0.51},
    "age": {"18-34": 0.3, "35-54": 0.4, "55+": 0.3},
    "region": {"1": 0.2, "2": 0.3, "3": 0.5},  # integer-coded column, string keys
}


def _sample(n: int = 2_000, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "sex": rng.choice(["m", "f"], n, p=[0.3, 0.7]),
            "age": pl.Series(rng.choice(["18-34", "35-54", "55+"], n, p=[0.5, 0.3, 0.2])).cast(
                pl.Enum(["18-34", "35-54", "55+"])
            ),
            "region": rng.integers(1, 4, n),
        }
    )


def _weighted_shares(frame: pl.DataFrame, variable: str, weight: str = "weight") -> dict[str, float]:
    totals = frame.group_by(pl.col(variable).cast(pl.String)).agg(pl.col(weight).sum())
    total = frame[weight].sum()
    return {key: value / total for key, value in totals.iter_rows()}


def _numpy_rake(columns: dict[str, np.ndarray], targets, start=None, sweeps: int = 2_000) -> np.ndarray:
    """Independent reference: textbook raking with numpy bincount, fixed sweeps."""
    n = len(next(iter(columns.values())))
    w = np.ones(n) if start is None else np.asarray(start, dtype=float).copy()
    coded = {}
    for variable, shares in targets.items():
        labels, codes = np.unique(columns[variable].astype(str), return_inverse=True)
        coded[variable] = (codes, np.array([shares[label] for label in labels]))
    for _ in range(sweeps):
        for codes, share in coded.values():
            totals = np.bincount(codes, weights=w)
            w = w * share[codes] * w.sum() / totals[codes]
    return w / w.mean()


# --- Kish ----------------------------------------------------------------------------


def test_kish_equals_n_for_equal_weights():
    frame = pl.DataFrame({"w": [1.0] * 7, "v": [2.5] * 7})
    out = frame.select(a=kish_effective_base("w"), b=kish_effective_base(pl.col("v")))
    assert out.row(0) == pytest.approx((7.0, 7.0))


def test_kish_hand_computed_ignores_nulls_and_is_null_without_weight():
    frame = pl.DataFrame({"g": ["a", "a", "a", "a", "b"], "w": [1.0, 2.0, 3.0, None, None]})
    out = frame.group_by("g").agg(kish_effective_base("w")).sort("g")
    assert out["w"].to_list() == [pytest.approx(36 / 14), None]  # (1+2+3)^2 / (1+4+9)


# --- raking --------------------------------------------------------------------------


def test_raked_shares_match_targets_and_weights_have_mean_one():
    sample = _sample()
    raked = rake_weights(sample, targets=TARGETS)
    assert raked.columns == [*sample.columns, "weight"]
    assert raked.drop("weight").equals(sample)
    assert raked["weight"].mean() == pytest.approx(1.0, abs=1e-12)
    assert raked["weight"].min() > 0
    for variable, shares in TARGETS.items():
        achieved = _weighted_shares(raked, variable)
        assert achieved.keys() == shares.keys()
        for category, share in shares.items():
            assert achieved[category] == pytest.approx(share, abs=1e-6)


def test_weights_are_one_when_the_sample_already_matches():
    # Full factorial with multiplicities reproducing the targets exactly in every margin.
    sexes = ["m"] * 49 + ["f"] * 51
    ages = ["y"] * 3 + ["o"] * 7
    frame = pl.DataFrame({"sex": [s for s in sexes for _ in ages], "age": [a for _ in sexes for a in ages]})
    raked = rake_weights(frame, targets={"sex": {"m": 0.49, "f": 0.51}, "age": {"y": 0.3, "o": 0.7}})
    np.testing.assert_allclose(raked["weight"].to_numpy(), 1.0, rtol=0, atol=1e-12)


def test_raking_matches_independent_numpy_implementation():
    sample = _sample(n=1_500, seed=5)
    ours = rake_weights(sample, targets=TARGETS, tol=1e-12)["weight"].to_numpy()
    columns = {v: sample[v].cast(pl.String).to_numpy() for v in TARGETS}
    np.testing.assert_allclose(ours, _numpy_rake(columns, TARGETS), rtol=1e-9)


def test_existing_weight_column_is_the_starting_design_weight_and_is_replaced():
    sample = _sample(n=800, seed=9)
    design = np.random.default_rng(2).uniform(0.5, 3.0, sample.height)
    raked = rake_weights(sample.with_columns(design=design), targets=TARGETS, weight_col="design", tol=1e-12)
    assert raked.columns == [*sample.columns, "design"]
    columns = {v: sample[v].cast(pl.String).to_numpy() for v in TARGETS}
    np.testing.assert_allclose(raked["design"].to_numpy(), _numpy_rake(columns, TARGETS, start=design), rtol=1e-9)


def test_cap_bounds_weights_while_margins_still_match():
    sample = _sample()
    uncapped = rake_weights(sample, targets=TARGETS)
    assert uncapped["weight"].max() > 3.0
    capped = rake_weights(sample, targets=TARGETS, cap=3.0, max_iter=1_000)
    assert capped["weight"].max() <= 3.0 * (1 + 1e-6)
    assert capped["weight"].mean() == pytest.approx(1.0, abs=1e-12)
    for variable, shares in TARGETS.items():
        achieved = _weighted_shares(capped, variable)
        for category, share in shares.items():
            assert achieved[category] == pytest.approx(share, abs=1e-6)


def test_infeasible_cap_raises_instead_of_missing_targets():
    with pytest.raises(ValueError, match="did not converge"):
        rake_weights(_sample(), targets=TARGETS, cap=1.2, max_iter=50)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"sex": {"m": 1.0}}, r"present in the data but absent from the targets: \['f'\]"),
        ({"sex": {"m": 0.4, "f": 0.5, "x": 0.1}}, r"with no respondents to weight: \['x'\]"),
        ({"sex": {"m": 0.4, "f": 0.5}}, "sum to"),
        ({"sex": {"m": 0.0, "f": 1.0}}, "positive"),
        ({"income": {"low": 1.0}}, "not a column"),
        ({}, "at least one target"),
    ],
)
def test_bad_targets_raise_clear_errors(targets, message):
    with pytest.raises(ValueError, match=message):
        rake_weights(_sample(n=200), targets=targets)


def test_null_in_a_target_variable_raises():
    frame = pl.DataFrame({"sex": ["m", "f", None, "f"]})
    with pytest.raises(ValueError, match="1 row\\(s\\) have no value for target variable 'sex'"):
        rake_weights(frame, targets={"sex": {"m": 0.5, "f": 0.5}})


@pytest.mark.parametrize("start", [[1.0, 0.0, 1.0, 1.0], [1.0, None, 1.0, 1.0]])
def test_bad_starting_weights_raise(start):
    frame = pl.DataFrame(
        {"sex": ["m", "f", "f", "m"], "weight": start}, schema={"sex": pl.String, "weight": pl.Float64}
    )
    with pytest.raises(ValueError, match="positive and non-null"):
        rake_weights(frame, targets={"sex": {"m": 0.5, "f": 0.5}})


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"cap": 1.0}, "cap"), ({"max_iter": 0}, "max_iter"), ({"tol": 0.0}, "tol")]
)
def test_bad_parameters_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rake_weights(_sample(n=50), targets=TARGETS, **kwargs)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_raking_reaches_any_feasible_margins(data):
    # Margins produced by some positive weighting of the sample are reachable by raking.
    n = data.draw(st.integers(6, 60))
    a = data.draw(st.lists(st.sampled_from("xyz"), min_size=n, max_size=n))
    b = data.draw(st.lists(st.sampled_from("pq"), min_size=n, max_size=n))
    hidden = np.array(data.draw(st.lists(st.floats(0.2, 5.0), min_size=n, max_size=n)))
    frame = pl.DataFrame({"a": a, "b": b, "hidden": hidden})
    targets = {v: _weighted_shares(frame, v, "hidden") for v in ("a", "b")}
    raked = rake_weights(frame, targets=targets, tol=1e-9, max_iter=10_000)
    assert raked["weight"].mean() == pytest.approx(1.0)
    for variable, shares in targets.items():
        achieved = _weighted_shares(raked, variable)
        for category, share in shares.items():
            assert achieved[category] == pytest.approx(share, abs=1e-6)
