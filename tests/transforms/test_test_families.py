"""Only hypotheses are tested, each once, adjusted in its table's family; small bases are not
tested (suppressed) or carry a caution (is_low_base). The oracle is statsmodels."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests

from schemas.tables import NOT_TESTED_REASONS, crosstab_schema
from surveyhouse.settings import SettingsError, load_settings
from tests.transforms.test_crosstab import random_responses
from transforms.crosstab import CrosstabSettings, build_crosstab
from transforms.statistics import two_proportion_p_value


def crosstab_of(book, responses: pl.DataFrame, **options) -> pl.DataFrame:
    return build_crosstab(responses.lazy(), book=book, settings=CrosstabSettings(**options)).collect()


@pytest.fixture(scope="module")
def responses(book):
    """300 responses (industries of ~25: suppressed; followers of ~40: low bases), the
    attention check answered alike by everyone kept (as after screening)."""
    frame = random_responses(book, 300, seed=11)
    check = book.attention_check
    return frame.with_columns(pl.lit(check.expected).cast(check.dtype).alias(check.code))


@pytest.fixture(scope="module")
def table(book, responses):
    return crosstab_of(book, responses)


def test_no_row_crossing_a_question_with_itself_or_its_derived_segment_carries_a_test(book, table):
    derived = [(d.source, d.code) for d in book.derived_segments]
    own = pl.col("question") == pl.col("segment")
    grouped = pl.any_horizontal([(pl.col("question") == q) & (pl.col("segment") == s) for q, s in derived])
    crossed = table.filter(own | grouped)
    assert crossed.height > 0 and crossed.filter(own).height > 0 and crossed.filter(grouped).height > 0
    assert crossed["p_value"].null_count() == crossed.height
    assert not crossed["is_tested"].any() and not crossed["is_significant"].any()
    assert set(crossed["not_tested_reason"]) == {"own_segment", "derived_segment"}


def test_no_suppressed_cell_carries_a_test(table):
    suppressed = table.filter(pl.col("is_suppressed"), pl.col("segment") != "all")
    assert suppressed.height > 0
    assert suppressed["p_value"].null_count() == suppressed.height
    assert not suppressed["is_tested"].any() and not suppressed["is_significant"].any()


def test_an_item_answered_alike_by_everyone_is_not_tested(book, table):
    item = table.filter(pl.col("question") == book.attention_check.code, pl.col("segment") != "all")
    assert set(item["not_tested_reason"]) <= {"constant_item", "own_segment", "derived_segment"}
    assert "constant_item" in set(item["not_tested_reason"])
    assert item["p_value"].null_count() == item.height


def test_every_row_without_a_p_value_says_why_and_every_tested_row_has_one(table):
    untested = table.filter(pl.col("p_value").is_null())
    assert untested["not_tested_reason"].null_count() == 0
    assert set(untested["not_tested_reason"]) <= set(NOT_TESTED_REASONS)
    assert (table["is_tested"] == table["p_value"].is_not_null()).all()
    assert (table["is_tested"] == table["not_tested_reason"].is_null()).all()


def test_each_two_by_two_cross_is_tested_once_in_the_earlier_questions_row(table):
    """role x industry=retail and industry=retail x role are the same cross: tested in
    role's row (role comes first in the questionnaire), marked repeated in industry's."""
    kept = table.filter(
        pl.col("question") == "role", pl.col("segment") == "industry", pl.col("answer_kind") == "option"
    )
    twin = table.filter(pl.col("question") == "industry", pl.col("segment") == "role")
    both = kept.join(
        twin.select(answer="segment_value", segment_value="answer", twin_reason="not_tested_reason"),
        on=["answer", "segment_value"],
    )
    assert both.height == kept.height > 0
    assert set(both["twin_reason"]) == {"repeated_pair"}
    assert set(both["not_tested_reason"].drop_nulls()) <= {"suppressed"} and both["is_tested"].any()


@pytest.mark.parametrize(
    ("question", "segment"), [("team_size", "industry"), ("ai_frequency", "followers"), ("followers", "usage_band")]
)
def test_a_row_marked_repeated_has_the_p_value_of_the_row_that_keeps_the_test(book, responses, question, segment):
    """The rule marks only true twins: the marked row's p-value, computed as the crosstab
    computes it, is the p-value of the row that keeps the test (the same 2x2, transposed,
    or a one-option derived group and its option)."""
    table = crosstab_of(book, responses, minimum_base=0)
    marked = table.filter(pl.col("question") == question, pl.col("segment") == segment)
    assert set(marked["not_tested_reason"]) >= {"repeated_pair"}
    marked = marked.filter(pl.col("not_tested_reason") == "repeated_pair")
    total = table.filter(pl.col("segment") == "all").select("question", "answer", total_n="n", total_base="base_n")
    recomputed = (
        marked.join(total, on=["question", "answer"])
        .with_columns(
            p=two_proportion_p_value(
                "n", "base_n", pl.col("total_n") - pl.col("n"), pl.col("total_base") - pl.col("base_n")
            )
        )
        .sort("p")["p"]
        .to_numpy()
    )
    tested = table.filter(pl.col("is_tested"))["p_value"].to_numpy()
    # each recomputed p-value is some tested row's p-value (they are continuous: no chance match)
    assert all(np.isclose(tested, p, rtol=1e-9, atol=0).any() for p in recomputed if p < 1.0)


def _tested_options_and_nets(table: pl.DataFrame, keys: list[str]) -> list[pl.DataFrame]:
    tested = table.filter(pl.col("is_tested"))
    return [group for _, group in tested.group_by([*keys, "answer_kind"], maintain_order=True)]


def test_the_family_per_table_is_an_independent_bh_per_wave_question_and_segment(table):
    groups = _tested_options_and_nets(table, ["wave", "question", "segment"])
    assert len(groups) > 10
    for group in groups:
        expected = multipletests(group["p_value"].to_numpy(), method="fdr_bh")[1]
        np.testing.assert_allclose(group["p_adjusted"].to_numpy(), expected, rtol=1e-12, atol=1e-15)


def test_the_family_per_wave_is_an_independent_bh_over_the_waves_tested_rows(book, responses):
    table = crosstab_of(book, responses, family="wave")
    for group in _tested_options_and_nets(table, ["wave"]):
        expected = multipletests(group["p_value"].to_numpy(), method="fdr_bh")[1]
        np.testing.assert_allclose(group["p_adjusted"].to_numpy(), expected, rtol=1e-12, atol=1e-15)


def test_family_none_leaves_p_values_unadjusted(book, responses):
    table = crosstab_of(book, responses, family="none")
    tested = table.filter(pl.col("is_tested"))
    assert tested.height > 0 and (tested["p_adjusted"] == tested["p_value"]).all()


def test_an_unknown_family_is_refused(book, responses):
    with pytest.raises(ValueError, match="unknown test family 'question'"):
        crosstab_of(book, responses, family="question")


def test_low_base_marks_shown_bases_under_the_low_base(table):
    assert (table["is_low_base"] == ((table["base_n"] >= 30) & (table["base_n"] < 100))).all()
    assert table["is_low_base"].any() and not (table["is_low_base"] & table["is_suppressed"]).any()
    low = table.filter(pl.col("is_low_base"), pl.col("not_tested_reason").is_null())
    assert low.height > 0  # a low base is shown and tested, with a caution


def test_the_family_and_low_base_settings_reach_the_crosstab_and_the_run_record(monkeypatch):
    monkeypatch.setenv("SURVEYHOUSE_ADJUST_FAMILY", "wave")
    monkeypatch.setenv("SURVEYHOUSE_LOW_BASE", "50")
    monkeypatch.setenv("SURVEYHOUSE_SECRET", "families-test")
    settings = load_settings(inbox="landing", warehouse="w.duckdb")
    assert (settings.crosstab.family, settings.crosstab.low_base) == ("wave", 50)
    recorded = json.loads(settings.recorded())["crosstab"]
    assert (recorded["family"], recorded["low_base"]) == ("wave", 50)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SURVEYHOUSE_ADJUST_FAMILY", "question", "SURVEYHOUSE_ADJUST_FAMILY=question is not valid: table"),
        ("SURVEYHOUSE_LOW_BASE", "-5", "SURVEYHOUSE_LOW_BASE=-5 is not valid: a whole number of respondents"),
        ("SURVEYHOUSE_LOW_BASE", "many", "SURVEYHOUSE_LOW_BASE=many is not valid: a whole number of respondents"),
    ],
)
def test_an_invalid_family_or_low_base_setting_is_refused_naming_it(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=says):
        load_settings(inbox="landing", warehouse="w.duckdb")


def test_a_segment_value_holding_the_whole_base_is_not_tested_and_says_so(book, responses):
    table = crosstab_of(book, responses.with_columns(language=pl.lit("en")))
    language = table.filter(pl.col("segment") == "language")
    assert language.height > 0
    assert set(language["not_tested_reason"]) == {"no_comparison", "constant_item"}  # the attention check first
    assert language["p_value"].null_count() == language.height


def test_the_crosstab_with_its_test_columns_validates_against_its_schema(book, table):
    crosstab_schema(book).validate(table.with_columns(pl.col("wave").cast(pl.Int32)))
    assert set(table["not_tested_reason"].drop_nulls()) == set(NOT_TESTED_REASONS) - {"no_comparison"}
