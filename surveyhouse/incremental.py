"""A night that writes the `responses` rows that changed, the live warehouse keeping the others.

A response's row is its current version (a staged row), its derived segments, its screening
flags and its weight. When the live warehouse was built from every staged file but this night's
(``build._choices_base``), with this questionnaire's columns, a response whose current version
is in one of the older files has the same version as the live row: its row changes only if
its flags do (a new file may make it a duplicate, or move its wave's median duration). So the
publish inserts the rows of the versions the new files bring, updates the flags of the rows
whose flags moved (in place: the table keeps its order), deletes the rows of the versions a new
file supersedes, and every other row stays as it is in the copy of the live file
(warehouse/publish.py).

The flags are decided without reading every staged row: the warehouse keeps each response's
screening inputs and flags (``_build.screening``: its staged row, wave, duration, its email, IP
and answers as 64-bit hashes, the flags; ``responses_file.SCREENING_INPUTS``), and a night reads
the new files' rows alone. The speeders and exclusions are decided again over every response's
kept duration and flags (a wave's median is one pass over a column); the duplicates only among
the responses that share a hashed email, or IP and answers, with a response that comes in or
goes out (the others' groups are those of last night: so are their flags), by the rules of
``transforms.screening`` (``responses_file._duplicates``). What the kept inputs were computed
with (``screening_rules``: the expressions and Polars' hashing) is kept beside them: a night
with other rules builds whole.

The crosstab (screened, and with no exclusions for the claims) is counted from sums per
combination of segment values (``transforms.crosstab.crosstab_sums``), which the warehouse keeps
(``INTERNAL_SCHEMA``, published with the rest): a night adds the changed rows' sums to the live
ones and takes out those of the live rows they replace (unweighted counts: integers, exact).

A weighted study (raking moves every weight each night) and a questionnaire that changes
between waves (the trend reads earlier waves' rows) are built whole, as is any night whose
live warehouse cannot serve as the base; the log says why in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce
from operator import xor
from pathlib import Path

import duckdb
import polars as pl

from schemas.codebook import Codebook
from schemas.tables import responses_schema
from surveyhouse.responses_file import (
    _HASHED,
    SCREENING_INPUTS,
    TABLE_ORDER,
    _duplicates,
    hashed_keys,
    screening_inputs,
    written_privately,
)
from transforms.crosstab import added_sums, crosstab_cells, crosstab_sums, crosstab_sums_columns
from transforms.responses import with_derived_segments
from transforms.screening import FLAGS, ScreeningPolicy, excluded_flag, row_flags, speeder_flag
from warehouse.publish import InternalChanges, KeptRows, ParquetTable, live_table_matches
from warehouse.queries import run_query
from warehouse.store import Warehouse

logger = logging.getLogger("surveyhouse.incremental")

KEY = ["wave", "source_tool", "response_id"]
#: What a night decides anew for a response whose version it keeps.
DECIDED = [*FLAGS, "is_excluded", "weight"]
#: The columns of ``_build.screening``: one row per current response, by its staged row.
SCREENING = ["_row", "wave", *FLAGS, "is_excluded", *SCREENING_INPUTS]


def screening_rules(book: Codebook) -> pl.DataFrame:
    """What the kept screening inputs were computed with (one row, ``rules``): the expressions of
    the hashed keys and of the flags a response's own answers decide, and the Polars version
    (whose hashes they are). Kept as ``_build.screening_rules`` beside ``_build.screening``."""
    expressions = {**hashed_keys(book), **row_flags(book)}
    text = "\n".join(f"{name}: {expr.meta.serialize(format='json')}" for name, expr in expressions.items())
    return pl.DataFrame({"rules": [f"polars {pl.__version__}\n{text}"]})


@dataclass(frozen=True)
class LiveBase:
    """What an incremental night starts from: the live warehouse's file orders it lacks
    (``new_orders``), the kept screening inputs and flags of every live response
    (``screening``: ``SCREENING`` columns, in the order the table keeps them, not the staged rows')
    and the live crosstab's sums (``sums``)."""

    new_orders: list[int]
    screening: pl.DataFrame
    sums: pl.DataFrame


def live_base(
    live: LiveRead | None,
    *,
    new_orders: list[int] | None,
    book: Codebook,
    weighted: bool,
    versioned: bool,
    old_rows: pl.DataFrame | None = None,
) -> LiveBase | None:
    """The live warehouse as the base of an incremental night, or None when the night builds
    every table whole (the reason logged in one line). ``new_orders``: ``build._choices_base``;
    ``versioned``: the questionnaire changes between waves; ``old_rows``: the versions (``_row``,
    ``is_superseded``) of the files the live warehouse was built from (None: a new file comes
    before one of them), which the kept screening inputs must be of; ``live``: ``read_live``'s."""
    reason = None
    if new_orders is None:
        reason = "no live warehouse built from the staged files to keep rows of"
    elif weighted:
        reason = "the study is weighted (raking moves every response's weight)"
    elif versioned:
        reason = "the questionnaire changes between waves (the trend reads the earlier waves' rows)"
    elif old_rows is None:
        reason = "a new file comes before files the live warehouse was built from"
    else:
        read = None if live is None else live.screening_and_sums
        if read is None:
            reason = "the live warehouse keeps no responses and crosstab sums of this questionnaire's, readable"
        elif read[0] is None:
            reason = "the live warehouse keeps no screening inputs of this questionnaire's (built whole once)"
        elif not _of_rows(read[0], old_rows):
            reason = "the live warehouse's screening inputs are not those of the staged files"
        else:
            return LiveBase(new_orders, *read)
    logger.info("responses and crosstab built whole: %s", reason)
    return None


def _of_rows(screening: pl.DataFrame, old_rows: pl.DataFrame) -> bool:
    """Whether the kept ``screening`` (in any order) is of ``old_rows``: one row per version of them
    still current, and of no other row but versions a new file supersedes (the old files' rows are the first)."""
    rows = screening["_row"].cast(pl.Int64)
    if rows.is_empty():
        return bool(old_rows["is_superseded"].all())
    if rows.null_count() or rows.min() < 0 or rows.max() >= old_rows.height:
        return False
    marked = _marked(rows, old_rows.height)
    still = old_rows.filter(~pl.col("is_superseded"))["_row"].cast(pl.Int64)
    return marked.sum() == rows.len() and bool(marked.gather(still).all())  # (as many marks as rows: no row twice)


@dataclass(frozen=True)
class LiveRead:
    """What the build reads of the live warehouse file, read in one read-only connection
    (``read_live``): its files (``files``: sha256, file_order, status, as ``live_files``) and their
    waves (``waves``, ``live_file_waves``), the columns of its `files` (``files_columns``) and
    `choices` (``choices_columns``: name and DuckDB type), ``screening_and_sums``
    (``LiveBase.screening`` and ``LiveBase.sums``, as ``_live_screening_and_sums`` gives them), and
    its quarantine's failures of input rows (``failures``: ``published_failures``, as it names them;
    None when they cannot be read)."""

    files: list[tuple]
    waves: dict[str, int]
    files_columns: set[str]
    choices_columns: list[tuple[str, str]]
    screening_and_sums: tuple[pl.DataFrame | None, pl.DataFrame] | None
    failures: pl.DataFrame | None


def read_live(warehouse: Warehouse, *, book: Codebook, weighted: bool, versioned: bool) -> LiveRead | None:
    """``LiveRead`` of a warehouse file that keeps live rows (``Warehouse.keeps_live_rows``); None
    for another, or when it cannot be read (a night then builds every table whole). Without the
    screening inputs and sums (``screening_and_sums`` None) for a study ``live_base`` builds whole
    (``weighted``, ``versioned``). A night reads it on a thread while it stages (surveyhouse/night.py)."""
    if not warehouse.keeps_live_rows():
        return None
    try:
        with warehouse.reader() as connection:
            return LiveRead(
                files=run_query(connection, "live_files").fetchall(),
                waves=dict(run_query(connection, "live_file_waves").fetchall()),
                files_columns={row[0] for row in run_query(connection, "files_columns").fetchall()},
                choices_columns=[(row[0], row[1]) for row in run_query(connection, "choices_columns").fetchall()],
                screening_and_sums=None if weighted or versioned else _live_screening_and_sums(connection, book=book),
                failures=_live_failures(connection),
            )
    except (duckdb.Error, OSError):
        return None


def _live_failures(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """``LiveRead.failures``: ``published_failures``, None when it cannot be read."""
    try:
        return run_query(connection, "published_failures").pl()
    except duckdb.Error:
        return None


def _live_screening_and_sums(
    connection: duckdb.DuckDBPyConnection, *, book: Codebook
) -> tuple[pl.DataFrame | None, pl.DataFrame] | None:
    """(``LiveBase.screening``, ``LiveBase.sums``) of the live warehouse open in ``connection``;
    None when the live responses table has other columns than this questionnaire's, its sums are
    missing or of other cells (``crosstab_cells``: a NET's members changed, say), or either cannot
    be read; the screening None when the live warehouse keeps none, or none computed by this
    night's ``screening_rules``."""
    try:
        if not live_table_matches(connection, "responses", responses_schema(book)):
            return None
        sums = run_query(connection, "live_crosstab_sums").pl()
        cells = run_query(connection, "live_crosstab_cells").pl()
        if sums.columns != crosstab_sums_columns(book) or not cells.equals(crosstab_cells(book).sort("cell")):
            return None
        try:
            rules = run_query(connection, "live_screening_rules").pl()
            screening = _as_kept(run_query(connection, "live_screening"))
        except duckdb.CatalogException:  # a warehouse published before they were kept
            return None, sums
    except (duckdb.Error, OSError):
        return None
    if not rules.equals(screening_rules(book)) or screening.columns != SCREENING:
        return None, sums
    return screening, sums


def _as_kept(result: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The rows of ``live_screening`` as the table keeps them, unsorted: the night matches them by
    staged row (``_marked``, a lookup by position), never by their place (1M rows: a sort by ``_row``
    cost 0.06 s of CPU and a copy of every column, 40 MB, on the thread the night's build waits for)."""
    return pl.from_arrow(result.to_arrow_table())  # a table: its schema even with no rows


@dataclass(frozen=True)
class ChangedResponses:
    """The `responses` table of an incremental night: the rows it inserts (``rows``, in the
    table's order), the keys of the live rows it deletes (``replaced``: those of the versions a
    new file supersedes), the keys and new flags of the live rows it updates (``updated``: ``KEY``
    and ``DECIDED``), how many rows the whole table has (``height``), the crosstab's sums of the
    whole table (``sums``), the wave and email hash of every response in the bases
    (``respondents``, for the trend), and the changes to the kept screening inputs and flags
    (``screening``: ``SCREENING`` rows by ``_row``)."""

    rows: ParquetTable
    replaced: pl.DataFrame
    updated: pl.DataFrame
    height: int
    sums: pl.DataFrame
    respondents: pl.LazyFrame
    screening: InternalChanges

    def lazy(self) -> pl.LazyFrame:
        """The rows written (not the whole table)."""
        return self.rows.lazy()

    def kept_rows(self) -> KeptRows:
        """What the publish keeps of the live table, and the order it puts it back in."""
        return KeptRows(self.replaced, order=tuple(TABLE_ORDER), updated=self.updated)


def write_changed_responses(
    staged: pl.LazyFrame,
    new: pl.LazyFrame,
    columns: Mapping[str, pl.DataType],
    *,
    base: LiveBase,
    versions: pl.DataFrame,
    book: Codebook,
    policy: ScreeningPolicy,
    folder: Path,
    memory_mb: int = 256,
) -> tuple[ChangedResponses, pl.DataFrame]:
    """(the night's responses, one row per response: ``SCREENING`` and ``weight``), as
    ``responses_file.write_responses`` gives for an unweighted study (the kept responses in the order
    the live table keeps them, then the new files'), with
    only the rows of the new versions written (``columns``, in ``folder``). ``staged``: every
    staged row (``build.staged_rows``); ``new``: those of the new files; ``versions``: one row
    per staged version with ``_row``, ``file_order`` and ``is_superseded``; ``memory_mb``: ``screened_rows``'s."""
    raw = staged

    def staged_at(rows: pl.Series) -> pl.LazyFrame:  # the segments derived after the slices (they stop them)
        return rows_at(raw, rows).pipe(with_derived_segments, book=book)

    staged, new = (rows.pipe(with_derived_segments, book=book) for rows in (staged, new))
    current = versions.filter(~pl.col("is_superseded")).select("_row")
    new_rows = versions.filter(~pl.col("is_superseded") & pl.col("file_order").is_in(base.new_orders))["_row"]
    new = new.join(new_rows.to_frame().lazy(), on="_row", how="semi")
    decided, moved, gone, screening = _decided(
        staged_at, new, base=base, current=current, book=book, policy=policy, memory_mb=memory_mb
    )
    came = of_new_files(decided, new_rows)
    path = folder / "responses-changed.parquet"
    (
        new.drop(DECIDED, strict=False)
        .join(came.lazy().select("_row", *DECIDED), on="_row")
        .select(*columns)
        .collect(engine="streaming")
        .sort(TABLE_ORDER)
        .write_parquet(path)
    )
    height = pl.scan_parquet(path).select(pl.len()).collect().item()
    rows = ParquetTable((written_privately(path),), height, pl.Schema(columns))
    was = base.screening.join(pl.concat([moved.select("_row"), gone.select("_row")]), on="_row", how="semi")
    out = _live_rows(staged_at, was.select("_row", *DECIDED[:-1]), types=rows.schema)
    updated = out.select("_row", *KEY).join(moved, on="_row").select(*KEY, *DECIDED)
    replaced = out.join(gone.select("_row"), on="_row").select(KEY)
    sums = _sums_now(base.sums, rows, out, moved, book)
    respondents = (  # read by the trend, after the crosstab: lazily
        staged.select("_row", "email_hash")
        .join(decided.lazy().filter(~pl.col("is_excluded")).select("_row", "wave"), on="_row")
        .select("wave", "email_hash")
    )
    logger.info(
        "responses written as they changed: %d inserted, %d with flags updated in place, %d deleted",
        rows.height,
        updated.height,
        replaced.height,
    )
    return ChangedResponses(rows, replaced, updated, decided.height, sums, respondents, screening), decided


def of_new_files(decided: pl.DataFrame, new_rows: pl.Series) -> pl.DataFrame:
    """The rows of ``decided`` (``_row`` first) of the new files' current versions (``new_rows``), taken
    by their place: the new files' rows come after every other (``build._old_rows``), so no row is
    looked up among every response's (at 1M, the night's two joins with a million rows: 0.02 s of CPU)."""
    first = new_rows.min()  # None: the new files bring no current version
    return decided.filter(pl.col("_row") >= first) if first is not None else decided.clear()


def _decided(
    staged_at: Callable[[pl.Series], pl.LazyFrame],
    new: pl.LazyFrame,
    *,
    base: LiveBase,
    current: pl.DataFrame,
    book: Codebook,
    policy: ScreeningPolicy,
    memory_mb: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, InternalChanges]:
    """(one row per current response, ``SCREENING`` and ``weight``: the kept ones in the order of
    ``base.screening``, then the new files' by staged row; the live
    responses whose flags moved, ``_row`` and their new ``DECIDED``; the live responses no longer
    current, ``SCREENING``; the changes to the kept ``SCREENING`` rows). The speeders and
    exclusions over every response; the duplicates of the responses whose groups one comes into
    or goes out of (``_regrouped``), the others' kept. Rows matched by their staged row number
    (a lookup by position, no join: the new files' rows come after the others). ``staged_at``: gives
    the staged rows of some ``_row`` (``rows_at``), whose exact values the duplicates compare."""
    live = base.screening  # in the order the table keeps it
    came = screening_inputs(new, book=book).collect(engine="streaming").sort("_row")
    size = max(int(live["_row"].max() or 0), int(current["_row"].max() or 0)) + 1
    still = _marked(current["_row"], size).gather(live["_row"])
    everyone = bool(still.all())  # no live response superseded: no copy of a million rows to filter none out
    was = {flag: f"_was_{flag}" for flag in ("is_speeder", "is_duplicate", "is_excluded")}
    kept = (
        (live if everyone else live.filter(still))
        .rename(was)
        .cast({column: came.schema[column] for column in came.columns})
    )
    gone = live.clear() if everyone else live.filter(~still)
    narrow = pl.concat([kept, came], how="diagonal")  # the new files' rows last
    grouping = ["_row", "wave", *_HASHED]
    moving = pl.concat([came.select(grouping), gone.select(grouping).cast(dict(came.select(grouping).schema))])
    among = _regrouped(narrow.select(grouping), moving)
    logger.info("duplicates decided anew among %d responses (%d regrouped)", among.height, among["is_regrouped"].sum())
    candidates = narrow.select(grouping).filter(_marked(among["_row"], size).gather(narrow["_row"]))
    read = _read_once(staged_at, candidates["_row"], memory_mb=memory_mb)
    duplicates = _duplicates(None, candidates, book=book, memory_mb=memory_mb, read=read)
    anew = pl.lit(_marked(among.filter("is_regrouped")["_row"], size)).gather(pl.col("_row"))
    duplicate = pl.lit(_marked(duplicates.filter("is_duplicate")["_row"], size)).gather(pl.col("_row"))
    decided = narrow.with_columns(
        is_duplicate=pl.when(anew | pl.col("_was_is_duplicate").is_null())
        .then(duplicate)
        .otherwise(pl.col("_was_is_duplicate")),
        is_speeder=speeder_flag(policy),
    ).with_columns(is_excluded=excluded_flag(policy), weight=pl.lit(None, pl.Float64))
    differs = decided.select(pl.any_horizontal(pl.col(flag) != pl.col(old) for flag, old in was.items())).to_series()
    moved = decided.filter(differs.fill_null(False))  # (a new response's old flags are null)
    changes = InternalChanges(
        added=decided.filter(differs.fill_null(True)).select(SCREENING),
        deleted=pl.concat([moved.select("_row"), gone.select("_row")]),
    )
    return decided.select(*SCREENING, "weight"), moved.select("_row", *DECIDED), gone, changes


#: Bytes of memory a staged row takes with every column (the demo's questionnaire: about 1 KB).
_STAGED_ROW_BYTES = 2048


def _read_once(
    staged_at: Callable[[pl.Series], pl.LazyFrame], rows: pl.Series, *, memory_mb: int
) -> Callable[[pl.Series], pl.LazyFrame]:
    """What gives the staged rows of some of ``rows`` (as ``staged_at`` does): ``rows`` read at once,
    in one pass over the row groups that hold them, when a quarter of ``memory_mb`` holds them (the
    duplicates read theirs by email, then by IP and answers: 12,649 candidates at 1M, 0.09 -> 0.05 s
    of CPU); else ``staged_at`` itself."""
    if rows.len() * _STAGED_ROW_BYTES > memory_mb * 2**20 // 4:
        return staged_at
    held = staged_at(rows).collect()
    return lambda at: held.lazy().filter(pl.col("_row").is_in(at.implode()))


def _marked(rows: pl.Series, size: int) -> pl.Series:
    """One boolean per row number up to ``size``: true for the ``rows``."""
    return pl.repeat(False, size, eager=True).scatter(rows.cast(pl.Int64), True)


#: The groups within which a response can be another's duplicate (``transforms.screening.duplicate_flag``),
#: by hashed keys: the same person (email), the same machine (IP and answers); the first key
#: null, no group.
_GROUPS = (("wave", "email_hash"), ("wave", "ip_hash", "_answers_key"))


def _regrouped(narrow: pl.DataFrame, moving: pl.DataFrame) -> pl.DataFrame:
    """``_row`` and ``is_regrouped`` of the responses of ``narrow`` whose flag ``_duplicates`` decides
    anew on them: those in a group of a response that comes in or goes out (``moving``,
    is_regrouped), and every response of their groups (the flag of a response is decided
    among its groups' responses). Groups by hashes: equal values, equal hashes (a hash shared by chance only adds a response):
    each group's keys as one hash (``_group_hashes``), looked up among the few of ``moving`` (1M responses:
    26 ms of CPU, against 61 ms for joins on the keys); the groups of those found, from their hashes as
    found (no third pass over every response to find them again by row)."""
    hashes = _group_hashes(narrow)

    def members(of: pl.DataFrame) -> pl.DataFrame:
        inside = [pl.col(group).is_in(of[group].drop_nulls().unique().implode()) for group in of.columns[1:]]
        return hashes.filter(pl.any_horizontal(inside))

    regrouped = members(_group_hashes(moving))
    every = members(regrouped)["_row"]
    return pl.DataFrame({"_row": every}).with_columns(is_regrouped=pl.col("_row").is_in(regrouped["_row"].implode()))


def _group_hashes(frame: pl.DataFrame) -> pl.DataFrame:
    """``_row`` and, for each of ``_GROUPS``, its keys as one hash: the first key (a 64-bit hash
    already; null: no group) and the others' hashes combined by exclusive or (a null key is a
    value: its hash; 1M responses: 4 ms of CPU against 14 ms for a hash of each group's struct)."""
    return frame.select(
        "_row",
        *[
            reduce(
                xor, [pl.col(keys[1]), *(pl.col(key).hash(seed) for seed, key in enumerate(keys) if seed != 1)]
            ).alias(f"_group_{number}")
            for number, keys in enumerate(_GROUPS)
        ],
    )


#: Rows between two wanted rows up to which ``rows_at`` reads them in one slice (the staged files'
#: row group: a slice reads the row groups that hold it, 5 ms of CPU for 20,000 rows of every
#: column against 0.25 s for a filter of 1 million).
_STRETCH_ROWS = 20_000


def rows_at(rows: pl.LazyFrame, at: pl.Series) -> pl.LazyFrame:
    """The rows of ``rows`` (whose ``_row`` is their place, from 0: ``build.staged_rows``) whose
    ``_row`` is in ``at``: a slice of each stretch of them (the row groups holding them, every
    column) when the stretches hold at most half of the rows, else a filter of every row."""
    wanted = at.cast(pl.Int64).unique().sort()
    if wanted.is_empty():
        return rows.clear()
    starts = wanted.filter(wanted.diff().fill_null(_STRETCH_ROWS + 1) > _STRETCH_ROWS)
    ends = wanted.filter(wanted.diff(-1).fill_null(-_STRETCH_ROWS - 1) < -_STRETCH_ROWS)
    height = rows.select(pl.len()).collect().item()
    chosen = pl.col("_row").is_in(at.cast(pl.UInt32).implode())
    if int((ends - starts + 1).sum()) * 2 > height:
        return rows.filter(chosen)
    # Each slice read on its own: in one plan, Polars would read the rows once, whole, for them all.
    stretches = [rows.slice(first, last - first + 1).filter(chosen).collect() for first, last in zip(starts, ends)]
    return pl.concat(stretches).lazy()


def _live_rows(staged_at: Callable[[pl.Series], pl.LazyFrame], rows: pl.DataFrame, *, types: pl.Schema) -> pl.DataFrame:
    """The live `responses` rows (``_row`` and ``types``) of the staged ``rows`` (``_row`` and the live
    flags, ``DECIDED`` but ``weight``): their staged versions with these flags (what the build wrote).
    ``staged_at``: gives the staged rows of some ``_row``, with their derived segments."""
    if rows.is_empty():
        return pl.DataFrame(schema={"_row": pl.UInt32, **types})
    read = staged_at(rows["_row"])
    flags = rows.lazy().with_columns(weight=pl.lit(None, pl.Float64))
    live = read.drop(DECIDED, strict=False).join(flags, on="_row").select("_row", *types)
    return live.collect(engine="streaming").cast(dict(types))


def _sums_now(
    sums: pl.DataFrame, rows: ParquetTable, out: pl.DataFrame, moved: pl.DataFrame, book: Codebook
) -> pl.DataFrame:
    """The crosstab's sums of the whole table: the live ``sums``, with the inserted ``rows``'
    added, the live rows ``out`` (``_live_rows``: of every response deleted or updated) taken
    out, and the updated ones put back with their new flags (``moved``: ``_row`` and ``DECIDED``)."""
    back = out.drop(DECIDED).join(moved, on="_row").cast(dict(out.schema))
    parts = [sums, *[crosstab_sums(part.lazy(), book=book) for part in (rows, out, back)]]
    return added_sums(parts, signs=[1, 1, -1, 1])
