"""Column-proportion tests (SPSS Custom Tables' "compare column proportions") against an
independent computation: statsmodels' pooled z-test per pair of columns and its
Bonferroni / Benjamini-Hochberg adjustment within each row of each table, on the demo
warehouse; the letters from the questionnaire's order."""

from __future__ import annotations

import itertools
import json
import string

import duckdb
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from surveyhouse.settings import SettingsError, load_settings
from tests.transforms.test_crosstab import random_responses
from transforms.column_tests import ColumnTestSettings, build_column_tests
from transforms.crosstab import CrosstabSettings, build_crosstab

MINIMUM_BASE = 30
ALPHA = 0.05


@pytest.fixture(scope="module")
def demo(demo_night):
    """(crosstab, column_tests, column_letters, runs.settings) of the demo warehouse (tests/conftest.py)."""
    with duckdb.connect(str(demo_night.warehouse), read_only=True) as connection:
        return (
            connection.sql("select * from crosstab").pl(),
            connection.sql("select * from column_tests").pl(),
            connection.sql("select * from column_letters").pl(),
            json.loads(connection.sql("select settings from runs").fetchone()[0]),
        )


def _letters(book, segment: str, values: list[str]) -> dict[str, str]:
    if segment in [q.code for q in book.segment_questions]:
        order = book.question(segment).option_codes
    elif segment in [d.code for d in book.derived_segments]:
        order = list(book.derived(segment).groups)
    else:
        order = sorted(values)
    return {value: string.ascii_uppercase[i] for i, value in enumerate(order)}


def _skipped_tables(book, crosstab: pl.DataFrame) -> set[tuple[str, str]]:
    """(question, segment) crosses that are no hypothesis, from the codebook and the whole sample."""
    own = {(q.code, q.code) for q in book.segment_questions} | {(d.source, d.code) for d in book.derived_segments}
    whole = crosstab.filter(pl.col("segment") == "all")
    constant = {
        question
        for (question,), rows in whole.group_by(["question"])
        if all(n in (0, base) for n, base in zip(rows["n"], rows["base_n"], strict=True))
    }
    segments = set(crosstab["segment"]) - {"all"}
    return own | {(q, s) for q in constant for s in segments}


def expected_column_tests(book, crosstab: pl.DataFrame, *, method: str) -> dict[tuple, tuple]:
    """Every pair of columns of every row, by statsmodels: key -> (p, p adjusted, higher, letters)."""
    skipped = _skipped_tables(book, crosstab)
    expected = {}
    cells = crosstab.filter(pl.col("segment") != "all")
    for (wave, question, answer, segment), row in cells.group_by(["wave", "question", "answer", "segment"]):
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
        p_values = []
        for a, b in pairs:
            if a["n"] + b["n"] in (0, a["base_n"] + b["base_n"]):
                p_values.append(1.0)  # pooled proportion 0 or 1: identical columns
            else:
                p_values.append(proportions_ztest([a["n"], b["n"]], [a["base_n"], b["base_n"]])[1])
        adjusted = p_values if method == "none" else multipletests(p_values, method=method)[1]
        for (a, b), p, p_adj in zip(pairs, p_values, adjusted, strict=True):
            pct_a, pct_b = a["n"] / a["base_n"], b["n"] / b["base_n"]
            higher = None if p_adj >= ALPHA or pct_a == pct_b else (a if pct_a > pct_b else b)["segment_value"]
            key = (wave, question, answer, segment, a["segment_value"], b["segment_value"])
            expected[key] = (p, p_adj, higher, letters[a["segment_value"]], letters[b["segment_value"]])
    return expected


def _built(tests: pl.DataFrame) -> dict[tuple, tuple]:
    return {
        (r["wave"], r["question"], r["answer"], r["segment"], r["value_a"], r["value_b"]): (
            r["p_value"],
            r["p_adjusted"],
            r["higher"],
            r["letter_a"],
            r["letter_b"],
        )
        for r in tests.iter_rows(named=True)
    }


def _assert_same(built: dict, expected: dict) -> None:
    assert built.keys() == expected.keys()
    for key, (p, p_adj, higher, letter_a, letter_b) in expected.items():
        got = built[key]
        assert got[0] == pytest.approx(p, rel=1e-6, abs=1e-12), key
        assert got[1] == pytest.approx(p_adj, rel=1e-6, abs=1e-12), key
        assert got[2:] == (higher, letter_a, letter_b), key


def test_column_tests_match_statsmodels_with_bonferroni_within_each_row(book, demo):
    crosstab, tests, _, _ = demo
    expected = expected_column_tests(book, crosstab, method="bonferroni")
    assert len(expected) >= 200
    assert sum(1 for value in expected.values() if value[2] is not None) >= 200  # significant pairs too
    _assert_same(_built(tests), expected)
    assert tests["is_significant"].to_list() == [p < ALPHA for p in tests["p_adjusted"]]


def test_column_tests_match_statsmodels_with_benjamini_hochberg(book, demo):
    crosstab, _, _, _ = demo
    built = build_column_tests(
        crosstab.lazy(), book=book, settings=ColumnTestSettings(adjust="bh", minimum_base=MINIMUM_BASE)
    ).collect()
    _assert_same(_built(built), expected_column_tests(book, crosstab, method="fdr_bh"))


def test_a_question_is_never_tested_against_its_own_segment_or_when_constant(demo):
    _, tests, _, _ = demo
    crosses = set(zip(tests["question"], tests["segment"], strict=True))
    for cross in [("role", "role"), ("followers", "account_size"), ("ai_frequency", "usage_band")]:
        assert cross not in crosses
    assert "attention_check" not in set(tests["question"])
    assert ("ai_frequency", "role") in crosses  # a real hypothesis is tested


def test_columns_under_the_minimum_base_are_never_tested(book):
    responses = random_responses(book, 400, seed=3)  # some segment values under 30 respondents
    crosstab = build_crosstab(responses.lazy(), book=book, settings=CrosstabSettings()).collect()
    tests = build_column_tests(crosstab.lazy(), book=book, settings=ColumnTestSettings()).collect()
    small = crosstab.filter(pl.col("segment") != "all", pl.col("base_n") < MINIMUM_BASE)
    assert small.height > 0 and tests.height > 0
    assert min(tests["base_a"].min(), tests["base_b"].min()) >= MINIMUM_BASE
    _assert_same(_built(tests), expected_column_tests(book, crosstab, method="bonferroni"))


def test_each_cell_shows_the_letters_of_the_columns_it_is_significantly_higher_than(book, demo):
    crosstab, _, letters, _ = demo
    expected = expected_column_tests(book, crosstab, method="bonferroni")
    beaten: dict[tuple, list[str]] = {}
    for (wave, question, answer, segment, a, b), (_, _, higher, letter_a, letter_b) in expected.items():
        beaten.setdefault((wave, question, answer, segment, a), [])
        beaten.setdefault((wave, question, answer, segment, b), [])
        if higher is not None:
            beaten[(wave, question, answer, segment, higher)].append(letter_b if higher == a else letter_a)
    shown = {
        (r["wave"], r["question"], r["answer"], r["segment"], r["segment_value"]): r
        for r in letters.iter_rows(named=True)
    }
    assert shown.keys() == beaten.keys()
    for key, others in beaten.items():
        cell = shown[key]
        assert cell["higher_than"] == (" ".join(sorted(others)) or None), key
        assert cell["cell"] == f"{cell['pct']:.0f}%" + "".join(f" {letter}" for letter in sorted(others)), key
    assert sum(1 for others in beaten.values() if others) >= 200


def test_column_adjust_is_a_setting_recorded_in_runs(demo, monkeypatch, tmp_path):
    *_, recorded = demo
    assert recorded["column_tests"] == {"adjust": "bonferroni", "alpha": 0.05, "minimum_base": 30}
    monkeypatch.setenv("SURVEYHOUSE_COLUMN_ADJUST", "bh")
    assert load_settings(inbox=str(tmp_path)).column_tests.adjust == "bh"
    monkeypatch.setenv("SURVEYHOUSE_COLUMN_ADJUST", "holm")
    with pytest.raises(SettingsError, match="SURVEYHOUSE_COLUMN_ADJUST=holm is not valid: bonferroni, bh or none"):
        load_settings(inbox=str(tmp_path))
