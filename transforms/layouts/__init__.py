"""Survey-tool layouts: one module per layout, one registry line per module.

A layout turns a raw frame (``surveyhouse.read``: columns ``c0..cN`` of text, header rows
included, ``source_row`` 1-based) into a :class:`ParsedExport`, without knowing the
questionnaire: it knows only its tool's conventions (how many header rows, which
columns are the tool's metadata, how it writes dates, where a column's question text
and its sub-label live). Matching columns to questions is shared by every layout
(``transforms.headers``), and so is turning values into option codes
(``transforms.mapping``).

Contract of ``ParsedExport``:

``meta`` (LazyFrame, one row per data row of the file)
    source_row    Int64                  1-based spreadsheet row
    response_id   Utf8                   the tool's id; a stable synthetic one where the tool has none
    started_at    Datetime(us, UTC)      null where the tool does not say
    submitted_at  Datetime(us, UTC)      null where the tool does not say
    duration_s    Float64                the tool's duration, else submitted - started, else null
    is_finished   Boolean                false for in-progress / partial responses
    language      Utf8                   'en' / 'fr' where the tool records it, else null
    email         Utf8                   null where absent
    ip_address    Utf8                   null where absent

``columns`` (tuple of SourceColumn): every non-metadata column of the file, with what the
    tool shows as its question text and its sub-label (option, statement or None).

``cells`` (LazyFrame, one row per data row and answer column with a non-empty value)
    source_row Int64, column Int32 (SourceColumn.index), value Utf8 (as exported)

``wide`` (LazyFrame): the same cells as the file has them, one row per data row:
    ``source_row`` Int64 and one Utf8 column per SourceColumn named ``str(index)``, null
    where ``cells`` has no cell. ``cells`` is ``cells_from_wide(wide)``; ingestion maps
    ``wide`` (no cell-per-row frame at scale), ``cells`` is the tests' reference.

``parse(frame, header, *, time_zone="UTC")``: ``time_zone`` (an IANA name) is the zone of
the local times of a file whose tool does not write one (SurveyMonkey, Google Forms, SPSS,
a Qualtrics export without ``timeZone``): the per-source setting. A zone the file names
always wins.

``dates`` (LazyFrame or None): the text of each date the layout reads, one Utf8 column per
    date, one row per data row: what the day/month order of slash dates is decided on.

A ``batched`` layout's parse takes the file a slice of rows at a time: ``parse(slice,
header, time_zone=..., votes=...)``, ``votes`` the whole file's (month-first, day-first)
reads of each date of ``dates`` (``date_votes`` summed over the slices), so that every
slice reads its dates in the file's order. The others (Google Forms numbers a person's
submissions in one second over the whole file) take the whole file.

A layout reads one kind of raw file (``surveyhouse.read``: ``delimited`` text and Excel
``workbook``s hold the same cells; an ``spss`` file has its own shape): ``reads``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import polars as pl

from transforms.display import excerpt
from transforms.timestamps import parse_timestamp, read_name, reads_day_first, slash_votes

META_SCHEMA = {
    "source_row": pl.Int64,
    "response_id": pl.Utf8,
    "started_at": pl.Datetime("us", "UTC"),
    "submitted_at": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64,
    "is_finished": pl.Boolean,
    "language": pl.Utf8,
    "email": pl.Utf8,
    "ip_address": pl.Utf8,
}
CELLS_SCHEMA = {"source_row": pl.Int64, "column": pl.Int32, "value": pl.Utf8}

#: The sub-labels the tools write under a question alone in its column, meaning "the answer
#: itself" rather than an option (Qualtrics' "Selected Choice", SurveyMonkey's row-2
#: "Response" and "Open-Ended Response"), in the languages a tool's account is set to;
#: lower case, single spaces. The one list the readers, the resolver and the draft use.
WHOLE_ANSWER = frozenset(
    {
        "selected choice", "response", "open-ended response",
        "choix sélectionné", "réponse", "réponse ouverte",
        "antwort", "offene antwort",
        "respuesta", "respuesta abierta",
        "risposta", "risposta aperta",
        "resposta", "resposta aberta",
        "antwoord", "open antwoord",
    }
)  # fmt: skip
#: Cells of a split multi-select column (one column per option) that say the option was
#: chosen, or not, in the languages the tools write them (lower case). The one list the
#: mapping and the draft read such cells with.
CHOSEN_WORDS = frozenset(
    {"1", "true", "yes", "x", "selected", "checked", "oui", "coché", "ja", "sí", "si", "sì", "sim"}
)
NOT_CHOSEN_WORDS = frozenset({"0", "false", "-99", "-98", "no", "non", "nein", "não", "nee"})
#: The header of Google Forms' "collect email addresses" column, in the sheet owner's
#: language (lower case, single spaces).
GOOGLE_FORMS_EMAIL = frozenset(
    {
        "email address", "email", "adresse e-mail", "adresse email", "e-mail-adresse",
        "dirección de correo electrónico", "correo electrónico", "indirizzo email", "indirizzo e-mail",
        "endereço de e-mail", "e-mailadres",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SourceColumn:
    index: int  # position in the raw frame: column c{index}
    header: str  # the question text as the tool shows it (may embed the sub-label: "Q - option", "Q [item]")
    sub_label: str | None = None  # option or statement where the tool puts it in its own header cell


class ParsedExport(NamedTuple):
    meta: pl.LazyFrame
    columns: tuple[SourceColumn, ...]
    cells: pl.LazyFrame
    wide: pl.LazyFrame
    dates: pl.LazyFrame | None = None
    #: The dates as the layout read them (``date_reads``): each date's text and the time read from
    #: it, from the plan ``meta`` is made from (collected together, each date is read once).
    date_reads: pl.LazyFrame | None = None


#: A file's dates: name -> (month-first, day-first) reads of its slash dates (``date_votes``).
Votes = Mapping[str, tuple[int, int]]


class Parse(Protocol):
    def __call__(
        self, frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC", votes: Votes | None = None
    ) -> ParsedExport: ...


#: The kinds of raw file (``surveyhouse.read.RawExport.kind``) a text layout reads.
TEXT_KINDS = ("delimited", "workbook")


@dataclass(frozen=True)
class Layout:
    name: str  # e.g. "qualtrics", "qualtrics_legacy"
    source_tool: str  # a key of TOOL_NAMES
    detect: Callable[[list[list[str | None]]], bool]  # on the first three raw rows
    parse: Parse  # (raw frame, header rows, *, time_zone for local times the file does not zone)
    #: The tool writes an "Other" free text in place of the option (Google Forms).
    other_in_place: bool = False
    #: Kinds of raw file this layout reads.
    reads: tuple[str, ...] = TEXT_KINDS
    #: Its parse takes a slice of the file's rows, given the file's date ``votes``.
    batched: bool = False
    #: The response ids it makes hash personal data (Google Forms: the email): staging keys them
    #: (``transforms.privacy.keyed_response_ids``).
    ids_from_personal_data: bool = False


class UnknownLayout(ValueError):
    """No registered layout recognises the file (or it is an export of a tool that is not supported)."""


#: The tools whose exports are read (``Layout.source_tool`` -> the tool's name), in the order messages list them.
TOOL_NAMES = {
    "qualtrics": "Qualtrics",
    "surveymonkey": "SurveyMonkey",
    "google_forms": "Google Forms",
    "typeform": "Typeform",
    "limesurvey": "LimeSurvey",
    "microsoft_forms": "Microsoft Forms",
    "alchemer": "Alchemer (SurveyGizmo)",
    "spss": "SPSS",
}


def supported_tools() -> str:
    """The supported tools, for a message: ``Qualtrics, SurveyMonkey, ... and SPSS``."""
    names = list(TOOL_NAMES.values())
    return ", ".join(names[:-1]) + " and " + names[-1]


def wide_from_columns(
    frame: pl.LazyFrame, columns: tuple[SourceColumn, ...], *, data_from_row: int, unanswered: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """The answer columns of the data rows, a cell null where it is empty (blank once
    stripped) or, stripped, one of ``unanswered`` (a tool's "seen but not answered" code):
    the ``wide`` contract."""
    data = frame.filter(pl.col("source_row") >= data_from_row)

    def cell(column: SourceColumn) -> pl.Expr:
        value = pl.col(f"c{column.index}")
        # One membership test, not a comparison and a test (a third of the plan's time, measured).
        kept = ~value.str.strip_chars().is_in(["", *unanswered])
        return pl.when(kept).then(value).alias(str(column.index))

    return data.select(pl.col("source_row").cast(pl.Int64), *[cell(column) for column in columns])


def cells_from_wide(wide: pl.LazyFrame) -> pl.LazyFrame:
    """One row per data row and answer column with a non-empty value (the ``cells`` contract)."""
    if wide.collect_schema().len() == 1:
        return pl.LazyFrame(schema=CELLS_SCHEMA)
    long = wide.unpivot(index="source_row", variable_name="column", value_name="value")
    return long.drop_nulls("value").select(
        pl.col("source_row").cast(pl.Int64),
        pl.col("column").cast(pl.Int32),
        pl.col("value"),
    )


def parsed_cells(
    meta: pl.LazyFrame,
    columns: tuple[SourceColumn, ...],
    frame: pl.LazyFrame,
    *,
    data_from_row: int,
    unanswered: tuple[str, ...] = (),
) -> ParsedExport:
    """A ParsedExport whose ``cells`` and ``wide`` are the answer columns of ``frame``."""
    columns = tuple(columns)
    wide = wide_from_columns(frame, columns, data_from_row=data_from_row, unanswered=unanswered)
    cells = cells_from_wide(wide) if columns else pl.LazyFrame(schema=CELLS_SCHEMA)
    return ParsedExport(meta=meta, columns=columns, cells=cells, wide=wide)


#: The local time the tools write themselves (Qualtrics, Typeform, SPSS): ``2023-10-02 14:03:04``.
_PLAIN_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
_NAIVE = pl.Datetime("us")


def date_texts(frame: pl.LazyFrame, texts: dict[str, tuple[pl.Expr, str]]) -> pl.LazyFrame:
    """The ``dates`` of a ParsedExport: the text of each date of ``texts`` (name -> (text, time zone))."""
    return frame.select([text.cast(pl.Utf8).alias(name) for name, (text, _) in texts.items()])


def date_reads(timed: pl.LazyFrame, texts: dict[str, tuple[pl.Expr, str]]) -> pl.LazyFrame:
    """The ``date_reads`` of a ParsedExport, from ``timed`` (``with_timestamps(frame, texts)``): per
    date, its text (as ``date_texts`` gives it) and the time read (``read_name``; null where the
    layout's formats read nothing, or the time does not exist in the zone it was read in)."""
    return timed.select(
        *[text.cast(pl.Utf8).alias(name) for name, (text, _) in texts.items()],
        *[pl.col(name).alias(read_name(name)) for name in texts],
    )


def date_votes(dates: pl.LazyFrame) -> pl.LazyFrame:
    """One row: the (month-first, day-first) reads (``slash_votes``) of each date of ``dates``,
    ``month:<date>`` and ``day:<date>``: what a file's slices add up to decide its day/month order."""
    names = dates.collect_schema().names()
    # Only a value with a slash can be a slash date: the others are not read twenty ways.
    slashed = {name: pl.when(pl.col(name).str.contains("/", literal=True)).then(pl.col(name)) for name in names}
    votes = [
        vote.alias(f"{part}:{name}")
        for name, text in slashed.items()
        for part, vote in zip(("month", "day"), slash_votes(text))
    ]
    return dates.select(votes)


def votes_of(counts: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """The votes of ``date_votes``' row, name -> (month-first, day-first)."""
    row = counts.row(0, named=True) if counts.height else {}
    names = [column.split(":", 1)[1] for column in counts.columns if column.startswith("month:")]
    return {name: (row.get(f"month:{name}") or 0, row.get(f"day:{name}") or 0) for name in names}


def added_votes(total: Votes, more: Votes) -> dict[str, tuple[int, int]]:
    """Two slices' votes together."""
    names = dict.fromkeys([*total, *more])
    return {n: tuple(a + b for a, b in zip(total.get(n, (0, 0)), more.get(n, (0, 0)))) for n in names}


def with_timestamps(
    frame: pl.LazyFrame,
    texts: dict[str, tuple[pl.Expr, str]],
    *,
    one_date_order: bool = False,
    votes: Votes | None = None,
) -> pl.LazyFrame:
    """``frame`` plus one Datetime(us, UTC) column per name in ``texts`` (name -> (text, time zone)).

    The values of ``transforms.timestamps.parse_timestamp(text, time_zone=zone)``; with
    ``one_date_order`` the columns share one day/month order, day first when one of them
    reads only day first (``day_first=`` that vote): an Excel re-save writes every date of
    a file in one order, so an EndDate ``13/10/2023`` settles a StartDate ``02/10/2023``.

    Read in two passes: a value in the tools' plain form (``2023-10-02 14:03:04``) with
    that one format; only the others (Excel re-saves, slash dates, offsets) through the
    cascade of formats, which then sees a column that is null where the first pass read
    it, and costs next to nothing on a tool's own export. A plain value holds no slash,
    so no day/month vote changes.

    ``votes``: the whole file's (``date_votes`` of its ``date_texts``), when ``frame`` is a
    slice of it: the day/month order is the file's.
    """
    if not texts:
        return frame
    text_columns = {name: f"_{name}_text" for name in texts}
    if votes is not None:
        file_votes = {name: votes.get(name, (0, 0)) for name in texts}
        day_first = pl.lit(one_date_order and any(day > month for month, day in file_votes.values()))
    elif one_date_order:
        day_first = pl.any_horizontal([reads_day_first(pl.col(f"_{name}_slash")) for name in texts])
    else:
        day_first = pl.lit(False)
    plain, rest, read = [day_first.alias("_day_first")], [], []
    for name, (_, zone) in texts.items():
        text = pl.col(text_columns[name])
        stripped = text.str.strip_chars()
        plain.append(
            pl.when(stripped.str.contains(_PLAIN_TIME))
            .then(stripped)
            # (no cache of the texts read: times are mostly distinct, and hashing each costs more than reading it)
            .str.strptime(_NAIVE, "%Y-%m-%d %H:%M:%S", strict=False, cache=False)
            .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .alias(f"_{name}_plain")
        )
        rest.append(pl.when(pl.col(f"_{name}_plain").is_null()).then(text).alias(f"_{name}_rest"))
        cascade = parse_timestamp(
            pl.col(f"_{name}_rest"),
            time_zone=zone,
            day_first=pl.col("_day_first").first(),
            votes=None if votes is None else file_votes[name],
        )
        read.append(pl.coalesce(pl.col(f"_{name}_plain"), cascade).alias(name))
    temporary = ["_day_first", *[f"_{name}_{part}" for name in texts for part in ("text", "slash", "plain", "rest")]]
    # Each step is materialised as columns: an expression repeated inside the cascade's
    # thirty-odd formats would otherwise be evaluated once per format.
    return (
        frame.with_columns([text.cast(pl.Utf8).alias(text_columns[name]) for name, (text, _) in texts.items()])
        .with_columns(
            # Only a value with a slash can be a slash date: the day/month vote reads those alone.
            [
                pl.when(pl.col(c).str.contains("/", literal=True)).then(pl.col(c)).alias(f"_{n}_slash")
                for n, c in text_columns.items()
            ]
        )
        .with_columns(plain)
        .with_columns(rest)
        .with_columns(read)
        .drop(temporary)
    )


def registry() -> tuple[Layout, ...]:
    """Every known layout, most specific first (detection takes the first that matches)."""
    from transforms.layouts import (
        alchemer,
        google_forms,
        limesurvey,
        microsoft_forms,
        qualtrics,
        spss,
        surveymonkey,
        typeform,
    )

    return (
        *qualtrics.LAYOUTS,
        *surveymonkey.LAYOUTS,
        *typeform.LAYOUTS,
        *google_forms.LAYOUTS,
        *limesurvey.LAYOUTS,
        *microsoft_forms.LAYOUTS,
        *alchemer.LAYOUTS,
        *spss.LAYOUTS,
    )


def detect_layout(header: list[list[str | None]], *, kind: str = "delimited") -> Layout:
    """The layout that recognises these first rows of a raw file of this kind, or
    UnknownLayout saying what was seen: the tool, where it is one surveyhouse recognises
    but does not read (``transforms.layouts.unsupported``)."""
    from transforms.layouts.unsupported import recognised_tool

    for layout in registry():
        if kind in layout.reads and layout.detect(header):
            return layout
    first = [cell for cell in (header[0] if header else []) if cell][:6]
    if not first and any(cell for row in header[1:] for cell in row):
        raise UnknownLayout(
            "its first line is empty, and every tool writes its header there: delete the empty lines above "
            "the header (or drop the tool's own export in the landing folder)"
        )
    tool = recognised_tool(header)
    if tool is not None:
        raise UnknownLayout(f"it is {tool}, which surveyhouse does not support (it reads {supported_tools()} exports)")
    raise UnknownLayout(
        f"no known survey-tool layout matches ({supported_tools()}); "
        "first header cells: " + ", ".join(f"'{excerpt(cell, 80)}'" for cell in first)
    )
