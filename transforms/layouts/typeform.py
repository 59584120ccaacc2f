"""Typeform CSV exports.

One header row. ``#`` first (read wherever it was moved to): the response token (32
characters; hexadecimal in older exports), then one column per question headed by its text. A multi-select has one column
per option headed by the option label alone (the cell holds the label or is empty), and
an ``Other`` column after its options for the free text; a single choice with an "Other"
choice has an ``Other`` column after it too. Yes/No questions are written ``1``/``0``.
Values are kept as exported: the resolver (``transforms.headers``) attaches option
columns to their question from the run of labels.

Metadata, never questions: ``Start Date (UTC)``, ``Submit Date (UTC)`` (``2016-03-29
21:21:23``, UTC as the header says, whatever ``time_zone`` the caller gives), ``Network
ID`` (a hash of the respondent's network, not an address); newer exports add ``Response Type`` (``completed`` / ``partial``),
``Stage Date (UTC)``, ``Tags``, ``Score``, ``Ending``, and the form's hidden fields: the
run of lower-case identifiers (``email``, ``utm_source``, as Typeform names hidden fields)
just before ``Response Type``. A hidden field named ``email`` feeds ``meta.email``.
"""

from __future__ import annotations

import re

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

#: Typeform's own columns (lower-cased).
_SYSTEM = {
    "#",
    "response type",
    "start date (utc)",
    "stage date (utc)",
    "submit date (utc)",
    "network id",
    "tags",
    "score",
    "ending",
}
_DATES = {"start date (utc)", "submit date (utc)"}
_HIDDEN_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL_FIELDS = {"email", "e_mail", "email_address"}
_DATA_FROM_ROW = 2


def _norm(cell: str | None) -> str:
    return " ".join((cell or "").split()).lower()


def detect(header: list[list[str | None]]) -> bool:
    """``#`` (first as exported, or moved) and Typeform's UTC date columns."""
    if not header or not header[0] or not any((cell or "").strip() == "#" for cell in header[0]):
        return False
    return any(_norm(cell) in _DATES for cell in header[0])


def _split_header(names: list[str | None]) -> tuple[dict[str, int], tuple[SourceColumn, ...]]:
    keys = [_norm(name) for name in names]
    meta = {key: index for index, key in reversed(list(enumerate(keys))) if key in _SYSTEM}
    # Hidden fields: lower-case identifiers just before the trailing block that opens with
    # Response Type (newer exports; older ones are not scanned, lest a one-word option
    # label such as "hackathons" be taken for one).
    hidden: dict[str, int] = {}
    index = meta.get("response type", 0) - 1
    while index >= 0 and names[index] is not None and _HIDDEN_FIELD.match(names[index].strip()):
        hidden[keys[index]] = index
        index -= 1
    skip = set(meta.values()) | set(hidden.values())
    columns = tuple(
        SourceColumn(index=i, header=name)
        for i, name in enumerate(names)
        if i not in skip and keys[i] and keys[i] not in _SYSTEM
    )
    email = next((hidden[name] for name in _EMAIL_FIELDS if name in hidden), None)
    if email is not None:
        meta["email"] = email
    return meta, columns


def parse(
    frame: pl.LazyFrame,
    header: list[list[str | None]],
    *,
    time_zone: str = "UTC",  # noqa: ARG001
    votes: Votes | None = None,
) -> ParsedExport:
    meta_index, columns = _split_header(header[0])
    data = frame.filter(pl.col("source_row") >= _DATA_FROM_ROW)

    def text(key: str) -> pl.Expr:
        if key not in meta_index:
            return pl.lit(None, pl.Utf8)
        return pl.col(f"c{meta_index[key]}").str.strip_chars().replace("", None)

    submitted = pl.col("submitted_at")
    response_type = pl.col("response_type").str.to_lowercase()
    texts = {"started_at": (text("start date (utc)"), "UTC"), "submitted_at": (text("submit date (utc)"), "UTC")}
    timed = with_timestamps(data, texts, votes=votes)
    meta = (
        timed.select(
            pl.col("source_row").cast(pl.Int64),
            text("#").alias("response_id"),
            "started_at",
            "submitted_at",
            text("response type").alias("response_type"),
            text("email").alias("email"),
        )
        .with_columns(
            duration_s=(submitted - pl.col("started_at")).dt.total_microseconds() / 1_000_000,
            # Response Type says it where the export has it; older exports hold completed responses only.
            is_finished=pl.when(response_type.is_not_null())
            .then(response_type == "completed")
            .otherwise(submitted.is_not_null()),
            language=pl.lit(None, pl.Utf8),
            ip_address=pl.lit(None, pl.Utf8),
        )
        .select(list(META_SCHEMA))
        .cast(META_SCHEMA)
    )
    parsed = parsed_cells(meta, columns, frame, data_from_row=_DATA_FROM_ROW)
    return parsed._replace(dates=date_texts(data, texts), date_reads=date_reads(timed, texts))


LAYOUTS = (Layout(name="typeform", source_tool="typeform", detect=detect, parse=parse, batched=True),)
