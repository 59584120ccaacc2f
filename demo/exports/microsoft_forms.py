"""Writing demo respondents as a Microsoft Forms response workbook, as
``transforms.layouts.microsoft_forms`` reads it.

One sheet, one header row: ``ID`` (1, 2, ...), ``Start time``, ``Completion time`` (Excel
date cells, no zone: UTC here), ``Email`` (``anonymous`` where the respondent gave none),
``Name`` (empty: an anyone-can-respond form), then one column per question headed by
its text:

single choice     the label; a chosen "Other" is the typed text, in place of the label
grid (opinions)   a Likert row: ``<prompt>.<statement>``, the scale label
multi-select      the chosen labels in option order, each followed by ``;``; the typed
                  "Other" text last, followed by ``;`` too
text              the text

In French (the first respondent's language) the metadata headers are ``ID, Heure de
début, Heure de fin, Adresse de messagerie, Nom``. Forms keeps only submitted responses:
a respondent without ``submitted_at`` is left out. An answer starting with ``!`` is
written verbatim without the ``!`` (appended last in a multi-select cell).
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
from demo.exports.workbook import write_workbook
from schemas.codebook import codebook

_META = {
    "en": ("ID", "Start time", "Completion time", "Email", "Name"),
    "fr": ("ID", "Heure de début", "Heure de fin", "Adresse de messagerie", "Nom"),
}


def _question_columns(frame: pl.DataFrame, language: str) -> list[tuple[str, pl.Expr]]:
    book = codebook()
    columns: list[tuple[str, pl.Expr]] = []
    for question in book.questions:
        text, value = question.text[language], pl.col(question.code)
        other = question.other_option
        if question.type == "text":
            columns.append((text, value.cast(pl.Utf8)))
        elif question.grid:
            columns.append(
                (f"{book.grids[question.grid][language]}.{text}", _label(value.cast(pl.Utf8), question, language))
            )
        elif question.type == "single":
            cell = _label(value.cast(pl.Utf8), question, language)
            if other:
                cell = (
                    pl.when(value == other.code).then(pl.coalesce(_other_text(frame, question), cell)).otherwise(cell)
                )
            columns.append((text, cell))
        else:
            pieces = chosen_labels(frame, value, question, language)
            joined = pieces.list.eval(pl.element() + ";").list.join("")
            columns.append((text, pl.when(joined != "").then(joined)))
    return columns


def write_microsoft_forms(frame: pl.DataFrame, path: Path) -> None:
    """Write one Microsoft Forms workbook (.xlsx) of these respondents' submitted responses."""
    _check_codes(frame)
    language = _language(frame)
    submitted = frame.filter(pl.col("submitted_at").is_not_null())
    meta = _META[language]
    started, completed = _utc(submitted, "started_at"), _utc(submitted, "submitted_at")
    questions = _question_columns(submitted, language)
    data = submitted.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"),
        started.dt.replace_time_zone(None).dt.truncate("1s").alias("start"),
        completed.dt.replace_time_zone(None).dt.truncate("1s").alias("end"),
        pl.col("email").cast(pl.Utf8).fill_null("anonymous").alias("email"),
        pl.lit(None, pl.Utf8).alias("name"),
        *[cell.cast(pl.Utf8).alias(f"q{i}") for i, (_, cell) in enumerate(questions)],
    )
    rows = [[*meta, *[header for header, _ in questions]], *[list(row) for row in data.iter_rows()]]
    write_workbook(rows, path, sheet_name="Sheet1")
