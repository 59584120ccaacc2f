"""Writing demo respondents as a Typeform CSV export, as ``transforms.layouts.typeform``
reads it.

One header row: ``#`` (the response token, 32 hexadecimal digits), then one column per
question headed by its text:

single choice     the label; with an "Other" choice an ``Other`` column follows, holding
                  the typed text (the question's own cell is then empty)
grid (opinions)   each statement is its own question, headed by the statement
multi-select      one column per option headed by the option label alone (cell = the label
                  or empty), then an ``Other`` column for the typed text
text              the text

then the form's hidden field ``email`` (when any respondent has one: invitations by
email pass it in the link), and Typeform's columns ``Response Type`` (``completed``, or
``partial`` for a respondent without ``submitted_at``), ``Start Date (UTC)``, ``Stage Date
(UTC)`` (partial responses only), ``Submit Date (UTC)`` (``2023-10-02 13:05:09``),
``Network ID`` (10 hex digits hashed from the IP address: Typeform never exports the
address) and ``Tags`` (empty).

The file's language is the first respondent's (English by default). An answer starting
with ``!`` is written verbatim without the ``!`` (an invalid answer); in a multi-select
such an element fills the first option column the respondent left empty. UTF-8, LF.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from demo.exports.common import check_codes as _check_codes
from demo.exports.common import label as _label
from demo.exports.common import language as _language
from demo.exports.common import other_text as _other_text
from demo.exports.common import utc as _utc
from schemas.codebook import Codebook, codebook
from transforms.layouts.google_forms import hex_digits, stable_hash

_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _question_columns(frame: pl.DataFrame, language: str, book: Codebook) -> list[tuple[str, pl.Expr]]:
    """(header, cell) for every answer column, in questionnaire order."""
    columns: list[tuple[str, pl.Expr]] = []
    for question in book.questions:
        text, value = question.text[language], pl.col(question.code)
        other = question.other_option
        if question.type == "text":
            columns.append((text, value.cast(pl.Utf8)))
        elif question.type == "single":
            code = value.cast(pl.Utf8)
            typed = _other_text(frame, question)
            # A chosen "Other" with its text goes to the Other column; without text, its label stays.
            in_box = (code == other.code) & typed.is_not_null() if other else pl.lit(False)
            columns.append((text, pl.when(~in_box.fill_null(False)).then(_label(code, question, language))))
            if other:
                columns.append(("Other", pl.when(in_box).then(typed)))
        else:
            chosen = value.cast(pl.List(pl.Utf8))
            invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")).str.slice(1))
            free_before = pl.lit(0, pl.UInt32)
            for option in (o for o in question.options if not o.other_text):
                selected = chosen.list.contains(option.code).fill_null(False)
                label = option.labels[language]
                misplaced = invalid.list.get(free_before, null_on_oob=True)
                columns.append((label, pl.when(selected).then(pl.lit(label)).otherwise(misplaced)))
                free_before = free_before + (~selected).cast(pl.UInt32)
            if other:
                typed = pl.coalesce(_other_text(frame, question), pl.lit(other.labels[language]))
                columns.append(("Other", pl.when(chosen.list.contains(other.code)).then(typed)))
    return columns


def _meta_columns(frame: pl.DataFrame, *, seed: int) -> tuple[list[tuple[str, pl.Expr]], list[tuple[str, pl.Expr]]]:
    """(the token column, the trailing hidden-field and Typeform columns)."""
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")
    row = pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.Utf8)
    token = pl.concat_str(
        [hex_digits(stable_hash(pl.concat_str(pl.lit(f"typeform:{seed}:{half}:"), row))) for half in ("a", "b")]
    )
    network = hex_digits(
        stable_hash(pl.coalesce(pl.col("ip_address").cast(pl.Utf8), pl.concat_str(pl.lit("row:"), row))), 10
    )
    trailing = [("email", pl.col("email").cast(pl.Utf8))] if frame.get_column("email").is_not_null().any() else []
    trailing += [
        ("Response Type", pl.when(submitted.is_not_null()).then(pl.lit("completed")).otherwise(pl.lit("partial"))),
        ("Start Date (UTC)", started.dt.strftime(_DATE_FORMAT)),
        ("Stage Date (UTC)", pl.when(submitted.is_null()).then(started.dt.strftime(_DATE_FORMAT))),
        ("Submit Date (UTC)", submitted.dt.strftime(_DATE_FORMAT)),
        ("Network ID", network),
        ("Tags", pl.lit(None, pl.Utf8)),
    ]
    return [("#", token)], trailing


def write_typeform(frame: pl.DataFrame, path: Path, *, seed: int = 0, book: Codebook | None = None) -> None:
    """Write one Typeform export (UTF-8, LF) of these respondents, one row each."""
    book = book or codebook()
    _check_codes(frame, book)
    leading, trailing = _meta_columns(frame, seed=seed)
    columns = [*leading, *_question_columns(frame, _language(frame, book), book), *trailing]
    names = [f"c{i}" for i in range(len(columns))]
    data = frame.select([cell.cast(pl.Utf8).alias(name) for (_, cell), name in zip(columns, names)])
    head = pl.DataFrame([[header for header, _ in columns]], schema={name: pl.Utf8 for name in names}, orient="row")
    pl.concat([head, data]).write_csv(path, include_header=False)
