"""Writing demo respondents as an Alchemer (SurveyGizmo) response export, as
``transforms.layouts.alchemer`` reads it (CSV; the Excel export holds the same cells).

One header row: ``Response ID, Time Started, Date Submitted, Status, Contact ID, Legacy
Comments, Comments, Language, Referer, SessionID, User Agent, Tags, IP Address,
Longitude, Latitude, Country, City, State/Region, Postal`` and ``URL Variable: email``
when any respondent has an email (times as ``Oct 2, 2023
1:05:09 PM``, UTC here; ``Status`` ``Complete`` or ``Partial``; ``Language`` ``English`` /
``French``), then the questions, numbered ``<n>: `` as the "question number" option does:

single choice     ``<n>: <title>``, the label; with an "Other" option a write-in column
                  ``<n>: <other label>:<title>`` holds the typed text
grid (opinions)   ``<n>: <statement>:<prompt>``, the scale label
multi-select      ``<n>: <option>:<title>`` per option (the label when ticked), the
                  "Other" option twice: its tick, then its typed text
text              ``<n>: <title>``, the text

An answer starting with ``!`` is written verbatim without the ``!``; in a multi-select it
takes the first option column left empty. UTF-8 with a BOM, CRLF.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from demo.exports.common import check_codes as _check_codes
from demo.exports.common import label as _label
from demo.exports.common import language as _language
from demo.exports.common import other_text as _other_text
from demo.exports.common import utc as _utc
from schemas.codebook import codebook

_DATE = "%b %-d, %Y %-I:%M:%S %p"
_LANGUAGES = {"en": "English", "fr": "French"}
_EMPTY = ("Contact ID", "Legacy Comments", "Comments", "Referer", "SessionID", "User Agent", "Tags",
          "Longitude", "Latitude", "Country", "City", "State/Region", "Postal")  # fmt: skip


def _multi(frame: pl.DataFrame, question, language: str, number: int) -> list[tuple[str, pl.Expr]]:
    text, chosen = question.text[language], pl.col(question.code).cast(pl.List(pl.Utf8))
    invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")).str.slice(1))
    free_before = pl.lit(0, pl.UInt32)
    columns = []
    for option in question.options:
        label = option.labels[language]
        selected = chosen.list.contains(option.code).fill_null(False)
        if option.other_text:
            typed = pl.coalesce(_other_text(frame, question), pl.lit(label))
            columns += [(f"{number}: {label}:{text}", pl.when(selected).then(pl.lit(label))),
                        (f"{number}: {label}:{text}", pl.when(selected).then(typed))]  # fmt: skip
            continue
        misplaced = invalid.list.get(free_before, null_on_oob=True)
        columns.append((f"{number}: {label}:{text}", pl.when(selected).then(pl.lit(label)).otherwise(misplaced)))
        free_before = free_before + (~selected).cast(pl.UInt32)
    return columns


def _question_columns(frame: pl.DataFrame, language: str) -> list[tuple[str, pl.Expr]]:
    book = codebook()
    columns: list[tuple[str, pl.Expr]] = []
    for number, question in enumerate(book.questions, start=1):
        text, value = question.text[language], pl.col(question.code)
        if question.type == "text":
            columns.append((f"{number}: {text}", value.cast(pl.Utf8)))
        elif question.grid:
            prompt = book.grids[question.grid][language]
            columns.append((f"{number}: {text}:{prompt}", _label(value.cast(pl.Utf8), question, language)))
        elif question.type == "single":
            columns.append((f"{number}: {text}", _label(value.cast(pl.Utf8), question, language)))
            other = question.other_option
            if other:
                typed = pl.when(value == other.code).then(_other_text(frame, question))
                columns.append((f"{number}: {other.labels[language]}:{text}", typed))
        else:
            columns += _multi(frame, question, language, number)
    return columns


def write_alchemer(frame: pl.DataFrame, path: Path, *, seed: int = 0) -> None:
    """Write one Alchemer CSV export of these respondents, one row each."""
    _check_codes(frame)
    language = _language(frame)
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")
    meta = [
        ("Response ID", (pl.int_range(pl.len(), dtype=pl.Int64) + 3_881_000 + seed * 1000).cast(pl.Utf8)),
        ("Time Started", started.dt.strftime(_DATE)),
        ("Date Submitted", submitted.dt.strftime(_DATE)),
        ("Status", pl.when(submitted.is_not_null()).then(pl.lit("Complete")).otherwise(pl.lit("Partial"))),
        *[(name, pl.lit(None, pl.Utf8)) for name in _EMPTY[:3]],
        ("Language", pl.col("language").cast(pl.Utf8).fill_null(language).replace_strict(_LANGUAGES, default=None)),
        *[(name, pl.lit(None, pl.Utf8)) for name in _EMPTY[3:7]],
        ("IP Address", pl.col("ip_address").cast(pl.Utf8)),
        *[(name, pl.lit(None, pl.Utf8)) for name in _EMPTY[7:]],
    ]
    if frame.get_column("email").is_not_null().any():
        meta.append(("URL Variable: email", pl.col("email").cast(pl.Utf8)))
    columns = [*meta, *_question_columns(frame, language)]
    names = [f"c{i}" for i in range(len(columns))]
    data = frame.select([cell.cast(pl.Utf8).alias(name) for (_, cell), name in zip(columns, names)])
    head = pl.DataFrame([[header for header, _ in columns]], schema={name: pl.Utf8 for name in names}, orient="row")
    text = pl.concat([head, data]).write_csv(include_header=False, line_terminator="\r\n")
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
