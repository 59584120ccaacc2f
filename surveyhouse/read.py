"""Reading export files into raw frames.

A raw frame is the file as a person sees it in a spreadsheet: every cell as text,
header rows included, one column ``c0 .. cN`` per spreadsheet column and
``source_row``, the 1-based row number a spreadsheet shows (a record with newlines
inside quoted cells is still one row). Nothing is interpreted here: which tool made
the file, which rows are headers and what the columns mean is the job of
``transforms.layouts``.

Three kinds of file, told apart by their first bytes, never by their name:

delimited  text (CSV, TSV, an Excel re-save with ``;``): UTF-8 with or without BOM, else
           Windows-1252; the delimiter is sniffed from the first record.
workbook   an Excel workbook (``PK`` zip signature holding ``xl/workbook.xml``: a
           SurveyMonkey XLSX export, or any CSV re-saved as .xlsx): the first sheet, every
           cell as the text calamine gives it (dates as ``2023-10-02 14:03:04``).
spss       an SPSS data file (``$FL2``, ``$FL3`` for .zsav): row 1 the variable names,
           row 2 the variable labels (the question text), then the data as text, value
           labels applied where the file has them (``1`` -> ``Manager``), datetime
           variables as ``2023-10-02 14:03:04``, system-missing as empty. In a multiple
           dichotomy set the file declares (MRSETS), a value other than the counted one
           means "not chosen" and is empty.

A file is read once, as bytes, at exactly its path (never as a pattern: ``[final]`` and
``*`` are letters of a name), or given as the bytes its caller hashed and archived; every
parser reads those bytes (pyreadstat, which needs a file, a private copy of them).

``read_batches`` reads a delimited text in UTF-8 (what survey tools write) a batch of whole
records at a time (a batch cut after a line break outside quoted cells; each batch parsed as
wide as the file's first record), so that what is held does not grow with the file; the
frames of its batches put together are ``read_export``'s. Any other file (a workbook, an
SPSS file, a text in Windows-1252 or UTF-16, or mostly UTF-8 with bytes that are not) is read
whole, one batch: a workbook and an SPSS file are bounded by ``max_bytes`` unpacked.

What a file can make the pipeline hold is bounded (``ReadLimits``): a file past
``max_bytes`` (a workbook or a compressed SPSS file: unpacked), or a workbook packed like a
zip bomb, is unreadable; a cell past ``max_cell_chars`` is cut to an excerpt and reported
in ``RawExport.problems`` (``cell_too_large``), and so are the cells of a file mostly UTF-8
with bytes that are not (``encoding``, the bytes shown as U+FFFD): their rows are set aside
(quarantined by staging), the rest of the file loads. NUL characters are dropped from cells.
A row of a delimited text with a cell past the header's width (its first record's) is reported
too (``more_cells_than_header``): never cut silently. Cells past it that are all empty
(trailing delimiters) are dropped, as a spreadsheet shows them: nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import re
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree

import numpy as np
import polars as pl

from transforms.display import EXCERPT_CHARS, display_name, excerpt, spreadsheet_column

#: Extensions the landing folder is scanned for.
EXPORT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".sav", ".zsav")
#: A file that is valid UTF-8 but for this share of bytes (a stray byte in a header) is
#: read as UTF-8, its invalid bytes replaced, not re-decoded as Windows-1252; so is one
#: with more valid UTF-8 letters beyond ASCII than invalid bytes (rows pasted from cp1252).
_STRAY_BYTES_SHARE = 0.001
_SPSS_MAGIC = (b"$FL2", b"$FL3")
_ZIP_MAGIC = b"PK\x03\x04"
#: SPSS stores a datetime as float seconds since 1582: digits below the millisecond are noise.
_SPSS_TIME_PRECISION = "1ms"
_MB = 1 << 20
#: A text file may have a stray NUL or control byte or two in a cell (NULs are dropped);
#: with a NUL and more control bytes than this in its first 4 KB it is a binary file.
_CONTROLS_IN_TEXT = 2
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f]")
#: A workbook part bigger than this that unpacks more than ``_MAX_ZIP_RATIO`` times its
#: stored size is a zip bomb, not an export (Apache POI's default minimum inflate ratio, 1%).
_RATIO_CHECKED_FROM = 1 << 20
_MAX_ZIP_RATIO = 100
#: Bytes that are not UTF-8, as ``bytes.decode(errors="surrogateescape")`` gives them.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
#: Characters other than ASCII that are valid UTF-8 (what a UTF-8 file's accents give).
_UTF8_BEYOND_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
#: Unicode noncharacters, never in an export's text: one marks the bytes that are not UTF-8 in a file mostly UTF-8.
_MARKS = [chr(code) for code in range(0xFDD0, 0xFDF0)]
#: Cells past the header's width a row is looked at for, once one row has two or more.
_PAST_HEADER_CELLS = 16
#: The problems a reader reports: one row per cell it could not give whole.
PROBLEMS_SCHEMA = {
    "source_row": pl.Int64,
    "column_index": pl.Int32,  # the raw frame's column c{index}
    "check": pl.Utf8,  # cell_too_large | encoding | more_cells_than_header
    "failure_case": pl.Utf8,  # an excerpt of the cell, never the cell whole
    "message": pl.Utf8,
}


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file is read: past these a file is unreadable, or a row set aside."""

    max_bytes: int = 2 * 1024**3  # a file's size, unpacked for a workbook (SURVEYHOUSE_MAX_FILE_MB)
    max_cell_chars: int = 100_000  # a longer cell is never stored: its row is quarantined (cell_too_large)


class UnreadableExport(Exception):
    """The file could not be read as an export (empty, truncated, binary, corrupt)."""


@dataclass(frozen=True)
class RawExport:
    path: Path
    frame: pl.DataFrame  # c0..cN (Utf8, null where empty) + source_row (Int64, 1-based)
    encoding: str
    delimiter: str | None  # None for a workbook or an SPSS file
    kind: str = "delimited"  # delimited | workbook | spss: which layouts may read it
    #: Cells the reader could not give whole (PROBLEMS_SCHEMA): their rows are quarantined.
    problems: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PROBLEMS_SCHEMA))

    @property
    def header(self) -> list[list[str | None]]:
        """The first three rows as lists, what layout detection looks at."""
        head = self.frame.head(3).drop("source_row")
        return [list(row) for row in head.iter_rows()]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_export(data: bytes) -> tuple[str, str]:
    """Decode an export's bytes: UTF-8 (with or without BOM), else Windows-1252.

    Returns (text, encoding name). Excel re-saves in a French or English locale write
    Windows-1252; survey tools write UTF-8, sometimes with stray invalid bytes (a stray
    byte in a header, rows pasted from a Windows-1252 file): in a file mostly UTF-8 they
    are replaced (U+FFFD) rather than turning every accented letter of the file into
    mojibake. The reader marks them instead, to set their rows aside.
    """
    return _decoded(data, mark="\ufffd")


def _decoded(data: bytes, *, mark: str) -> tuple[str, str]:
    """``decode_export``, the bytes that are not UTF-8 of a file mostly UTF-8 written ``mark``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    bom = data.startswith(b"\xef\xbb\xbf")
    encoding = "utf-8-sig" if bom else "utf-8"
    text = data[3 if bom else 0 :].decode("utf-8", errors="surrogateescape")
    invalid = sum(1 for _ in _NOT_UTF8.finditer(text))
    if not invalid:
        return text, encoding
    stray = invalid <= max(2, len(data) * _STRAY_BYTES_SHARE)
    if bom or stray or sum(1 for _ in _UTF8_BEYOND_ASCII.finditer(text)) >= invalid:
        return _NOT_UTF8.sub(mark, text), f"{encoding} (invalid bytes replaced)"
    return data.decode("cp1252", errors="replace"), "cp1252"


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first record: the most frequent of , ; and tab outside quotes."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for char in text[:200_000]:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char in counts:
                counts[char] += 1
            elif char == "\n":
                break
    best = max(counts, key=lambda key: counts[key])
    return best if counts[best] else ","


def truncation(text: str, delimiter: str) -> str | None:
    """Why a delimited text looks cut short (a download or copy stopped mid-row), else None.

    A file that ends without a line break inside a quoted cell, or whose last record has
    fewer cells than its first, was cut. Tools that omit the final line break (Google
    Sheets) still write whole records, so those pass.
    """
    if text.endswith(("\n", "\r")):
        return None
    if text.count('"') % 2:
        return "it ends inside a quoted cell"
    return _short_last_record(io.StringIO(text, newline=""), delimiter)


def _short_last_record(stream: io.TextIOBase, delimiter: str) -> str | None:
    """Why the text of ``stream`` looks cut short: its last record has fewer cells than its first."""
    records = csv.reader(stream, delimiter=delimiter)
    try:
        first = next(records, [])
        tail = deque(enumerate(records, start=2), maxlen=1)  # the last record, read at C speed
    except csv.Error:  # a cell past the csv module's size limit: let the CSV parser judge the file
        return None
    count, last = tail[0] if tail else (1, first)
    if count > 1 and len(last) < len(first):
        return f"its last row (row {count}) has {len(last)} of the {len(first)} cells of the first"
    return None


def read_export(path: Path, *, data: bytes | None = None, limits: ReadLimits | None = None) -> RawExport:
    """Read one export file into a raw frame, every cell as text.

    ``data``: the file's bytes, when the caller has read them (hashed and archived the
    same bytes): ``path`` then only names the file, it is never opened. Otherwise the
    file is read once, at exactly ``path`` (never as a pattern: ``[final]``, ``*`` are
    letters of a name). A cell the file cannot give whole (past ``limits.max_cell_chars``,
    or bytes that are not text) is in ``problems``, its row to be set aside.
    """
    limits = limits or ReadLimits()
    data = _export_bytes(path, data, limits=limits)
    if not data or data.isspace():  # (not ``strip()``: that copies the whole file)
        raise UnreadableExport(f"{display_name(path.name)} is empty")
    if data.startswith(_SPSS_MAGIC):
        raw = _read_spss(path, data, limits=limits)
    elif data.startswith(_ZIP_MAGIC):
        raw = _read_workbook(path, data, limits=limits)
    elif _is_binary(data[:4096]):
        raise UnreadableExport(
            f"{display_name(path.name)} is a binary file, not a survey export (CSV, Excel workbook or SPSS file)"
        )
    else:
        raw = _read_delimited(path, data)
    del data
    return _bounded(raw, limits=limits)


def _is_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head:
        return False
    return len(_CONTROL_BYTES.findall(head)) > _CONTROLS_IN_TEXT


def _export_bytes(path: Path, data: bytes | None, *, limits: ReadLimits) -> bytes:
    """The file's bytes (read once, at exactly ``path``), refused past ``limits.max_bytes``."""
    if data is None:
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                # At most one byte past the limit, however the file grows while it is read.
                data = handle.read(limits.max_bytes + 1) if size <= limits.max_bytes else b""
                size = max(size, len(data))
        except OSError as error:
            raise UnreadableExport(f"{display_name(path.name)} could not be opened: {error.strerror}") from error
    else:
        size = len(data)
    if size > limits.max_bytes:
        raise UnreadableExport(_too_large(path, size, limits=limits))
    return data


def _too_large(path: Path, size: int, *, limits: ReadLimits, what: str = "") -> str:
    return (
        f"{display_name(path.name)} is too large: {what}{_size_text(size)}, more than the "
        f"{_size_text(limits.max_bytes)} a file may have (setting SURVEYHOUSE_MAX_FILE_MB)"
    )


def _size_text(size: int) -> str:
    return f"{size / _MB:,.0f} MB" if size >= 10 * _MB else f"{size / _MB:,.2f} MB"


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 without a BOM, checked a block at a time (no copy of the file as text)."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), 1 << 24):
            decoder.decode(view[start : start + (1 << 24)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _read_delimited(path: Path, data: bytes) -> RawExport:
    """A delimited text: UTF-8 as it is; else decoded (see ``decode_export``), or, in a
    file mostly UTF-8, row by row, the bytes that are not UTF-8 marked (``_INVALID``)."""
    if _is_utf8(data):
        # What survey tools write: parsed from its bytes as they are (``decode_export``
        # would give these very characters), with the text of its head only for the delimiter.
        encoding, payload = "utf-8", data
        delimiter = sniff_delimiter(data[:800_000].decode("utf-8", errors="ignore"))
        cut = truncation(data.decode("utf-8"), delimiter) if not data.endswith((b"\n", b"\r")) else None
    else:
        mark = next(m for m in _MARKS if m.encode("utf-8") not in data)
        text, encoding = _decoded(data, mark=mark)
        delimiter = sniff_delimiter(text)
        cut = truncation(text, delimiter)
        payload = text.encode("utf-8")
        del text
    if cut:
        raise UnreadableExport(f"{display_name(path.name)} is truncated: {cut} (was the download or copy interrupted?)")
    width = first_record_width(payload, delimiter=delimiter)
    parsed = _raw_frame(_parse_delimited(path, payload, delimiter=delimiter, width=width))
    frame, problems = cells_past_header(parsed, width=width, delimiter=delimiter)
    if encoding.endswith("(invalid bytes replaced)"):
        frame, marked = _unmarked(frame, mark=mark)
        problems = pl.concat([problems, marked], how="vertical")
    return RawExport(path=path, frame=frame, encoding=encoding, delimiter=delimiter, problems=problems)


def _unmarked(frame: pl.DataFrame, *, mark: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cells with bytes that are not UTF-8 (``mark``) reported, the bytes shown as U+FFFD."""
    found = []
    for index, name in enumerate(_cell_columns(frame)):
        marked = frame.filter(pl.col(name).str.contains(mark, literal=True)).select("source_row", name)
        for row, cell in marked.iter_rows():
            shown = excerpt(cell.replace(mark, "\ufffd"))
            message = (
                f"the cell in column {spreadsheet_column(index)} holds bytes that are not UTF-8 text, "
                f"the rest of the file's encoding (shown as \ufffd: {shown}); the file was probably pasted "
                "together from files of another encoding"
            )
            found.append((row, index, "encoding", shown, message))
    frame = frame.with_columns(pl.col(_cell_columns(frame)).str.replace_all(mark, "\ufffd", literal=True))
    return frame, _problems(found)


def _parse_delimited(
    path: Path,
    payload: bytes,
    *,
    delimiter: str,
    width: int,
    whole: Callable[[], bytes] | None = None,
    columns: list[int] | None = None,
    prefixed: bool = False,
) -> pl.DataFrame:
    """The records of ``payload`` as text columns: the ``width`` of the file's first record,
    then the cells past it (``cells_past_header`` sets their rows aside); ``whole``: the file's
    bytes, for a parse error's diagnosis when ``payload`` is a batch of them; ``columns``: only
    these (indices below ``width``, ascending), the others not parsed into cells; ``prefixed``:
    ``payload`` begins with ``_widest(delimiter, width + 1)`` already (put there when its bytes
    were gathered, no copy more)."""
    lead = _widest(delimiter, width + 1) if prefixed else b""
    try:
        if columns is not None:
            return _csv_records(payload, delimiter=delimiter, width=width, columns=columns, lead=lead)
        try:  # one cell past the header is looked at; a row with more makes the parse fail ...
            return _csv_records(payload, delimiter=delimiter, width=width + 1, ragged=False, lead=lead)
        except pl.exceptions.ComputeError as error:
            if "more fields" not in str(error):
                raise
        # ... and the batch is parsed again, looking at ``_PAST_HEADER_CELLS`` more.
        records = payload[len(lead) :]
        return _csv_records(records, delimiter=delimiter, width=width + 1 + _PAST_HEADER_CELLS)
    except pl.exceptions.PolarsError as error:
        records = payload[len(lead) :]
        fault = _csv_fault(whole() if whole is not None else records, delimiter, error)
        raise UnreadableExport(f"{display_name(path.name)} could not be read as CSV: {fault}") from error


def _widest(delimiter: str, cells: int) -> bytes:
    """An empty record of ``cells`` cells: what a batch is parsed after."""
    return (delimiter * (cells - 1) + "\n").encode("utf-8")


def _csv_records(
    payload: bytes,
    *,
    delimiter: str,
    width: int,
    ragged: bool = True,
    columns: list[int] | None = None,
    lead: bytes = b"",
) -> pl.DataFrame:
    """``payload``'s records, ``width`` columns (``ragged``: the cells of a longer row past them
    dropped); ``lead``: the empty record ``payload`` begins with already (of ``width`` cells, or
    one more where only ``columns`` are read), else one is put before it."""
    # A parser takes as many columns as the first record has: the payload follows an empty
    # record of ``width`` cells, dropped once read.
    frame = pl.read_csv(
        payload
        if lead
        else _widest(delimiter, width) + payload,  # bytes, never a path: Polars would expand ``[final]`` or ``*``
        has_header=False,
        infer_schema=False,
        separator=delimiter,
        truncate_ragged_lines=ragged,
        raise_if_empty=True,
        columns=columns,
    )
    return frame.slice(1)


def first_record_width(payload: bytes, *, delimiter: str) -> int:
    """How many cells the first record of ``payload`` has: the width of every row of its file."""
    try:
        first = pl.read_csv(
            payload, has_header=False, infer_schema=False, separator=delimiter, n_rows=1, truncate_ragged_lines=True
        )
    except pl.exceptions.PolarsError:
        return 1  # the whole parse says what is wrong with the file
    return max(first.width, 1)


def cells_past_header(frame: pl.DataFrame, *, width: int, delimiter: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the raw frame of ``width`` columns, the reader's problems of its rows with a cell past
    them): a row with more cells than the header (an unquoted delimiter in a free-text answer,
    a stray value) would lose them, so it is set aside (``more_cells_than_header``); cells past
    the header that are all empty (trailing delimiters, an Excel re-save) are no problem."""
    past = [f"c{index}" for index in range(width, frame.width - 1)]
    if not past:
        return frame, _problems([])
    filled = frame.filter(pl.any_horizontal(pl.col(past).is_not_null()))
    frame = frame.drop(past)
    if filled.is_empty():
        return frame, _problems([])
    cells = pl.max_horizontal(pl.when(pl.col(name).is_not_null()).then(width + 1 + i) for i, name in enumerate(past))
    shown = pl.concat_str([pl.col(name).fill_null("") for name in past], separator=delimiter).str.strip_chars_end(
        delimiter
    )
    found = []
    for row, count, text in filled.select("source_row", cells, shown).iter_rows():
        more = "at least " if count == width + 1 + _PAST_HEADER_CELLS else ""
        message = (
            f"the row has {more}{count:,} cells, more than the {width:,} of the header row: the cells past "
            f"column {spreadsheet_column(width - 1)} ({excerpt(text)}) would be lost, so the row was set aside "
            "(was a delimiter in an answer left without quotes?)"
        )
        found.append((row, width, "more_cells_than_header", excerpt(text), message))
    return frame, _problems(found)


def _raw_frame(
    frame: pl.DataFrame, *, first_row: int = 1, may_hold_nul: bool = True, indices: list[int] | None = None
) -> pl.DataFrame:
    """Columns renamed c0..cN (``indices``: the file's columns the frame's are), empty cells
    null, NUL characters gone, source_row 1-based (``first_row`` that of the frame's first
    record). ``may_hold_nul``: False when the bytes the frame was parsed from hold no NUL
    (no cell is searched for one)."""
    indices = indices if indices is not None else range(frame.width)
    frame = frame.rename({name: f"c{i}" for i, name in zip(indices, frame.columns)}).with_columns(
        pl.all().cast(pl.Utf8)
    )
    with_nul = {}
    if may_hold_nul:
        with_nul = frame.select(pl.all().str.contains("\x00", literal=True).any()).row(0, named=True)
    stripped = [pl.col(name).str.replace_all("\x00", "", literal=True) for name, nul in with_nul.items() if nul]
    frame = frame.with_columns(stripped).with_columns(pl.all().replace("", None))
    frame = frame.with_row_index("source_row", offset=first_row)
    return frame.with_columns(pl.col("source_row").cast(pl.Int64))


#: At most this many bytes of a delimited export are parsed at a time (``read_batches``),
#: however few rows they hold: about 140,000 rows of a Qualtrics export of 100 columns.
BATCH_BYTES = 64 << 20
#: A delimited export of at most this many bytes (and at most ``batch_bytes``) is read once: the
#: first pass keeps its batches, parsed whole, for the checks (``ExportBatches.read_once``). What
#: that holds is about what the checks of three batches hold at once (``_in_order``, two threads).
READ_ONCE_BYTES = 48 << 20
#: The first bytes of a file, what its kind, its delimiter and its first rows are told from.
_HEAD_BYTES = 800_000
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ExportBatches:
    """An export read a batch of rows at a time (``read_batches``): what is known of it
    before its rows (kind, encoding, delimiter, its first three rows, ``RawExport.header``)
    and ``batches()``, its raw frames in file order, each with the file's own ``source_row``
    and its ``problems`` (each call reads the file again, from its start).

    ``batches(columns=...)``: ``columns()``, asked before each batch but the first, names the
    raw columns (indices) to read alone, or None for all: a batch then holds only those (and
    ``source_row``), unless one of its rows has none of them filled (then it holds every
    column, as whether a row is empty is told by all of them). A file read whole has them all.

    ``read_once``: the file is small enough (``READ_ONCE_BYTES``) for its batches, parsed whole,
    to be kept from a first pass for the next, rather than read and parsed again."""

    path: Path
    kind: str
    encoding: str
    delimiter: str | None
    header: list[list[str | None]]
    batches: Callable[..., Iterator[RawExport]]
    read_once: bool = False


def read_batches(
    path: Path,
    *,
    source: Path | None = None,
    data: bytes | None = None,
    limits: ReadLimits | None = None,
    batch_bytes: int = BATCH_BYTES,
    batch_rows: int | None = None,
    opener: Callable[[], BinaryIO] | None = None,
) -> ExportBatches:
    """An export read ``batch_rows`` records (about: batches are sized on the records read
    before), else ``batch_bytes``, at a time, and never many more bytes than ``batch_bytes``:
    what ``read_export`` reads, the same frame once the batches are put together.

    A delimited text in UTF-8 (with or without BOM) is parsed a batch of whole records at a
    time, so that what is held does not grow with the file; any other file (a workbook, an
    SPSS file, a text in Windows-1252, UTF-16 or with bytes that are not UTF-8) is read whole
    (``read_export``), one batch. ``path`` names the file (messages); its bytes are ``data``,
    else what ``opener`` opens (each time the file is read), else the file at ``source``
    (default ``path``), opened at exactly that path.
    """
    limits = limits or ReadLimits()
    where = source or path

    def opened() -> BinaryIO:
        if data is not None:
            return io.BytesIO(data)
        if opener is not None:
            return opener()
        try:
            return where.open("rb")
        except OSError as error:
            raise UnreadableExport(f"{display_name(path.name)} could not be opened: {error.strerror}") from error

    with opened() as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        if size > limits.max_bytes:
            raise UnreadableExport(_too_large(path, size, limits=limits))
        head = handle.read(_HEAD_BYTES)
        skip = len(_BOM) if head.startswith(_BOM) else 0
        streamed = _is_plain_text(head) and _is_utf8_stream(handle, skip=skip)
    if not streamed:
        raw = read_export(path, data=data if data is not None else _whole_bytes(path, opened), limits=limits)
        return ExportBatches(path, raw.kind, raw.encoding, raw.delimiter, raw.header, lambda columns=None: iter([raw]))
    delimiter = sniff_delimiter(head[skip:].decode("utf-8", errors="ignore"))
    cut = _stream_truncation(opened, skip=skip, delimiter=delimiter)
    if cut:
        raise UnreadableExport(f"{display_name(path.name)} is truncated: {cut} (was the download or copy interrupted?)")
    batches = _DelimitedBatches(path, opened, skip, delimiter, limits, batch_bytes, batch_rows)
    once = size <= min(READ_ONCE_BYTES, batch_bytes)
    return ExportBatches(path, "delimited", batches.encoding, delimiter, batches.header(), batches, read_once=once)


def _whole_bytes(path: Path, opened: Callable[[], BinaryIO]) -> bytes:
    try:
        with opened() as handle:
            return handle.read()
    except OSError as error:
        raise UnreadableExport(f"{display_name(path.name)} could not be read: {error.strerror}") from error


def _is_plain_text(head: bytes) -> bool:
    """Whether a file beginning with ``head`` is a text in UTF-8 or ASCII (no other kind, not empty)."""
    if not head or head.isspace() or head.startswith((*_SPSS_MAGIC, _ZIP_MAGIC, b"\xff\xfe", b"\xfe\xff")):
        return False
    return not _is_binary(head[:4096])


def _is_utf8_stream(handle: BinaryIO, *, skip: int, block_bytes: int = 1 << 24) -> bool:
    """Whether the rest of ``handle`` from byte ``skip`` is valid UTF-8, read ``block_bytes`` at a time.

    Each block is cut before the start of its last character (which goes to the next) and
    checked by Polars (Rust's UTF-8 check: Python's strict decoder's verdict, ten times as
    fast, without a copy of the file as text). Text that is valid UTF-8 has a character start
    at every byte that is not a continuation byte, so the pieces are valid exactly when the
    whole is."""
    handle.seek(skip)
    carry = b""
    for block in iter(lambda: handle.read(block_bytes), b""):
        block = carry + block if carry else block
        if block.isascii():  # (checked at memory speed)
            carry = b""
            continue
        cut = _last_character_start(block)
        carry = block[cut:]
        if not _is_utf8_block(block[:cut]):
            return False
    return _is_utf8_block(carry)


def _last_character_start(block: bytes) -> int:
    """The offset of the last byte among ``block``'s last four that is no UTF-8 continuation
    byte (``len(block)`` when there is none: no valid text ends with four of them)."""
    for offset in range(len(block) - 1, max(len(block) - 5, -1), -1):
        if block[offset] & 0xC0 != 0x80:
            return offset
    return len(block)


def _is_utf8_block(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (Python's strict decoder's verdict: no surrogates, no overlong forms)."""
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.Utf8, strict=True)
    except pl.exceptions.PolarsError:
        return False
    return True


def _stream_truncation(opened: Callable[[], BinaryIO], *, skip: int, delimiter: str) -> str | None:
    """``truncation`` of a UTF-8 file's text, read a block at a time."""
    with opened() as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(size - 1, 0))
        if handle.read(1) in (b"\n", b"\r"):
            return None
        handle.seek(skip)
        quotes = sum(block.count(b'"') for block in iter(lambda: handle.read(1 << 24), b""))
        if quotes % 2:
            return "it ends inside a quoted cell"
        handle.seek(skip)
        return _short_last_record(io.TextIOWrapper(handle, encoding="utf-8", newline=""), delimiter)


def _record_chunks(
    handle: BinaryIO, size: int, rows: int | None = None, prefix: Callable[[], bytes] = bytes
) -> Iterator[bytes]:
    """The bytes of ``handle`` about ``rows`` records (else ``size`` bytes, and never much
    more) at a time, each cut after a line break outside quoted cells (an even number of
    quotes before it): whole records, as a CSV parser reads them. Each chunk begins with
    ``prefix()`` (asked as the chunk is made; its length is not counted in ``size``), copied
    in with the chunk's bytes, which are copied once."""
    carry, carry_quotes, read = b"", 0, min(size, 1 << 20) if rows else size  # a first chunk to size the others on
    while block := handle.read(read):
        # A line break of ``carry`` is inside a quoted cell (else it was cut there): only the block's can end a chunk.
        total = carry_quotes + _count(block, _QUOTE)
        quotes, end = total, len(block)
        while (cut := block.rfind(b"\n", 0, end)) >= 0:
            quotes -= _count(memoryview(block)[cut:end], _QUOTE)  # the quotes before ``cut``
            if quotes % 2 == 0:
                break
            end = cut
        if cut < 0:
            carry, carry_quotes = carry + block, total
            continue
        head = prefix()
        chunk = [b"".join((head, carry, memoryview(block)[: cut + 1]))]  # one copy, not two
        carry = block[cut + 1 :]
        del block
        carry_quotes = _count(carry, _QUOTE)
        if rows:  # the next read sized on this chunk's bytes a line
            read = _next_read(memoryview(chunk[0])[len(head) :], size=size, rows=rows)
        yield chunk.pop()  # handed over, not kept here while it is parsed
    if carry:
        yield b"".join((prefix(), carry))


def _next_read(records: memoryview, *, size: int, rows: int) -> int:
    """Bytes to read for about ``rows`` records, at most ``size``, sized on ``records``' bytes a line."""
    return min(size, max(1, len(records) * rows // max(_count(records, _NEWLINE), 1)))


_QUOTE, _NEWLINE = ord('"'), ord("\n")


#: Bytes compared at a time by ``_count`` (its comparison's result stays in the processor's cache).
_COUNT_WINDOW = 1 << 18


def _count(data: bytes | memoryview, byte: int) -> int:
    """How many times ``byte`` occurs in ``data`` (``bytes.count``, at memory speed: NumPy compares
    a vector at a time, a window at a time into one buffer, not into a new array the size of ``data``)."""
    array = np.frombuffer(data, dtype=np.uint8)
    equal = np.empty(min(len(array), _COUNT_WINDOW), dtype=bool)
    found = 0
    for start in range(0, len(array), _COUNT_WINDOW):
        window = array[start : start + _COUNT_WINDOW]
        np.equal(window, byte, out=equal[: len(window)])
        found += int(np.count_nonzero(equal[: len(window)]))
    return found


def _read_ahead(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``: the first as it comes, then each made on a thread while the one before is
    parsed (reading a chunk, looking for its last record's end and copying it are mostly done
    without Python's lock), so one more is held. Closed early, it waits for the chunk being
    made (the file is not closed under it). The first is made before any other is asked for:
    what the others begin with (``prefix``) is known once it is parsed."""
    first = next(chunks, None)
    if first is None:
        return
    yield first
    del first
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk
            del chunk


def _known_chunks(handle: BinaryIO, lengths: list[int], prefix: Callable[[], bytes] = bytes) -> Iterator[bytes]:
    """The chunks of ``handle`` a pass before cut (``lengths``, in bytes), each after ``prefix()``."""
    for length in lengths:
        head = prefix()
        yield b"".join((head, handle.read(length))) if head else handle.read(length)


class _DelimitedBatches:
    """The raw frames of a UTF-8 delimited file, ``size`` bytes of whole records at a time."""

    def __init__(self, path, opened, skip, delimiter, limits, size, rows) -> None:  # noqa: PLR0913
        self.path, self.opened, self.skip, self.delimiter, self.limits = path, opened, skip, delimiter, limits
        self.size, self.rows = max(size, 1), rows
        self.encoding = "utf-8-sig" if skip else "utf-8"
        #: (size, rows) -> the bytes of each chunk a whole pass over the file cut (``_record_chunks``)
        #: and the file's size then: a next pass reads those, without looking for record ends again.
        self.cuts: dict[tuple[int, int | None], tuple[list[int], int]] = {}

    def header(self) -> list[list[str | None]]:
        """The first three rows (what ``RawExport.header`` gives of the file read whole)."""
        rows: list[list[str | None]] = []
        for raw in self(size=min(self.size, _HEAD_BYTES), rows=None):
            rows += raw.header[: 3 - len(rows)]
            if len(rows) >= 3:
                break
        return rows

    def whole(self) -> bytes:
        with self.opened() as handle:
            handle.seek(self.skip)
            return handle.read()

    def __call__(
        self, *, size: int | None = None, rows: int | None = -1, columns: Callable[[], list[int] | None] | None = None
    ) -> Iterator[RawExport]:
        """The file's raw frames; ``columns``: asked before each batch but the first, the
        columns to read alone (``ExportBatches``), None for every column."""
        width, first_row, cut = None, 1, (size or self.size, self.rows if rows == -1 else rows)
        with self.opened() as handle:
            lengths, file_size = [], handle.seek(0, os.SEEK_END)
            handle.seek(self.skip)
            known, known_size = self.cuts.get(cut, (None, None))
            # Each chunk but the first begins with the empty record of the file's width (``_parse_delimited``).
            prefix = lambda: _widest(self.delimiter, width + 1) if width else b""  # noqa: E731 (asked as each chunk is made)
            if known_size == file_size:
                chunks = _known_chunks(handle, known, prefix)
            else:
                chunks = _record_chunks(handle, *cut, prefix=prefix)
            for chunk in chunks if columns is None else _read_ahead(chunks):
                lengths.append(len(chunk) - len(prefix()))
                wanted = columns() if columns is not None and width else None
                frame = self._projected(chunk, width, first_row, wanted) if wanted else None
                past = None
                if frame is None:
                    prefixed = width is not None  # the chunk was made after the empty record of the width
                    width = width or first_record_width(chunk, delimiter=self.delimiter)
                    parsed = _parse_delimited(
                        self.path, chunk, delimiter=self.delimiter, width=width, whole=self.whole, prefixed=prefixed
                    )
                    frame = _raw_frame(parsed, first_row=first_row, may_hold_nul=b"\x00" in chunk)
                    del parsed  # (a generator keeps its locals while its caller works on what it gave)
                    frame, past = cells_past_header(frame, width=width, delimiter=self.delimiter)
                del chunk
                first_row += frame.height
                raw = RawExport(self.path, frame, self.encoding, self.delimiter)
                yield _bounded(
                    raw if past is None or past.is_empty() else _with_problems(raw, past), limits=self.limits
                )
        self.cuts[cut] = (lengths, file_size)

    def _projected(self, chunk: bytes, width: int, first_row: int, wanted: list[int]) -> pl.DataFrame | None:
        """The raw frame of ``chunk``'s ``wanted`` columns alone; None when one of its rows has none
        of them filled (whether the row is empty is told by all its columns) or they do not parse."""
        indices = sorted(index for index in set(wanted) if index < width)
        try:
            parsed = _parse_delimited(
                self.path, chunk, delimiter=self.delimiter, width=width, columns=indices, prefixed=True
            )
        except UnreadableExport:
            return None
        frame = _raw_frame(parsed, first_row=first_row, may_hold_nul=b"\x00" in chunk, indices=indices)
        cells = [name for name in frame.columns if name != "source_row"]
        if not cells or frame.select(pl.all_horizontal(pl.col(cells).is_null()).any()).item():
            return None
        return frame


def _read_workbook(path: Path, data: bytes, *, limits: ReadLimits) -> RawExport:
    """The first sheet of an Excel workbook, every cell as text, rows as the sheet numbers them."""
    name = display_name(path.name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise UnreadableExport(f"{name} is a damaged zip or Excel workbook: {excerpt(error)}") from error
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise UnreadableExport(f"{name} is a zip archive, not an Excel workbook: unzip it and drop the export inside")
    _check_unpacked_size(path, members, limits=limits)
    import fastexcel  # a Rust reader (calamine): imported only when a workbook arrives

    try:
        reader = fastexcel.read_excel(data)  # from its bytes: the path is never opened again
        if not reader.sheet_names:
            raise UnreadableExport(f"{name} is a workbook without a sheet")
        sheet = reader.load_sheet(0, header_row=None, dtypes="string", skip_rows=0)
        frame = pl.DataFrame(sheet)
    except fastexcel.FastExcelError as error:
        raise UnreadableExport(f"{name} could not be read as an Excel workbook: {excerpt(error)}") from error
    if frame.height == 0 or frame.width == 0:
        raise UnreadableExport(f"{name} is an empty workbook (its first sheet has no cells)")
    return RawExport(path=path, frame=_raw_frame(frame), encoding="utf-8", delimiter=None, kind="workbook")


def _check_unpacked_size(path: Path, members: list[zipfile.ZipInfo], *, limits: ReadLimits) -> None:
    """Refuse a workbook that unpacks past ``max_bytes``, or a part packed like a zip bomb."""
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_bytes:
        raise UnreadableExport(_too_large(path, unpacked, limits=limits, what="unpacked, "))
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_CHECKED_FROM and ratio > _MAX_ZIP_RATIO:
            raise UnreadableExport(
                f"{display_name(path.name)} is not a workbook a survey tool writes: its part "
                f"{excerpt(member.filename, 80)} unpacks {ratio:,.0f} times larger than it is stored "
                f"({member.file_size / _MB:,.0f} MB; a real workbook packs at most {_MAX_ZIP_RATIO} times)"
            )


@contextlib.contextmanager
def _private_copy(data: bytes, *, suffix: str) -> Iterator[Path]:
    """``data`` as a file only this user can read (mode 0600), deleted after: for a reader
    that needs a file name (pyreadstat), so that it reads exactly these bytes."""
    handle, name = tempfile.mkstemp(prefix="surveyhouse-spss-copy-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as copy:
            copy.write(data)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _read_spss(path: Path, data: bytes, *, limits: ReadLimits) -> RawExport:
    """An SPSS file as a raw frame: names, labels, then the data with value labels applied."""
    import pyreadstat  # C library (ReadStat): imported only when an SPSS file arrives

    try:
        with _private_copy(data, suffix=".zsav" if data.startswith(b"$FL3") else ".sav") as copy:
            _, header = pyreadstat.read_sav(str(copy), metadataonly=True)
            # A compressed file (.zsav, or bytecode) unpacks to rows x record width: refused before it is.
            unpacked = (header.number_rows or 0) * sum((header.variable_storage_width or {}).values())
            if unpacked > limits.max_bytes:
                raise UnreadableExport(_too_large(path, unpacked, limits=limits, what="unpacked, "))
            table, meta = pyreadstat.read_sav(str(copy), output_format="polars", user_missing=False)
    except UnreadableExport:
        raise
    except Exception as error:  # pyreadstat raises its own ReadstatError and plain exceptions alike
        raise UnreadableExport(
            f"{display_name(path.name)} could not be read as an SPSS file: {excerpt(error)}"
        ) from error
    names = list(meta.column_names)
    if not names:
        raise UnreadableExport(f"{display_name(path.name)} is an SPSS file without variables")
    labels = dict(zip(names, meta.column_labels or [None] * len(names)))
    value_labels = meta.variable_value_labels or {}
    counted = _dichotomy_counted_values(meta)
    cells = [
        _spss_text(table.get_column(name), value_labels.get(name), counted.get(name)).alias(f"c{i}")
        for i, name in enumerate(names)
    ]
    body = table.select(cells) if table.height else pl.DataFrame(schema={f"c{i}": pl.Utf8 for i in range(len(names))})
    head = pl.DataFrame([names, [labels.get(name) for name in names]], schema=list(body.columns), orient="row")
    frame = _raw_frame(pl.concat([head, body], how="vertical"))
    return RawExport(path=path, frame=frame, encoding=meta.file_encoding or "unknown", delimiter=None, kind="spss")


def _cell_columns(frame: pl.DataFrame) -> list[str]:
    return [name for name in frame.columns if name != "source_row"]


def _problems(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PROBLEMS_SCHEMA, orient="row")


def _with_problems(raw: RawExport, problems: pl.DataFrame) -> RawExport:
    both = pl.concat([raw.problems, problems], how="vertical")
    return RawExport(raw.path, raw.frame, raw.encoding, raw.delimiter, raw.kind, both)


def _bounded(raw: RawExport, *, limits: ReadLimits) -> RawExport:
    """The raw export with no cell longer than ``limits.max_cell_chars``: such a cell is
    cut to an excerpt and reported (``cell_too_large``), for its row to be set aside."""
    frame, most = raw.frame, limits.max_cell_chars
    longest = frame.select(pl.col(_cell_columns(frame)).str.len_bytes().max()).row(0, named=True)
    long = [name for name, size in longest.items() if (size or 0) > most]
    found = []
    for name in long:
        length = pl.col(name).str.len_chars()
        rows = frame.filter(length > most).select("source_row", name, length.alias("length"))
        for row, cell, chars in rows.iter_rows():
            index = int(name[1:])
            message = (
                f"the cell in column {spreadsheet_column(index)} has {chars:,} characters, more than the "
                f"{most:,} a cell may have; it was not stored (it begins: {excerpt(cell)})"
            )
            found.append((row, index, "cell_too_large", excerpt(cell), message))
        cut = pl.concat_str(pl.col(name).str.slice(0, EXCERPT_CHARS), pl.lit("... (cut)"))
        frame = frame.with_columns(pl.when(length > most).then(cut).otherwise(pl.col(name)).alias(name))
    if not found:
        return raw
    bounded = RawExport(raw.path, frame, raw.encoding, raw.delimiter, raw.kind, raw.problems)
    return _with_problems(bounded, _problems(found))


def _csv_fault(payload: bytes, delimiter: str, error: Exception) -> str:
    """Why a delimited text does not parse, in the words of a person looking at the file."""
    row = _unclosed_quote_row(payload, delimiter)
    if row is not None:
        return (
            f'row {row:,} opens a quoted cell (a cell beginning with ") that is never closed, so the rest of '
            "the file would be one cell"
        )
    first = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return excerpt(first, 160)


def _unclosed_quote_row(payload: bytes, delimiter: str) -> int | None:
    """The spreadsheet row of the first quoted cell that is not closed where a cell ends, else None."""
    separator = re.escape(delimiter.encode("utf-8"))
    opening = re.compile(rb"(?:\A|(?<=[" + separator + rb'\n\r]))"')
    closing = re.compile(rb'[^"]*+(?:""[^"]*+)*+"')
    row, position = 1, 0
    while found := opening.search(payload, position):
        row += payload.count(b"\n", position, found.start())
        closed = closing.match(payload, found.end())
        if closed is None or payload[closed.end() : closed.end() + 1] not in (delimiter.encode(), b"\n", b"\r", b""):
            return row
        position = closed.end()
    return None


def _dichotomy_counted_values(meta) -> dict[str, float]:
    """Variable -> counted value, for the multiple dichotomy sets the file declares."""
    counted: dict[str, float] = {}
    for spec in (getattr(meta, "mr_sets", None) or {}).values():
        if spec.get("is_dichotomy") or spec.get("type") == "D":
            try:
                value = float(spec.get("counted_value"))
            except (TypeError, ValueError):
                continue
            counted.update({name: value for name in spec.get("variable_list", [])})
    return counted


def _spss_text(series: pl.Series, value_labels: dict | None, counted: float | None) -> pl.Expr:
    """One SPSS variable as text: value labels applied, integers without '.0'."""
    column = pl.col(series.name)
    dtype = series.dtype
    if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        return column.dt.round(_SPSS_TIME_PRECISION).dt.strftime("%Y-%m-%d %H:%M:%S%.f").str.replace(r"\.0+$", "")
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if dtype == pl.Time:
        return column.dt.strftime("%H:%M:%S")
    if dtype.is_numeric():
        number = column.cast(pl.Float64)
        if counted is not None:
            number = pl.when(number == counted).then(number)
        number = pl.when(number.is_nan()).then(None).otherwise(number)
        is_integer = (number == number.round(0)) & (number.abs() < 1e15)
        text = pl.when(is_integer).then(number.cast(pl.Int64).cast(pl.Utf8)).otherwise(number.cast(pl.Utf8))
        if value_labels:
            keys = {
                _number_text(key): str(label) for key, label in value_labels.items() if _number_text(key) is not None
            }
            text = text.replace(keys)
        return text
    text = column.cast(pl.Utf8)
    if value_labels:
        text = text.replace({str(key): str(label) for key, label in value_labels.items()})
    return text


def _number_text(value) -> str | None:
    """A value label's key as the data text shows it (1.0 -> '1')."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return str(int(number)) if number.is_integer() else str(number)


#: Where an SPSS file's header holds its creation date ("25 Oct 23") and time ("00:01:37").
_SPSS_CREATED = slice(92, 109)
_CORE_PROPERTIES = "docProps/core.xml"
_DCTERMS = "{http://purl.org/dc/terms/}"
#: A workbook's document properties are a few hundred bytes; a larger part is not read.
_CORE_PROPERTIES_MAX_BYTES = 1 << 20


def export_time(source: Path | bytes) -> datetime | None:
    """When the survey tool wrote the file, as the file itself says (UTC); None where it does not.

    An Excel workbook: its document properties (``docProps/core.xml``), last modified,
    else created. An SPSS file: the creation date and time of its header (the exporting
    machine's clock, read as UTC). A delimited text says nothing of the kind. Only the
    file's first bytes (and a workbook's properties part) are read; a damaged file gives None.
    """
    try:
        with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as handle:
            head = handle.read(_SPSS_CREATED.stop)
            if head.startswith(_SPSS_MAGIC):
                return _spss_created(head[_SPSS_CREATED])
            if head.startswith(_ZIP_MAGIC):
                handle.seek(0)
                return _workbook_modified(handle)
    except (OSError, zipfile.BadZipFile, ElementTree.ParseError, ValueError):
        return None
    return None


def _spss_created(stamp: bytes) -> datetime | None:
    text = stamp.decode("ascii", errors="replace")
    try:
        return datetime.strptime(f"{text[:9].strip()} {text[9:].strip()}", "%d %b %y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _workbook_modified(handle) -> datetime | None:
    with zipfile.ZipFile(handle) as archive:
        if _CORE_PROPERTIES not in archive.namelist():
            return None
        if archive.getinfo(_CORE_PROPERTIES).file_size > _CORE_PROPERTIES_MAX_BYTES:
            return None
        root = ElementTree.fromstring(archive.read(_CORE_PROPERTIES))
    for name in ("modified", "created"):
        element = root.find(f"{_DCTERMS}{name}")
        if element is not None and element.text and element.text.strip():
            stamp = datetime.fromisoformat(element.text.strip().replace("Z", "+00:00"))
            return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return None
