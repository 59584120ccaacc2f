"""LimeSurvey response exports (CSV and Excel: "Export results" / RemoteControl
``export_responses``).

Every rule below comes from LimeSurvey's own export code (application/helpers/admin/export:
Writer.php, CsvWriter.php, ExcelWriter.php, SurveyDao.php, SurveyObj.php; the export panels
under application/views/admin/export) and one real API export, as summarised with their
commits in the team's notes (export-formats.md §5 and §8):

- One header row. CSV: a UTF-8 BOM, every value quoted, ``;`` by default (``,`` and tab
  are options); Excel: one sheet, one header row (ExcelWriter.php). Both read here.
- Metadata first, in this order: ``id, submitdate, lastpage, startlanguage, seed``, then
  ``token`` (with a participant table), ``startdate, datestamp`` (date stamping on),
  ``ipaddr``, ``refurl`` (createFieldMap); timings (``interviewtime``, ``groupTime<n>``,
  ``<code>Time``) and participant attributes (``firstname``, ``lastname``, ``email``,
  ``attribute_<n>``) at the end. With "Export questions as: full / abbreviated question
  text" the metadata headings are words in the export language: ``Response ID, Date
  submitted, Last page, Start language, Seed, Access code`` (older: ``Token``), ``Date
  started, Date last action, IP address, Referrer URL``; with "Question code & question
  text" each heading is ``<code>. <text>`` (the default separator ``. ``).
- Headings of the questions: the code (``Q01``, a sub-question ``Q01[SQ001]``, the
  "other" text ``Q01[other]``), the text (``How often ...? [Apples]``, the "other" text
  ``<question> [Other]``), or both (``Q01[SQ001]. How often ...? [Apples]``): the code
  part is taken off here; the resolver (``transforms.headers``) splits ``[...]``, and matches
  code headings to a questionnaire whose codes they are.
- ``submitdate`` empty = an incomplete response (SurveyDao.php: ``submitdate IS NULL``);
  without date stamping a complete one holds ``1980-01-01 00:00:00``, not a time (read as
  complete, with no submission time). Dates ``YYYY-MM-DD HH:MM:SS``, the server's local
  time: read in the ``time_zone`` the caller gives.
- Answers: with "Answer codes", a ticked multiple-choice box is ``Y`` and a shown but
  unticked one empty (``Y``/``N`` also for yes/no questions; "Convert Y to" / "Convert N
  to" may have made them ``1`` / ``2``); with "Full answers" (the default) ``Yes`` /
  ``No``, and ``N/A`` for a box or yes/no never shown (SurveyObj.php getFullAnswer), in
  the export language (``Oui`` / ``Non`` in French). ``Y``/``N`` are read as ``Yes``/``No``
  and ``N/A`` as unanswered. A list question's "other" is ``Other`` (``-oth-`` in codes)
  in its own cell, the typed text under ``[other]`` / ``[Other]``: where that text is
  filled, the word in the question's cell is dropped (the text says it).
- The ``startlanguage`` column is the language the respondent answered in.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.layouts import Layout, ParsedExport, SourceColumn, Votes, cells_from_wide, wide_from_columns
from transforms.layouts.one_header import (
    DATA_FROM_ROW,
    header_name,
    language_code,
    meta_dates,
    meta_text,
    read_meta,
    replaced_cells,
    split_header,
)

#: Metadata headings by code and by text (English, French, German), -> the meta field (None: left out).
_FIELDS: dict[str, str | None] = {
    "id": "response_id",
    "response id": "response_id",
    "submitdate": "submitted_at",
    "date submitted": "submitted_at",
    "lastpage": None,
    "last page": None,
    "startlanguage": "language",
    "start language": "language",
    "seed": None,
    "token": None,
    "access code": None,
    "startdate": "started_at",
    "date started": "started_at",
    "datestamp": None,
    "date last action": None,
    "ipaddr": "ip_address",
    "ip address": "ip_address",
    "refurl": None,
    "referrer url": None,
    "interviewtime": None,
    "total time": None,
    "firstname": None,
    "first name": None,
    "lastname": None,
    "last name": None,
    "email": "email",
    "email address": "email",
    # French and German texts (LimeSurvey's translations, as its exports write them).
    "id de la réponse": "response_id",
    "date de soumission": "submitted_at",
    "dernière page": None,
    "langue de départ": "language",
    "graine": None,
    "date de début": "started_at",
    "date de la dernière action": None,
    "adresse ip": "ip_address",
    "antwort id": "response_id",
    "datum abgeschickt": "submitted_at",
    "letzte seite": None,
    "start-sprache": "language",
    "zufallsgeneratorstartwert": None,
    "datum gestartet": "started_at",
    "datum letzte aktivität": None,
    "ip-adresse": "ip_address",
    "weiterleitungs-url": None,
}
#: Timing and participant-attribute columns (codes), never questions.
_SYSTEM = re.compile(r"^(grouptime\d+|.+time|attribute_\d+)$")
#: The code in front of a "Question code & question text" heading: ``Q01[SQ001]. ``.
_CODE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\[[^\]]*\])*\.\s+")
#: What the code and text headings of the first columns must hold to be LimeSurvey's.
_MARKS = (
    {"id", "submitdate", "lastpage", "startlanguage"},
    {"response id", "date submitted", "last page", "start language"},
    {"id de la réponse", "date de soumission", "dernière page", "langue de départ"},
    {"antwort id", "datum abgeschickt", "letzte seite", "start-sprache"},
)
#: Answer codes and the translated fixed words of full answers (SurveyObj.php getFullAnswer).
_CELLS = {"Y": "Yes", "N": "No", "N/A": None}
#: A list question's "Other" as LimeSurvey writes it in the question's own cell.
_OTHER_WORDS = {"Other", "Autre", "Sonstiges", "Andere", "Otro", "Altro", "-oth-"}
#: The sub-label of the typed "other" text: ``[other]`` in codes, ``[Other]`` in texts.
_OTHER_BOX = re.compile(r"\[\s*(other|autre|sonstiges|andere|otro|altro)\s*\]\s*$", re.IGNORECASE)
_PLACEHOLDER = "1980-01-01 00:00:00"
#: HTML tags around a heading (LimeSurvey strips them by default; a survey may keep them).
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")


def _bare(cell: str | None) -> str:
    return _TAG.sub("", (cell or "").replace("\ufeff", "")).strip()


def _heading(cell: str | None) -> str:
    """A heading without the code of "Question code & question text" (``Q1. Text`` -> ``Text``)."""
    return _CODE_PREFIX.sub("", _bare(cell))


def detect(header: list[list[str | None]]) -> bool:
    """LimeSurvey's first metadata headings, as codes, English texts or ``code. text``."""
    if not header or not header[0]:
        return False
    codes = {header_name(cell).split(".")[0] for cell in header[0]}
    texts = {header_name(_heading(cell)) for cell in header[0]}
    return any(marks <= codes or marks <= texts for marks in _MARKS)


def _names(names: list[str | None]) -> list[str | None]:
    """Each heading as a code (code & text headings: the code) or as written."""
    out: list[str | None] = []
    for cell in names:
        match = _CODE_PREFIX.match(_bare(cell))
        code = match.group(0).rstrip().rstrip(".") if match else None
        out.append(code if code is not None and header_name(code) in _FIELDS else _heading(cell))
    return out


def _without_other_words(wide: pl.LazyFrame, columns: tuple[SourceColumn, ...]) -> pl.LazyFrame:
    """A question's "Other" word dropped from its cell where the file has its typed-text column."""
    boxes = {
        header_name(_OTHER_BOX.sub("", column.header)): str(column.index)
        for column in columns
        if _OTHER_BOX.search(column.header)
    }
    owners = [(str(c.index), boxes[header_name(c.header)]) for c in columns if header_name(c.header) in boxes]
    return wide.with_columns(
        [
            pl.when(pl.col(cell).str.strip_chars().is_in(list(_OTHER_WORDS)) & pl.col(box).is_not_null())
            .then(None)
            .otherwise(pl.col(cell))
            .alias(cell)
            for cell, box in owners
        ]
    )


def parse(
    frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC", votes: Votes | None = None
) -> ParsedExport:
    meta_index, columns = split_header(_names(header[0]), _FIELDS, is_system=lambda key: bool(_SYSTEM.match(key)))
    submitted_text = meta_text(meta_index, "submitted_at")
    meta, reads = read_meta(
        frame,
        meta_index,
        time_zone=time_zone,
        is_finished=submitted_text.is_not_null(),
        language=language_code(meta_text(meta_index, "language")),
        submitted_text=pl.when(submitted_text != _PLACEHOLDER).then(submitted_text),
        votes=votes,
    )
    dates = meta_dates(frame, meta_index, submitted_text=pl.when(submitted_text != _PLACEHOLDER).then(submitted_text))
    wide = wide_from_columns(frame, columns, data_from_row=DATA_FROM_ROW)
    wide = _without_other_words(replaced_cells(wide, columns, _CELLS), columns)
    return ParsedExport(
        meta=meta, columns=columns, cells=cells_from_wide(wide), wide=wide, dates=dates, date_reads=reads
    )


LAYOUTS = (Layout(name="limesurvey", source_tool="limesurvey", detect=detect, parse=parse, batched=True),)
