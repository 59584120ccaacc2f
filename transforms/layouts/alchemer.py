"""Alchemer (formerly SurveyGizmo) response exports: the CSV/Excel report of responses.

Sources, as summarised in the team's notes (export-formats.md §7): real SurveyGizmo Excel
exports (2017-2018), the header rows of two real Alchemer exports kept by a parser's
author (DuncanRBrett/Turas data_export_map.xlsx), and Alchemer's own documentation
(apihelp.alchemer.com "surveyresponse returned fields v5", "list responses";
help.alchemer.com terminology: ``Complete``, ``Partial``, ``Disqualified``):

- One header row; the standard metadata first: ``Response ID, Time Started, Date
  Submitted, Status, Contact ID, Legacy Comments, Comments, Language, Referer, Extended
  Referer, SessionID, User Agent, Extended User Agent, Tags, IP Address, Longitude,
  Latitude, Country, City, State/Region, Postal`` (a subset, as the person exporting
  ticks them), also ``Edit Links`` and ``URL Variable: <name>``. None is a question;
  ``URL Variable: email`` feeds ``meta.email``.
- ``Status``: ``Complete`` is a finished response; ``Partial`` and ``Disqualified`` are not.
- ``Time Started`` / ``Date Submitted``: ``May 1, 2018 5:17:19 AM`` (never a date cell),
  or ``YYYY-MM-DD HH:MM:SS`` as the API gives; no zone (US Eastern per the API
  documentation; exports unverified): read in the ``time_zone`` the caller gives.
- ``Language``: an English language name (``French``) or a code (``zh-tw``).
- Questions: a one-column question is headed by its title, optionally numbered
  (``1: <title>``, the number taken off here); a checkbox has one column per option
  headed ``<option>:<title>`` (cell: the option text when ticked, else empty), a grid
  row ``<row>:<grid title>``: the resolver reads ``a:b`` as sub-label ``a`` of ``b``.
  An "other" with a write-in gives a column headed ``<other option>:<title>`` holding
  the typed text (for a checkbox, the second of two columns with that heading; the first
  is the tick): handed over as ``<title>`` with the sub-label ``<option> - Text``.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.layouts import Layout, ParsedExport, SourceColumn, Votes, parsed_cells
from transforms.layouts.one_header import (
    header_name,
    language_code,
    meta_dates,
    meta_text,
    read_meta,
    split_header,
)

_FIELDS: dict[str, str | None] = {
    "response id": "response_id",
    "time started": "started_at",
    "date submitted": "submitted_at",
    "status": "status",
    "language": "language",
    "ip address": "ip_address",
    # A URL variable named email (the link of an invitation by email passes it).
    "url variable: email": "email",
    **dict.fromkeys(
        [
            "contact id", "legacy comments", "comments", "referer", "extended referer", "sessionid",
            "user agent", "extended user agent", "tags", "longitude", "latitude", "country", "city",
            "state/region", "postal", "edit links",
        ],
        None,
    ),
}  # fmt: skip
_URL_VARIABLE = re.compile(r"^url variable:")
_NUMBER = re.compile(r"^\s*\d{1,4}\s*:\s*")
#: HTML tags the survey builder left in a heading (Alchemer keeps them).
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_ALCHEMER_DATE = "%b %d, %Y %I:%M:%S %p"


def detect(header: list[list[str | None]]) -> bool:
    """``Response ID`` with ``Status`` and ``Time Started`` or ``Date Submitted``."""
    names = {header_name(cell) for cell in (header[0] if header else [])}
    return {"response id", "status"} <= names and bool(names & {"time started", "date submitted"})


def _question_columns(columns: tuple[SourceColumn, ...]) -> tuple[SourceColumn, ...]:
    """Numbering taken off; write-in columns told from ticks and given the ``- Text`` sub-label."""
    headers = [_NUMBER.sub("", _TAG.sub("", column.header)).strip() for column in columns]
    titles = {header_name(header) for header in headers if ":" not in header}
    seen: set[str] = set()
    out: list[SourceColumn] = []
    for column, header in zip(columns, headers):
        key = header_name(header)
        option, _, title = header.partition(":")
        is_write_in = ":" in header and (header_name(title) in titles or key in seen)
        seen.add(key)
        if is_write_in:
            out.append(SourceColumn(column.index, title.strip(), f"{option.strip()} - Text"))
        else:
            out.append(SourceColumn(column.index, header))
    return tuple(out)


def _timestamp_text(text: pl.Expr) -> pl.Expr:
    """Alchemer's ``May 1, 2018 5:17:19 AM`` as ``2018-05-01 05:17:19``; other texts as they are."""
    # (no cache of the texts read: hashing each costs more than reading it)
    written = text.str.strptime(pl.Datetime("us"), _ALCHEMER_DATE, strict=False, cache=False)
    written = written.dt.strftime("%Y-%m-%d %H:%M:%S")
    return pl.coalesce(written, text)


def parse(
    frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC", votes: Votes | None = None
) -> ParsedExport:
    meta_index, columns = split_header(header[0], _FIELDS, is_system=lambda key: bool(_URL_VARIABLE.match(key)))
    columns = _question_columns(columns)
    started = _timestamp_text(meta_text(meta_index, "started_at"))
    index = dict(meta_index)
    frame_with_start = frame
    if "started_at" in index:
        frame_with_start = frame.with_columns(started.alias(f"c{index['started_at']}"))
    meta, reads = read_meta(
        frame_with_start,
        index,
        time_zone=time_zone,
        is_finished=meta_text(meta_index, "status").str.to_lowercase() == "complete",
        language=language_code(meta_text(meta_index, "language")),
        submitted_text=_timestamp_text(meta_text(meta_index, "submitted_at")),
        votes=votes,
    )
    dates = meta_dates(frame_with_start, index, submitted_text=_timestamp_text(meta_text(meta_index, "submitted_at")))
    return parsed_cells(meta, columns, frame, data_from_row=2)._replace(dates=dates, date_reads=reads)


LAYOUTS = (Layout(name="alchemer", source_tool="alchemer", detect=detect, parse=parse, batched=True),)
