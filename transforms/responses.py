"""The responses and choices tables (and the answers rows), from every staged export of every run."""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook
from transforms.screening import ScreeningPolicy, flag_responses

KEY = ["wave", "source_tool", "response_id"]


#: Which of two files is the later, when a response's submissions tie: the time the survey
#: tool wrote the file (where the file says it), then the file's modification time, then
#: its SHA-256 (any fixed order will do: the choice must not depend on the run). Never the
#: ingestion order, nor the file's name. A missing value (a file staged before these
#: were recorded, a CSV without an export time) counts as older than any known one.
FILE_RECENCY = ["exported_at", "file_modified_at", "file_sha256"]
#: The latest version of a response: the last submitted, then the one from the later file.
VERSION_RECENCY = ["submitted_at", *FILE_RECENCY]


def mark_superseded(staged: pl.LazyFrame, *, recency: list[str] = VERSION_RECENCY) -> pl.LazyFrame:
    """One row per staged response, ``is_superseded`` where a newer version exists.

    Cumulative exports and edited responses bring the same response id again; the version
    kept is the latest by ``VERSION_RECENCY`` (``staged`` carries those columns, or
    submitted_at and ``file_recency`` with ``recency=RANKED_RECENCY``), whatever order the
    files were staged in. Two rows of one file with the same id: the lower one.
    """
    return staged.sort([*recency, "source_row"], descending=True, nulls_last=True).with_columns(
        is_superseded=pl.int_range(pl.len()).over(KEY) > 0
    )


#: ``VERSION_RECENCY`` with the file's columns as one rank (``rank_files``): the same order.
RANKED_RECENCY = ["submitted_at", "file_recency"]


def rank_files(files: pl.LazyFrame) -> pl.LazyFrame:
    """One row per file (``file_order`` and the ``FILE_RECENCY`` columns): ``file_recency``, its
    place in the files' order by ``FILE_RECENCY`` (1 the oldest; the SHA-256 makes it total),
    so that responses sort by one small integer rather than by the file's times and hash."""
    return files.sort(FILE_RECENCY, descending=False, nulls_last=False).select(
        "file_order", file_recency=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32)
    )


def with_derived_segments(frame: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """Add one column per derived segment (account_size, usage_band), as ``pl.Enum``.

    Each group is looked up by the source answer's position among its options (a value that
    is not one of them: null), an expression the streaming engine runs a batch at a time
    (``replace_strict`` made it read the whole frame into memory first: 1.5 GB at 5 million). The
    source is cast to its question's Enum as it is (a staged column is that Enum already: no
    text is made of it), a value the Enum does not hold null, as from text."""
    columns = []
    for derived in book.derived_segments:
        mapping = {member: group for group, members in derived.groups.items() for member in members}
        source = book.question(derived.source).dtype
        groups = pl.Series([mapping.get(code) for code in source.categories.to_list()], dtype=pl.Utf8)
        position = pl.col(derived.source).cast(source, strict=False).to_physical()
        columns.append(pl.lit(groups.cast(derived.dtype)).gather(position).alias(derived.code))
    return frame.with_columns(columns)


def build_responses(current: pl.LazyFrame, *, book: Codebook, policy: ScreeningPolicy) -> pl.LazyFrame:
    """One row per accepted response (current version): answers, segments and flags."""
    return current.pipe(with_derived_segments, book=book).pipe(flag_responses, book=book, policy=policy)


def build_choices(responses: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """One row per response: its key and, per multi-select question, the options chosen as one list.

    With the single-choice columns of `responses`, this is every answer, once per response:
    the warehouse's `answers` view unnests both (``warehouse.generated_views.answers_view``)
    into the rows ``build_answers`` gives.
    """
    return responses.select(*KEY, *[pl.col(q.code).cast(pl.List(q.dtype)) for q in book.multi])


def build_answers(responses: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """One row per response, closed question and chosen option: the rows of the `answers` view.

    The warehouse stores them columnar (`responses`, `choices`); this is their definition
    in Polars, for a frame that holds both (the build's responses before validation).

    Rows are in response key order, then questionnaire order of questions and answers.
    Each choice is coded as one integer (question position x answers + answer position):
    a response's choices are one list of integers, sorted and exploded in one pass, and
    named (as ``pl.Enum``) at the end, so no text is sorted or joined per answer.
    """
    ids = ["wave", "source_tool", "response_id"]
    questions = book.question_dtype.categories.to_list()
    answers = book.answer_dtype.categories.to_list()
    width = len(answers)

    def coded(question) -> pl.Expr:
        numbers = {
            position: questions.index(question.code) * width + answers.index(code)
            for position, code in enumerate(question.option_codes)
        }
        if question.type == "single":  # null where unanswered: dropped after the explode
            return (
                pl.col(question.code).cast(question.dtype).to_physical().replace_strict(numbers, return_dtype=pl.UInt32)
            )
        chosen = pl.col(question.code).cast(pl.List(question.dtype)).fill_null([])
        return chosen.list.eval(pl.element().to_physical().replace_strict(numbers, return_dtype=pl.UInt32)).list.sort()

    choice = pl.col("choice")
    # Questions are concatenated in questionnaire order, each list sorted: the codes come out sorted.
    keyed = responses.select(*ids, choice=pl.concat_list([coded(q) for q in book.closed])).sort(*ids).collect()
    # Exploded as (row, choice) integers; each answer row then takes its response's key by
    # position, once (the key's text is not carried through the explode).
    long = (
        keyed.select(row=pl.int_range(pl.len(), dtype=pl.UInt32), choice=choice)
        .explode("choice")
        .drop_nulls("choice")
        .select(
            "row",
            question=(choice // width).cat.to(book.question_dtype),  # the code's position is the Enum's physical value
            answer=(choice % width).cat.to(book.answer_dtype),
        )
    )
    rows = long["row"]
    return pl.DataFrame([keyed[column].gather(rows) for column in ids] + [long["question"], long["answer"]]).lazy()
