"""Reference implementations the tests hold the product against; no product code calls them.

``crosstab_from_answers``: the crosstab counted from the long answers table (a join on
the response key), where ``build_crosstab`` reads the responses' answer columns.
``canonical_responses``: the canonical frame from ``map_cells``'s answers and texts (one
row per cell), where ``canonical_from_wide`` maps each distinct combination once.
"""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook
from transforms.crosstab import EXTRA_SEGMENTS, KEY, CrosstabSettings, _from_cubes, _people
from transforms.mapping import _finish, _language_votes, _per_question, _text_fields


def crosstab_from_answers(
    responses: pl.LazyFrame,
    answers: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    weighted: bool = False,
) -> pl.LazyFrame:
    """``build_crosstab(responses)``, counted from ``answers`` (the answers table of these responses)."""
    segments = [*book.segments, *EXTRA_SEGMENTS]
    base_cube, count_cube = _cubes_from_answers(responses, answers, book=book, segments=segments, weighted=weighted)
    return _from_cubes(base_cube, count_cube, book=book, settings=settings, segments=segments, weighted=weighted)


def with_nets(answers: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """Answers plus one row per response and NET it belongs to (counted once)."""
    rows = [
        (question.code, member, name)
        for question in book.closed
        for name, members in question.nets.items()
        for member in members
    ]
    members = pl.LazyFrame(rows, schema={"question": pl.Utf8, "answer": pl.Utf8, "net": pl.Utf8}, orient="row")
    nets = (
        answers.join(members, on=["question", "answer"], how="inner")
        .select(*KEY, "question", answer=pl.col("net"))
        .unique()
    )
    return pl.concat([answers.select(*KEY, "question", "answer"), nets], how="vertical")


_WEIGHT_SUMS = [pl.len().alias("n"), pl.col("w").sum().alias("w"), (pl.col("w") ** 2).sum().alias("w2")]


def _cubes_from_answers(
    responses: pl.LazyFrame, answers: pl.LazyFrame, *, book: Codebook, segments: list[str], weighted: bool
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(bases, counts) per wave, question, [answer] and combination of segment values."""
    seg_cols = [f"seg_{s}" for s in segments]
    base_people = _people(responses, segments=segments, weighted=weighted, keep=KEY)
    typed_answers = answers.select(*KEY, pl.col("question").cast(pl.Utf8), pl.col("answer").cast(pl.Utf8))
    answered = typed_answers.select(*KEY, "question").unique()
    base_cube = answered.join(base_people, on=KEY).group_by("wave", "question", *seg_cols).agg(_WEIGHT_SUMS)
    count_cube = (
        with_nets(typed_answers, book=book)
        .join(base_people, on=KEY)
        .group_by("wave", "question", "answer", *seg_cols)
        .agg(_WEIGHT_SUMS)
    )
    return base_cube, count_cube


def _most_voted(votes: pl.LazyFrame) -> pl.LazyFrame:
    """The language most of a row's spelled answers are in (ties: the first alphabetically)."""
    return (
        votes.sort(["source_row", "len", "spelling_language"], descending=[False, True, False])
        .group_by("source_row", maintain_order=True)
        .agg(answer_language=pl.col("spelling_language").first())
    )


def canonical_responses(
    meta: pl.LazyFrame,
    answers: pl.LazyFrame,
    texts: pl.LazyFrame,
    *,
    book: Codebook,
    header_language: str | None,
) -> pl.LazyFrame:
    """One row per source row: the tool's metadata, the language, and every question's answer.

    Single-choice questions hold the option code, or the text as written where it is
    not a valid option (several different answers are joined with " | "); multi-select
    questions hold the list of option codes and unmatched texts; free-text fields hold
    the text. Language: the one the answer labels are written in, else the tool's, else
    the header's.
    """
    per_question = _per_question(answers, book)
    aggregations: list[pl.Expr] = []
    for question in book.closed:
        mine = pl.col("question") == question.code
        column = "single" if question.type == "single" else "multi"
        aggregations.append(pl.col(column).filter(mine).first().alias(question.code))
    wide = per_question.group_by("source_row").agg(aggregations)

    text_fields = _text_fields(book)
    text_wide = (
        texts.group_by("source_row")
        .agg([pl.col("text").filter(pl.col("question") == field).str.join(" ").alias(field) for field in text_fields])
        .with_columns([pl.col(field).replace("", None) for field in text_fields])
    )

    spoken = _most_voted(_language_votes(answers))
    return _finish(meta.join(wide, on="source_row", how="left").join(text_wide, on="source_row", how="left")
                   .join(spoken, on="source_row", how="left"), book=book, header_language=header_language)  # fmt: skip
