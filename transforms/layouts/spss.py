"""SPSS data files (.sav, .zsav) as survey tools export them (Qualtrics, SurveyMonkey ...).

``surveyhouse.read`` turns the file into the raw frame shape: row 1 the variable names, row 2
the variable labels (what the tool shows as the question text: ``What is your current
role level?``, ``<question> - <option>`` for one variable of a split multi-select,
``<grid prompt> - <statement>``, ``<question> - Other (please specify) - Text``), then
one row per case, value labels applied (``Manager``; a multi-select variable is the option
label where chosen and empty or ``0`` where not; an unlabelled value stays a number, which
validation then reports), datetime variables as ``2023-10-02 14:03:04``.

Metadata variables are found by name (case, ``_`` and spaces ignored: ``ResponseId``,
``respondent_id``, ``StartDate``, ``EndDate``, ``RecordedDate``, ``Duration__in_seconds_``,
``Finished``, ``UserLanguage``, ``RecipientEmail``, ``IPAddress``, SurveyMonkey's
``date_created`` / ``date_modified``, LimeSurvey's ``id``, ``submitdate``, ``startlanguage``); the tools' other system variables (Status,
Progress, names, location, collector, custom data) are left out of ``columns``; every
other variable is a :class:`SourceColumn` headed by its label (its name where it has none).

SPSS has no time zones: datetimes are local times of the exporting account, read in the
``time_zone`` the caller gives for SPSS files (the per-source setting, UTC by default).
A case is finished where ``Finished`` says so (``True`` / ``1``), else where it has an end
date; a case with an EndDate but an empty RecordedDate is still in progress (Qualtrics).
``-99`` (Qualtrics' "seen but unanswered" when it is not declared missing) is unanswered.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.layouts import (
    META_SCHEMA,
    Layout,
    ParsedExport,
    SourceColumn,
    parsed_cells,
)
from transforms.timestamps import parse_timestamp

_DATA_FROM_ROW = 3
SEEN_UNANSWERED = "-99"
#: Variable names (lower case, letters and digits only) -> the meta field they feed.
_META_NAMES = {
    "responseid": "response_id",
    "respondentid": "response_id",
    "recordid": "response_id",
    "id": "response_id",  # LimeSurvey
    "startdate": "started_at",
    "datecreated": "started_at",
    "enddate": "submitted_at",
    "submitdate": "submitted_at",
    "datemodified": "submitted_at",
    "recordeddate": "recorded_at",
    "durationinseconds": "duration_s",
    "duration": "duration_s",
    "finished": "is_finished",
    "userlanguage": "language",
    "startlanguage": "language",  # LimeSurvey
    "recipientemail": "email",
    "emailaddress": "email",
    "email": "email",
    "ipaddress": "ip_address",
}
#: The tools' system variables (by key), never questions; and Qualtrics' ``Q_`` fields.
_SYSTEM = re.compile(
    r"^(status|progress|responseset|name|recipient(last|first)name|externalreference|externaldatareference"
    r"|location(latitude|longitude|accuracy)|distributionchannel|collectorid|firstname|lastname"
    r"|custom(data)?\d*)$"
)
_SYSTEM_PREFIX = re.compile(r"^Q_", re.IGNORECASE)
_TRUE = ["true", "1", "vrai", "wahr", "yes", "oui"]


def _key(name: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def detect(header: list[list[str | None]]) -> bool:
    """Any SPSS file with variables (``surveyhouse.read`` has already told it by its signature)."""
    return bool(header and any(header[0]))


def _split(names: list[str | None], labels: list[str | None]) -> tuple[dict[str, int], tuple[SourceColumn, ...]]:
    meta: dict[str, int] = {}
    columns: list[SourceColumn] = []
    for index, name in enumerate(names):
        key = _key(name)
        field = _META_NAMES.get(key)
        if field is not None:
            meta.setdefault(field, index)
        elif key and not _SYSTEM.match(key) and not _SYSTEM_PREFIX.match(name or ""):
            columns.append(SourceColumn(index=index, header=(labels[index] if index < len(labels) else None) or name))
    return meta, tuple(columns)


def parse(frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC") -> ParsedExport:
    names = header[0]
    labels = header[1] if len(header) > 1 else [None] * len(names)
    meta_index, columns = _split(names, labels)
    data = frame.filter(pl.col("source_row") >= _DATA_FROM_ROW)

    def text(field: str) -> pl.Expr:
        if field not in meta_index:
            return pl.lit(None, pl.Utf8)
        return pl.col(f"c{meta_index[field]}").str.strip_chars().replace("", None)

    def timestamp(field: str) -> pl.Expr:
        return parse_timestamp(text(field), time_zone=time_zone)

    submitted = timestamp("submitted_at")
    if "recorded_at" in meta_index:
        submitted = pl.when(timestamp("recorded_at").is_not_null()).then(submitted)
    finished = (
        text("is_finished").str.to_lowercase().is_in(_TRUE).fill_null(False) if "is_finished" in meta_index else None
    )
    response_id = text("response_id") if "response_id" in meta_index else pl.col("source_row").cast(pl.Utf8)
    meta = (
        data.select(
            pl.col("source_row").cast(pl.Int64),
            response_id.alias("response_id"),
            timestamp("started_at").alias("started_at"),
            submitted.alias("submitted_at"),
            text("duration_s").cast(pl.Float64, strict=False).alias("duration_s"),
            (finished if finished is not None else submitted.is_not_null()).alias("is_finished"),
            text("language").str.to_lowercase().str.slice(0, 2).alias("language"),
            text("email").alias("email"),
            text("ip_address").alias("ip_address"),
        )
        .with_columns(
            pl.col("duration_s").fill_null(
                (pl.col("submitted_at") - pl.col("started_at")).dt.total_microseconds() / 1e6
            )
        )
        .select(list(META_SCHEMA))
        .cast(META_SCHEMA)
    )
    return parsed_cells(meta, columns, frame, data_from_row=_DATA_FROM_ROW, unanswered=(SEEN_UNANSWERED,))


LAYOUTS = (Layout(name="spss", source_tool="spss", detect=detect, parse=parse, reads=("spss",)),)
