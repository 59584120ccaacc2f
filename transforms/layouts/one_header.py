"""What the layouts with one header row and named metadata columns share (LimeSurvey,
Microsoft Forms, Alchemer): finding the metadata columns by name, and the ``meta`` frame
built from them.

A layout hands over ``fields``: its metadata headers (folded with :func:`header_name`)
-> the ``meta`` field they feed (``response_id``, ``started_at``, ``submitted_at``,
``language``, ``email``, ``ip_address``, ``status``) or ``None`` for a column of the tool
that is neither a question nor a ``meta`` field (a page number, a seed, a name: left out
of ``columns`` and never read).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from transforms.layouts import META_SCHEMA, SourceColumn, Votes, date_reads, date_texts, with_timestamps

DATA_FROM_ROW = 2


def header_name(cell: str | None) -> str:
    """A header folded for comparison: spaces collapsed, lower case, a BOM dropped."""
    return " ".join((cell or "").replace("\ufeff", "").split()).lower()


def split_header(
    names: list[str | None], fields: dict[str, str | None], *, is_system: Callable[[str], bool] = lambda _: False
) -> tuple[dict[str, int], tuple[SourceColumn, ...]]:
    """(meta field -> its column, the other columns with a header): the first column of
    each field wins; a header in ``fields`` or for which ``is_system`` holds is no question."""
    meta: dict[str, int] = {}
    columns: list[SourceColumn] = []
    for index, name in enumerate(names):
        key = header_name(name)
        if not key:
            continue
        if key in fields:
            field = fields[key]
            if field is not None:
                meta.setdefault(field, index)
        elif not is_system(key):
            columns.append(SourceColumn(index=index, header=name or ""))
    return meta, tuple(columns)


def meta_text(meta_index: dict[str, int], field: str) -> pl.Expr:
    """A metadata column's text, stripped, null where empty or absent."""
    if field not in meta_index:
        return pl.lit(None, pl.Utf8)
    return pl.col(f"c{meta_index[field]}").cast(pl.Utf8).str.strip_chars().replace("", None)


def meta_dates(
    frame: pl.LazyFrame, meta_index: dict[str, int], *, submitted_text: pl.Expr | None = None
) -> pl.LazyFrame:
    """The ``dates`` of the data rows (``ParsedExport.dates``): the texts ``read_meta`` reads as times."""
    return date_texts(frame.filter(pl.col("source_row") >= DATA_FROM_ROW), _times(meta_index, submitted_text, "UTC"))


def _times(meta_index: dict[str, int], submitted_text: pl.Expr | None, time_zone: str) -> dict:
    submitted = submitted_text if submitted_text is not None else meta_text(meta_index, "submitted_at")
    return {"started_at": (meta_text(meta_index, "started_at"), time_zone), "submitted_at": (submitted, time_zone)}


def read_meta(
    frame: pl.LazyFrame,
    meta_index: dict[str, int],
    *,
    time_zone: str,
    is_finished: pl.Expr,
    language: pl.Expr | None = None,
    email: pl.Expr | None = None,
    submitted_text: pl.Expr | None = None,
    votes: Votes | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(the ``meta`` contract of the data rows, the dates as it read them: ``ParsedExport.date_reads``),
    from one plan: ids from ``response_id`` (the spreadsheet row where the file has none), times in
    ``time_zone`` (the tools write local times without a zone), the duration from the two times;
    ``votes``: the whole file's, for a slice of it."""
    data = frame.filter(pl.col("source_row") >= DATA_FROM_ROW)
    texts = _times(meta_index, submitted_text, time_zone)
    timed = with_timestamps(data, texts, one_date_order=True, votes=votes)
    response_id = meta_text(meta_index, "response_id")
    meta = (
        timed.select(
            pl.col("source_row").cast(pl.Int64),
            pl.coalesce(response_id, pl.col("source_row").cast(pl.Utf8)).alias("response_id"),
            "started_at",
            "submitted_at",
            ((pl.col("submitted_at") - pl.col("started_at")).dt.total_microseconds() / 1e6).alias("duration_s"),
            is_finished.fill_null(False).alias("is_finished"),
            (language if language is not None else pl.lit(None, pl.Utf8)).alias("language"),
            (email if email is not None else meta_text(meta_index, "email")).alias("email"),
            meta_text(meta_index, "ip_address").alias("ip_address"),
        )
        .select(list(META_SCHEMA))
        .cast(META_SCHEMA)
    )
    return meta, date_reads(timed, texts)


#: Language names some tools write instead of codes (Alchemer writes ``English``, ``French``).
_LANGUAGE_NAMES = {
    "english": "en",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "german": "de",
    "deutsch": "de",
    "spanish": "es",
    "español": "es",
    "italian": "it",
    "italiano": "it",
    "portuguese": "pt",
    "português": "pt",
    "dutch": "nl",
}


def language_code(text: pl.Expr) -> pl.Expr:
    """A language as its ISO 639-1 code: a code (``fr``, ``fr-CA``, ``pt_BR``) cut to its two
    letters, an English or native name (``French``, ``Deutsch``) looked up, else null."""
    folded = text.str.strip_chars().str.to_lowercase()
    named = folded.replace_strict(_LANGUAGE_NAMES, default=None, return_dtype=pl.Utf8)
    coded = pl.when(folded.str.contains(r"^[a-z]{2}(?:[-_][a-z0-9]+)?$")).then(folded.str.slice(0, 2))
    return pl.coalesce(named, coded)


def replaced_cells(
    wide: pl.LazyFrame, columns: tuple[SourceColumn, ...], mapping: dict[str, str | None]
) -> pl.LazyFrame:
    """``wide`` with whole cells (stripped) found in ``mapping`` replaced (``None``: emptied)."""
    if not columns:
        return wide
    keys, values = list(mapping), list(mapping.values())

    def cell(name: str) -> pl.Expr:
        value = pl.col(name)
        stripped = value.str.strip_chars()
        return (
            pl.when(stripped.is_in(keys))
            .then(stripped.replace_strict(keys, values, default=None, return_dtype=pl.Utf8))
            .otherwise(value)
            .alias(name)
        )

    return wide.with_columns([cell(str(column.index)) for column in columns])
