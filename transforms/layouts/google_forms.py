"""Google Forms: the "Download as CSV" of a form's response sheet (or of the form itself).

One header row: ``Timestamp`` first (``Horodateur`` in a French sheet), then one column
per question headed by its text; optional ``Email Address`` (``Email address`` in newer
forms) and quiz ``Score`` columns. Checkbox answers are joined by ", " in one cell (the
header is the question text alone; ``transforms.mapping`` splits the cell by matching
known labels), grid items are headed ``Prompt [statement]`` (kept as is, the resolver
splits it), and an "Other" free text is written in place of the option
(``other_in_place``).

Timestamps: ``M/D/YYYY H:MM:SS`` with no zone. The sheet writes them in the form owner's
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

import polars as pl

from transforms.layouts import META_SCHEMA, Layout, ParsedExport, SourceColumn, cells_from_columns
from transforms.timestamps import parse_timestamp

#: The first header of a response sheet, in the sheet owner's language.
_TIMESTAMP_NAMES = {"timestamp", "horodateur", "marca temporal", "zeitstempel", "carimbo de data/hora", "informazioni cronologiche"}
_EMAIL_NAMES = {"email address", "adresse e-mail", "adresse email", "email"}
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
    Not cryptographic: ids, not secrets.
    """
    byte_list = text.fill_null("").str.encode("hex").str.extract_all("..")
    byte = pl.element().str.to_integer(base=16).cast(_U64)
    position = pl.int_range(pl.len(), dtype=_U64)
    terms = byte_list.list.eval(_mix(byte + position * pl.lit(256, _U64) + pl.lit(1, _U64)))
    length = byte_list.list.len().cast(_U64) + pl.lit(1, _U64)
    return _mix(terms.list.sum().cast(_U64) + length * pl.lit(0x9E3779B97F4A7C15, _U64))


def _mix(z: pl.Expr) -> pl.Expr:
    """splitmix64's finaliser; a right shift is a floor division of an unsigned integer."""
    z = (z ^ (z // pl.lit(1 << 30, _U64))) * pl.lit(0xBF58476D1CE4E5B9, _U64)
    z = (z ^ (z // pl.lit(1 << 27, _U64))) * pl.lit(0x94D049BB133111EB, _U64)
    return z ^ (z // pl.lit(1 << 31, _U64))


def hex_digits(value: pl.Expr, digits: int = 16) -> pl.Expr:
    """The lowest ``digits`` (at most 16) hexadecimal digits of a UInt64, zero-padded."""
    # The value is repeated once per digit, each copy divided by its digit's weight.
    weights = pl.lit(pl.Series([16**power for power in range(digits - 1, -1, -1)], dtype=_U64))
    digit = (pl.element() // weights) % pl.lit(16, _U64)
    return value.cast(_U64).repeat_by(digits).list.eval(pl.lit(_HEX).str.slice(digit.cast(pl.Int64), 1)).list.join("")


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


def detect(header: list[list[str | None]]) -> bool:
    if not header or not header[0] or _norm(header[0][0]) not in _TIMESTAMP_NAMES:
        return False
    # One header row: the next row, if any, is a response whose first cell is a date.
    return len(header) < 2 or header[1][0] is None or bool(_DATE_LIKE.match(header[1][0]))


def parse(frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC") -> ParsedExport:
    names = header[0]
    meta_index = {"timestamp": 0}
    columns: list[SourceColumn] = []
    for index, name in enumerate(names):
        key = _norm(name)
        if index == 0 or not key:
            continue  # the Timestamp; columns with no header hold no question
        if key in _EMAIL_NAMES and "email" not in meta_index:
            meta_index["email"] = index
        elif key in _SCORE_NAMES:
            continue
        else:
            columns.append(SourceColumn(index=index, header=name))

    email = pl.lit(None, pl.Utf8)
    if "email" in meta_index:
        email = pl.col(f"c{meta_index['email']}").str.strip_chars().replace("", None)
    meta = (
        frame.filter(pl.col("source_row") >= _DATA_FROM_ROW)
        .select("source_row", pl.col("c0").alias("timestamp"), email.alias("email"))
        .with_columns(submitted_at=parse_timestamp(pl.col("timestamp"), time_zone=time_zone))
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
    cells = cells_from_columns(frame, tuple(columns), data_from_row=_DATA_FROM_ROW)
    return ParsedExport(meta=meta, columns=tuple(columns), cells=cells)


LAYOUTS = (Layout(name="google_forms", source_tool="google_forms", detect=detect, parse=parse, other_in_place=True),)
