"""Reading the timestamps survey tools (and Excel re-saves of their files) write.

``parse_timestamp`` turns a text column into ``Datetime(us, UTC)``. A value is read with
the first format below that matches it whole:

1. absolute times: ISO 8601 with an offset or a ``Z`` (``2020-02-19T18:16:42Z``,
   ``2020-02-19T18:16:42+01:00``), converted to UTC whatever ``time_zone`` says;
2. year-first local times (``2020-02-19 18:16:42`` as Qualtrics, Typeform and SPSS write
   them, ``2023-10-02 14:03`` after an Excel re-save), and day-first dotted or dashed ones
   (``02.10.2023 14:03``, German Excel; ``2-10-2023 14:03:04``, a Dutch sheet);
3. slash dates, whose day/month order the text does not always tell: US tools and US
   Excel write month first (SurveyMonkey ``10/02/2023 02:03:04 PM``, Google Forms
   ``10/2/2023 14:03:04``, Excel ``10/2/2023 2:03 PM``), French Excel writes day first
   (``02/10/2023 14:03``).

The slash rule, decided per column (per group inside ``over``/``group_by``): each
slash value is read both month-first and day-first, and the column takes the order
that reads more of its values. A single ``13/10/2023`` therefore makes the whole
column day-first, and a ``10/13/2023`` makes it month-first. When both orders read the
same number of values (every day and month is at most 12, e.g. a small file whose
respondents all answered on the 2nd to the 12th), the column is read month-first,
the order of the tools themselves, unless the caller knows better: ``day_first`` is
``True`` for a file known to come from a French Excel, or a Boolean expression such as
``pl.any_horizontal(reads_day_first(c) for c in the file's date columns)``, so that the
EndDate ``13/10/2023`` of a file settles its StartDate ``02/10/2023``. Values the chosen
order cannot read become null: one column is never read in a mix of both orders.

Local times (2 and 3) are in ``time_zone`` (an IANA name or ``"UTC"``); a local time
that the clock skips at a daylight-saving change is null, one it repeats is taken as
its first occurrence.
"""

from __future__ import annotations

import polars as pl

_NAIVE = pl.Datetime("us")

#: Local formats whose field order the text tells (year first; dotted and dashed dates day first).
UNAMBIGUOUS_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
)
#: Slash formats, written month first (day-first twins swap %m and %d). Two-digit years
#: come before four-digit ones: ``%Y`` would read ``10/2/23`` as the year 23.
SLASH_FORMATS = (
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y",
    "%m/%d/%Y",
)
#: Formats carrying their own offset (read as absolute times).
OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z")


def _first_match(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    # No cache of the texts read (any format's): hashing each text costs more than reading it
    # (50k slash times, the cascade: 231 -> 198 ms of CPU; the same values).
    return pl.coalesce([text.str.strptime(_NAIVE, fmt, strict=False, cache=False) for fmt in formats])


def _day_first(fmt: str) -> str:
    return fmt.replace("%m", "\0").replace("%d", "%m").replace("\0", "%d")


def _slash_reads(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(month-first, day-first) readings of slash dates."""
    return _first_match(text, SLASH_FORMATS), _first_match(text, tuple(_day_first(fmt) for fmt in SLASH_FORMATS))


def slash_votes(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(month-first, day-first): how many of the column's values each order reads, the
    counts the slash rule compares (they add up over the slices of a file)."""
    month_first, day_first = _slash_reads(expr.cast(pl.Utf8).str.strip_chars())
    return month_first.is_not_null().sum(), day_first.is_not_null().sum()


def reads_day_first(expr: pl.Expr) -> pl.Expr:
    """Boolean scalar: day-first reads more of the column's slash dates than month-first."""
    month_first, day_first = slash_votes(expr)
    return day_first > month_first


def parse_timestamp(
    expr: pl.Expr, *, time_zone: str, day_first: bool | pl.Expr = False, votes: tuple[int, int] | None = None
) -> pl.Expr:
    """A text timestamp as Datetime(us, UTC); local times are in ``time_zone``.

    ``day_first`` only breaks the tie of a column whose slash dates read both ways
    (see the module docstring); null where no format reads the value. ``votes``: the
    column's (month-first, day-first) counts (``slash_votes``) over the whole file, when
    ``expr`` is a slice of it: the order is the file's, not the slice's.
    """
    text = expr.cast(pl.Utf8).str.strip_chars()
    # Absolute times: a trailing Z is UTC; an explicit offset is converted to UTC.
    zulu = _first_match(text.str.strip_suffix("Z"), UNAMBIGUOUS_FORMATS[:4])
    zulu = pl.when(text.str.ends_with("Z")).then(zulu)
    offset = pl.coalesce(
        [
            text.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False, cache=False).dt.replace_time_zone(None)
            for fmt in OFFSET_FORMATS
        ]
    )
    absolute = pl.coalesce(zulu, offset)

    month_first, day_first_read = _slash_reads(text)
    n_month, n_day = month_first.is_not_null().sum(), day_first_read.is_not_null().sum()
    if votes is not None:
        n_month, n_day = pl.lit(votes[0]), pl.lit(votes[1])
    tie_break = day_first if isinstance(day_first, pl.Expr) else pl.lit(day_first)
    use_day_first = (n_day > n_month) | ((n_day == n_month) & tie_break)
    slash = pl.when(use_day_first).then(day_first_read).otherwise(month_first)

    # %Y also reads a two-digit year: only a four-digit year may open a year-first value.
    unambiguous = pl.when(text.str.contains(r"^\d{4}[-/]|^\d{1,2}[.-]\d{1,2}[.-]\d{4}")).then(
        _first_match(text, UNAMBIGUOUS_FORMATS)
    )
    local = pl.coalesce(unambiguous, slash)
    local_utc = (
        local.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )
    return pl.coalesce(absolute, local_utc).dt.replace_time_zone("UTC")


#: The local time the tools write themselves (``2023-10-02 14:03:04``): read with this one format first.
_PLAIN_FORMAT = "%Y-%m-%d %H:%M:%S"


def time_form(text: pl.Expr) -> pl.Expr:
    """The form of a written time, every digit shown as 9 (``31/13/2023 25h`` -> ``99/99/9999 99h``):
    what a message shows of a time no format reads."""
    return text.cast(pl.Utf8).str.strip_chars().str.replace_all(r"\d", "9")


#: The columns of ``unread_times``.
UNREAD_SCHEMA = {"name": pl.Utf8, "written": pl.Int64, "unread": pl.Int64, "forms": pl.List(pl.Utf8)}


def read_name(name: str) -> str:
    """The column of ``transforms.layouts.date_reads`` that holds the time a layout read from the date ``name``."""
    return f"{name}:read"


def read_times_unread(reads: pl.LazyFrame, *, forms: int = 3) -> pl.LazyFrame:
    """``unread_times`` of the dates as a layout read them (``transforms.layouts.date_reads``:
    each date's text, and the time read from it under ``read_name(date)``): a written time is
    unread where that read gave none, each in the zone and day/month order the layout read it
    in (no second reading of the dates), all in one pass over the rows."""
    columns = reads.collect_schema().names()
    names = [name for name in columns if read_name(name) in columns]
    if not names:
        return pl.LazyFrame(schema=UNREAD_SCHEMA)
    counted = []
    for number, name in enumerate(names):
        text = pl.col(name)
        stripped = text.str.strip_chars()
        unread = text.is_not_null() & pl.col(read_name(name)).is_null() & (stripped != "")
        counted += [
            text.is_not_null().sum().cast(pl.Int64).alias(f"written{number}"),
            unread.sum().cast(pl.Int64).alias(f"unread{number}"),
            time_form(stripped.filter(unread))
            .unique(maintain_order=True)
            .head(forms)
            .implode()
            .alias(f"forms{number}"),
        ]
    # One row of every date's counts, then a row per date (a list of structs, exploded).
    rows = [
        pl.struct(pl.lit(name.lstrip("_")).alias("name"), *[pl.col(f"{part}{number}").alias(part) for part in ("written", "unread", "forms")])
        for number, name in enumerate(names)
    ]  # fmt: skip
    return reads.select(counted).select(pl.concat_list(rows).alias("_date")).explode("_date").unnest("_date")


def unread_times(
    dates: pl.LazyFrame, *, time_zone: str, votes: dict[str, tuple[int, int]] | None = None, forms: int = 3
) -> pl.LazyFrame:
    """One row per date column of ``dates`` (text; ``name`` without a leading ``_``): how many of
    its values are written (``written``), how many of those ``parse_timestamp`` does not read
    (``unread``: null) and the forms of at most ``forms`` of these (``time_form``); ``votes``:
    the file's day/month votes by column (``slash_votes``), so that the order is the file's."""
    names = dates.collect_schema().names()
    parts = []
    for name in names:
        value = pl.col(name).cast(pl.Utf8)
        written = value.is_not_null()  # (a raw cell left empty is null)
        # Only the values the plain form does not read go through the formats' cascade: on a
        # tool's own export, none (the cascade's thirty-odd formats are read on those alone).
        # No cache of the texts read: times are mostly distinct, and hashing each costs more than reading it.
        plain = value.str.strptime(_NAIVE, _PLAIN_FORMAT, strict=False, cache=False)
        odd = (
            dates.filter(written & plain.is_null())
            .select(value.str.strip_chars().alias("_text"))
            .filter(pl.col("_text") != "")
        )
        read = parse_timestamp(pl.col("_text"), time_zone=time_zone, votes=(votes or {}).get(name))
        unread = odd.filter(read.is_null())
        parts.append(
            pl.concat(
                [
                    dates.select(name=pl.lit(name.lstrip("_")), written=written.sum().cast(pl.Int64)),
                    unread.select(
                        unread=pl.len().cast(pl.Int64),
                        forms=time_form(pl.col("_text")).unique(maintain_order=True).head(forms).implode(),
                    ),
                ],
                how="horizontal",
            )
        )
    if not parts:
        return pl.LazyFrame(schema=UNREAD_SCHEMA)
    return pl.concat(parts, how="vertical")
