"""The responses table written to Parquet, screened, weighted and sorted, never whole in memory.

What needs the whole population (each response's place in the table and in its wave, the
wave's median duration, duplicates across files, raking) is decided on narrow frames of the
few columns it needs: personal-data hashes and the answers are carried as 64-bit hashes,
their exact values read again only for the rows whose hashes are shared, so every flag is
the one ``transforms.screening.flag_responses`` gives on the whole frame. The rows then
stream from the staged Parquet, with their flags and weight, into Parquet parts of as many
rows as the build's memory setting holds, each a range of the table's sorted order.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from schemas.codebook import Codebook
from surveyhouse.private import FILE_MODE, private_folder
from transforms.responses import with_derived_segments
from transforms.screening import (
    FLAGS,
    ScreeningPolicy,
    answers_key,
    duplicate_flag,
    excluded_flag,
    order_in_wave,
    row_flags,
    speeder_flag,
)
from transforms.weighting import weight_responses
from warehouse.publish import PARQUET_ROW_GROUP_ROWS, ParquetTable
from warehouse.sorting import sorted_row_numbers

#: The order of the responses table's rows.
TABLE_ORDER = ["wave", "source_tool", "submitted_at", "response_id"]
#: The columns whose equal values make two responses one respondent's, hashed in the narrow frames.
_HASHED = ("email_hash", "ip_hash", "_answers_key")


def build_folder(root: Path) -> Path:
    """A new, empty folder for the build's files (a killed build's leftovers removed), 0700
    (its files are made 0600: ``written_privately``)."""
    shutil.rmtree(root, ignore_errors=True)
    return private_folder(root)


def written_privately(path: Path) -> Path:
    """``path``, a file the build just wrote, made 0600 (the state folder's files are, whatever the umask)."""
    os.chmod(path, FILE_MODE)
    return path


def write_responses(
    current: pl.LazyFrame,
    columns: Mapping[str, pl.DataType],
    *,
    book: Codebook,
    policy: ScreeningPolicy,
    targets: Mapping[str, Mapping[str, float]] | None,
    folder: Path,
    memory_mb: int,
    sorter: KeySorter | None = None,
    written: Callable[[ParquetTable], None] | None = None,
) -> tuple[ParquetTable, pl.DataFrame]:
    """(the responses table, in ``columns`` order and types, as sorted Parquet parts in
    ``folder``; one row per response: ``_row``, ``_pos``, ``wave``, the flags, ``is_excluded``, ``weight``).

    ``current``: the current version of every response, with ``_row`` (its row in the staged
    files); ``sorter``: how the table's order is found (default: in memory). Each part holds
    the rows of a range of table positions (as many rows as ``memory_mb`` holds twice): the
    staged rows are read once, each into its part's file, and each part is then sorted in memory.
    ``written``: called with the table's first part as soon as it is written (its ``height`` the
    whole table's; the others follow in order; e.g. to insert them while the next ones are written).
    """
    staged, current = current, current.pipe(with_derived_segments, book=book)
    decided = screened_rows(current, book=book, policy=policy, targets=targets, sorter=sorter, memory_mb=memory_mb)
    per_part = rows_per_part(current, memory_mb=memory_mb)
    lookups = _by_row(decided.select("_pos", *FLAGS, "is_excluded", "weight"), decided["_row"])
    parts = _parts(
        partial(rows_in_span, staged, book=book, lookups=lookups, columns=[*columns, "_pos"]),
        spans=_row_spans(decided["_row"], per_part),
        folder=folder,
        height=decided.height,
        per_part=per_part,
    )
    paths = []
    for number, part in enumerate(parts):
        paths.append(folder / f"responses-{number:05d}.parquet")
        part.sort("_pos").drop("_pos").write_parquet(
            paths[-1], compression=_COMPRESSION, row_group_size=PARQUET_ROW_GROUP_ROWS, statistics=False
        )
        written_privately(paths[-1])
        del part
        if written is not None:
            written(ParquetTable(tuple(paths), decided.height, pl.Schema(columns), memory_mb=memory_mb))
    return ParquetTable(tuple(paths), decided.height, pl.Schema(columns), memory_mb=memory_mb), decided


#: The compression of the build's files: none. They are read a few times and removed after
#: the publish (a 500k-row part: written in 0.23 s of CPU uncompressed, 0.33 s with lz4, and read
#: back in 0.08 s against 0.12 s). Nor column statistics: every reader of them reads every row
#: group (the insert, the sums, the checks), none filters on a column's range (a 614k-row part:
#: written in 0.24 s of CPU instead of 0.33 s, the min and max of every id and hash not computed).
_COMPRESSION = "uncompressed"


def _by_row(values: pl.DataFrame, rows: pl.Series) -> list[pl.Expr]:
    """Each column of ``values`` (one row per entry of ``rows``) as an expression giving a
    staged row its value by its ``_row`` (no join: a lookup by position)."""
    size = int(rows.max() or 0) + 1
    return [
        pl.lit(pl.repeat(None, size, dtype=values[name].dtype, eager=True).scatter(rows, values[name]))
        .gather(pl.col("_row"))
        .alias(name)
        for name in values.columns
    ]


#: Staged rows read per response, up to which each part's rows are read from the staged rows (one
#: pass of its span each), not spread: 1M responses in 2 parts, 0.70 s of CPU against 1.65-1.76 s
#: through spread files (a pass costs about a fifth of the spread's write and read back). Parts in
#: no order: up to this many parts; an export in submission order: any number (each row read about once).
_FILTERED_PARTS = 4


def _parts(
    rows: Callable[..., pl.LazyFrame], *, spans: list[tuple[int, int]], folder: Path, height: int, per_part: int
) -> Iterator[pl.DataFrame]:
    """The rows (``rows()``: with ``_pos``, 0 to ``height`` - 1; ``rows(span)``: those whose ``_row``
    is in ``span``, read from the staged files' row groups that hold them), those of ``per_part``
    positions at a time (first positions first), each part unsorted; ``spans``: each part's lowest
    and highest ``_row`` (``_row_spans``). Spans of up to ``_FILTERED_PARTS`` rows a response in all:
    each part read in one streaming pass of its span (an export in submission order: each part its own
    share of the file, not every row group for each part). More: the rows are read once, a batch at a time, each batch's
    rows of each part written to a spread file, and each part read back from its spread files."""
    if len(spans) <= 1:
        yield rows().collect(engine="streaming")
        return
    if sum(high - low + 1 for low, high in spans) <= _FILTERED_PARTS * height:
        for number, span in enumerate(spans):
            first = number * per_part
            part = pl.col("_pos").is_between(first, first + per_part, closed="left")
            yield rows(span).filter(part).collect(engine="streaming")
        return
    every = rows()
    spread = private_folder(folder / ".spread")
    batches = iter(range(height))

    def spread_batch(batch: pl.DataFrame) -> None:
        number = next(batches)
        for (part,), rows_of_part in batch.partition_by("_part", as_dict=True, include_key=False).items():
            path = spread / f"{part}-{number:06d}.parquet"
            rows_of_part.write_parquet(path, compression="uncompressed")
            written_privately(path)

    every.with_columns(_part=pl.col("_pos") // per_part).sink_batches(
        spread_batch, chunk_size=max(per_part // 4, 1), maintain_order=False, engine="streaming"
    )
    for number in range(-(-height // per_part)):
        files = sorted(spread.glob(f"{number}-*.parquet"))
        yield pl.read_parquet(files) if files else every.head(0).collect()
        for path in files:
            path.unlink()
    shutil.rmtree(spread, ignore_errors=True)


def rows_in_span(
    staged: pl.LazyFrame,
    span: tuple[int, int] | None = None,
    *,
    book: Codebook,
    lookups: list[pl.Expr],
    columns: list[str],
) -> pl.LazyFrame:
    """The ``columns`` of the ``staged`` rows (with ``_row``) whose ``_row`` is in ``span`` (lowest,
    highest; None: every row), with the derived segments and the ``lookups`` (``_by_row``). The
    span is filtered before them: Polars gives it to the staged files' scan, which reads only the
    row groups that hold it (a literal's ``gather`` stops the filter from going further down)."""
    kept = staged if span is None else staged.filter(pl.col("_row").is_between(*span))
    return kept.pipe(with_derived_segments, book=book).with_columns(lookups).select(columns)


def _row_spans(rows: pl.Series, per_part: int) -> list[tuple[int, int]]:
    """The lowest and highest of ``rows`` (the ``_row`` of each table position, in order) of each
    part of ``per_part`` positions."""
    return [
        (rows[first : first + per_part].min(), rows[first : first + per_part].max())
        for first in range(0, len(rows), per_part)
    ] or [(0, 0)]


#: Rows measured to estimate a response's size in memory.
_SAMPLE_ROWS = 10_000


def rows_per_part(current: pl.LazyFrame, *, memory_mb: int) -> int:
    """How many responses half of ``memory_mb`` holds (a part and its sorted copy), from the
    size of the first ``_SAMPLE_ROWS``; from one row group on, a whole number of row groups
    (``PARQUET_ROW_GROUP_ROWS``, rounded up): each part's insert writes whole groups but the last's."""
    sample = current.head(_SAMPLE_ROWS).collect()
    row_bytes = max(sample.estimated_size() / max(sample.height, 1), 1.0)
    rows = max(_SAMPLE_ROWS, int(memory_mb * 2**20 / 2 / row_bytes))
    return rows if rows < PARQUET_ROW_GROUP_ROWS else -(-rows // PARQUET_ROW_GROUP_ROWS) * PARQUET_ROW_GROUP_ROWS


def screened_rows(
    current: pl.LazyFrame,
    *,
    book: Codebook,
    policy: ScreeningPolicy,
    targets: Mapping[str, Mapping[str, float]] | None,
    sorter: KeySorter | None = None,
    memory_mb: int = 256,
) -> pl.DataFrame:
    """One row per current response, in table order: ``_row``, ``_pos`` (its row in the table),
    ``wave``, the screening flags, ``is_excluded``, ``SCREENING_INPUTS`` and ``weight`` (``transforms.weighting``).

    Read in one scan of the few columns screening needs, the personal-data hashes and the
    answers as 64-bit hashes (``hashed_keys``); the exact values (and each response's
    order in its wave) only for the responses whose hashes another of their wave shares,
    within ``memory_mb``.
    """
    margins = list(targets or ())
    narrow = screening_inputs(current, book=book, margins=margins).collect(engine="streaming").sort("_row")
    order = table_order(current, sorter=sorter)
    narrow = narrow[narrow["_row"].search_sorted(order)].with_columns(_pos=pl.int_range(pl.len(), dtype=pl.UInt32))
    flagged = (
        narrow.join(
            _duplicates(current, narrow, book=book, memory_mb=memory_mb), on="_row", how="left", maintain_order="left"
        )
        .with_columns(is_speeder=speeder_flag(policy), is_duplicate=pl.col("is_duplicate").fill_null(False))
        .with_columns(is_excluded=excluded_flag(policy))
    )
    weighted = weight_responses(flagged.select("_row", "wave", "is_excluded", *margins), targets=targets, key=["_row"])
    return flagged.select("_row", "_pos", "wave", *FLAGS, "is_excluded", *SCREENING_INPUTS).with_columns(
        weight=weighted["weight"]
    )


#: What screening reads of a response besides its wave and own answers' flags (``screening_inputs``),
#: given with its flags by ``screened_rows``: an incremental night keeps them (``surveyhouse.incremental``).
SCREENING_INPUTS = ("duration_s", *_HASHED)


def screening_inputs(current: pl.LazyFrame, *, book: Codebook, margins: list[str] | tuple = ()) -> pl.LazyFrame:
    """One row per response of ``current``: ``_row``, ``wave``, ``duration_s``, the raking
    ``margins``, the hashed keys (``hashed_keys``) and the flags its own answers decide (``row_flags``)."""
    flags = row_flags(book, types=current.collect_schema())
    return current.select("_row", "wave", "duration_s", *margins, **hashed_keys(book), **flags)


def hashed_keys(book: Codebook) -> dict[str, pl.Expr]:
    """The columns whose equal values make two responses one respondent's, as 64-bit hashes
    (null where the value is): equal values, equal hashes."""
    exprs = [pl.col("email_hash"), pl.col("ip_hash"), answers_key(book)]
    return {name: pl.when(expr.is_not_null()).then(expr.hash()) for name, expr in zip(_HASHED, exprs, strict=True)}


def table_order(current: pl.LazyFrame, *, sorter: KeySorter | None = None) -> pl.Series:
    """The ``_row`` of every response of ``current``, in the table's order (``TABLE_ORDER``):
    sorted by ``sorter`` (DuckDB, within a memory limit) when given, else in memory by Polars."""
    if sorter is None:
        # a sort of the keys then a column taken: 7 times cheaper than ``sort_by`` (Polars 2.1)
        return current.select("_row", *TABLE_ORDER).collect(engine="streaming").sort(TABLE_ORDER)["_row"]
    rows = current.select("_row").collect(engine="streaming")["_row"]
    every = sorter.sorted_rows(TABLE_ORDER)
    size = max(int(every.max() or 0), int(rows.max() or 0)) + 1
    is_current = pl.repeat(False, size, eager=True).scatter(rows, True)
    return every.filter(is_current.gather(every))


@dataclass(frozen=True)
class KeySorter:
    """Sorts the staged rows of ``files`` (``_row`` counting them in order, as ``surveyhouse.build.staged_rows``
    does) by key columns in DuckDB, within ``memory_mb`` megabytes, spilling to ``spill``: no
    key column of text is held in Python's memory (about 100 bytes a response at 5 million)."""

    files: tuple[Path, ...]
    memory_mb: int
    spill: Path

    def sorted_rows(self, keys: list[str]) -> pl.Series:
        """Every staged row's ``_row``, sorted by ``keys`` (ascending, nulls first: Polars' order)."""
        if not self.files:
            return pl.Series("_row", [], dtype=pl.UInt32)
        spill = private_folder(self.spill)
        try:
            return sorted_row_numbers(
                list(self.files),
                starts=_cumulative_rows(self.files),
                keys=keys,
                memory_mb=self.memory_mb,
                spill=spill,
            )
        finally:
            shutil.rmtree(spill, ignore_errors=True)


def _cumulative_rows(files: tuple[Path, ...]) -> list[int]:
    """The ``_row`` of each file's first row."""
    heights = [pl.scan_parquet(path, glob=False).select(pl.len()).collect().item() for path in files]
    return [sum(heights[:index]) for index in range(len(heights))]


#: What ``order_in_wave`` orders by.
_ORDER_KEYS = ("submitted_at", "source_tool", "response_id")
#: Bytes of memory a duplicate candidate takes while its flag is computed (its exact email hash,
#: its order keys and the window's groups; measured: about 330 at 5 million responses).
_CANDIDATE_BYTES = 512


def _duplicates(
    current: pl.LazyFrame | None,
    narrow: pl.DataFrame,
    *,
    book: Codebook,
    memory_mb: int,
    read: Callable[[pl.Series], pl.LazyFrame] | None = None,
) -> pl.DataFrame:
    """``_row`` and ``is_duplicate`` (``transforms.screening.duplicate_flag``) of the responses
    whose hashed values another response of their wave shares: the only ones a duplicate can
    be among (two equal values have equal hashes). Compared on their exact values, in their
    order in the wave (``order_in_wave``): among themselves, the order they have among every
    response. Those sharing an email hash a share of the hashes at a time, as many as ``memory_mb`` holds.
    ``read``: gives the rows of ``current`` of some ``_row`` (default: a filter of every row; given, no ``current``)."""
    read = read or (lambda at: current.filter(pl.col("_row").is_in(at.implode())))
    # (the keys hashed once more, and ``is_duplicated``: a hash set of integers, not the groups of
    # a window, one at a time: a third of the memory; a hash shared by chance only adds a candidate)
    shared = lambda *keys: pl.col(keys[0]).is_not_null() & pl.struct("wave", *keys).hash().is_duplicated()  # noqa: E731
    candidates = (
        narrow.select("_row", "wave", *_HASHED, _person=shared("email_hash"))
        .with_columns(_machine=shared("ip_hash", "_answers_key"))
        .filter(pl.col("_person") | pl.col("_machine"))
    )
    person = candidates.filter("_person").with_columns(ip_hash=None)  # the same person: by email alone
    chunks = max(1, -(-person.height * _CANDIDATE_BYTES // (memory_mb * 2**20)))
    email, machine_keys = {"_email_exact": "email_hash"}, {"_ip_exact": "ip_hash", "_answers_exact": answers_key(book)}
    if chunks == 1:  # every candidate's exact values in one read of the rows (not one for each kind)
        read, email, machine_keys = _exact_values(read, candidates["_row"], {**email, **machine_keys})
    parts = [
        _duplicates_among(read, person.filter(pl.col("email_hash") % chunks == number), exact=email)
        for number in range(chunks)
    ]
    machine = candidates.filter("_machine").with_columns(email_hash=None)  # the same machine: IP and answers
    parts.append(_duplicates_among(read, machine, exact=machine_keys))
    return pl.concat(parts).group_by("_row").agg(pl.col("is_duplicate").any())


def _exact_values(
    read: Callable[[pl.Series], pl.LazyFrame], rows: pl.Series, exact: dict
) -> tuple[Callable[[pl.Series], pl.LazyFrame], dict, dict]:
    """The ``exact`` values (and order keys) of the ``rows`` read once (``read``: gives the responses of
    some ``_row``); (what gives them for some of those rows, in the staged order, the email's and the
    machine's ``exact`` for ``_duplicates_among``, as their columns there)."""
    held = read(rows).select("_row", *_ORDER_KEYS, **exact).collect(engine="streaming")
    of_rows = lambda at: held.lazy().filter(pl.col("_row").is_in(at.implode()))  # noqa: E731
    return of_rows, {"_email_exact": "_email_exact"}, {"_ip_exact": "_ip_exact", "_answers_exact": "_answers_exact"}


def _duplicates_among(
    rows: Callable[[pl.Series], pl.LazyFrame], candidates: pl.DataFrame, *, exact: dict
) -> pl.DataFrame:
    """``_row`` and ``is_duplicate`` of ``candidates`` (``_row``, ``wave`` and the hashed keys, null
    where not compared), among themselves, with the ``exact`` values of the keys they compare
    (``rows``: gives the responses of some ``_row``)."""
    read = rows(candidates["_row"]).select("_row", *_ORDER_KEYS, **exact).collect(engine="streaming")
    hashed = candidates.sort("_row").select("_row", "wave", *_HASHED)
    # The same rows in the same (staged) order: side by side, without a join's copy of the exact values.
    both = hashed.hstack(read.drop("_row")) if read["_row"].equals(hashed["_row"]) else hashed.join(read, on="_row")
    nulls = [pl.lit(None).alias(name) for name in ("_email_exact", "_ip_exact", "_answers_exact") if name not in exact]
    return both.with_columns(*nulls, _order=order_in_wave()).select(
        "_row",
        is_duplicate=duplicate_flag(
            person=("email_hash", "_email_exact"),
            machine=("ip_hash", "_ip_exact", "_answers_key", "_answers_exact"),
        ),
    )
