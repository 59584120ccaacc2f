"""Writing demo respondents as a Google Forms response sheet downloaded as CSV, as
``transforms.layouts.google_forms`` reads it.

One header row: ``Timestamp`` (the submission, ``M/D/YYYY H:MM:SS``, no zone: the form
owner's; UTC here), ``Email Address`` when any respondent has an email (a form that
collects them), then one column per question headed by its text:

single choice     the label; a chosen "Other (please specify)" is replaced by the text the
                  respondent typed (the label itself when there is none)
grid (opinions)   ``<prompt> [<statement>]``, the scale label
checkboxes        the chosen labels in option order joined by ", ", the "Other" text last
text              the text

Google Forms only records submitted responses: a respondent without ``submitted_at``
is left out. The file's language is the first respondent's (English by default). An
answer starting with ``!`` is written verbatim without the ``!`` (an invalid answer),
appended last in a checkbox cell. UTF-8, no BOM, CRLF, as Google Sheets downloads it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from demo.exports.common import check_codes as _check_codes
from demo.exports.common import chosen_labels
from demo.exports.common import label as _label
from demo.exports.common import language as _language
from demo.exports.common import other_text as _other_text
from demo.exports.common import utc as _utc
from schemas.codebook import Codebook, codebook

_TIMESTAMP_FORMAT = "%-m/%-d/%Y %-H:%M:%S"


def _question_columns(frame: pl.DataFrame, language: str, book: Codebook) -> list[tuple[str, pl.Expr]]:
    """(header, cell) for every question, in questionnaire order."""
    columns: list[tuple[str, pl.Expr]] = []
    for question in book.questions:
        text, value = question.text[language], pl.col(question.code)
        other = question.other_option
        if question.type == "text":
            columns.append((text, value.cast(pl.Utf8)))
        elif question.grid:
            columns.append(
                (f"{book.grids[question.grid][language]} [{text}]", _label(value.cast(pl.Utf8), question, language))
            )
        elif question.type == "single":
            code = value.cast(pl.Utf8)
            cell = _label(code, question, language)
            if other:
                cell = pl.when(code == other.code).then(pl.coalesce(_other_text(frame, question), cell)).otherwise(cell)
            columns.append((text, cell))
        else:
            joined = chosen_labels(frame, value, question, language).list.join(", ")
            columns.append((text, pl.when(joined != "").then(joined)))
    return columns


def write_google_forms(frame: pl.DataFrame, path: Path, *, book: Codebook | None = None) -> None:
    """Write one Google Forms response sheet (CSV) of these respondents' submitted responses."""
    book = book or codebook()
    _check_codes(frame, book)
    language = _language(frame, book)
    submitted = frame.filter(pl.col("submitted_at").is_not_null())
    columns = [("Timestamp", _utc(frame, "submitted_at").dt.strftime(_TIMESTAMP_FORMAT))]
    if submitted.get_column("email").is_not_null().any():
        columns.append(("Email Address", pl.col("email").cast(pl.Utf8)))
    columns += _question_columns(frame, language, book)
    names = [f"c{i}" for i in range(len(columns))]
    data = submitted.select([cell.cast(pl.Utf8).alias(name) for (_, cell), name in zip(columns, names)])
    head = pl.DataFrame([[header for header, _ in columns]], schema={name: pl.Utf8 for name in names}, orient="row")
    pl.concat([head, data]).write_csv(path, include_header=False, line_terminator="\r\n")
