"""The responses and answers tables, from every staged export of every run."""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook
from transforms.screening import ScreeningPolicy, flag_responses

KEY = ["wave", "source_tool", "response_id"]


def mark_superseded(staged: pl.LazyFrame) -> pl.LazyFrame:
    """One row per staged response, ``is_superseded`` where a newer version exists.

    Cumulative exports and edited responses bring the same response id again; the
    version kept is the last submitted, and among equal submissions the one from the
    most recently ingested file.
    """
    return staged.sort(["submitted_at", "file_order", "source_row"], descending=True, nulls_last=True).with_columns(
        is_superseded=pl.int_range(pl.len()).over(KEY) > 0
    )


def with_derived_segments(frame: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """Add one column per derived segment (account_size, usage_band), as ``pl.Enum``."""
    columns = []
    for derived in book.derived_segments:
        mapping = {member: group for group, members in derived.groups.items() for member in members}
        columns.append(
            pl.col(derived.source).cast(pl.Utf8).replace_strict(mapping, default=None).cast(derived.dtype).alias(derived.code)
        )
    return frame.with_columns(columns)


def build_responses(current: pl.LazyFrame, *, book: Codebook, policy: ScreeningPolicy) -> pl.LazyFrame:
    """One row per accepted response (current version): answers, segments and flags."""
    return current.pipe(with_derived_segments, book=book).pipe(flag_responses, book=book, policy=policy)


def build_answers(responses: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """One row per response, closed question and chosen option."""
    ids = ["wave", "source_tool", "response_id"]
    single = responses.select(*ids, *[pl.col(q.code).cast(pl.Utf8) for q in book.single]).unpivot(
        index=ids, variable_name="question", value_name="answer"
    )
    multi = [
        responses.select(*ids, question=pl.lit(q.code), answer=pl.col(q.code).cast(pl.List(pl.Utf8))).explode("answer")
        for q in book.multi
    ]
    return (
        pl.concat([single, *multi], how="vertical")
        .drop_nulls("answer")
        .with_columns(pl.col("question").cast(book.question_dtype), pl.col("answer").cast(book.answer_dtype))
        .sort(*ids, "question", "answer")
    )
