"""One export file in: read, recognise, map, validate, judge, stage.

Each file is processed once, identified by the SHA-256 of its bytes: its result (the
accepted responses, its quarantine rows and its `files` record) is staged as Parquet
under the state folder and never recomputed. A file's stage is complete only when its
record is written, last, so a run killed half-way reprocesses the file next time.

A file ends in one of three states (``files.status``):

loaded    its responses are in; rows that failed a check are in quarantine.
failed    it could not be used at all: unreadable (empty, truncated, binary, corrupt),
          no known tool layout, not this questionnaire (the message names the closest
          wordings it has), or a required question missing (named). Nothing of it is
          loaded; one quarantine row without a source row says why.
rejected  it was read and checked, but more than ``max_quarantined_share`` of its rows
          failed: too broken to trust the rest. None of its responses are loaded; its
          quarantine rows stay (plus one for the file saying why), so nothing is lost.

For a failed or rejected file ``rows_read = quarantined`` (accepted and superseded are 0).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import secrets
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO, TypeVar

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from polars.io.plugins import register_io_source

from schemas.canonical import canonical_schema, contract_failures
from schemas.codebook import Codebook
from schemas.waves import Placement, Wave, place_file
from surveyhouse.landing import FileNotTaken, identity, landed_copy, open_landed, shown
from surveyhouse.private import make_private, private_folder, write_private
from surveyhouse.read import (
    BATCH_BYTES,
    ExportBatches,
    RawExport,
    ReadLimits,
    UnreadableExport,
    export_time,
    file_sha256,
    read_batches,
)
from transforms.display import EXCERPT_CHARS, display_name, excerpt, spreadsheet_column
from transforms.headers import (
    column_text,
    resolve_columns,
)
from transforms.layouts import (
    Layout,
    ParsedExport,
    SourceColumn,
    UnknownLayout,
    added_votes,
    date_votes,
    detect_layout,
    registry,
    votes_of,
)
from transforms.mapping import (
    SMALL_PLANS,
    canonical_from_wide,
    compact_wide,
)
from transforms.privacy import hash_personal_data, keyed_response_ids, masked, masked_file_name, masked_texts
from transforms.quarantine import QUARANTINE_SCHEMA, quarantine_rows, typed_responses
from transforms.timestamps import read_times_unread, unread_times
from transforms.verdicts import (
    MAX_QUARANTINED_SHARE,
    FileRejected,
    check_questionnaire,
    header_language,
    is_too_broken,
    not_loaded_message,
    rejection_message,
)

T, R = TypeVar("T"), TypeVar("R")
RECORD = "file.json"
DEFAULT_TIME_ZONE = "UTC"
#: At most this many characters of a whole-file verdict's reason (which may quote the file's cells or a reader's error).
REASON_CHARS = 1000
#: A header listed in ``files.columns_ignored`` is cut past this many characters (a real
#: question's wording is shorter; a cell of 100,000 characters is not a header).
_HEADER_CHARS = 1_000


@dataclass(frozen=True)
class StagedFile:
    sha256: str
    folder: Path
    record: dict

    @property
    def responses(self) -> Path:
        return self.folder / "responses.parquet"

    @property
    def quarantine(self) -> Path:
        return self.folder / "quarantine.parquet"


def staged_files(staged_dir: Path) -> list[StagedFile]:
    """Every completely staged file, in ingestion order."""
    found = []
    for record_path in staged_dir.glob(f"*/{RECORD}"):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        found.append(StagedFile(record["file_sha256"], record_path.parent, record))
    return sorted(found, key=lambda staged: staged.record["file_order"])


#: A staged file's ``response_ids`` when its layout makes them from personal data and they are keyed.
KEYED_IDS = "keyed"


def unkeyed_staged_ids(staged_dir: Path) -> list[StagedFile]:
    """The staged files whose response ids were made from personal data and are not keyed yet."""
    personal = {layout.name for layout in registry() if layout.ids_from_personal_data}
    return [
        staged
        for staged in staged_files(staged_dir)
        if staged.record.get("layout") in personal and staged.record.get("response_ids") != KEYED_IDS
    ]


def keyed_staged_ids(staged_dir: Path, *, key: bytes) -> list[StagedFile]:
    """The staged files whose response ids were made from personal data and staged unkeyed
    (by a version before ``Layout.ids_from_personal_data``), now keyed: the ids of their
    responses and quarantine rewritten (``keyed_response_ids``), then their record, last. A kill
    in between is finished by the next call, which never keys an id twice. The next build must
    be a whole one: the live warehouse holds the old ids."""
    done = []
    for staged in unkeyed_staged_ids(staged_dir):
        for path in (staged.responses, staged.quarantine):
            if path.exists():
                ids = pl.col("response_id").map_batches(partial(keyed_response_ids, key=key), return_dtype=pl.Utf8)
                _write_parquet(pl.read_parquet(path).with_columns(ids), path)
        staged.record["response_ids"] = KEYED_IDS
        write_private(staged.folder / RECORD, json.dumps(staged.record, indent=1))
        done.append(staged)
    return done


def response_columns(book: Codebook) -> list[str]:
    """Column order of staged responses (every file's Parquet has exactly these)."""
    texts = [q.code for q in book.text] + [f"{q.code}_other" for q in book.closed if q.other_option is not None]
    return [
        "wave",
        "source_tool",
        "response_id",
        "language",
        "started_at",
        "submitted_at",
        "duration_s",
        *[q.code for q in book.closed],
        *texts,
        "email_hash",
        "ip_hash",
        "source_file",
        "source_row",
        "file_order",
    ]


def staged_schema(book: Codebook) -> dict[str, pl.DataType]:
    """The types of a staged responses file (``response_columns`` order)."""
    types: dict[str, pl.DataType] = {
        "wave": pl.Int32, "language": book.language_dtype, "started_at": pl.Datetime("us", "UTC"),
        "submitted_at": pl.Datetime("us", "UTC"), "duration_s": pl.Float64, "source_row": pl.Int64, "file_order": pl.Int64,
    }  # fmt: skip
    types |= {q.code: q.dtype for q in book.single} | {q.code: pl.List(q.dtype) for q in book.multi}
    return {column: types.get(column, pl.Utf8) for column in response_columns(book)}


def _validate(canonical: pl.DataFrame, book: Codebook, *, duplicated: pl.Series | None = None) -> pl.DataFrame:
    """Every failed check of every row at once (pandera, lazy, on materialised data), each
    offending value an excerpt (messages and the quarantine table quote it).

    ``duplicated``: the source rows whose response id the whole file holds more than once,
    when ``canonical`` is a slice of the file (pandera sees only the slice's duplicates)."""
    failures = _schema_failures(canonical, book)
    if duplicated is not None:
        failures = pl.concat([failures, _duplicate_failures(canonical, duplicated)], how="diagonal_relaxed")
    if failures.is_empty():
        return pl.DataFrame()
    failures = failures.with_columns(pl.col("failure_case").cast(pl.Utf8))
    value = pl.col("failure_case")
    unfit = failures.filter((value.str.len_chars() > EXCERPT_CHARS) | value.str.contains(r"[\x00-\x1f\x7f-\x9f]"))
    shown = {case: excerpt(case) for case in unfit["failure_case"].unique().to_list()}
    return failures.with_columns(value.replace(shown)) if shown else failures


def _schema_failures(canonical: pl.DataFrame, book: Codebook) -> pl.DataFrame:
    """pandera's failure cases of the contract on ``canonical`` (none: an empty frame).

    pandera checks the columns and their types; the checks of the values, for which it makes
    passes over the rows column by column, are made in one (``contract_failures``: the same
    failures). Columns it finds missing or of another type: it checks every value itself."""
    schema = canonical_schema(book)
    try:
        if not has_contract_types(canonical, schema):  # (else pandera would find nothing: ~5 ms a slice, under the GIL)
            with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
                schema.validate(canonical, lazy=True)
    except pa.errors.SchemaErrors:
        return _pandera_failures(schema, canonical)
    failures = contract_failures(canonical, book)
    return pl.DataFrame() if failures.is_empty() else failures


def has_contract_types(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Every column of ``schema`` is in ``frame``, of exactly its type: then pandera's checks of
    the columns and their types (its ``SCHEMA_ONLY`` depth) pass, and need not be run."""
    types = frame.schema
    return all(name in types and types[name] == column.dtype.type for name, column in schema.columns.items())


def _pandera_failures(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """pandera's failure cases of ``schema`` on ``frame``, every check run by pandera (none: an empty frame)."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return pl.DataFrame()


def _duplicate_failures(canonical: pl.DataFrame, duplicated: pl.Series) -> pl.DataFrame:
    """pandera's failure of its ``unique`` check, for the rows of ``canonical`` among ``duplicated``
    (a null response id is a value like any other, as pandera counts it)."""
    rows = canonical.select("source_row", "response_id").with_row_index("index")
    return rows.filter(pl.col("source_row").is_in(duplicated.implode())).select(
        failure_case=pl.col("response_id"),
        schema_context=pl.lit("Column"),
        column=pl.lit("response_id"),
        check=pl.lit("field_uniqueness"),
        index=pl.col("index").cast(pl.Int32),
    )


def _reader_quarantine(
    problems: pl.DataFrame, meta: pl.DataFrame, columns: tuple[SourceColumn, ...], *, run_id: str, source_file: str
) -> pl.DataFrame:
    """The quarantine rows of the data rows the reader could not give whole (a cell too
    large, bytes that are not text, cells past the header), each naming the file's column;
    what they quote of a cell masked as free text is."""
    headers = {column.index: excerpt(column.header) for column in columns}
    rows = problems.join(meta.select("source_row", "response_id"), on="source_row", how="inner")
    rows = rows.with_columns(failure_case=masked_texts(rows["failure_case"]), message=masked_texts(rows["message"]))
    named = [headers.get(index, f"column {spreadsheet_column(index)}") for index in rows["column_index"].to_list()]
    return rows.select(
        run_id=pl.lit(run_id),
        source_file=pl.lit(source_file),
        source_row=pl.col("source_row"),
        response_id=pl.col("response_id"),
        column=pl.Series(named, dtype=pl.Utf8),
        check=pl.col("check"),
        failure_case=pl.col("failure_case"),
        message=pl.col("message"),
    ).cast(QUARANTINE_SCHEMA)


def _empty_responses(book: Codebook) -> pl.DataFrame:
    return pl.DataFrame(schema={c: pl.Utf8 for c in response_columns(book)})


def _file_quarantine(record: dict, *, check: str, message: str) -> pl.DataFrame:
    """The one quarantine row of a whole-file verdict (no source row, no column)."""
    row = {"run_id": record["run_id"], "source_file": record["source_file"], "source_row": None, "response_id": None,
           "column": None, "check": check, "failure_case": None, "message": message}  # fmt: skip
    return pl.DataFrame([row], schema=QUARANTINE_SCHEMA)


def _recognise(raw: RawExport, *, time_zones: dict[str, str] | None) -> tuple[Layout, ParsedExport]:
    layout = detect_layout(raw.header, kind=raw.kind)
    zone = (time_zones or {}).get(layout.source_tool, DEFAULT_TIME_ZONE)
    return layout, layout.parse(_filled_rows(raw.frame), raw.header, time_zone=zone)


def recognise_export(raw: RawExport, *, time_zones: dict[str, str] | None = None) -> tuple[Layout, ParsedExport]:
    """(the layout a file's header rows match, its filled rows parsed); UnknownLayout when none does."""
    return _recognise(raw, time_zones=time_zones)


def _filled_rows(frame: pl.DataFrame) -> pl.LazyFrame:
    """The raw rows with something in a cell: a row with none (the blank lines, and the
    lines of delimiters alone, that editors leave after the last row) is no response. The
    others keep their spreadsheet row numbers, which is how layouts find their data rows."""
    cells = [name for name in frame.columns if name != "source_row"]
    return frame.lazy().filter(~pl.all_horizontal(pl.col(cells).is_null())) if cells else frame.lazy()


#: Rows of a file mapped, validated and typed at a time: the canonical and typed frames
#: are held one slice at a time, not the whole file's (peak memory at millions of rows).
SLICE_ROWS = 50_000

#: Batches of a file's rows checked at a time, each on a thread of its own (``_in_order``): a
#: batch's work is mostly Polars, which lets go of Python's lock, so two use the machine's second core.
STAGING_THREADS = min(2, os.cpu_count() or 1)
#: Rows a part of a file read once holds at least (``_check_parts``): the checks of a part have a
#: fixed cost (pandera's plans, mostly under Python's lock: ~0.05 s of CPU), so a small file is
#: checked in one part on the calling thread (a 10,000-row file: 0.27-0.30 s of CPU against 0.34-0.39 s).
MIN_PART_ROWS = 20_000


def process_export(
    path: Path,
    *,
    run_id: str,
    file_order: int,
    wave: int,
    book: Codebook,
    key: bytes,
    time_zones: dict[str, str] | None = None,
    max_quarantined_share: float = MAX_QUARANTINED_SHARE,
    data: bytes | None = None,
    limits: ReadLimits | None = None,
    wave_book: Codebook | None = None,
    slice_rows: int = SLICE_ROWS,
    batch_bytes: int = BATCH_BYTES,
    threads: int = STAGING_THREADS,
) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """(files record, accepted responses, quarantine rows) of one export file (of ``data``, its bytes, when given).

    Never raises for a bad file: its record says ``failed`` or ``rejected`` and why.
    ``time_zones`` maps a source tool to the IANA zone of the local times its files do
    not zone (default UTC); ``max_quarantined_share`` is the share of failed rows above
    which the whole file is rejected. ``data``: the file's bytes, when read already (the
    path then only names the file); ``limits``: how much of a file is read. ``wave_book``:
    the codebook of the file's wave (``Study.book_for``), which its columns and answers are
    matched against (default ``book``); the staged responses have ``book``'s columns.
    ``slice_rows``: rows parsed (``read_batches``), mapped, validated and typed at a time;
    ``batch_bytes``: at most this many bytes of a delimited file parsed at a time; the result
    is the same whatever they are, and whatever ``threads`` (batches checked at a time).
    """
    slices: list[pl.DataFrame] = []
    options = _Options(
        run_id, file_order, wave, book, key, time_zones, max_quarantined_share, wave_book, slice_rows, threads
    )

    def read() -> ExportBatches:
        return read_batches(path, data=data, limits=limits, batch_bytes=batch_bytes, batch_rows=slice_rows)

    record, quarantine = _processed(path, read, slices.append, options)
    if record["status"] != "loaded":
        return record, _empty_responses(book), quarantine
    return record, pl.concat(slices, how="vertical"), quarantine


@dataclass(frozen=True)
class _Options:
    """What ``process_export`` is told about a file besides its bytes."""

    run_id: str
    file_order: int
    wave: int
    book: Codebook
    key: bytes
    time_zones: dict[str, str] | None
    max_quarantined_share: float
    wave_book: Codebook | None
    slice_rows: int = SLICE_ROWS
    threads: int = 1


def _processed(
    path: Path,
    read: Callable[[], ExportBatches],
    keep: Callable[[pl.DataFrame], None],
    options: _Options,
    times: list[pl.DataFrame] | None = None,
) -> tuple[dict, pl.DataFrame]:
    """(files record, quarantine rows) of one export file, read by ``read``; its accepted
    responses, staged, go to ``keep`` a slice of rows at a time (taken only when the record
    says ``loaded``), and what no format reads of its times (``unread_times``) to ``times``. The whole-file decisions (layout, columns, header language, the order
    of dates, the response ids the file repeats) are taken first, from a pass over the file
    that keeps only them (``_FirstPass``); then each batch of rows the reader gives is parsed,
    and each slice of it mapped, validated and typed alone."""
    union, book = options.book, options.wave_book or options.book
    record = {
        "source_file": masked_file_name(path.name), "run_id": options.run_id, "wave": options.wave, "file_order": options.file_order,
        "source_tool": None, "layout": None, "language": None, "encoding": None,
        "rows_read": 0, "quarantined": 0, "columns_ignored": None, "status": "loaded", "message": None,
    }  # fmt: skip
    try:
        export = read()
        first = _recognised(
            export, record, book=book, time_zones=options.time_zones, key=options.key, threads=options.threads
        )
    except UnreadableExport as error:
        return _failed(record, book=union, check="file_readable", reason=str(error))[::2]
    except _NotUsable as unusable:
        return _failed(record, book=union, check=unusable.check, reason=unusable.reason)[::2]
    mapping = _Mapping(book, union, first.resolved, first.layout, record, options.key, first.duplicated)
    unread, checked, times = [], [], [] if times is None else times
    work = functools.partial(_checked_batch, first=first, mapping=mapping, slice_rows=options.slice_rows)
    threads = options.threads if first.kept is None or len(first.kept) > 1 else 1  # (one part: no thread started)
    try:  # (the first pass parsed only some columns of most batches: one may fail to parse whole only now)
        for problems, failures, staged, dates in _in_order(work, first.batches(export), threads=threads):
            unread.append(problems)
            checked.append(failures)
            times.append(dates)
            for part in staged:
                keep(part)
            del staged
    except UnreadableExport as error:
        return _failed(record, book=union, check="file_readable", reason=str(error))[::2]
    quarantine = pl.concat([*unread, *checked], how="vertical").sort("source_row", "column", "check")
    record["quarantined"] = quarantine["source_row"].n_unique()
    record["message"] = times_unread_line(record["source_file"], pl.concat(times, how="vertical"))
    share = options.max_quarantined_share
    if is_too_broken(record["rows_read"], record["quarantined"], max_share=share):
        message = rejection_message(record, quarantine, max_share=share)
        record.update(status="rejected", message=message, quarantined=record["rows_read"])
        verdict = _file_quarantine(record, check="file_quarantined_share", message=message)
        return record, pl.concat([quarantine, verdict], how="vertical")
    return record, quarantine


def _checked_batch(
    raw: RawExport, *, first: _FirstPass, mapping: _Mapping, slice_rows: int
) -> tuple[pl.DataFrame, pl.DataFrame, list[pl.DataFrame], pl.DataFrame]:
    """(the reader's quarantine rows, the checks' quarantine rows, the staged slices, the times
    no format reads: ``unread_times``) of one batch of a file's rows: parsed with the file's
    decisions, each slice mapped, validated, typed."""
    parsed = first.parsed(raw)
    meta, times = pl.collect_all([parsed.meta, _unread_plan(parsed, first)])
    record = mapping.record
    unread = _reader_quarantine(
        raw.problems, meta, parsed.columns, run_id=record["run_id"], source_file=record["source_file"]
    )
    # The answer columns, compact (categories), so that the batch's raw cells are gone before the mapping works.
    wide = compact_wide(parsed.wide, first.resolved, book=mapping.book)
    del raw, parsed
    staged: list[pl.DataFrame] = []
    checked = _checked_slices(wide, meta, mapping, unread["source_row"], staged.append, slice_rows=slice_rows)
    return unread, checked, staged, times


def _unread_plan(parsed: ParsedExport, first: _FirstPass) -> pl.LazyFrame:
    """The plan of what no format reads of a batch's times (``unread_times``), collected with its
    ``meta`` (the rows both read worked out once): from the layout's own reading of its dates where
    it gives it (``ParsedExport.date_reads``, the plan ``meta`` comes from: each date read once, in
    the zone the layout read it in), else from a reading of the dates' texts in the file's zone."""
    if parsed.date_reads is not None:
        return read_times_unread(parsed.date_reads)
    dates = pl.LazyFrame() if parsed.dates is None else parsed.dates
    return unread_times(dates, time_zone=first.time_zone, votes=first.votes)


#: The dates that are a response's submission time, as ``unread_times`` names them (by layout).
_SUBMISSION_TIMES = ("submitted_at", "recorded_at")


def times_unread_line(source_file: str, times: pl.DataFrame) -> str | None:
    """The one line saying how many of a file's times no format reads (``unread_times`` of its
    batches), and their forms; None when every written time was read."""
    found = _times_by_column(times).filter(pl.col("unread") > 0)
    if found.is_empty():
        return None
    counts = ", ".join(f"{name} {unread:,} of {written:,}" for name, written, unread, _ in found.iter_rows())
    return (
        f"{display_name(source_file)}: times that no known format reads were left empty ({counts}; forms seen, "
        f"digits shown as 9: {_forms_text(found)}); write them as 2023-10-02 14:03:04 and land the file again"
    )


def submission_times_unread(times: pl.DataFrame) -> tuple[int, str]:
    """(how many submission times a file wrote, the forms seen) when no format reads any of them, else (0, "")."""
    found = _times_by_column(times).filter(pl.col("name").is_in(_SUBMISSION_TIMES) & (pl.col("written") > 0))
    if found.is_empty() or (found["unread"] < found["written"]).any():
        return 0, ""
    return int(found["written"].max()), _forms_text(found)


def _times_by_column(times: pl.DataFrame) -> pl.DataFrame:
    """``unread_times`` of a file's batches added up: one row per date column."""
    return times.group_by("name", maintain_order=True).agg(
        pl.col("written", "unread").sum(),
        pl.col("forms").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True).head(3),
    )


def _forms_text(found: pl.DataFrame) -> str:
    """Up to three forms of unread times, quoted, masked, short."""
    forms = found["forms"].explode().drop_nulls().unique(maintain_order=True).head(3)
    return ", ".join(repr(excerpt(masked(form), 40)) for form in forms)


def _in_order(work: Callable[[T], R], items: Iterator[T], *, threads: int) -> Iterator[R]:
    """``work`` of each of ``items``, in their order, ``threads`` items at a time: the next item
    is taken (read) while they are worked on, so at most ``threads + 1`` are held at once. A
    failure is raised where its item's result is due (the results before it are given first)."""
    if threads <= 1:
        for item in items:
            yield work(item)
            del item
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="staging") as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            del item  # (the pool lets go of it once worked on)
            if len(pending) >= threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


@dataclass(frozen=True)
class _Mapping:
    """The whole-file decisions each slice of a file is mapped, validated and staged with."""

    book: Codebook  # the wave's
    union: Codebook  # the staged columns'
    resolved: list
    layout: Layout
    record: dict
    key: bytes
    duplicated: pl.Series  # the source rows whose response id the file holds more than once


def _checked_slices(
    wide: pl.DataFrame,
    meta: pl.DataFrame,
    mapping: _Mapping,
    unread: pl.Series,
    keep: Callable[[pl.DataFrame], None],
    *,
    slice_rows: int,
) -> pl.DataFrame:
    """The quarantine rows of the checks of a batch of the file's rows, ``slice_rows`` rows
    at a time: each slice mapped, validated, and its accepted rows (not among ``unread``, the
    rows the reader set aside) staged (to ``keep``) alone. Source rows stay the file's; a
    response id the whole file repeats fails in every slice it is in."""
    rows = meta["source_row"]
    # A slice of the answers is a slice of the metadata when their rows are in the same, file, order (every layout).
    size = (
        _slice_size(wide.height, slice_rows)
        if rows.equals(wide["source_row"]) and rows.is_sorted()
        else max(wide.height, 1)
    )
    book, record = mapping.book, mapping.record
    found = []
    for start in range(0, max(wide.height, 1), size):
        canonical = canonical_frame(
            wide.slice(start, size), meta.slice(start, size), mapping.resolved, book=book, layout=mapping.layout,
            header_language=record["language"],
        )  # fmt: skip
        failures = _validate(canonical, book, duplicated=mapping.duplicated)
        checked = quarantine_rows(failures, canonical, run_id=record["run_id"], source_file=record["source_file"])
        found.append(checked)
        set_aside = pl.concat([unread, checked["source_row"]])
        accepted = canonical.filter(~pl.col("source_row").is_in(set_aside.implode()))
        del canonical  # each step below holds only its input and its output
        keep(_staged_responses(_in_every_wave(accepted, mapping.union), record, book=mapping.union, key=mapping.key))
    return pl.concat(found, how="vertical")


def _slice_size(rows: int, slice_rows: int) -> int:
    """Rows of each slice of a batch of ``rows`` rows: about ``slice_rows`` (at most 1.5 times
    as many), so that a batch the reader cut a little past ``slice_rows`` is one slice, not two."""
    slices = max(round(rows / max(slice_rows, 1)), 1)
    return max(-(-rows // slices), 1)


class _NotUsable(Exception):
    """The file cannot be used at all: the whole-file check it failed, and why."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(reason)
        self.check, self.reason = check, reason


@dataclass(frozen=True)
class _FirstPass:
    """What a file's first pass decides for every batch of its rows."""

    layout: Layout
    header: list[list[str | None]]
    time_zone: str
    resolved: list
    votes: dict[str, tuple[int, int]]  # each date's (month-first, day-first) reads (``date_votes``)
    duplicated: pl.Series  # the source rows whose response id the file holds more than once
    key: bytes  # the deployment's hashing key (for ``Layout.ids_from_personal_data``)
    #: The file's batches, parsed whole, when the first pass kept them (one batch, or a file
    #: ``read_once``): not read again, each let go of as it is given (``batches``).
    kept: list[RawExport] | None = None

    def batches(self, export: ExportBatches) -> Iterator[RawExport]:
        """The file's batches of rows (the whole file at once for a layout that must see every row)."""
        if self.kept is not None:
            return _given(self.kept)
        return export.batches() if self.layout.batched else iter([_joined(export.batches())])

    def parsed(self, raw: RawExport) -> ParsedExport:
        """A batch of the file's rows parsed with the file's decisions."""
        votes = {"votes": self.votes} if self.layout.batched else {}
        parsed = self.layout.parse(_filled_rows(raw.frame), self.header, time_zone=self.time_zone, **votes)
        if not self.layout.ids_from_personal_data:
            return parsed
        ids = pl.col("response_id").map_batches(partial(keyed_response_ids, key=self.key), return_dtype=pl.Utf8)
        return parsed._replace(meta=parsed.meta.with_columns(ids))


def _given(kept: list[RawExport]) -> Iterator[RawExport]:
    """The batches of ``kept``, in order, each taken out of it as it is given (held no longer than its checks)."""
    kept.reverse()
    while kept:
        yield kept.pop()


def _joined(batches: Iterator[RawExport]) -> RawExport:
    """A file's batches as one raw export."""
    raws = list(batches)
    frame = pl.concat([raw.frame for raw in raws], how="vertical")
    problems = pl.concat([raw.problems for raw in raws], how="vertical")
    first = raws[0]
    return RawExport(first.path, frame, first.encoding, first.delimiter, first.kind, problems)


#: What the first pass keeps of a row's response id: two 64-bit hashes (16 bytes a row, not
#: the id's text; two ids with the same 128 bits are never met), equal for equal ids, nulls included.
_ID_HASHES = [
    pl.col("response_id").hash(seed=0).alias("id_hash_0"),
    pl.col("response_id").hash(seed=1).alias("id_hash_1"),
]
#: The repeated ids are looked for in this many shares of the rows (by hash), one at a time:
#: the hash table is a share's, not millions of rows'.
_ID_SHARES = 16
#: A file of at most this many rows has its repeated ids looked for in one share (its hash table
#: holds no more than a share of a file of a million rows; 16 passes of a 10,000-row file's ids: 40 ms).
_ONE_SHARE_ROWS = 1_000_000 // _ID_SHARES


def _repeated_rows(ids: pl.DataFrame) -> pl.Series:
    """The source rows of ``ids`` (``source_row`` and ``_ID_HASHES``) whose response id is the file's more than once."""
    found = []
    shares = 1 if ids.height <= _ONE_SHARE_ROWS else _ID_SHARES
    for share in range(shares):
        part = ids if shares == 1 else ids.filter(pl.col("id_hash_0") % shares == share)
        found.append(part.filter(pl.struct("id_hash_0", "id_hash_1").is_duplicated())["source_row"])
        del part
    return pl.concat(found).sort()


def _recognised(
    export: ExportBatches,
    record: dict,
    *,
    book: Codebook,
    time_zones: dict[str, str] | None,
    key: bytes,
    threads: int = 1,
) -> _FirstPass:
    """The whole-file decisions of a file, from a first pass over its rows that keeps only
    their response ids and the votes of their dates (``threads`` batches at a time); the record
    filled in. _NotUsable when the layout is unknown or it is not this questionnaire."""
    record["encoding"] = export.encoding
    try:
        layout = detect_layout(export.header, kind=export.kind)
    except UnknownLayout as error:
        record["rows_read"] = max(sum(raw.frame.height for raw in export.batches()) - 1, 0)
        raise _NotUsable("layout_known", str(error)) from None
    record.update(source_tool=layout.source_tool, layout=layout.name)
    if layout.ids_from_personal_data:
        record["response_ids"] = KEYED_IDS
    zone = (time_zones or {}).get(layout.source_tool, DEFAULT_TIME_ZONE)
    first = _FirstPass(layout, export.header, zone, [], {}, pl.Series("source_row", [], pl.Int64), key)
    ids, votes, columns, kept, names = [], {}, (), [], []
    # After the first batch, only the columns the pass reads are parsed (decided once a second batch
    # comes), unless the file is read once: then every batch is parsed whole and kept for the checks.
    needed = None if export.read_once else functools.cache(lambda: _first_pass_columns(first, kept[0]))
    batches = export.batches(columns=needed) if layout.batched else first.batches(export)
    facts = partial(_first_pass_facts, first=first, names=names)  # (the next batch is read meanwhile)
    for found, more, batch_columns in _in_order(
        facts, _kept(batches, kept, names, whole=export.read_once), threads=threads
    ):
        ids.append(found)
        votes = added_votes(votes, more) if more is not None else votes
        columns = batch_columns
    every = pl.concat(ids, how="vertical", rechunk=False)
    record["rows_read"] = every.height
    resolved, ignored = resolve_columns(columns, book=book)
    ignored_headers = (excerpt(column_text(column), _HEADER_CHARS) for column in ignored)
    record["columns_ignored"] = masked(", ".join(dict.fromkeys(ignored_headers))) or None
    record["language"] = header_language(resolved)
    try:
        check_questionnaire(columns, resolved, book=book)
    except FileRejected as error:
        raise _NotUsable(error.check, str(error)) from None
    duplicated = _repeated_rows(every)
    kept = _balanced(kept, parts=_check_parts(every.height, threads)) if export.read_once and len(kept) > 1 else kept
    return _FirstPass(layout, export.header, zone, resolved, votes, duplicated, key, kept or None)


def _check_parts(rows: int, threads: int) -> int:
    """How many parts a file of ``rows`` rows read once is checked in: one per thread, each of at
    least ``MIN_PART_ROWS`` rows (a small file: one part)."""
    return max(1, min(threads, rows // MIN_PART_ROWS))


def _balanced(kept: list[RawExport], *, parts: int) -> list[RawExport]:
    """A file's batches, kept whole, cut again into ``parts`` of as many rows each, each with the
    reader's problems of its rows: checked ``parts`` at a time, they end together (the reader's
    first batch is a small one, to size the others on). ``kept`` as it is when its columns differ."""
    frames = [raw.frame for raw in kept]
    if any(frame.columns != frames[0].columns for frame in frames):
        return kept
    frame, problems = pl.concat(frames, how="vertical"), pl.concat([raw.problems for raw in kept], how="vertical")
    size, first = max(-(-frame.height // max(parts, 1)), 1), kept[0]
    del kept[:], frames
    starts = frame["source_row"].gather_every(size).to_list()
    balanced = []
    for index, start in enumerate(starts):
        rows = pl.col("source_row") >= start if index else pl.lit(True)
        rows = rows & (pl.col("source_row") < starts[index + 1]) if index + 1 < len(starts) else rows
        part = frame.slice(index * size, size)
        balanced.append(RawExport(first.path, part, first.encoding, first.delimiter, first.kind, problems.filter(rows)))
    return balanced


def _kept(batches: Iterator[RawExport], kept: list[RawExport], names: list[str], *, whole: bool) -> Iterator[RawExport]:
    """``batches``; the file's columns (its first batch's: a batch may have fewer) put in
    ``names`` and the batches in ``kept`` (every one when ``whole``, else the first while it is
    the only one) before each is given."""
    for count, raw in enumerate(batches):
        names.extend([] if count else raw.frame.columns)
        if whole or not count:
            kept.append(raw)
        else:
            kept.clear()
        yield raw


def _first_pass_facts(
    raw: RawExport, *, first: _FirstPass, names: list[str]
) -> tuple[pl.DataFrame, dict | None, tuple[SourceColumn, ...]]:
    """(source rows and ``_ID_HASHES``, the votes of the dates (None: no dates voted), the file's
    columns) of a batch of its rows, as the first pass keeps them (``_first_pass_plans``)."""
    parsed = first.parsed(_padded(raw, names))
    found = pl.collect_all(_first_pass_plans(parsed, first.layout))  # one pass over the batch for both
    return found[0], votes_of(found[1]) if len(found) > 1 else None, parsed.columns


def _first_pass_plans(parsed: ParsedExport, layout: Layout) -> list[pl.LazyFrame]:
    """What the first pass keeps of a batch: its rows' ``source_row`` and ``_ID_HASHES``, and
    (a batched layout with dates) the votes of its dates (``date_votes``)."""
    wanted = [parsed.meta.select("source_row", *_ID_HASHES)]
    if layout.batched and parsed.dates is not None:
        # Only a value with a slash votes: the rows without one are not read the formats' twenty ways.
        slashed = pl.any_horizontal(pl.all().str.contains("/", literal=True))
        wanted.append(date_votes(parsed.dates.filter(slashed)))
    return wanted


def _first_pass_columns(first: _FirstPass, raw: RawExport | None) -> list[int] | None:
    """The raw columns (indices) the first pass reads of a file's rows, from Polars' projection
    of its plans on ``raw``, the file's first batch; None (every column) when the plans give
    other ids or votes on those columns alone than on all of them."""
    if raw is None:
        return None
    frame, seen = raw.frame, set()

    def source(with_columns, predicate, n_rows, _batch_size) -> Iterator[pl.DataFrame]:
        seen.update(frame.columns if with_columns is None else with_columns)
        rows = frame if predicate is None else frame.filter(predicate)
        seen.update([] if predicate is None else predicate.meta.root_names())
        rows = rows if with_columns is None else rows.select(with_columns)
        yield rows if n_rows is None else rows.head(n_rows)

    try:  # (Polars' IO sources are marked unstable: a change there costs the saving, never the file)
        probe = register_io_source(source, schema=frame.schema)
        parsed = first.layout.parse(probe, first.header, time_zone=first.time_zone)
        pl.collect_all(_first_pass_plans(parsed, first.layout))
    except Exception:  # noqa: BLE001
        return None
    cells = [name for name in frame.columns if name != "source_row"]
    kept = [name for name in cells if name in seen]
    if len(kept) == len(cells):
        return None
    alone = RawExport(raw.path, frame.select(*kept, "source_row"), raw.encoding, raw.delimiter, raw.kind)
    found = [
        pl.collect_all(_first_pass_plans(first.parsed(batch), first.layout))
        for batch in (_padded(alone, frame.columns), raw)
    ]
    same = all(one.equals(other) for one, other in zip(*found))
    return [int(name[1:]) for name in kept] if same else None


def _padded(raw: RawExport, names: list[str]) -> RawExport:
    """``raw`` with the columns ``names``, those it does not have (not read: ``_first_pass_columns``) empty."""
    if raw.frame.columns == names:
        return raw
    missing = [pl.lit(None, pl.Utf8).alias(name) for name in names if name not in raw.frame.columns]
    frame = raw.frame.with_columns(missing).select(names)
    return RawExport(raw.path, frame, raw.encoding, raw.delimiter, raw.kind, raw.problems)


def _in_every_wave(accepted: pl.DataFrame, book: Codebook) -> pl.DataFrame:
    """The accepted rows with a null column for each closed question of ``book`` (the
    union of the waves) that the file's wave did not ask."""
    missing = [q for q in book.closed if q.code not in accepted.columns]
    return accepted.with_columns(
        pl.lit(None, pl.Utf8 if q.type == "single" else pl.List(pl.Utf8)).alias(q.code) for q in missing
    )


def _staged_responses(accepted: pl.DataFrame, record: dict, *, book: Codebook, key: bytes) -> pl.DataFrame:
    """The accepted rows as staged responses: typed, personal data hashed or masked, provenance added."""
    text_columns = [c for c in response_columns(book) if c.endswith("_other") or c in {q.code for q in book.text}]
    for column in text_columns:
        if column not in accepted.columns:
            accepted = accepted.with_columns(pl.lit(None, pl.Utf8).alias(column))
    # The default engine (not SMALL_PLANS): its output's chunks are the staged Parquet's row groups.
    typed = typed_responses(accepted.lazy(), book=book).collect()
    del accepted
    return (
        typed.pipe(hash_personal_data, key=key, text_columns=text_columns)
        .with_columns(
            wave=pl.lit(record["wave"], pl.Int32),
            source_tool=pl.lit(record["source_tool"]),
            source_file=pl.lit(record["source_file"]),
            file_order=pl.lit(record["file_order"], pl.Int64),
            language=pl.col("language").cast(book.language_dtype),
        )
        .select(response_columns(book))
    )


def canonical_frame(
    wide: pl.LazyFrame | pl.DataFrame,
    meta: pl.DataFrame,
    resolved: list,
    *,
    book: Codebook,
    layout: Layout,
    header_language: str | None,
) -> pl.DataFrame:
    """The file's canonical responses, from its answer columns as they are (``wide``).

    The tests hold it against references that map the file's cells one by one
    (tests/transforms/reference.py, tests/transforms/test_mapping_columnar.py).
    """
    return canonical_from_wide(
        meta.lazy(), wide, resolved, book=book, other_in_place=layout.other_in_place, header_language=header_language
    ).collect(engine=SMALL_PLANS)


def _failed(record: dict, *, book: Codebook, check: str, reason: str) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """A file that could not be used at all: its record, no responses, one quarantine row.

    ``reason`` may quote the file (header cells, a reader's error): masked as free text
    is, and cut short."""
    message = not_loaded_message(record["source_file"], check=check, reason=excerpt(masked(reason), limit=REASON_CHARS))
    record.update(status="failed", message=message, quarantined=record["rows_read"])
    return record, _empty_responses(book), _file_quarantine(record, check=check, message=message)


#: The file record's times (``file_times``).
FILE_TIMES = ["exported_at", "file_modified_at"]


def file_times(data: bytes | Path, *, modified_ns: int) -> dict[str, str | None]:
    """The file record's times (ISO 8601, UTC), by which the latest version of a response
    is told (``transforms.responses.FILE_RECENCY``): ``exported_at``, when the survey tool
    wrote the file, where the file says so (``surveyhouse.read.export_time``), and
    ``file_modified_at``, the file's modification time as it landed."""
    exported = export_time(data)
    modified = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=modified_ns // 1000)
    return dict(zip(FILE_TIMES, [exported.isoformat() if exported else None, modified.isoformat()]))


def stage_export(
    path: Path,
    *,
    staged_dir: Path,
    archive_dir: Path,
    run_id: str,
    file_order: int,
    wave: int | None,
    book: Codebook,
    key: bytes,
    time_zones: dict[str, str] | None = None,
    max_quarantined_share: float = MAX_QUARANTINED_SHARE,
    sha256: str | None = None,
    inbox: Path | None = None,
    times: dict | None = None,
    limits: ReadLimits | None = None,
    wave_book: Codebook | None = None,
    checked: bool = False,
    waves: tuple[Wave, ...] = (),
    slice_rows: int = SLICE_ROWS,
    batch_bytes: int = BATCH_BYTES,
    threads: int = STAGING_THREADS,
    hashed_identity: list[int] | None = None,
) -> StagedFile:
    """Process one export and stage its result; the raw file goes to the archive.

    ``wave``: the file's wave, None for the one its submission dates fall in (``waves``,
    the study's); ``checked``: its submissions must fall in that wave's field period. A
    file whose dates do not fit is not staged: FileHeld says why (schemas/waves.py).

    ``times``: the file's times (``file_times``) as first recorded, for a rebuild, which
    stages the archived copy (its own modification time is when it was archived).

    The file is read where it landed (no link followed below ``inbox``, regular files only),
    a slice of rows at a time (``read_batches``: a delimited export is never whole in memory),
    while a thread copies it into the archive and hashes the copy (``_archiving``): the
    archive, the hash and what is parsed are the same bytes. ``sha256``: the file's as
    discovery found it; bytes that are not those any more (the file was written since) are
    left for the next night. ``hashed_identity``: what the file system said of the file when
    discovery read ``sha256`` (``NewFile.identity``); a copy made while it says the same is
    those bytes, and is not hashed again. Raises FileNotTaken for a file not taken.
    """
    sha, opener, kept = _archiving(
        path, inbox=inbox, archive_dir=archive_dir, sha256=sha256, hashed_identity=hashed_identity
    )

    def read() -> ExportBatches:
        return read_batches(path, opener=opener, limits=limits, batch_bytes=batch_bytes, batch_rows=slice_rows)

    wave_given = book.wave if wave is None else wave
    options = _Options(
        run_id, file_order, wave_given, book, key, time_zones, max_quarantined_share, wave_book, slice_rows, threads
    )
    sliced = _SlicedResponses(staged_dir / f".{sha}.slices")
    try:
        try:
            record, quarantine = _processed(path, read, sliced.keep, options, dates_read := [])
        finally:
            landed, archived = kept()
        times = times or file_times(archived, modified_ns=landed[3])
        days = sliced.days if record["status"] == "loaded" else None
        placement, waves = Placement(wave, checked), waves or (Wave(book.wave),)
        unread = submission_times_unread(pl.concat(dates_read, how="vertical")) if dates_read else (0, "")
        record["wave"] = _placed_wave(record, days, placement, waves=waves, path=path, unread=unread)
        record |= {"file_sha256": sha, "archived_as": archived.name} | times
        return _written(StagedFile(sha, private_folder(staged_dir / sha), record), sliced, quarantine)
    finally:
        sliced.remove()


def _written(staged: StagedFile, sliced: _SlicedResponses, quarantine: pl.DataFrame) -> StagedFile:
    """``staged`` written: its responses (when loaded), its quarantine, then its record, last."""
    if staged.record["status"] == "loaded":
        sliced.combine(staged.responses, wave=staged.record["wave"])
    _write_parquet(quarantine, staged.quarantine)
    write_private(staged.folder / RECORD, json.dumps(staged.record, indent=1))
    return staged


#: Rows of a row group of the staged responses: the combined file is written a row group at
#: a time (Polars' default, 262,144 rows, would hold that many staged rows while it writes).
_ROW_GROUP_ROWS = 20_000

#: How every staged Parquet file is compressed: ZSTD at its cheapest level. The files are
#: internal, read once by the build; level 1 costs about a third less CPU to write than
#: Polars' default (3) for a file no larger, and reads the same.
STAGED_COMPRESSION: dict = {"compression": "zstd", "compression_level": 1}


class _SlicedResponses:
    """A file's staged responses as they come, a slice of rows at a time, written meanwhile
    to one Parquet file in ``folder`` (private, removed after) by a writer on a thread of its
    own (``_SliceWriter``), then moved into place by ``combine``: the file is never whole in
    memory, and it is written while the next slices are checked, not after the last one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writer: _SliceWriter | None = None
        self.waves: set[int] = set()  # the waves the slices were staged with
        self.days: tuple[str, str] | None = None  # of the accepted submissions (``submission_days``)

    def keep(self, staged: pl.DataFrame) -> None:
        if self.writer is None:  # (what a run killed while staging this file left goes first)
            shutil.rmtree(self.folder, ignore_errors=True)
            private_folder(self.folder)
            self.writer = _SliceWriter(self.folder / "responses.parquet", staged.schema)
        self.writer.put(staged)
        self.waves.update(staged["wave"].unique().drop_nulls().to_list())
        days = submission_days(staged)
        if days is not None:
            self.days = days if self.days is None else (min(self.days[0], days[0]), max(self.days[1], days[1]))

    def combine(self, path: Path, *, wave: int) -> None:
        """The slices written, as one Parquet file, to ``path``, atomically; their ``wave`` set
        (written again, streamed, in the rare case it is not the one they were staged with)."""
        if self.writer is None:
            raise RuntimeError(f"no responses were staged for {display_name(path.parent.name)}")
        written = self.writer.finish()
        if self.waves - {wave}:
            again = written.with_name("rewaved.parquet")
            pl.scan_parquet(written).with_columns(wave=pl.lit(wave, pl.Int32)).sink_parquet(
                again, row_group_size=_ROW_GROUP_ROWS, **STAGED_COMPRESSION
            )
            make_private(again)
            written = again
        written.replace(path)

    def remove(self) -> None:
        if self.writer is not None:
            self.writer.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


#: Slices waiting for the writer at most (the checks of the next ones wait for it beyond).
_SLICES_QUEUED = 2


class _SliceWriter:
    """A Parquet file (``path``, 0600) written on a thread from the slices ``put`` to it, in
    order: Polars' sink of a source that yields them as they come (the same file as a sink of
    them all at once). ``finish`` waits for the file; a failure to write it is raised there,
    or by the next ``put``."""

    def __init__(self, path: Path, schema: pl.Schema) -> None:
        self.path, self.schema = path, schema
        self.queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=_SLICES_QUEUED)
        self.error: BaseException | None = None
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600))  # private from the start
        source = register_io_source(self._slices, schema=schema)
        self.thread = threading.Thread(target=self._write, args=(source,), name="staged-writer", daemon=True)
        self.thread.start()

    def _slices(self, with_columns, _predicate, _n_rows, _batch_size) -> Iterator[pl.DataFrame]:
        while (staged := self.queue.get()) is not None:
            yield staged if with_columns is None else staged.select(with_columns)

    def _write(self, source: pl.LazyFrame) -> None:
        try:
            source.sink_parquet(self.path, row_group_size=_ROW_GROUP_ROWS, **STAGED_COMPRESSION)
        except BaseException as error:  # noqa: BLE001 (raised on the thread that staged the slices)
            self.error = error

    def put(self, staged: pl.DataFrame | None) -> None:
        """``staged`` handed to the writer (None: the last was); raises the writer's failure."""
        if staged is not None and staged.schema != self.schema:
            raise ValueError(
                f"a slice of {display_name(self.path.name)} has other columns than the first: {staged.schema}"
            )
        while True:
            if not self.thread.is_alive():
                raise self.error or RuntimeError(f"the writer of {display_name(self.path.name)} stopped")
            try:
                self.queue.put(staged, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self) -> Path:
        self.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.path

    def stop(self) -> None:
        """The writer stopped, whatever it wrote (a failure is not raised: the file is dropped)."""
        with contextlib.suppress(BaseException):
            if self.thread.is_alive():
                self.put(None)
        self.thread.join()


class FileHeld(FileNotTaken):
    """A file held back, not staged: its submissions do not fit its wave (the message says how to fix it)."""

    def __init__(self, message: str, *, record: dict) -> None:
        super().__init__(message, failed=True)
        self.record = record


def submission_days(accepted: pl.DataFrame) -> tuple[str, str] | None:
    """The first and last day (UTC, ISO 8601) of a staged file's accepted submissions; None when no row has one."""
    if accepted.is_empty() or "submitted_at" not in accepted.columns:
        return None
    submitted = pl.col("submitted_at").dt.convert_time_zone("UTC")
    first, last = accepted.select(submitted.min().dt.date(), submitted.max().dt.date().alias("last")).row(0)
    return None if first is None else (first.isoformat(), last.isoformat())


def _placed_wave(
    record: dict,
    days: tuple[str, str] | None,
    placement: Placement,
    *,
    waves: tuple[Wave, ...],
    path: Path,
    unread: tuple[int, str] = (0, ""),
) -> int:
    """The wave of a file's accepted rows, by their first and last ``days`` and its placement;
    FileHeld when they fit none, or when its wave is to come from its dates and none of its
    ``unread`` submission times could be read. A file not loaded keeps its given wave (else `wave:`)."""
    name = display_name(path.name)
    count, forms = unread
    if count and days is None and placement.checked and placement.wave is None and record["status"] == "loaded":
        raise FileHeld(
            f"{name}: none of its {count:,} submission times could be read (forms seen, digits shown as 9: {forms}), "
            "so its wave cannot come from its dates; move it to a wave's folder (landing/<folder>/) or run "
            f"`surveyhouse assign {name} --wave W`",
            record=record,
        )
    wave = place_file(name, placement, days, waves, default=record["wave"])
    if isinstance(wave, str):
        raise FileHeld(wave, record=record)
    return wave


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    partial = path.with_name(path.name + ".part")
    frame.write_parquet(partial, **STAGED_COMPRESSION)
    make_private(partial)
    partial.replace(path)


def _archived_copy(
    path: Path, *, inbox: Path | None, archive_dir: Path, sha256: str | None
) -> tuple[str, list[int], Path]:
    """(SHA-256, identity, archived copy) of a landed file: copied once into the archive
    (0600, by the kernel), then hashed from that copy, so that the archive, the hash and what
    is parsed are the same bytes. FileNotTaken (nothing archived) when the file was written
    while it was copied, or is not any more the file discovery hashed (``sha256``)."""
    landed, part = _landed_part(path, inbox=inbox, archive_dir=archive_dir, sha256=sha256)
    try:
        sha = file_sha256(part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return sha, landed, _kept_part(part, sha, path=path, inbox=inbox, sha256=sha256)


def _archiving(
    path: Path, *, inbox: Path | None, archive_dir: Path, sha256: str | None, hashed_identity: list[int] | None = None
) -> tuple[str, Callable[[], BinaryIO], Callable[[], tuple[list[int], Path]]]:
    """(the file's SHA-256, what opens it to be read, what gives its archived copy's (identity,
    path) once it is kept). Without ``sha256`` (a rebuild), the copy is made and hashed first and
    is what is read. With it (discovery's), the landed file is read where it is while a thread
    copies it into the archive and hashes the copy: the copy is kept if it is the file discovery
    hashed and every read was of the bytes it copied (``_LandedReads``), else FileNotTaken.
    ``hashed_identity``: the file's identity when ``sha256`` was read (``_hashed_copy``)."""
    if sha256 is None:
        sha, landed, archived = _archived_copy(path, inbox=inbox, archive_dir=archive_dir, sha256=sha256)
        return sha, partial(_opened_archive, archived, path=path), lambda: (landed, archived)
    reads = _LandedReads(path, inbox)
    copying = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-copy")
    copied = copying.submit(
        _hashed_copy, path, inbox=inbox, archive_dir=archive_dir, sha256=sha256, hashed_identity=hashed_identity
    )
    copying.shutdown(wait=False)
    return sha256, reads.open, partial(_verified_copy, copied, reads, path=path, inbox=inbox, sha256=sha256)


def _opened_archive(archived: Path, *, path: Path) -> BinaryIO:
    try:
        return archived.open("rb")
    except OSError as error:
        raise UnreadableExport(f"{display_name(path.name)} could not be opened: {error.strerror}") from error


def _hashed_copy(
    path: Path, *, inbox: Path | None, archive_dir: Path, sha256: str, hashed_identity: list[int] | None = None
) -> tuple[list[int], Path, str]:
    """(identity, copy, its SHA-256) of a landed file copied into the archive as a ``.part``
    (``_landed_part``); nothing left if it could not be copied or hashed. A copy made while the
    file system said of the file what it said when ``sha256`` was read (``hashed_identity``) is
    of those bytes (any write moves the change time, which no tool sets back): not read again."""
    landed, part = _landed_part(path, inbox=inbox, archive_dir=archive_dir, sha256=sha256)
    if hashed_identity is not None and list(hashed_identity) == landed:
        return landed, part, sha256
    try:
        return landed, part, file_sha256(part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _verified_copy(
    copied: Future[tuple[list[int], Path, str]], reads: _LandedReads, *, path: Path, inbox: Path | None, sha256: str
) -> tuple[list[int], Path]:
    """(identity, archived copy) once ``copied`` is done: kept (``_kept_part``) when the reads
    were of its bytes; FileNotTaken (the part removed) when they were not."""
    landed, part, sha = copied.result()
    try:
        reads.check(landed)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return landed, _kept_part(part, sha, path=path, inbox=inbox, sha256=sha256)


class _LandedReads:
    """A landed file opened where it is (no link followed below ``inbox``) each time it is
    read, while it is copied: what the file system says of the file (``identity``) when each
    read began, and after them all, must be what it said while it was copied. A write changes
    it (the change time, which no tool sets back), so equal identities are the copy's bytes."""

    def __init__(self, path: Path, inbox: Path | None) -> None:
        self.path, self.inbox = path, inbox
        self.seen: list[list[int]] = []
        self.opened: list[int] = []  # a descriptor of each file read, to ask after the reads

    def open(self) -> BinaryIO:
        fd = open_landed(self.path, inbox=self.inbox)
        self.seen.append(identity(os.fstat(fd)))
        self.opened.append(os.dup(fd))
        return os.fdopen(fd, "rb")

    def check(self, copied: list[int]) -> None:
        """FileNotTaken when a read was not of the bytes the copy of identity ``copied`` has."""
        try:
            after = [identity(os.fstat(fd)) for fd in self.opened]
        finally:
            for fd in self.opened:
                os.close(fd)
            self.opened = []
        if any(seen != copied for seen in [*self.seen, *after]):
            raise FileNotTaken(
                f"{shown(self.path, self.inbox)} was left for the next night: it was written while it was read, "
                "may still be written.",
                failed=False,
            )


def _landed_part(path: Path, *, inbox: Path | None, archive_dir: Path, sha256: str | None) -> tuple[list[int], Path]:
    """(identity, copy) of a landed file copied into the archive as a ``.part`` (0600, by the
    kernel); FileNotTaken (nothing left) when the file was written while it was copied. Without
    ``sha256`` (a rebuild's), the copy is hashed and parsed next: kept in the page cache."""
    folder, suffix = private_folder(archive_dir), path.suffix.lower()
    part = folder / f"{sha256 or secrets.token_hex(16)}{suffix}.part"
    try:
        return landed_copy(path, part, inbox=inbox, read_again=sha256 is None), part
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _kept_part(part: Path, sha: str, *, path: Path, inbox: Path | None, sha256: str | None) -> Path:
    """The archived copy: ``part``, of SHA-256 ``sha``, kept under that name; FileNotTaken (the
    part removed) when it is not ``sha256``, the file discovery hashed."""
    try:
        if sha256 is not None and sha != sha256:
            raise FileNotTaken(
                f"{shown(path, inbox)} was left for the next night: it changed since it was found, may still be written.",
                failed=False,
            )
        archived = part.parent / f"{sha}{path.suffix.lower()}"
        if archived.exists():
            part.unlink()
        else:
            part.replace(archived)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return archived


#: Default of the setting SURVEYHOUSE_ARCHIVE_DAYS: raw files archived longer ago are deleted.
ARCHIVE_DAYS = 365.0
#: What an expired raw file leaves in the archive: ``rebuild`` then takes its staged result as it is.
EXPIRED = ".expired"


def expire_archive(archive_dir: Path, *, archive_days: float = ARCHIVE_DAYS, now: float | None = None) -> list[str]:
    """Delete the raw files archived more than ``archive_days`` ago; the names of those deleted.

    Each leaves ``<name>.expired`` behind, so that ``rebuild`` knows the file went by the
    retention rule (and takes its staged, masked result) rather than by accident. Files
    archived by an older version with a wider mode are made 0600 on the way.
    """
    if not archive_dir.is_dir():
        return []
    now = time.time() if now is None else now
    expired = []
    for entry in sorted(os.scandir(private_folder(archive_dir)), key=lambda entry: entry.name):
        if not entry.is_file(follow_symlinks=False) or entry.name.endswith((EXPIRED, ".part")):
            continue
        info = entry.stat(follow_symlinks=False)
        if now - info.st_mtime > archive_days * 86400:
            write_private(Path(entry.path + EXPIRED), json.dumps({"expired_at": now, "archive_days": archive_days}))
            os.unlink(entry.path)
            expired.append(entry.name)
        elif info.st_mode & 0o077:
            os.chmod(entry.path, 0o600)
    return expired
