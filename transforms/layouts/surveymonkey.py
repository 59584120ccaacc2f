"""SurveyMonkey CSV exports ("All responses data", actual answer text, expanded columns).

Two header rows. Row 1: the metadata block, then each question's text once, over its
first column (blank over the columns that continue it: it is forward-filled here). Row 2:
blank under the metadata, then ``Response`` (single choice), ``Open-Ended Response``
(text), an option label (multi-select, "expanded" single choice: one column per option,
the cell holds the option text or is empty), a grid row label (matrix: the cell holds
the scale label), or the "Other (please specify)" box.

Metadata block of current exports: ``Respondent ID, Collector ID, Start Date, End Date,
IP Address, Email Address, First Name, Last Name, Custom Data 1``; older files (the
FiveThirtyEight ones) keep ``RespondentID`` alone. The block is every leading column
with nothing in row 2, whatever its name, so custom-data columns never pass for questions;
a column of the block moved among the questions (by a person, or a newer export) is still
metadata where its name is SurveyMonkey's and nothing is under it in row 2.

Dates are US ``10/02/2023 02:03:04 PM`` in the time zone of the exporting account, which
the file does not name: they are read in the ``time_zone`` the caller gives for
SurveyMonkey (the per-source setting, UTC by default). SurveyMonkey exports completed responses
by default: ``is_finished`` is true for a row with an End Date or, in files without an
End Date column (FiveThirtyEight's), for a row that answers anything.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.layouts import (
    META_SCHEMA,
    WHOLE_ANSWER,
    Layout,
    ParsedExport,
    SourceColumn,
    Votes,
    parsed_cells,
)
from transforms.timestamps import parse_timestamp

_RESPONDENT_ID = {"respondent id", "respondentid"}
#: Metadata names (lower-cased, single spaces) -> the meta field they feed.
_META_FIELDS = {
    "respondent id": "response_id",
    "respondentid": "response_id",
    "start date": "started_at",
    "startdate": "started_at",
    "end date": "submitted_at",
    "enddate": "submitted_at",
    "ip address": "ip_address",
    "ipaddress": "ip_address",
    "email address": "email",
    "email": "email",
}
#: SurveyMonkey's other columns of the metadata block (lower-cased, single spaces).
_SYSTEM = {"collector id", "collectorid", "first name", "last name", "custom data"}
_CUSTOM_DATA = re.compile(r"^custom data \d+$")
_DATA_FROM_ROW = 3


def _norm(cell: str | None) -> str:
    return " ".join((cell or "").split()).lower()


def _cell(row: list[str | None], index: int) -> str | None:
    return row[index] if index < len(row) else None


def detect(header: list[list[str | None]]) -> bool:
    """``Respondent ID`` (first as exported, or moved), over a second header row that is
    blank under it."""
    if len(header) < 2 or not header[0]:
        return False
    if not any(_norm(name) in _RESPONDENT_ID and not _norm(_cell(header[1], i)) for i, name in enumerate(header[0])):
        return False
    # Row 2 labels the answer columns: at least one non-empty cell.
    return any(_norm(cell) for cell in header[1])


def _is_metadata(name: str | None) -> bool:
    key = _norm(name)
    return key in _META_FIELDS or key in _SYSTEM or bool(_CUSTOM_DATA.match(key))


def _split_header(header: list[list[str | None]]) -> tuple[dict[str, int], tuple[SourceColumn, ...]]:
    """(meta field -> column index, answer columns with their forward-filled question text)."""
    top, sub = header[0], header[1]
    meta: dict[str, int] = {}
    columns: list[SourceColumn] = []
    in_block = True
    question: str | None = None
    for index, name in enumerate(top):
        label = _cell(sub, index)
        if in_block and not _norm(label):
            field = _META_FIELDS.get(_norm(name))
            if field and field not in meta:
                meta[field] = index
            continue
        in_block = False
        if not _norm(label) and _is_metadata(name):
            # A metadata column moved among the questions (blank in row 2, as in the block).
            field = _META_FIELDS.get(_norm(name))
            if field and field not in meta:
                meta[field] = index
            continue
        if _norm(name):
            question = name
        if question is None or not _norm(label) and not _norm(name):
            continue  # an empty column before any question, or with no header at all
        sub_label = None if _norm(label) in WHOLE_ANSWER or not _norm(label) else label
        columns.append(SourceColumn(index=index, header=question, sub_label=sub_label))
    return meta, tuple(columns)


def parse(
    frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC", votes: Votes | None = None
) -> ParsedExport:
    meta_index, columns = _split_header(header)
    data = frame.filter(pl.col("source_row") >= _DATA_FROM_ROW)

    def text(field: str) -> pl.Expr:
        if field not in meta_index:
            return pl.lit(None, pl.Utf8)
        return pl.col(f"c{meta_index[field]}").str.strip_chars().replace("", None)

    def file_votes(field: str) -> tuple[int, int] | None:
        return None if votes is None else votes.get(field, (0, 0))

    non_empty = [pl.col(f"c{c.index}").str.strip_chars() != "" for c in columns]
    answered = pl.any_horizontal(non_empty).fill_null(False) if columns else pl.lit(False)
    meta = (
        data.select(
            pl.col("source_row").cast(pl.Int64),
            text("response_id").alias("response_id"),
            parse_timestamp(text("started_at"), time_zone=time_zone, votes=file_votes("started_at")).alias(
                "started_at"
            ),
            parse_timestamp(text("submitted_at"), time_zone=time_zone, votes=file_votes("submitted_at")).alias(
                "submitted_at"
            ),
            answered.alias("answered"),
            text("email").alias("email"),
            text("ip_address").alias("ip_address"),
        )
        .with_columns(
            duration_s=(pl.col("submitted_at") - pl.col("started_at")).dt.total_microseconds() / 1_000_000,
            is_finished=pl.col("submitted_at").is_not_null() if "submitted_at" in meta_index else pl.col("answered"),
            language=pl.lit(None, pl.Utf8),
        )
        .select(list(META_SCHEMA))
        .cast(META_SCHEMA)
    )
    parsed = parsed_cells(meta, columns, frame, data_from_row=_DATA_FROM_ROW)
    dates = data.select(text("started_at").alias("started_at"), text("submitted_at").alias("submitted_at"))
    return parsed._replace(dates=dates)


LAYOUTS = (Layout(name="surveymonkey", source_tool="surveymonkey", detect=detect, parse=parse, batched=True),)
