import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tests.transforms.reference import crosstab_from_answers
from transforms.crosstab import (
    CrosstabSettings,
    build_crosstab,
    build_crosstab_pair,
    build_crosstab_pair_from_sums,
    crosstab_cells,
    crosstab_sums,
)
from transforms.responses import build_answers, with_derived_segments


def random_responses(book, n: int, seed: int, excluded_share: float = 0.1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        "wave": [2023] * n,
        "source_tool": rng.choice(["qualtrics", "typeform"], n).tolist(),
        "response_id": [f"R{i}" for i in range(n)],
        "language": rng.choice(["en", "fr"], n).tolist(),
        "is_excluded": (rng.random(n) < excluded_share).tolist(),
    }
    for q in book.single:
        data[q.code] = rng.choice(q.option_codes, n).tolist()
    for q in book.multi:
        plain = [c for c in q.option_codes if c not in q.exclusive_codes]
        lists = []
        for _ in range(n):
            if rng.random() < 0.1 and q.exclusive_codes:
                lists.append([q.exclusive_codes[0]])
            else:
                picked = [c for c in plain if rng.random() < 0.35]
                lists.append(picked or [plain[0]])
        data[q.code] = lists
    frame = pl.DataFrame(data).with_columns(
        *[pl.col(q.code).cast(q.dtype) for q in book.single],
        *[pl.col(q.code).cast(pl.List(q.dtype)) for q in book.multi],
    )
    return with_derived_segments(frame.lazy(), book=book).collect()


def crosstab_of(book, responses, **kwargs):
    answers = build_answers(responses.lazy(), book=book)
    return crosstab_from_answers(responses.lazy(), answers, book=book, settings=CrosstabSettings(**kwargs)).collect()


@pytest.fixture(scope="module")
def table(book):
    responses = random_responses(book, 600, seed=1)
    return responses, crosstab_of(book, responses)


def test_every_question_answer_and_net_appears_in_every_segment_value(book, table):
    responses, crosstab = table
    expected_answers = sum(len(q.answer_codes) for q in book.closed)
    whole = crosstab.filter(pl.col("segment") == "all")
    assert whole.height == expected_answers
    roles = crosstab.filter(pl.col("segment") == "role")
    assert roles.height == expected_answers * responses["role"].n_unique()


def test_base_excludes_screened_out_responses(table):
    responses, crosstab = table
    base = crosstab.filter(pl.col("segment") == "all", pl.col("question") == "role")["base_n"].unique().to_list()
    assert base == [int((~responses["is_excluded"]).sum())]


def test_multi_select_pct_is_share_of_respondents(book, table):
    responses, crosstab = table
    kept = responses.filter(~pl.col("is_excluded"))
    expected = 100 * kept["ai_uses"].list.contains("visuals").sum() / kept.height
    row = crosstab.filter(pl.col("segment") == "all", pl.col("question") == "ai_uses", pl.col("answer") == "visuals")
    assert row["pct"].item() == pytest.approx(expected)
    total = crosstab.filter(
        pl.col("segment") == "all", pl.col("question") == "ai_uses", pl.col("answer_kind") == "option"
    )["pct"].sum()
    assert total > 100


def test_net_counts_a_respondent_once_between_its_largest_member_and_their_sum(book, table):
    _, crosstab = table
    for question in book.closed:
        for net, members in question.nets.items():
            rows = crosstab.filter(pl.col("question") == question.code)
            net_n = rows.filter(pl.col("answer") == net).select("segment", "segment_value", "n")
            member_n = (
                rows.filter(pl.col("answer").is_in(members))
                .group_by("segment", "segment_value")
                .agg(largest=pl.col("n").max(), total=pl.col("n").sum())
            )
            both = net_n.join(member_n, on=["segment", "segment_value"])
            assert ((both["n"] >= both["largest"]) & (both["n"] <= both["total"])).all()


def test_single_choice_segment_bases_add_up_to_the_total(table):
    _, crosstab = table
    q = crosstab.filter(pl.col("question") == "ai_interest", pl.col("answer") == "very")
    total = q.filter(pl.col("segment") == "all")["base_n"].item()
    for segment in [
        "role",
        "industry",
        "team_size",
        "followers",
        "ai_frequency",
        "account_size",
        "usage_band",
        "language",
        "source_tool",
    ]:
        assert q.filter(pl.col("segment") == segment)["base_n"].sum() == total, segment


def test_counts_within_bases_and_suppressed_exactly_below_minimum(table):
    _, crosstab = table
    assert ((crosstab["n"] >= 0) & (crosstab["n"] <= crosstab["base_n"])).all()
    assert (crosstab["is_suppressed"] == (crosstab["base_n"] < 30)).all()
    assert (
        crosstab.filter(pl.col("segment") == "all")["p_value"].null_count()
        == crosstab.filter(pl.col("segment") == "all").height
    )


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_never_changes_the_output(book, seed):
    responses = random_responses(book, 120, seed=seed)
    shuffled = responses.sample(fraction=1.0, shuffle=True, seed=seed)
    assert crosstab_of(book, responses).equals(crosstab_of(book, shuffled))


@pytest.mark.parametrize("weighted", [False, True])
def test_the_pair_from_one_pass_equals_the_crosstab_and_the_crosstab_without_exclusions(book, weighted):
    """What the nightly build collects (``build_crosstab_pair``) is, table for table, the
    crosstab and the crosstab computed as if no response were excluded."""
    responses = random_responses(book, 800, seed=5, excluded_share=0.2)
    rng = np.random.default_rng(5)
    responses = responses.with_columns(weight=pl.Series(rng.uniform(0.3, 3.0, responses.height)))
    options = CrosstabSettings()
    screened, everyone = pl.collect_all(
        build_crosstab_pair(responses.lazy(), book=book, settings=options, weighted=weighted)
    )
    alone = build_crosstab(responses.lazy(), book=book, settings=options, weighted=weighted).collect()
    unscreened = build_crosstab(
        responses.lazy().with_columns(is_excluded=pl.lit(False)), book=book, settings=options, weighted=weighted
    ).collect()
    assert_frame_equal(screened, alone)
    assert_frame_equal(everyone, unscreened)
    assert (everyone["base_n"] >= screened["base_n"]).all() and (everyone["base_n"] > screened["base_n"]).any()


def test_the_pair_from_kept_sums_equals_the_pair_from_the_responses(book):
    """What a night counts from ``crosstab_sums`` (summed per segment value without a row per
    combination and cell) is, table for table, the crosstab pair counted
    from the responses: several waves, excluded responses, a segment left unanswered."""
    responses = random_responses(book, 900, seed=11, excluded_share=0.2)
    segment = book.segments[0]
    rng = np.random.default_rng(11)
    responses = responses.with_columns(
        wave=pl.Series(rng.choice([2022, 2023], responses.height)),
        **{segment: pl.when(pl.Series(rng.random(responses.height) < 0.15)).then(None).otherwise(pl.col(segment))},
    )
    unasked = next(q.code for q in book.single if q.code not in book.segments)  # no one answered it in 2022
    responses = responses.with_columns(
        pl.when(pl.col("wave") == 2022).then(None).otherwise(pl.col(unasked)).alias(unasked)
    )
    options = CrosstabSettings()
    expected = pl.collect_all(build_crosstab_pair(responses.lazy(), book=book, settings=options))
    sums = crosstab_sums(responses.lazy(), book=book)
    got = pl.collect_all(build_crosstab_pair_from_sums(sums, book=book, settings=options))
    assert expected[0].filter(pl.col("segment") == segment)["segment_value"].null_count() == 0
    assert expected[1].filter((pl.col("wave") == 2022) & (pl.col("question") == unasked)).is_empty()
    for table, reference in zip(got, expected, strict=True):
        assert_frame_equal(table, reference)


def test_crosstab_sums_are_the_same_rows_in_the_same_order_whatever_the_responses_order(book):
    """The sums the warehouse keeps (`_build.crosstab_sums`) are the same table, row order
    included, from the same responses in any order: a night publishes the same file."""
    responses = random_responses(book, 3000, seed=11, excluded_share=0.2)
    shuffled = responses.sample(fraction=1.0, shuffle=True, seed=3)
    sums = [crosstab_sums(rows.lazy(), book=book) for rows in (responses, shuffled)]
    assert_frame_equal(*sums)


def test_the_pair_from_the_sums_equals_the_pair_from_the_responses(book):
    responses = random_responses(book, 800, seed=7, excluded_share=0.2).with_columns(weight=pl.lit(1.0))
    options = CrosstabSettings()
    from_responses = pl.collect_all(build_crosstab_pair(responses.lazy(), book=book, settings=options))
    sums = crosstab_sums(responses.lazy(), book=book)
    from_sums = pl.collect_all(build_crosstab_pair_from_sums(sums, book=book, settings=options))
    for expected, got in zip(from_responses, from_sums, strict=True):
        assert_frame_equal(got, expected)


def test_crosstab_sums_count_each_multi_select_option_and_net_among_null_empty_and_full_lists(book):
    """The sums of a multi-select's options and NETs (read from the options' bits, ``_answer_cells``)
    are the responses whose list names the option (a NET: any of its members): a null or empty
    list counts in none, a list of every option in each."""
    responses = random_responses(book, 400, seed=3, excluded_share=0.0)
    question = book.multi[0]
    every = [code for code in question.option_codes if code not in question.exclusive_codes]
    lists = [None, [], every, [every[-1]], [every[0], every[-1]]]
    responses = responses.with_columns(
        pl.Series(question.code, [lists[i % len(lists)] for i in range(responses.height)], dtype=pl.List(pl.Utf8)).cast(
            pl.List(question.dtype)
        )
    )
    sums = crosstab_sums(responses.lazy(), book=book)
    cells = crosstab_cells(book).filter(pl.col("question") == question.code, pl.col("answer").is_not_null())
    chosen = responses[question.code].to_list()
    members = {code: [code] for code in question.option_codes} | {
        name: list(codes) for name, codes in question.nets.items()
    }
    for cell, answer in cells.select("cell", "answer").iter_rows():
        expected = sum(1 for picked in chosen if picked and set(picked) & set(members[answer]))
        assert sums[cell].sum() == expected, answer
