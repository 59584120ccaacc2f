"""Writing demo respondents as a SurveyMonkey CSV export ("All responses data", actual
answer text, expanded columns), as ``transforms.layouts.surveymonkey`` reads it.

Two header rows. Row 1: the metadata block of current exports (``Respondent ID, Collector
ID, Start Date, End Date, IP Address, Email Address, First Name, Last Name, Custom Data
1``), then each question's text over its first column only. Row 2: blank under the
metadata, then per column:

single choice     ``Response``; with an "Other (please specify)" option, a second column
                  headed by that label holds the free text (the Response cell is then empty)
grid (opinions)   the prompt over the first item only; row 2 = the statement, cell = scale label
multi-select      one column per option (row 2 = its label, cell = the label or empty), then
                  the "Other (please specify)" column with the free text
text              ``Open-Ended Response``

Dates are US ``10/02/2023 02:03:04 PM`` (the account's time zone; UTC here). A respondent
without ``submitted_at`` gets no End Date. Respondent IDs are 11-digit, increasing in row
order; one collector. The file's language is the first respondent's (English by default).
An answer starting with ``!`` is written verbatim without the ``!`` (an invalid answer); in
a multi-select such an element fills the first option column the respondent left empty.
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
from transforms.layouts.google_forms import stable_hash

_META = (
    "Respondent ID",
    "Collector ID",
    "Start Date",
    "End Date",
    "IP Address",
    "Email Address",
    "First Name",
    "Last Name",
    "Custom Data 1",
)
_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"


def _question_columns(
    frame: pl.DataFrame, language: str, book: Codebook
) -> list[tuple[str | None, str | None, pl.Expr]]:
    """(row 1, row 2, cell) for every answer column, in questionnaire order."""
    columns: list[tuple[str | None, str | None, pl.Expr]] = []
    grids_started: set[str] = set()
    for question in book.questions:
        text, value = question.text[language], pl.col(question.code)
        other = question.other_option
        if question.type == "text":
            columns.append((text, "Open-Ended Response", value.cast(pl.Utf8)))
        elif question.grid:
            prompt = None if question.grid in grids_started else book.grids[question.grid][language]
            grids_started.add(question.grid)
            columns.append((prompt, text, _label(value.cast(pl.Utf8), question, language)))
        elif question.type == "single":
            code = value.cast(pl.Utf8)
            is_other = (code == other.code).fill_null(False) if other else pl.lit(False)
            columns.append((text, "Response", pl.when(~is_other).then(_label(code, question, language))))
            if other:
                box = pl.when(is_other).then(pl.coalesce(_other_text(frame, question), pl.lit(other.labels[language])))
                columns.append((None, other.labels[language], box))
        else:
            chosen = value.cast(pl.List(pl.Utf8))
            invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")).str.slice(1))
            free_before = pl.lit(0, pl.UInt32)
            for position, option in enumerate(o for o in question.options if not o.other_text):
                selected = chosen.list.contains(option.code).fill_null(False)
                label = option.labels[language]
                cell = pl.when(selected).then(pl.lit(label)).otherwise(invalid.list.get(free_before, null_on_oob=True))
                columns.append((text if position == 0 else None, label, cell))
                free_before = free_before + (~selected).cast(pl.UInt32)
            if other:
                selected = chosen.list.contains(other.code).fill_null(False)
                box = pl.when(selected).then(pl.coalesce(_other_text(frame, question), pl.lit(other.labels[language])))
                columns.append((None, other.labels[language], box))
    return columns


def _meta_columns(frame: pl.DataFrame, *, seed: int) -> list[pl.Expr]:
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")
    row = pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.Utf8)
    gap = stable_hash(pl.concat_str(pl.lit(f"surveymonkey:{seed}:"), row)) % pl.lit(4_000, pl.UInt64) + pl.lit(
        1, pl.UInt64
    )
    first_id = 11_000_000_000 + seed % 90 * 10_000_000  # seeds apart by < 90: disjoint ranges of 10 million
    collector = 400_000_000 + (seed * 104_729) % 90_000_000
    return [
        (pl.lit(first_id, pl.UInt64) + gap.cum_sum()).cast(pl.Utf8),
        pl.lit(str(collector)),
        started.dt.strftime(_DATE_FORMAT),
        submitted.dt.strftime(_DATE_FORMAT),
        pl.col("ip_address").cast(pl.Utf8),
        pl.col("email").cast(pl.Utf8),
        pl.lit(None, pl.Utf8),
        pl.lit(None, pl.Utf8),
        pl.lit(None, pl.Utf8),
    ]


def write_surveymonkey(frame: pl.DataFrame, path: Path, *, seed: int = 0, book: Codebook | None = None) -> None:
    """Write one SurveyMonkey export (UTF-8, CRLF) of these respondents, one row each."""
    book = book or codebook()
    _check_codes(frame, book)
    language = _language(frame, book)
    questions = _question_columns(frame, language, book)
    values = [*_meta_columns(frame, seed=seed), *(cell for _, _, cell in questions)]
    names = [f"c{i}" for i in range(len(values))]
    data = frame.select([value.cast(pl.Utf8).alias(name) for value, name in zip(values, names)])
    header = [
        [*_META, *(top for top, _, _ in questions)],
        [*(None for _ in _META), *(sub for _, sub, _ in questions)],
    ]
    head = pl.DataFrame(header, schema={name: pl.Utf8 for name in names}, orient="row")
    pl.concat([head, data]).write_csv(path, include_header=False, line_terminator="\r\n")
