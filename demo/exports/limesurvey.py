"""Writing demo respondents as a LimeSurvey response export, as
``transforms.layouts.limesurvey`` reads it ("Export results": full answers; headings
"Full question text", or "Question code & question text").

One header row: ``id, submitdate, lastpage, startlanguage, seed, startdate, datestamp,
ipaddr`` (as words in text headings: ``Response ID, Date submitted, ...``), then:

single choice     the answer text; a chosen "Other" is the word ``Other`` (``Autre``) and
                  the typed text goes to ``<question> [Other]``
grid (opinions)   an array: ``<prompt> [<statement>]``, the answer text
multi-select      ``<question> [<option>]`` per option: ``Yes`` / ``No`` (``Oui`` / ``Non``),
                  ``N/A`` where the question was not answered (never shown), then
                  ``<question> [Other]`` with the typed text
text              the text

then the participant's ``email`` (``Email address``) when any respondent has one.
``submitdate`` empty for a respondent without ``submitted_at`` (incomplete). The file's
language is the first respondent's. An answer starting with ``!`` is written verbatim
without the ``!``; in a multi-select it takes the first option cell left unticked.
CSV as LimeSurvey writes it: UTF-8 BOM, ``;``, every value quoted, CRLF and one more CRLF
at the end; or one sheet of an .xlsx workbook.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from demo.exports.common import check_codes as _check_codes
from demo.exports.common import label as _label
from demo.exports.common import language as _language
from demo.exports.common import other_text as _other_text
from demo.exports.common import utc as _utc
from demo.exports.workbook import write_workbook
from schemas.codebook import codebook

_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_WORDS = {"en": ("Yes", "No", "Other"), "fr": ("Oui", "Non", "Autre")}
_META = {
    "en": ("Response ID", "Date submitted", "Last page", "Start language", "Seed", "Date started",
           "Date last action", "IP address"),
    "fr": ("ID de la réponse", "Date de soumission", "Dernière page", "Langue de départ", "Graine", "Date de début",
           "Date de la dernière action", "Adresse IP"),
}  # fmt: skip
_CODES = ("id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp", "ipaddr")


def _multi_cells(frame: pl.DataFrame, question, language: str) -> list[tuple[str, str, pl.Expr]]:
    yes, no, _ = _WORDS[language]
    chosen = pl.col(question.code).cast(pl.List(pl.Utf8))
    invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")).str.slice(1))
    free_before = pl.lit(0, pl.UInt32)
    cells = []
    for option in (o for o in question.options if not o.other_text):
        selected = chosen.list.contains(option.code).fill_null(False)
        misplaced = invalid.list.get(free_before, null_on_oob=True)
        cell = pl.when(chosen.is_null()).then(pl.lit("N/A")).when(selected).then(pl.lit(yes))
        cells.append(
            (f"[{option.code}]", f"[{option.labels[language]}]", cell.otherwise(pl.coalesce(misplaced, pl.lit(no))))
        )
        free_before = free_before + (~selected).cast(pl.UInt32)
    if question.other_option:
        typed = pl.coalesce(_other_text(frame, question), pl.lit(question.other_option.labels[language]))
        cells.append(("[other]", f"[{_WORDS[language][2]}]", pl.when(chosen.list.contains("other")).then(typed)))
    return cells


def _question_columns(frame: pl.DataFrame, language: str) -> list[tuple[str, str, pl.Expr]]:
    """(code heading, text heading, cell) for every answer column, in questionnaire order."""
    book = codebook()
    columns: list[tuple[str, str, pl.Expr]] = []
    for question in book.questions:
        text, code, value = question.text[language], question.code, pl.col(question.code)
        if question.type == "text":
            columns.append((code, text, value.cast(pl.Utf8)))
        elif question.grid:
            prompt = book.grids[question.grid][language]
            columns.append(
                (f"{question.grid}[{code}]", f"{prompt} [{text}]", _label(value.cast(pl.Utf8), question, language))
            )
        elif question.type == "single":
            other = question.other_option
            cell = _label(value.cast(pl.Utf8), question, language)
            if other:
                cell = pl.when(value == other.code).then(pl.lit(_WORDS[language][2])).otherwise(cell)
            columns.append((code, text, cell))
            if other:
                box = pl.when(value == other.code).then(_other_text(frame, question))
                columns.append((f"{code}[other]", f"{text} [{_WORDS[language][2]}]", box))
        else:
            columns += [(code + c, f"{text} {t}", cell) for c, t, cell in _multi_cells(frame, question, language)]
    return columns


def _meta_columns(frame: pl.DataFrame, language: str, *, seed: int) -> list[tuple[str, str, pl.Expr]]:
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")
    cells = (
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).cast(pl.Utf8),
        submitted.dt.strftime(_DATE_FORMAT),
        pl.when(submitted.is_not_null()).then(pl.lit("4")).otherwise(pl.lit("2")),
        pl.col("language").cast(pl.Utf8).fill_null(language),
        (pl.int_range(pl.len(), dtype=pl.Int64) * 7919 + seed * 104729 + 1_000_000).cast(pl.Utf8),
        started.dt.strftime(_DATE_FORMAT),
        pl.coalesce(submitted, started).dt.strftime(_DATE_FORMAT),
        pl.col("ip_address").cast(pl.Utf8),
    )
    return list(zip(_CODES, _META[language], cells))


def write_limesurvey(
    frame: pl.DataFrame, path: Path, *, headings: str = "full", excel: bool = False, seed: int = 0
) -> None:
    """Write one LimeSurvey export of these respondents; ``headings``: ``full`` (question
    text), ``code`` (the questionnaire's codes as LimeSurvey's question and sub-question
    codes: ``role``, ``ai_uses[visuals]``, ``opinions[ai_useful]``) or ``code_text``
    (``<code>. <text>``); ``excel``: an .xlsx workbook, else CSV."""
    _check_codes(frame)
    language = _language(frame)
    columns = [*_meta_columns(frame, language, seed=seed), *_question_columns(frame, language)]
    if frame.get_column("email").is_not_null().any():
        columns.append(("email", "Email address", pl.col("email").cast(pl.Utf8)))
    names = [f"c{i}" for i in range(len(columns))]
    heads = {
        "full": [text for _, text, _ in columns],
        "code": [code for code, _, _ in columns],
        "code_text": [f"{code}. {text}" for code, text, _ in columns],
    }[headings]
    data = frame.select([cell.cast(pl.Utf8).alias(name) for (_, _, cell), name in zip(columns, names)])
    if excel:
        write_workbook([heads, *[list(row) for row in data.iter_rows()]], path, sheet_name="AI in social media")
        return
    head = pl.DataFrame([heads], schema={name: pl.Utf8 for name in names}, orient="row")
    text = pl.concat([head, data]).write_csv(include_header=False, separator=";", quote_style="non_numeric",
                                             line_terminator="\r\n")  # fmt: skip
    path.write_bytes(("\ufeff" + text + "\r\n").encode("utf-8"))
