"""The contract of a canonical response frame: one row per data row of an export.

Built from the codebook, so a questionnaire change changes the contract. Checks are
named in the project's words; their names are the `check` of quarantine rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

# Imported for what importing it does: pandera's Polars backends registered now, not at the first validation.
import schemas.checks  # noqa: F401
from schemas.codebook import Codebook, Question, once_per_codebook

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


#: A rule of the contract: its check's name, and the expression, of the column it is about,
#: that is true where a row passes (null counts as a pass, as pandera counts it).
Rule = tuple[str, Callable[[pl.Expr], pl.Expr]]


@dataclass(frozen=True)
class _Field:
    """One column of the contract: what pandera is told about it."""

    dtype: pl.DataType
    nullable: bool
    rules: tuple[Rule, ...] = ()
    unique: bool = False

    def column(self) -> pa.Column:
        checks = [_expr_check(name, passes) for name, passes in self.rules]
        return pa.Column(self.dtype, nullable=self.nullable, unique=self.unique, checks=checks)

    def failures(self) -> list[tuple[str, int | None, Callable[[pl.Expr], pl.Expr]]]:
        """(check, its number, the expression true where a row fails it) of each check pandera
        runs on this column, in its order: not null, unique, then the column's own checks."""
        found: list[tuple[str, int | None, Callable[[pl.Expr], pl.Expr]]] = []
        if not self.nullable:
            float_dtype = self.dtype.is_float()
            found.append(
                ("not_nullable", None, lambda col: col.is_null() | col.is_nan() if float_dtype else col.is_null())
            )
        if self.unique:
            found.append(("field_uniqueness", None, lambda col: col.is_duplicated()))
        for number, (name, passes) in enumerate(self.rules):
            found.append((name, number, lambda col, passes=passes: ~passes(col).fill_null(True)))
        return found


def _expr_check(name: str, build) -> pa.Check:
    return pa.Check(lambda data: data.lazyframe.select(build(pl.col(data.key))), name=name)


def _question_field(question: Question) -> _Field:
    codes = question.option_codes
    if question.type == "single":
        # A category (``transforms.mapping``): its values are checked once per distinct value.
        return _Field(
            pl.Categorical, not question.required, (("valid_option", lambda col: col.is_null() | col.is_in(codes)),)
        )
    rules: list[Rule] = [("valid_option", lambda col: col.list.eval(pl.element().is_in(codes)).list.all())]
    if question.required:
        rules.append(("required_answered", lambda col: col.list.len() > 0))
    exclusive = question.exclusive_codes
    if exclusive:
        rules.append(
            (
                "exclusive_alone",
                lambda col: ~(col.list.eval(pl.element().is_in(exclusive)).list.any() & (col.list.len() > 1)),
            )
        )
    return _Field(pl.List(pl.Utf8), False, tuple(rules))


def _fields(book: Codebook) -> dict[str, _Field]:
    """The contract's columns, by name."""
    fields = {
        "source_row": _Field(pl.Int64, False),
        "response_id": _Field(
            pl.Utf8, True, (("response_id_present", lambda col: col.is_not_null() & (col != "")),), unique=True
        ),
        "started_at": _Field(pl.Datetime("us", "UTC"), True),
        "submitted_at": _Field(pl.Datetime("us", "UTC"), True),
        "duration_s": _Field(pl.Float64, True, (("duration_not_negative", lambda col: col.is_null() | (col >= 0)),)),
        "is_finished": _Field(pl.Boolean, True, (("finished", lambda col: col.fill_null(True)),)),
        "language": _Field(
            pl.Utf8, True, (("language_known", lambda col: col.is_in(list(book.languages)).fill_null(False)),)
        ),
    }
    return fields | {question.code: _question_field(question) for question in book.closed}


#: The contract's check on the whole row, and the expression true where a row passes it.
_ORDER: Rule = ("started_before_submitted", lambda _: (pl.col("started_at") <= pl.col("submitted_at")).fill_null(True))


@once_per_codebook
def canonical_schema(book: Codebook) -> pa.DataFrameSchema:
    """The contract every export must meet, row by row, once mapped onto codes (built once per codebook)."""
    columns = {name: field.column() for name, field in _fields(book).items()}
    name, passes = _ORDER
    order = pa.Check(lambda data: data.lazyframe.select(passes(None)), name=name)
    return pa.DataFrameSchema(columns, checks=[order], strict=False, name="canonical_response")


#: The columns of pandera's failure cases (``SchemaErrors.failure_cases``).
FAILURE_SCHEMA = {"failure_case": pl.Utf8, "schema_context": pl.Utf8, "column": pl.Utf8, "check": pl.Utf8,
                  "check_number": pl.Int32, "index": pl.Int32}  # fmt: skip
_SCHEMA_NAME = "canonical_response"


def contract_failures(frame: pl.DataFrame, book: Codebook) -> pl.DataFrame:
    """Every failed value check of every row of ``frame`` (a frame of the contract's columns and
    types: ``canonical_schema`` checked them), as pandera reports them after
    ``validate(lazy=True)``: the same rows (``FAILURE_SCHEMA``), in the same order, from one
    pass over the rows where pandera makes several for each column."""
    found = []
    for name, field in _fields(book).items():
        found += [("Column", name, check, number, fails(pl.col(name))) for check, number, fails in field.failures()]
    check, passes = _ORDER
    found.append(("DataFrameSchema", _SCHEMA_NAME, check, 0, ~passes(None)))
    flags = frame.select(entry[-1].alias(str(i)) for i, entry in enumerate(found))
    parts = []
    for i, (context, column, check, number, _) in enumerate(found):
        rows = flags[str(i)].arg_true()
        if rows.len():
            parts.append(
                pl.DataFrame({"failure_case": _failure_cases(frame, rows, column if context == "Column" else None)}).select(
                    "failure_case", schema_context=pl.lit(context), column=pl.lit(column), check=pl.lit(check),
                    check_number=pl.lit(number, pl.Int32), index=rows.cast(pl.Int32),
                )
            )  # fmt: skip
    return pl.concat(parts).cast(FAILURE_SCHEMA) if parts else pl.DataFrame(schema=FAILURE_SCHEMA)


def _failure_cases(frame: pl.DataFrame, rows: pl.Series, column: str | None) -> pl.Series:
    """The offending values as pandera writes them: a column's value as text, a list as JSON,
    a whole row (``column`` None) as a JSON object."""
    if column is None:
        return pl.Series(frame[rows].rows(named=True)).struct.json_encode()
    values = frame[column].gather(rows)
    if isinstance(values.dtype, pl.List | pl.Array | pl.Struct):
        encoded = pl.struct(pl.col("failure_case").alias("v")).struct.json_encode().str.slice(5).str.head(-1)
        return values.alias("failure_case").to_frame().select(encoded).to_series()
    return values.cast(pl.Utf8)
