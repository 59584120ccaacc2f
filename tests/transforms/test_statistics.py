"""Tests for transforms.statistics: Wilson intervals, pooled z-test p-values, adjustments."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from transforms.statistics import (
    adjusted_p_value,
    erfc,
    is_low_base,
    is_suppressed,
    two_proportion_p_value,
    two_proportion_p_value_from_pct,
    wilson_interval,
    wilson_interval_from_pct,
    z_for_level,
)

Z95 = z_for_level(0.95)


def _wilson_frame(counts, bases, z=Z95) -> pl.DataFrame:
    low, high = wilson_interval("count", "base", z=z)
    frame = pl.DataFrame({"count": counts, "base": bases}, schema={"count": pl.Int64, "base": pl.Int64})
    return frame.with_columns(low=low, high=high, pct=pl.col("count") / pl.col("base") * 100)


def _p_values(n1, b1, n2, b2) -> np.ndarray:
    frame = pl.DataFrame(
        {"n1": n1, "b1": b1, "n2": n2, "b2": b2}, schema=dict.fromkeys(("n1", "b1", "n2", "b2"), pl.Float64)
    )
    return frame.select(two_proportion_p_value("n1", "b1", "n2", "b2")).to_series().to_numpy()


def _adjusted(p, method, **kwargs) -> list[float | None]:
    frame = pl.DataFrame({"p": p}, schema={"p": pl.Float64})
    return frame.select(adjusted_p_value("p", method=method, **kwargs)).to_series().to_list()


# --- z_for_level -------------------------------------------------------------------


def test_z_for_level_matches_known_critical_values():
    assert z_for_level(0.95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert z_for_level(0.99) == pytest.approx(2.5758293035489004, abs=1e-12)
    assert z_for_level(0.90) == pytest.approx(stats.norm.ppf(0.95), abs=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 95])
def test_z_for_level_rejects_levels_outside_zero_one(level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        z_for_level(level)


# --- erfc ----------------------------------------------------------------------------


def test_erfc_matches_scipy_with_small_relative_error_including_tails():
    x = np.concatenate([np.linspace(-6.0, 6.0, 20_001), np.linspace(6.0, 26.0, 2_001)])
    ours = pl.DataFrame({"x": x}).select(erfc("x")).to_series().to_numpy()
    reference = special.erfc(x)
    np.testing.assert_allclose(ours, reference, rtol=1.2e-7, atol=0)


def test_erfc_keeps_nulls():
    frame = pl.DataFrame({"x": [None, 0.0]}, schema={"x": pl.Float64})
    assert frame.select(erfc("x")).to_series()[0] is None


def test_two_sided_tail_probability_accurate_down_to_1e_minus_12():
    # p = erfc(|z| / sqrt 2) is what two_proportion_p_value uses; z = 7.13 gives p ~ 1e-12.
    z = np.linspace(0.0, 7.5, 3_001)
    ours = pl.DataFrame({"z": z}).select(erfc(pl.col("z") / math.sqrt(2))).to_series().to_numpy()
    reference = 2 * stats.norm.sf(z)
    assert reference.min() < 1e-12
    np.testing.assert_allclose(ours, reference, rtol=1.2e-7, atol=0)


# --- Wilson interval -----------------------------------------------------------------


def test_wilson_hand_computed_cases():
    # 5 of 10, z = 1.96: centre 0.5; half = 1.96 / 1.38416 * sqrt(0.025 + 3.8416 / 400)
    #   = 1.4160212 * 0.1860215 = 0.2634104  ->  (23.65896, 76.34104) percent.
    # 0 of 10: low 0, high = z^2 / (n + z^2) = 3.8416 / 13.8416 = 27.75402 percent.
    frame = _wilson_frame([5, 0, 10], [10, 10, 10], z=1.96)
    assert frame["low"].to_list() == pytest.approx([23.65896, 0.0, 100 - 27.75402], abs=1e-4)
    assert frame["high"].to_list() == pytest.approx([76.34104, 27.75402, 100.0], abs=1e-4)


def test_wilson_is_null_when_base_is_zero_or_null_or_count_null():
    frame = _wilson_frame([0, 3, None], [0, None, 10])
    assert frame["low"].to_list() == [None, None, None]
    assert frame["high"].to_list() == [None, None, None]


def test_wilson_is_null_not_nan_for_impossible_cells():
    frame = _wilson_frame([12, -1], [10, 10])
    assert frame["low"].to_list() == [None, None]
    assert frame["high"].to_list() == [None, None]
    low, high = wilson_interval_from_pct("pct", "n", z=Z95)
    out = pl.DataFrame({"pct": [100.5, -0.1], "n": [50.0, 50.0]}).select(low=low, high=high)
    assert out.null_count().row(0) == (2, 2)


def test_wilson_matches_statsmodels():
    proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels not installed (test oracle)")
    bases = [1, 2, 7, 30, 100, 1_234, 50_000]
    counts, all_bases = [], []
    for base in bases:
        for count in sorted({0, 1, base // 3, base // 2, base - 1, base}):
            counts.append(count)
            all_bases.append(base)
    for level in (0.90, 0.95, 0.99):
        frame = _wilson_frame(counts, all_bases, z=z_for_level(level))
        low, high = proportion.proportion_confint(
            np.array(counts), np.array(all_bases), alpha=1 - level, method="wilson"
        )
        np.testing.assert_allclose(frame["low"].to_numpy(), low * 100, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(frame["high"].to_numpy(), high * 100, rtol=1e-9, atol=1e-9)


def test_wilson_from_pct_equals_count_form_and_widens_for_smaller_effective_base():
    frame = _wilson_frame([3, 17, 0], [10, 40, 25])
    low, high = wilson_interval_from_pct("pct", "base", z=Z95)
    same = frame.with_columns(low2=low, high2=high)
    np.testing.assert_allclose(same["low2"].to_numpy(), same["low"].to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(same["high2"].to_numpy(), same["high"].to_numpy(), rtol=1e-12, atol=1e-12)

    weighted = pl.DataFrame({"pct": [42.5, 42.5, 42.5, None], "n_eff": [400.0, 123.4, 0.0, 50.0]})
    low, high = wilson_interval_from_pct("pct", "n_eff", z=Z95)
    out = weighted.with_columns(low=low, high=high, width=high - low)
    assert out["width"][1] > out["width"][0]  # fewer effective respondents, wider interval
    assert out["low"][2] is None and out["low"][3] is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 10**7), st.floats(0, 1)), min_size=1, max_size=30),
    st.floats(0.5, 0.9999),
)
def test_wilson_bounds_bracket_the_percentage(cells, level):
    bases = [base for base, _ in cells]
    counts = [round(base * share) for base, share in cells]
    frame = _wilson_frame(counts, bases, z=z_for_level(level))
    low, pct, high = (frame[c].to_numpy() for c in ("low", "pct", "high"))
    assert np.all(low >= 0) and np.all(low <= pct) and np.all(pct <= high) and np.all(high <= 100)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(1e-3, 1e7)), min_size=1, max_size=30))
def test_wilson_from_pct_bounds_bracket_the_percentage(cells):
    frame = pl.DataFrame({"pct": [c[0] for c in cells], "n_eff": [c[1] for c in cells]})
    low, high = wilson_interval_from_pct("pct", "n_eff", z=Z95)
    out = frame.with_columns(low=low, high=high)
    lo, pct, hi = (out[c].to_numpy() for c in ("low", "pct", "high"))
    assert np.all(lo >= 0) and np.all(lo <= pct) and np.all(pct <= hi) and np.all(hi <= 100)


# --- two-proportion p-value ----------------------------------------------------------


def test_p_value_hand_computed_case():
    # 5/20 vs 15/25: pooled 20/45, se = sqrt(4/9 * 5/9 * (1/20 + 1/25)) = sqrt(1/45),
    # z = -0.35 * sqrt(45) = -2.3478714, p = 2 * (1 - Phi(2.3478714)) = 0.0188813.
    (p,) = _p_values([5], [20], [15], [25])
    assert p == pytest.approx(0.0188813, abs=1e-6)
    assert p == pytest.approx(2 * stats.norm.sf(0.35 * math.sqrt(45)), rel=2e-7)


def test_p_value_matches_manual_pooled_z_with_scipy():
    rng = np.random.default_rng(7)
    b1 = rng.integers(1, 5_000, 2_000).astype(float)
    b2 = rng.integers(1, 5_000, 2_000).astype(float)
    n1 = np.floor(rng.random(2_000) * (b1 + 1))
    n2 = np.floor(rng.random(2_000) * (b2 + 1))
    pooled = (n1 + n2) / (b1 + b2)
    keep = (pooled > 0) & (pooled < 1)
    n1, b1, n2, b2, pooled = n1[keep], b1[keep], n2[keep], b2[keep], pooled[keep]
    z = (n1 / b1 - n2 / b2) / np.sqrt(pooled * (1 - pooled) * (1 / b1 + 1 / b2))
    reference = 2 * stats.norm.sf(np.abs(z))
    ours = _p_values(n1, b1, n2, b2)
    normal = reference > 1e-300  # relative error is meaningless among subnormal numbers
    assert reference[normal].min() < 1e-12  # the comparison reaches deep into the tail
    np.testing.assert_allclose(ours[normal], np.minimum(reference[normal], 1.0), rtol=2e-7, atol=0)
    assert np.all(ours[~normal] < 1e-290)


def test_p_value_matches_statsmodels_proportions_ztest():
    proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels not installed (test oracle)")
    cases = [(5, 20, 15, 25), (30, 100, 45, 110), (1, 7, 6, 9), (480, 1000, 520, 1000)]
    ours = _p_values(*zip(*cases))
    for (n1, b1, n2, b2), p in zip(cases, ours):
        _, expected = proportion.proportions_ztest([n1, n2], [b1, b2], alternative="two-sided")
        assert p == pytest.approx(expected, rel=2e-7)


def test_p_value_edge_cases():
    p = _p_values(
        [0, 10, 3, 3, None, 4],
        [10, 10, 0, 10, 10, 10],
        [0, 25, 4, 4, 5, 4],
        [30, 25, 5, 0, 10, 10],
    ).tolist()
    assert p[0] == 1.0  # nobody in either group: pooled 0, identical proportions
    assert p[1] == 1.0  # everybody in both groups: pooled 1
    assert math.isnan(p[2]) and math.isnan(p[3]) and math.isnan(p[4])  # null (to_numpy: nan)
    assert p[5] == pytest.approx(1.0, abs=2e-7)  # equal proportions, z = 0


def test_p_value_nulls_are_nulls_not_nan():
    # base 0, null count, count above base, negative count, negative base
    frame = pl.DataFrame(
        {"n1": [3, None, 12, -1, 3], "b1": [0, 10, 10, 10, -5], "n2": [1, 1, 0, 1, 1], "b2": [5, 5, 40, 5, 5]}
    )
    out = frame.select(two_proportion_p_value("n1", "b1", "n2", "b2")).to_series()
    assert out.to_list() == [None] * 5


def test_p_value_from_pct_equals_count_form():
    frame = pl.DataFrame({"n1": [5, 30, 0], "b1": [20, 100, 10], "n2": [15, 45, 0], "b2": [25, 110, 30]})
    out = frame.select(
        counts=two_proportion_p_value("n1", "b1", "n2", "b2"),
        pcts=two_proportion_p_value_from_pct(
            pl.col("n1") / pl.col("b1") * 100, "b1", pl.col("n2") / pl.col("b2") * 100, "b2"
        ),
    )
    np.testing.assert_allclose(out["pcts"].to_numpy(), out["counts"].to_numpy(), rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.floats(0, 1), st.integers(0, 10**6), st.floats(0, 1)),
        min_size=1,
        max_size=30,
    )
)
def test_p_value_is_a_probability_and_symmetric(cells):
    b1 = [c[0] for c in cells]
    n1 = [round(c[0] * c[1]) for c in cells]
    b2 = [c[2] for c in cells]
    n2 = [round(c[2] * c[3]) for c in cells]
    p = _p_values(n1, b1, n2, b2)
    defined = ~np.isnan(p)
    assert np.array_equal(defined, (np.array(b1) > 0) & (np.array(b2) > 0))
    assert np.all((p[defined] >= 0) & (p[defined] <= 1))
    np.testing.assert_allclose(_p_values(n2, b2, n1, b1), p, rtol=1e-12)


# --- adjusted p-values ---------------------------------------------------------------


def test_bh_hand_computed_example_with_null_and_shuffled_rows():
    # Sorted p: .001 .008 .039 .041 .042 .06 .074 .205, m = 8 (the null is not counted).
    # p*m/rank: .008 .032 .104 .082 .0672 .08 .08457 .205; reverse cumulative min:
    #           .008 .032 .0672 .0672 .0672 .08 .08457 .205.
    raw = [0.042, 0.205, None, 0.001, 0.06, 0.039, 0.074, 0.008, 0.041]
    expected = [0.0672, 0.205, None, 0.008, 0.08, 0.0672, 0.074 * 8 / 7, 0.032, 0.0672]
    assert _adjusted(raw, "bh") == pytest.approx(expected, abs=1e-12)


def test_bonferroni_and_none():
    raw = [0.01, None, 0.2, 0.5]
    assert _adjusted(raw, "bonferroni") == pytest.approx([0.03, None, 0.6, 1.0])
    assert _adjusted(raw, "none") == raw


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown p-value adjustment"):
        adjusted_p_value(pl.col("p"), method="holm")


def test_bh_handles_ties_like_statsmodels_and_caps_at_one():
    raw = [0.03, 0.03, 0.03, 0.9, 0.9, 0.01]
    # m = 6: ranks of .03 are 2..4 -> .03*6/4 = .045 for all three; .9*6/6 = .9 for both.
    assert _adjusted(raw, "bh") == pytest.approx([0.045, 0.045, 0.045, 0.9, 0.9, 0.045])
    assert max(_adjusted([0.9, 0.95, 0.99], "bonferroni")) == 1.0


@pytest.mark.parametrize(("method", "sm_method"), [("bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_adjustment_matches_statsmodels(method, sm_method):
    multitest = pytest.importorskip("statsmodels.stats.multitest", reason="statsmodels not installed (test oracle)")
    rng = np.random.default_rng(11)
    raw = np.concatenate([rng.random(300) ** 3, np.round(rng.random(100), 2)])  # includes ties
    _, expected, _, _ = multitest.multipletests(raw, method=sm_method)
    np.testing.assert_allclose(_adjusted(raw, method), expected, rtol=1e-12, atol=1e-15)


def test_bh_within_groups_matches_per_group_computation():
    multitest = pytest.importorskip("statsmodels.stats.multitest", reason="statsmodels not installed (test oracle)")
    rng = np.random.default_rng(3)
    frame = pl.DataFrame(
        {
            "question": rng.choice(["q1", "q2", "q3"], 120),
            "segment": rng.choice(["a", "b"], 120),
            "p": rng.random(120) ** 2,
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 17 == 0).then(None).otherwise(pl.col("p")).alias("p"))
    out = frame.with_row_index().with_columns(adj=adjusted_p_value("p", method="bh", over=["question", "segment"]))
    for _, group in out.group_by("question", "segment"):
        present = group.filter(pl.col("p").is_not_null())
        _, expected, _, _ = multitest.multipletests(present["p"].to_numpy(), method="fdr_bh")
        np.testing.assert_allclose(present["adj"].to_numpy(), expected, rtol=1e-12)
        assert group.filter(pl.col("p").is_null())["adj"].null_count() == group["p"].null_count()


def test_adjustment_works_in_a_lazy_frame():
    lazy = pl.LazyFrame({"g": ["x", "x", "y"], "p": [0.01, 0.04, 0.02]})
    out = lazy.with_columns(adj=adjusted_p_value("p", method="bh", over=["g"])).collect()
    assert out["adj"].to_list() == pytest.approx([0.02, 0.04, 0.02])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=60))
def test_bh_is_at_least_raw_capped_monotone_and_ignores_nulls(raw):
    adjusted = _adjusted(raw, "bh")
    assert [a is None for a in adjusted] == [p is None for p in raw]
    pairs = sorted((p, a) for p, a in zip(raw, adjusted) if p is not None)
    for p, a in pairs:
        assert p <= a <= 1.0
    values = [a for _, a in pairs]
    assert all(x <= y for x, y in zip(values, values[1:]))
    # nulls are not counted in m: same result as adjusting the non-null values alone
    assert [a for a in adjusted if a is not None] == pytest.approx(_adjusted([p for p in raw if p is not None], "bh"))


# --- suppression ---------------------------------------------------------------------


def test_is_suppressed_below_minimum_and_for_unknown_base():
    frame = pl.DataFrame({"base": [None, 0, 29, 30, 31]}, schema={"base": pl.Int64})
    out = frame.select(is_suppressed("base", minimum=30)).to_series().to_list()
    assert out == [True, True, True, False, False]


def test_is_low_base_from_the_minimum_base_up_to_under_the_low_base():
    frame = pl.DataFrame({"base": [None, 0, 29, 30, 99, 100, 250]}, schema={"base": pl.Int64})
    out = frame.select(is_low_base("base", minimum=30, low=100)).to_series().to_list()
    assert out == [False, False, False, True, True, False, False]
    suppressed = frame.select(is_suppressed("base", minimum=30)).to_series().to_list()
    assert not any(low and hidden for low, hidden in zip(out, suppressed, strict=True))
