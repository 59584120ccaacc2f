"""Which crosstab rows are hypotheses, and the families their p-values are adjusted in.

A row is tested (``is_tested``) unless ``not_tested_reason`` says why not, first reason first:

* ``whole_sample``: the segment 'all' (nothing to compare it with);
* ``own_segment``: the question crossed with itself (role x role);
* ``derived_segment``: the question crossed with a segment grouped from it (followers x account_size);
* ``constant_item``: every respondent of the wave gave the same answers (after screening:
  the attention check), so every segment value has the total's percentage;
* ``repeated_pair``: the same 2x2 cross as another row. A segment question is also a
  question of the crosstab, so role x industry=retail and industry=retail x role are one
  hypothesis: the row whose question comes first in questionnaire order keeps the test,
  the other is marked (an answer and a segment value are the same condition when they
  hold the same options: a NET and a derived group too). A derived group of one option
  (usage_band 'light' = ai_frequency 'rarely') repeats that option's segment value: the
  segment question's row keeps the test;
* ``suppressed``: the base is under the minimum base (the figure is not published);
* ``no_comparison``: the segment value holds the question's whole base, no rest to compare it with.

The family a p-value is adjusted in (``family``): ``table`` (default) is one question
crossed with one segment in one wave (the table a reader sees); ``wave`` is every tested
row of the wave; ``none`` leaves p-values unadjusted. NETs (answers counted together) are
adjusted in a family of their own beside the options': a NET restates its members, and
counting it with them would make every member's test weaker.
"""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook
from schemas.tables import NOT_TESTED_REASONS

__all__ = [
    "FAMILIES",
    "NOT_TESTED_REASONS",
    "family_columns",
    "not_tested_reason",
    "repeated_pairs",
    "segment_reasons",
]

FAMILIES = ("table", "wave", "none")


def family_columns(family: str) -> list[str] | None:
    """The columns whose groups are one adjustment family (None: no adjustment)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown test family {family!r}; expected one of {FAMILIES}")
    return {
        "table": ["wave", "question", "segment", "answer_kind"],
        "wave": ["wave", "answer_kind"],
        "none": None,
    }[family]


def segment_reasons(book: Codebook) -> pl.LazyFrame:
    """One row per question and segment that is the question itself or grouped from it: the reason."""
    rows = [(q.code, q.code, "own_segment") for q in book.segment_questions if q.is_closed]
    rows += [(d.source, d.code, "derived_segment") for d in book.derived_segments]
    return pl.LazyFrame(rows, schema={"question": pl.Utf8, "segment": pl.Utf8, "design_reason": pl.Utf8}, orient="row")


def repeated_pairs(book: Codebook) -> pl.LazyFrame:
    """One row per question, answer, segment and segment value whose 2x2 cross is already
    another row: of an earlier question (the answer as a segment value, the segment value
    as an answer), or of the segment question a one-option derived group comes from."""
    order = {q.code: i for i, q in enumerate(book.questions)}
    answer_sets = {
        q.code: [(frozenset([o]), o) for o in q.option_codes] + [(frozenset(m), n) for n, m in q.nets.items()]
        for q in book.closed
    }
    # segment values per question they come from: (segment, value, the question's options it holds)
    values: dict[str, list[tuple[str, str, frozenset]]] = {}
    for q in book.segment_questions:
        values.setdefault(q.code, []).extend((q.code, o, frozenset([o])) for o in q.option_codes)
    for d in book.derived_segments:
        values.setdefault(d.source, []).extend((d.code, g, frozenset(m)) for g, m in d.groups.items())
    rows = []
    for question, answers in answer_sets.items():
        as_values = {members for _, _, members in values.get(question, [])}
        for source, segment_values in values.items():
            if source == question or source not in answer_sets or order[source] > order[question]:
                continue
            as_answers = {members for members, _ in answer_sets[source]}
            rows += [
                (question, answer, segment, value)
                for members, answer in answers
                if members in as_values
                for segment, value, value_members in segment_values
                if value_members in as_answers
            ]
    # A derived group of one option (usage_band 'light' = ai_frequency 'rarely') repeats that segment value.
    rows += [
        (question, answer, d.code, group)
        for question, answers in answer_sets.items()
        for _, answer in answers
        for d in book.derived_segments
        if d.source != question
        for group, members in d.groups.items()
        if len(members) == 1
    ]
    return pl.LazyFrame(
        rows,
        schema={"question": pl.Utf8, "answer": pl.Utf8, "segment": pl.Utf8, "segment_value": pl.Utf8},
        orient="row",
    ).with_columns(is_repeated=pl.lit(True))


def not_tested_reason(*, minimum_base: int) -> pl.Expr:
    """Why a crosstab row carries no test, or null when it does.

    Reads ``segment``, ``answer_kind``, ``n``, ``base_n``, ``design_reason`` (from
    :func:`segment_reasons`), ``is_repeated`` (from :func:`repeated_pairs`) and the raw
    ``p_value`` (null when there is nothing to compare the segment value with).
    """
    whole = pl.col("segment") == "all"
    unanimous = (pl.col("n") == 0) | (pl.col("n") == pl.col("base_n"))
    is_constant = unanimous.filter(whole & (pl.col("answer_kind") == "option")).all().over("wave", "question")
    return (
        pl.when(whole)
        .then(pl.lit("whole_sample"))
        .when(pl.col("design_reason").is_not_null())
        .then(pl.col("design_reason"))
        .when(is_constant)
        .then(pl.lit("constant_item"))
        .when(pl.col("is_repeated").fill_null(False))
        .then(pl.lit("repeated_pair"))
        .when((pl.col("base_n") < minimum_base).fill_null(True))
        .then(pl.lit("suppressed"))
        .when(pl.col("p_value").is_null())
        .then(pl.lit("no_comparison"))
    )
