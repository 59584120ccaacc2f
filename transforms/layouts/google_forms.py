"""Google Forms: the "Download as CSV" of a form's response sheet (or of the form itself).

One header row: ``Timestamp`` first (``Horodateur`` in a French sheet; read wherever a
person moved it), then one column per question headed by its text; optional ``Email
Address`` (``Email address`` in newer forms) and quiz ``Score`` columns. Checkbox
answers are joined by ", " in one cell (the
header is the question text alone; ``transforms.mapping`` splits the cell by matching
known labels), grid items are headed ``Prompt [statement]`` (kept as is, the resolver
splits it), and an "Other" free text is written in place of the option
(``other_in_place``).

Timestamps: ``M/D/YYYY H:MM:SS`` with no zone (``D/M/YYYY`` in a sheet whose Timestamp is
headed in another language: its dates that read both ways are read day first). The sheet writes them in the form owner's
time zone; nothing in the file says which, so they are read in the ``time_zone`` the
caller gives for Google Forms (the per-source setting, UTC by default; a sheet in a
day-first locale is recognised per column by ``transforms.timestamps``).
Google Forms has no response id, no start time, no duration and no language:
``started_at`` and ``duration_s`` are null, ``language`` is derived later from the labels.

Response ids are synthesised (see :func:`response_ids`) to stay the same when the same
response comes again in tomorrow's cumulative export.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from transforms.layouts import (
    GOOGLE_FORMS_EMAIL,
    META_SCHEMA,
    Layout,
    ParsedExport,
    SourceColumn,
    parsed_cells,
)
from transforms.timestamps import parse_timestamp

#: The first header of a response sheet, in the sheet owner's language.
_TIMESTAMP_NAMES = {
    "timestamp",
    "horodateur",
    "marca temporal",
    "zeitstempel",
    "carimbo de data/hora",
    "informazioni cronologiche",
    "タイムスタンプ",
    "tijdstempel",
}
_SCORE_NAMES = {"score", "total score"}
#: A first data cell that looks like a date (the sheet has one header row).
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")
_DATA_FROM_ROW = 2

_HEX = "0123456789abcdef"
_U64 = pl.UInt64


def _norm(cell: str | None) -> str:
    return " ".join((cell or "").split()).lower()


def stable_hash(text: pl.Expr) -> pl.Expr:
    """A 64-bit hash of a text's UTF-8 bytes, the same on every machine and polars version.

    ``pl.Expr.hash`` is only stable within one polars version; ids built on it would all
    change with an upgrade. This one is written out: each byte, shifted by its position,
    goes through the splitmix64 finaliser and the results are summed (wrapping UInt64
    arithmetic), then the sum plus a multiple of the length goes through it once more.
    Not cryptographic: ids, not secrets. Computed with numpy over all the bytes of a
    column at once (a list per text inside polars took seconds per hundred thousand).
    """
    return text.map_batches(_stable_hash_series, return_dtype=_U64)


def _stable_hash_series(texts: pl.Series) -> pl.Series:
    encoded = [value.encode("utf-8") for value in texts.cast(pl.Utf8).fill_null("").to_list()]
    lengths = np.fromiter(map(len, encoded), dtype=np.uint64, count=len(encoded))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
    starts = np.zeros(len(encoded), dtype=np.uint64)
    if len(encoded) > 1:
        starts[1:] = np.cumsum(lengths)[:-1]
    position = np.arange(len(data), dtype=np.uint64) - np.repeat(starts, lengths.astype(np.int64))
    with np.errstate(over="ignore"):
        terms = _mix_array(data + position * np.uint64(256) + np.uint64(1))
        sums = np.zeros(len(encoded), dtype=np.uint64)
        owner = np.repeat(np.arange(len(encoded)), lengths.astype(np.int64))
        np.add.at(sums, owner, terms)  # wrapping sums, an empty text's is 0
        hashed = _mix_array(sums + (lengths + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    return pl.Series(texts.name, hashed, dtype=_U64)


def _mix_array(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping multiplication)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hex_digits(value: pl.Expr, digits: int = 16) -> pl.Expr:
    """The lowest ``digits`` (at most 16) hexadecimal digits of a UInt64, zero-padded."""
    mask = (1 << (4 * digits)) - 1
    return value.cast(_U64).map_batches(
        lambda values: pl.Series(
            values.name, [None if v is None else f"{v & mask:0{digits}x}" for v in values.to_list()], dtype=pl.Utf8
        ),
        return_dtype=pl.Utf8,
    )


def response_ids(timestamp_text: pl.Expr, submitted_at: pl.Expr, email: pl.Expr) -> pl.Expr:
    """``gf-`` + 16 hex digits of a stable hash of (submission second, email, occurrence).

    What a cumulative export keeps for an old response: its submission second (the sheet
    may change how it displays it, so the parsed instant is hashed, the text only where it
    does not parse), its email, and its place among the responses of that same second and
    email (the sheet appends submissions in arrival order). The answer cells are left out
    on purpose: the owner may correct a cell, or add a notes or formula column, and the
    response must keep its id so that the new version supersedes the old. Two respondents
    submitting in the same second get occurrences 0 and 1, so ids never collide within a
    file. A respondent who edits a response gets a new Timestamp, hence a new id: nothing
    in the file links the two versions.
    """
    second = pl.coalesce(submitted_at.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), timestamp_text.str.strip_chars(), pl.lit(""))
    person = email.str.strip_chars().str.to_lowercase().fill_null("")
    key = pl.concat_str([second, person], separator="\x1f")
    occurrence = pl.int_range(pl.len(), dtype=pl.Int64).over(key)
    return pl.lit("gf-") + hex_digits(stable_hash(pl.concat_str([key, occurrence.cast(pl.Utf8)], separator="\x1f")))


def _timestamp_index(names: list[str | None]) -> int | None:
    """The Timestamp column: first as the sheet writes it, wherever it was moved to since."""
    return next((index for index, name in enumerate(names) if _norm(name) in _TIMESTAMP_NAMES), None)


def detect(header: list[list[str | None]]) -> bool:
    timestamp = _timestamp_index(header[0]) if header else None
    if timestamp is None:
        return False
    # One header row: the next row, if any, is a response whose Timestamp is a date.
    cell = header[1][timestamp] if len(header) > 1 and timestamp < len(header[1]) else None
    return cell is None or bool(_DATE_LIKE.match(cell))


def parse(frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC") -> ParsedExport:
    names = header[0]
    meta_index = {"timestamp": _timestamp_index(names)}
    columns: list[SourceColumn] = []
    for index, name in enumerate(names):
        key = _norm(name)
        if index == meta_index["timestamp"] or not key:
            continue  # the Timestamp; columns with no header hold no question
        if key in GOOGLE_FORMS_EMAIL and "email" not in meta_index:
            meta_index["email"] = index
        elif key in _SCORE_NAMES:
            continue
        else:
            columns.append(SourceColumn(index=index, header=name))

    # A sheet whose Timestamp is headed in another language than English is in a locale that
    # writes D/M/YYYY: its dates that read both ways (every day 12 or under) are read day first.
    day_first = _norm(names[meta_index["timestamp"]]) != "timestamp"
    email = pl.lit(None, pl.Utf8)
    if "email" in meta_index:
        email = pl.col(f"c{meta_index['email']}").str.strip_chars().replace("", None)
    meta = (
        frame.filter(pl.col("source_row") >= _DATA_FROM_ROW)
        .select("source_row", pl.col(f"c{meta_index['timestamp']}").alias("timestamp"), email.alias("email"))
        .with_columns(submitted_at=parse_timestamp(pl.col("timestamp"), time_zone=time_zone, day_first=day_first))
        .select(
            pl.col("source_row").cast(pl.Int64),
            response_ids(pl.col("timestamp"), pl.col("submitted_at"), pl.col("email")).alias("response_id"),
            pl.lit(None, META_SCHEMA["started_at"]).alias("started_at"),
            "submitted_at",
            pl.lit(None, pl.Float64).alias("duration_s"),
            pl.lit(True).alias("is_finished"),  # a Google Form records only submitted responses
            pl.lit(None, pl.Utf8).alias("language"),
            "email",
            pl.lit(None, pl.Utf8).alias("ip_address"),
        )
        .cast(META_SCHEMA)
    )
    return parsed_cells(meta, tuple(columns), frame, data_from_row=_DATA_FROM_ROW)


LAYOUTS = (
    Layout(
        name="google_forms",
        source_tool="google_forms",
        detect=detect,
        parse=parse,
        other_in_place=True,
        ids_from_personal_data=True,
    ),
)
