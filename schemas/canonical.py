"""The contract of a canonical response frame: one row per data row of an export.

Built from the codebook, so a questionnaire change changes the contract. Checks are
named in the project's words; their names are the `check` of quarantine rows.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.codebook import Codebook, Question

#: Plain-language messages by check name; `{column}` and `{value}` are filled in.
MESSAGES = {
    "required_answered": "required question {column} has no answer",
    "valid_option": "'{value}' is not an option of {column}",
    "exclusive_alone": "{column}: an exclusive answer is combined with other answers ({value})",
    "response_id_present": "the response has no response id",
    "response_id_unique": "response id '{value}' appears more than once in this file",
    "finished": "the response is still in progress (not finished); it will be taken once the tool exports it complete",
    "language_known": "the response's language ({value}) is none of the questionnaire's `languages:`",
    "started_before_submitted": "started_at is after submitted_at",
    "duration_not_negative": "duration is negative ({value} s)",
}
#: pandera's own names for its built-in checks, in our words.
PANDERA_CHECKS = {"not_nullable": "required_answered", "field_uniqueness": "response_id_unique"}


def _expr_check(name: str, build) -> pa.Check:
    return pa.Check(lambda data: data.lazyframe.select(build(pl.col(data.key))), name=name)


def _question_column(question: Question) -> pa.Column:
    codes = question.option_codes
    if question.type == "single":
        checks = [_expr_check("valid_option", lambda col: col.is_null() | col.is_in(codes))]
        return pa.Column(pl.Utf8, nullable=not question.required, checks=checks)
    checks = [_expr_check("valid_option", lambda col: col.list.eval(pl.element().is_in(codes)).list.all())]
    if question.required:
        checks.append(_expr_check("required_answered", lambda col: col.list.len() > 0))
    exclusive = question.exclusive_codes
    if exclusive:
        checks.append(
            _expr_check(
                "exclusive_alone",
                lambda col: ~(col.list.eval(pl.element().is_in(exclusive)).list.any() & (col.list.len() > 1)),
            )
        )
    return pa.Column(pl.List(pl.Utf8), nullable=False, checks=checks)


def canonical_schema(book: Codebook) -> pa.DataFrameSchema:
    """The contract every export must meet, row by row, once mapped onto codes."""
    columns = {
        "source_row": pa.Column(pl.Int64, nullable=False),
        "response_id": pa.Column(
            pl.Utf8,
            nullable=True,
            unique=True,
            checks=[_expr_check("response_id_present", lambda col: col.is_not_null() & (col != ""))],
        ),
        "started_at": pa.Column(pl.Datetime("us", "UTC"), nullable=True),
        "submitted_at": pa.Column(pl.Datetime("us", "UTC"), nullable=True),
        "duration_s": pa.Column(
            pl.Float64,
            nullable=True,
            checks=[_expr_check("duration_not_negative", lambda col: col.is_null() | (col >= 0))],
        ),
        "is_finished": pa.Column(
            pl.Boolean, nullable=True, checks=[_expr_check("finished", lambda col: col.fill_null(True))]
        ),
        "language": pa.Column(
            pl.Utf8,
            nullable=True,
            checks=[_expr_check("language_known", lambda col: col.is_in(list(book.languages)).fill_null(False))],
        ),
    }
    columns.update({question.code: _question_column(question) for question in book.closed})
    order = pa.Check(
        lambda data: data.lazyframe.select((pl.col("started_at") <= pl.col("submitted_at")).fill_null(True)),
        name="started_before_submitted",
    )
    return pa.DataFrameSchema(columns, checks=[order], strict=False, name="canonical_response")
