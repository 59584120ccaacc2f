import polars as pl
import pytest

from schemas.figures import figure_address, published_figures
from transforms.claims import check_claims, internal_contradictions


def test_every_published_figure_has_a_crosstab_address(book):
    figures = published_figures()
    addresses = {
        row["id"]: figure_address(row["question"], row["answers"], row["segment"], book=book)
        for row in figures.iter_rows(named=True)
    }
    assert addresses["F08a"] == ("weekly_plus", "all", "all")
    assert addresses["F07"] == ("dont_care", "account_size", "large")
    assert addresses["F09b"] == ("weekly_plus", "role", "senior_director")
    assert addresses["F15a"] == ("visuals", "all", "all")
    assert len(addresses) == figures.height


def test_the_report_contradicting_itself_is_found_from_the_figures_alone(book):
    conflicts = internal_contradictions(published_figures(), book=book)
    pairs = {tuple(sorted((row["id"], row["contradicts"]))) for row in conflicts.iter_rows(named=True)}
    assert pairs == {("F08c", "F28")}
    assert "complements" in conflicts["reason"][0]


def test_an_unknown_net_is_a_clear_error(book):
    with pytest.raises(ValueError, match="no NET"):
        figure_address("ai_frequency", "daily|never", "all", book=book)


# check_claims on hand-made frames: one crosstab row per figure, each figure made to land
# on one status; the expected values are worked out by hand beside each row.
CROSSTAB_SCHEMA = {
    "wave": pl.Int32,
    "question": pl.Utf8,
    "answer": pl.Utf8,
    "segment": pl.Utf8,
    "segment_value": pl.Utf8,
    "base_n": pl.Int64,
    "pct": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}
FIGURE_SCHEMA = {
    "id": pl.Utf8,
    "question": pl.Utf8,
    "answers": pl.Utf8,
    "segment": pl.Utf8,
    "published_pct": pl.Float64,
    "note": pl.Utf8,
}


def _crosstab(rows) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=CROSSTAB_SCHEMA, orient="row")


def _claims(book, crosstab_rows, figure_rows, unscreened_rows=None) -> dict[str, dict]:
    figures = pl.DataFrame(figure_rows, schema=FIGURE_SCHEMA, orient="row")
    unscreened = None if unscreened_rows is None else _crosstab(unscreened_rows)
    table = check_claims(
        _crosstab(crosstab_rows),
        figures,
        book=book,
        wave=2023,
        tolerance_pts=2.0,
        minimum_base=30,
        unscreened=unscreened,
    ).collect()
    return {row["id"]: row for row in table.iter_rows(named=True)}


def test_a_figure_that_rounds_to_the_published_integer_is_reproduced(book):
    # published 22, computed 22.5: rounds to 22 (a half rounds either way), and 21.6 rounds to 22.
    claims = _claims(
        book,
        [
            (2023, "ai_frequency", "daily", "all", "all", 400, 22.5, 18.0, 27.0),
            (2023, "ai_frequency", "never", "all", "all", 400, 21.6, 18.0, 26.0),
        ],
        [("X1", "ai_frequency", "daily", "all", 22.0, None), ("X2", "ai_frequency", "never", "all", 22.0, None)],
    )
    assert (claims["X1"]["status"], claims["X2"]["status"]) == ("reproduced", "reproduced")
    assert claims["X1"]["diff_pts"] == pytest.approx(0.5)


def test_a_figure_published_with_a_decimal_is_reproduced_at_that_precision(book):
    # published 22.5: computed 22.54 rounds to it, 22.6 does not (0.1 off, within the 2-point tolerance).
    claims = _claims(
        book,
        [
            (2023, "ai_frequency", "daily", "all", "all", 400, 22.54, 18.0, 27.0),
            (2023, "ai_frequency", "never", "all", "all", 400, 22.6, 18.0, 27.0),
        ],
        [("X1", "ai_frequency", "daily", "all", 22.5, None), ("X2", "ai_frequency", "never", "all", 22.5, None)],
    )
    assert (claims["X1"]["status"], claims["X2"]["status"]) == ("reproduced", "within_tolerance")


def test_a_figure_off_by_more_than_rounding_but_within_the_tolerance_is_within_tolerance(book):
    # published 21, computed 22.5: rounds to 22 or 23, not 21; 1.5 points off (<= 2), outside [22, 23].
    claims = _claims(
        book,
        [(2023, "ai_frequency", "daily", "all", "all", 400, 22.5, 22.0, 23.0)],
        [("X1", "ai_frequency", "daily", "all", 21.0, None)],
    )
    row = claims["X1"]
    assert row["status"] == "within_tolerance"
    assert row["diff_pts"] == pytest.approx(1.5)
    assert (row["is_within_tolerance"], row["is_within_ci"]) == (True, False)


def test_a_figure_inside_its_interval_but_beyond_the_tolerance_is_not_reproduced(book):
    # published 30, computed 25 (5 points off): that 30 lies in [20, 31] no longer counts.
    claims = _claims(
        book,
        [(2023, "role", "vp", "all", "all", 60, 25.0, 20.0, 31.0)],
        [("X1", "role", "vp", "all", 30.0, None)],
    )
    row = claims["X1"]
    assert row["status"] == "not_reproduced"
    assert row["diff_pts"] == pytest.approx(-5.0)
    assert (row["is_within_tolerance"], row["is_within_ci"]) == (False, True)


def test_a_figure_beyond_the_tolerance_and_outside_its_interval_is_not_reproduced(book):
    # published 8, computed 20 in [15, 25]: 12 points off and 8 < 15.
    claims = _claims(
        book,
        [(2023, "role", "vp", "all", "all", 200, 20.0, 15.0, 25.0)],
        [("X1", "role", "vp", "all", 8.0, None)],
    )
    row = claims["X1"]
    assert row["status"] == "not_reproduced"
    assert row["diff_pts"] == pytest.approx(12.0)
    assert row["contradiction"] is None


def test_complements_adding_up_to_more_than_100_are_contradicted_where_the_data_disagree(book):
    # yes 70 + no 40 = 110: the report contradicts itself. The data bear out "yes"
    # (computed 68, 2 points off) but not "no" (computed 32 in [25, 39], published 40).
    claims = _claims(
        book,
        [
            (2023, "company_uses_ai", "yes", "all", "all", 300, 68.0, 62.0, 74.0),
            (2023, "company_uses_ai", "no", "all", "all", 300, 32.0, 25.0, 39.0),
        ],
        [
            ("X1", "company_uses_ai", "yes", "all", 70.0, None),
            ("X2", "company_uses_ai", "no", "all", 40.0, None),
        ],
    )
    assert claims["X1"]["status"] == "within_tolerance"
    assert claims["X2"]["status"] == "contradicted"
    reason = "X1 (70%) and X2 (40%) are complements and add up to 110%"
    assert claims["X1"]["contradiction"] == claims["X2"]["contradiction"] == reason


def test_a_figure_computed_on_a_base_under_the_minimum_is_below_minimum_base_and_one_with_no_row_not_computable(
    book,
):
    # X1: base 29 < 30 (computed, and it even rounds to the published 50); X2: the crosstab has no row for its segment.
    claims = _claims(
        book,
        [(2023, "plans_2024", "increase", "all", "all", 29, 50.0, 40.0, 60.0)],
        [
            ("X1", "plans_2024", "increase", "all", 50.0, None),
            ("X2", "plans_2024", "increase", "role=vp", 50.0, None),
        ],
    )
    assert claims["X1"]["status"] == "below_minimum_base"
    assert (claims["X1"]["base_n"], claims["X1"]["computed_pct"]) == (29, 50.0)
    assert claims["X2"]["status"] == "not_computable"
    assert (claims["X2"]["base_n"], claims["X2"]["computed_pct"]) == (None, None)


def test_a_figure_of_another_wave_is_not_computable(book):
    claims = _claims(
        book,
        [(2024, "role", "vp", "all", "all", 200, 8.0, 5.0, 11.0)],
        [("X1", "role", "vp", "all", 8.0, None)],
    )
    assert claims["X1"]["status"] == "not_computable"


def test_the_screening_effect_is_the_unscreened_figure_minus_the_screened_one(book):
    # screened 40, unscreened 43.5: counting the screened-out responses moves it +3.5 points.
    claims = _claims(
        book,
        [(2023, "ai_frequency", "weekly_plus", "all", "all", 100, 40.0, 30.0, 50.0)],
        [("X1", "ai_frequency", "daily|few_per_week|weekly", "all", 41.0, None)],
        unscreened_rows=[(2023, "ai_frequency", "weekly_plus", "all", "all", 120, 43.5, 34.0, 53.0)],
    )
    row = claims["X1"]
    assert (row["answer"], row["status"]) == ("weekly_plus", "within_tolerance")
    assert (row["unscreened_pct"], row["screening_effect_pts"]) == (43.5, pytest.approx(3.5))


def test_without_an_unscreened_crosstab_the_screening_effect_is_null(book):
    claims = _claims(
        book,
        [(2023, "role", "vp", "all", "all", 200, 8.0, 5.0, 11.0)],
        [("X1", "role", "vp", "all", 8.0, None)],
    )
    assert (claims["X1"]["unscreened_pct"], claims["X1"]["screening_effect_pts"]) == (None, None)


def test_weighted_claims_compare_the_weighted_percentage_and_say_so(book):
    # unweighted 40% (rounds to 40: reproduced), weighted 42.2% (rounds to 42: not 40, 2.2 off > 2): with
    # weights the figure is the weighted one, its interval the weighted one; the base stays respondents.
    crosstab = _crosstab([(2023, "ai_frequency", "daily", "all", "all", 400, 40.0, 35.0, 45.0)]).with_columns(
        weighted_pct=pl.lit(42.2), weighted_ci_low=pl.lit(37.0), weighted_ci_high=pl.lit(47.5)
    )
    figures = pl.DataFrame([("X1", "ai_frequency", "daily", "all", 40.0, None)], schema=FIGURE_SCHEMA, orient="row")
    unscreened = _crosstab([(2023, "ai_frequency", "daily", "all", "all", 450, 41.0, 36.0, 46.0)])

    def claim(weighted: bool) -> dict:
        table = check_claims(
            crosstab,
            figures,
            book=book,
            wave=2023,
            tolerance_pts=2.0,
            minimum_base=30,
            unscreened=unscreened,
            weighted=weighted,
        ).collect()
        return table.row(0, named=True)

    plain, weighted = claim(False), claim(True)
    assert (plain["status"], plain["computed_pct"], plain["is_weighted"]) == ("reproduced", 40.0, False)
    assert (weighted["status"], weighted["computed_pct"], weighted["is_weighted"]) == ("not_reproduced", 42.2, True)
    assert (weighted["ci_low"], weighted["ci_high"], weighted["base_n"]) == (37.0, 47.5, 400)
    # The screened-out responses have no weight: how screening moves the figure is unweighted.
    assert weighted["screening_effect_pts"] == plain["screening_effect_pts"] == pytest.approx(1.0)


def test_a_figure_on_a_boundary_keeps_its_verdict_whatever_the_last_bits_of_its_sum(book):
    """A share raked to its target lands on a verdict's boundary, give or take the last bits of a
    sum made in another order: the verdict is the boundary's, on every night."""
    noise = 4 * 2**-46  # a few units in the last place of a percentage near 40
    for computed in (40.0 - noise, 40.0, 40.0 + noise):
        claims = _claims(
            book,
            [
                (2023, "role", "vp", "all", "all", 400, computed, 36.0, computed),  # tolerance's edge, interval's
                (2023, "role", "manager", "all", "all", 400, computed - 17.5, 18.0, 27.0),  # rounding's edge
            ],
            [("X1", "role", "vp", "all", 38.0, None), ("X2", "role", "manager", "all", 22.0, None)],
        )
        assert claims["X1"]["status"] == "within_tolerance" and claims["X1"]["is_within_ci"], computed
        assert claims["X2"]["status"] == "reproduced", computed
