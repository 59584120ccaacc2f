"""Qualtrics CSV exports: the current format, the 2017 "Insights" format and the legacy one.

current   3 header rows: column ids (``StartDate``, ``ResponseId``, ``Q1``, ``Q5_1``,
          ``Q5_11_TEXT``), then what the exporting account shows (question text, metadata
          names in the account's language: ``Anfangsdatum``, ``Date de début``), then an
          ImportId JSON per column: ``{"ImportId":"startDate","timeZone":"America/Denver"}``.
insights  the same 3 rows as exported in 2017: row 3 is a Python-style
          ``{'ImportId': 'QID3-1-TEXT'}``, row 2 joins question and sub-label with a bare
          ``-`` (``Question-Choice 1``), metadata ``ResponseID``, ``ResponseSet`` ...
legacy    2 header rows: ``V1..V10`` + question ids, then ``ResponseID, ResponseSet, Name,
          ExternalDataReference, EmailAddress, IPAddress, Status, StartDate, EndDate,
          Finished`` + question text.

Metadata columns are found by ImportId (current, insights) or by their fixed English name
(legacy, and as a fallback), never by the localised row-2 label. Qualtrics' other system
columns (Status, Progress, Recipient names, Location*, DistributionChannel, Q_* fields ...)
are left out of ``columns``; everything else (questions, embedded data, Text iQ columns)
is a :class:`SourceColumn` headed by its row-2 text.

Time zones: a timestamp column's zone is the ``timeZone`` of its ImportId; ``Z``/``UTC``
mean UTC. Without a ``timeZone`` key (exports before 2019, the insights and legacy
formats) the times are read in the ``time_zone`` the caller gives for Qualtrics (UTC by
default: the export API writes UTC unless asked for another zone, qualtRics'
``useLocalTime = FALSE`` default), as the file does not say otherwise.

Dates are read as Qualtrics writes them (``2020-02-19 18:16:42``) and, after an Excel
re-save, as ``2023-10-02 14:03``, ``10/2/2023 2:03 PM`` or ``02/10/2023 14:03``
(``transforms.timestamps``); the day/month order of slash dates is decided for the whole
file, from every date column together.

``submitted_at`` is EndDate, except for a response still in progress (exported with
"responses in progress": ``FS_`` id, RecordedDate empty), whose EndDate is only its last
activity: null there. ``is_finished`` is Finished (``True``/``1``); partial responses that
Qualtrics closed are recorded, so they keep their EndDate but are not finished.
``duration_s`` is "Duration (in seconds)", else EndDate - StartDate (legacy).

``-99`` is Qualtrics' "seen but unanswered" recode (an export option): it is unanswered,
so it is left out of ``cells`` in every variant.

Sub-labels: the current and legacy formats keep the row-2 text whole as ``header``
(``Question - Option``; legacy ``Question-Option``, ``Question-Option-TEXT``,
``Question-TEXT``: split by the shared resolver, ``transforms.headers``). The insights
format joins them with a bare ``-`` too, and its question and sub-label are separated here
from the ImportId's structure (``QID3-1`` has one sub-part); its ``-TEXT`` columns get
``<sub-label> - Text`` (or ``Text`` alone for a single-choice "other" box, whose option the
file does not name, and for a text question's ``QIDn-TEXT``). Both older formats cut a
wording longer than 100 characters to 97 and ``...``; the resolver recognises those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import polars as pl

from transforms.layouts import (
    META_SCHEMA,
    Layout,
    ParsedExport,
    SourceColumn,
    Votes,
    date_reads,
    date_texts,
    parsed_cells,
    with_timestamps,
)

_IMPORT_ID = re.compile(r"""^\s*\{\s*(["'])ImportId\1\s*:\s*(["'])(?P<id>[^"']*)\2""")
_TIME_ZONE = re.compile(r"""(["'])timeZone\1\s*:\s*(["'])(?P<tz>[^"']*)\2""")
_INSIGHTS_QID = re.compile(r"^(?P<qid>QID\d+)(?P<sub>(?:#\d+)?(?:-\d+)*)(?P<text>-TEXT)?$")
_UTC_NAMES = {"", "z", "utc", "gmt", "etc/utc"}
#: The "seen but unanswered" recode.
SEEN_UNANSWERED = "-99"

#: Metadata by lower-cased ImportId or column id -> the meta field it feeds.
_META_KEYS = {
    "_recordid": "response_id",
    "responseid": "response_id",
    "startdate": "started_at",
    "enddate": "submitted_at",
    "recordeddate": "recorded_at",
    "duration": "duration_s",
    "duration (in seconds)": "duration_s",
    "finished": "is_finished",
    "userlanguage": "language",
    "ipaddress": "ip_address",
    "recipientemail": "email",
    "panel-recipientemail": "email",
    "emailaddress": "email",
}
#: An embedded-data field that carries the respondent's email (used after RecipientEmail).
_EMAIL_FIELDS = {"email"}
#: Qualtrics system columns kept out of ``columns`` (lower-cased ImportId or column id).
_SYSTEM_KEYS = {
    "status",
    "progress",
    "responseset",
    "responsesetid",
    "name",
    "recipientlastname",
    "recipientfirstname",
    "externalreference",
    "externaldatareference",
    "locationlatitude",
    "locationlongitude",
    "locationaccuracy",
    "distributionchannel",
}
_SYSTEM_PREFIXES = ("q_", "panel-", "location-", "recipient")
_TRUE = ["true", "1", "vrai", "wahr"]


@dataclass(frozen=True)
class _Column:
    index: int
    column_id: str  # row 1
    label: str  # row 2 (row 1 where empty)
    key: str  # lower-cased ImportId (column id where there is none): what metadata is found by
    time_zone: str | None  # the ImportId's timeZone; None where the file names none


def _cell(row: list[str | None], index: int) -> str:
    return (row[index] or "").strip() if index < len(row) else ""


def _import_ids(row: list[str | None]) -> list[str | None]:
    return [m.group("id") if (m := _IMPORT_ID.match(cell or "")) else None for cell in row]


def _time_zone(cell: str) -> str | None:
    found = _TIME_ZONE.search(cell)
    if not found:
        return None
    zone = found.group("tz")
    return "UTC" if zone.lower() in _UTC_NAMES else zone


def _header_columns(header: list[list[str | None]], *, rows: int) -> list[_Column]:
    ids, labels = header[0], header[1]
    meta_row = header[2] if rows == 3 else [None] * len(ids)
    import_ids = _import_ids(meta_row)
    columns = []
    for index in range(len(ids)):
        column_id, label = _cell(ids, index), _cell(labels, index)
        if not column_id and not label:
            continue  # the legacy format's trailing empty column
        if rows == 2:  # legacy: row 1 is V1..Vn for the metadata block, row 2 its names
            key = label if re.fullmatch(r"V\d+", column_id) else column_id
        else:
            key = import_ids[index] or column_id
        columns.append(_Column(index, column_id, label or column_id, key.lower(), _time_zone(_cell(meta_row, index))))
    return columns


def _is_system(column: _Column) -> bool:
    keys = {column.key, column.column_id.lower()}
    return bool(keys & _SYSTEM_KEYS) or any(key.startswith(_SYSTEM_PREFIXES) for key in keys)


def _text(column: _Column) -> pl.Expr:
    value = pl.col(f"c{column.index}").str.strip_chars()
    return pl.when(value != "").then(value)


def _date_texts(by_field: dict[str, list[_Column]], *, time_zone: str) -> dict[str, tuple[pl.Expr, str]]:
    """The file's dates (``with_timestamps``' texts): the first column of each time field."""
    times = ("started_at", "submitted_at", "recorded_at")
    dated = {field: by_field[field][0] for field in times if field in by_field}
    return {f"_{field}": (_text(column), column.time_zone or time_zone) for field, column in dated.items()}


def _meta(timed: pl.LazyFrame, by_field: dict[str, list[_Column]], *, dated: set[str]) -> pl.LazyFrame:
    """The ``meta`` contract from ``timed``, the data rows with the file's dates read (``dated``: their fields)."""

    def first(field: str) -> _Column | None:
        return by_field.get(field, [None])[0]

    def timestamp(field: str) -> pl.Expr:
        return pl.col(f"_{field}") if field in dated else pl.lit(None, dtype=META_SCHEMA["started_at"])

    response = first("response_id")
    response_id = _text(response) if response else pl.col("source_row").cast(pl.Utf8)
    submitted = timestamp("submitted_at")
    if first("recorded_at") is not None:
        # A response still in progress has an EndDate (its last activity) but no
        # RecordedDate: it has not been submitted.
        submitted = pl.when(timestamp("recorded_at").is_not_null()).then(submitted)
    finished = first("is_finished")
    is_finished = (
        _text(finished).str.to_lowercase().is_in(_TRUE).fill_null(False) if finished else submitted.is_not_null()
    )
    duration = first("duration_s")
    elapsed = (pl.col("submitted_at") - pl.col("started_at")).dt.total_microseconds() / 1e6
    language = first("language")
    ip_address = first("ip_address")
    emails = by_field.get("email", [])
    return (
        timed.select(
            pl.col("source_row").cast(pl.Int64),
            response_id.alias("response_id"),
            timestamp("started_at").alias("started_at"),
            submitted.alias("submitted_at"),
            (_text(duration).cast(pl.Float64, strict=False) if duration else pl.lit(None, pl.Float64)).alias(
                "duration_s"
            ),
            is_finished.alias("is_finished"),
            (_text(language).str.to_lowercase().str.slice(0, 2) if language else pl.lit(None, pl.Utf8)).alias(
                "language"
            ),
            pl.coalesce([_text(c) for c in emails] or [pl.lit(None, pl.Utf8)]).alias("email"),
            (_text(ip_address) if ip_address else pl.lit(None, pl.Utf8)).alias("ip_address"),
        )
        .with_columns(pl.col("duration_s").fill_null(elapsed))
        .select([pl.col(name).cast(dtype) for name, dtype in META_SCHEMA.items()])
    )


def _insights_sources(columns: list[_Column]) -> tuple[SourceColumn, ...]:
    """Row 2 ``Question-Sub label`` split with the ImportId's structure (``QID3-1-TEXT``).

    The question is what every column of one QID shares up to a ``-``; a QID with one
    labelled column falls back to cutting as many ``-`` parts as the ImportId has.
    """
    parsed = {c.index: m for c in columns if (m := _INSIGHTS_QID.match(c.key.upper()))}
    by_qid: dict[str, list[_Column]] = {}
    for column in columns:
        if column.index in parsed:
            by_qid.setdefault(parsed[column.index].group("qid"), []).append(column)
    sources = []
    for column in columns:
        match = parsed.get(column.index)
        if match is None:
            sources.append(SourceColumn(column.index, column.label))
            continue
        depth = match.group("sub").count("-") + match.group("sub").count("#")
        question, sub = column.label, None
        if depth:
            labels = {c.label for c in by_qid[match.group("qid")]}
            shared = _common_prefix(labels) if len(labels) > 1 else ""
            cut = shared.rfind("-")
            if cut > 0:
                question, sub = column.label[:cut], column.label[cut + 1 :]
            elif column.label.count("-") >= depth:
                parts = column.label.rsplit("-", depth)
                question, sub = parts[0], "-".join(parts[1:])
        if match.group("text"):
            sub = f"{sub} - Text" if sub else "Text"
        sources.append(SourceColumn(column.index, question, sub))
    return tuple(sources)


def _common_prefix(texts: set[str]) -> str:
    low, high = min(texts), max(texts)
    size = next((i for i, (a, b) in enumerate(zip(low, high)) if a != b), min(len(low), len(high)))
    return low[:size]


def parse_qualtrics(
    frame: pl.LazyFrame,
    header: list[list[str | None]],
    *,
    variant: str,
    time_zone: str = "UTC",
    votes: Votes | None = None,
) -> ParsedExport:
    """One meta row per response; one cell per response and non-empty answer column."""
    rows = 2 if variant == "legacy" else 3
    columns = _header_columns(header, rows=rows)
    by_field: dict[str, list[_Column]] = {}
    for column in columns:
        field = _META_KEYS.get(column.key) or _META_KEYS.get(column.column_id.lower())
        if field is None and column.key in _EMAIL_FIELDS:
            field = "email_field"
        if field is not None:
            by_field.setdefault(field, []).append(column)
    by_field["email"] = by_field.get("email", []) + by_field.pop("email_field", [])
    metadata = {column.index for found in by_field.values() for column in found}
    answers = [c for c in columns if c.index not in metadata and not _is_system(c)]
    if variant == "insights":
        sources = _insights_sources(answers)
    else:
        sources = tuple(SourceColumn(c.index, c.label) for c in answers)
    data = frame.filter(pl.col("source_row") > rows)
    # An Excel re-save writes every date of the file in one order: a date column that
    # reads only day-first (13/10/2023) settles the others (02/10/2023) too.
    texts = _date_texts(by_field, time_zone=time_zone)
    timed = with_timestamps(data, texts, one_date_order=True, votes=votes)
    meta = _meta(timed, by_field, dated={name[1:] for name in texts})
    parsed = parsed_cells(meta, sources, frame, data_from_row=rows + 1, unanswered=(SEEN_UNANSWERED,))
    return parsed._replace(dates=date_texts(data, texts), date_reads=date_reads(timed, texts))


def _import_id_share(row: list[str | None], *, quote: str) -> bool:
    """Most non-empty cells of the row are ImportId objects written with this quote."""
    cells = [cell.strip() for cell in row if cell and cell.strip()]
    marked = [cell for cell in cells if cell.startswith("{" + quote + "ImportId" + quote)]
    ids = {i for i in _import_ids(marked) if i}
    known = ids & {"_recordId", "responseId", "startDate", "endDate"} or any(re.match(r"QID\d", i) for i in ids)
    return bool(cells) and len(marked) * 2 > len(cells) and bool(known)


def detect_current(header: list[list[str | None]]) -> bool:
    """Row 3 holds ``{"ImportId":...}`` JSON naming Qualtrics ids (ResponseId, StartDate, QIDn)."""
    return len(header) >= 3 and _import_id_share(header[2], quote='"')


def detect_insights(header: list[list[str | None]]) -> bool:
    """Row 3 holds Python-style ``{'ImportId': ...}`` dicts (exports of 2017)."""
    return len(header) >= 3 and _import_id_share(header[2], quote="'")


def detect_legacy(header: list[list[str | None]]) -> bool:
    """Row 2 names the legacy metadata block, each name under its ``V<n>`` id in row 1
    (``V1, V2, ...`` first as exported; wherever the columns were moved to since)."""
    if len(header) < 2:
        return False
    id_of = {_cell(header[1], index): _cell(header[0], index) for index in range(len(header[1]))}
    return all(
        re.fullmatch(r"V\d+", id_of.get(name, ""))
        for name in ("ResponseID", "ResponseSet", "StartDate", "EndDate", "Finished")
    )


LAYOUTS = (
    Layout("qualtrics", "qualtrics", detect_current, partial(parse_qualtrics, variant="current"), batched=True),
    Layout(
        "qualtrics_insights", "qualtrics", detect_insights, partial(parse_qualtrics, variant="insights"), batched=True
    ),
    Layout("qualtrics_legacy", "qualtrics", detect_legacy, partial(parse_qualtrics, variant="legacy"), batched=True),
)
