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
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

#: Extensions the landing folder is scanned for.
EXPORT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".sav", ".zsav")
#: A file that is valid UTF-8 but for this share of bytes is read as UTF-8 with
#: replacement characters (a stray byte in a header), not re-decoded as Windows-1252.
_STRAY_BYTES_SHARE = 0.001
_SPSS_MAGIC = (b"$FL2", b"$FL3")
_ZIP_MAGIC = b"PK\x03\x04"
#: SPSS stores a datetime as float seconds since 1582: digits below the millisecond are noise.
_SPSS_TIME_PRECISION = "1ms"


class UnreadableExport(Exception):
    """The file could not be read as an export (empty, truncated, binary, corrupt)."""


@dataclass(frozen=True)
class RawExport:
    path: Path
    frame: pl.DataFrame  # c0..cN (Utf8, null where empty) + source_row (Int64, 1-based)
    encoding: str
    delimiter: str | None  # None for a workbook or an SPSS file
    kind: str = "delimited"  # delimited | workbook | spss: which layouts may read it

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
    Windows-1252; survey tools write UTF-8, sometimes with a stray invalid byte, which
    is replaced rather than turning every accented letter of the file into mojibake.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    if replaced.count("\ufffd") <= max(2, len(data) * _STRAY_BYTES_SHARE):
        return replaced, "utf-8 (invalid bytes replaced)"
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
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        first = next(records, [])
        tail = deque(enumerate(records, start=2), maxlen=1)  # the last record, read at C speed
    except csv.Error:  # a cell past the csv module's size limit: let the CSV parser judge the file
        return None
    count, last = tail[0] if tail else (1, first)
    if count > 1 and len(last) < len(first):
        return f"its last row (row {count}) has {len(last)} of the {len(first)} cells of the first"
    return None


def read_export(path: Path, *, data: bytes | None = None) -> RawExport:
    """Read one export file into a raw frame, every cell as text (``data``: its bytes, then the path is never opened)."""
    given = data is not None
    data = data if given else path.read_bytes()
    if not data or data.isspace():  # (not ``strip()``: that copies the whole file)
        raise UnreadableExport(f"{path.name} is empty")
    if data.startswith(_SPSS_MAGIC):
        return _read_spss(path, io.BytesIO(data) if given else None)
    if data.startswith(_ZIP_MAGIC):
        return _read_workbook(path, data)
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableExport(f"{path.name} is a binary file, not a survey export (CSV, Excel workbook or SPSS file)")
    encoding, delimiter, payload = _delimited_text(path, data)
    if payload is None and given:
        payload = data
    # The file's bytes go before the parse: a UTF-8 file (what survey tools write) is
    # parsed from the file itself, so its bytes are not held twice while it is parsed.
    del data
    return _parse_delimited(path, payload, encoding=encoding, delimiter=delimiter)


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


def _delimited_text(path: Path, data: bytes) -> tuple[str, str, bytes | None]:
    """(encoding, delimiter, UTF-8 bytes to parse, or None to parse the file itself)."""
    if _is_utf8(data):
        # What survey tools write: parsed from the file as it is (``decode_export`` would
        # give these very characters), with the text of its head only for the delimiter.
        encoding, payload = "utf-8", None
        delimiter = sniff_delimiter(data[:800_000].decode("utf-8", errors="ignore"))
        cut = None
        if not data.endswith((b"\n", b"\r")):
            cut = truncation(data.decode("utf-8"), delimiter)
    else:
        text, encoding = decode_export(data)
        delimiter = sniff_delimiter(text)
        cut = truncation(text, delimiter)
        payload = text.encode("utf-8")
    if cut:
        raise UnreadableExport(f"{path.name} is truncated: {cut} (was the download or copy interrupted?)")
    return encoding, delimiter, payload


def _parse_delimited(path: Path, payload: bytes | None, *, encoding: str, delimiter: str) -> RawExport:
    try:
        frame = pl.read_csv(
            path if payload is None else io.BytesIO(payload),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            truncate_ragged_lines=True,
            raise_if_empty=True,
        )
    except pl.exceptions.PolarsError as error:
        raise UnreadableExport(f"{path.name} could not be parsed as CSV: {error}") from error
    return RawExport(path=path, frame=_raw_frame(frame), encoding=encoding, delimiter=delimiter)


def _raw_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns renamed c0..cN, empty cells null, source_row 1-based."""
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    frame = frame.with_columns(pl.all().cast(pl.Utf8).replace("", None)).with_row_index("source_row", offset=1)
    return frame.with_columns(pl.col("source_row").cast(pl.Int64))


def _read_workbook(path: Path, data: bytes) -> RawExport:
    """The first sheet of an Excel workbook, every cell as text, rows as the sheet numbers them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as error:
        raise UnreadableExport(f"{path.name} is a damaged zip or Excel workbook: {error}") from error
    if "xl/workbook.xml" not in names:
        raise UnreadableExport(
            f"{path.name} is a zip archive, not an Excel workbook: unzip it and drop the export inside"
        )
    import fastexcel  # a Rust reader (calamine): imported only when a workbook arrives

    try:
        reader = fastexcel.read_excel(data)
        if not reader.sheet_names:
            raise UnreadableExport(f"{path.name} is a workbook without a sheet")
        sheet = reader.load_sheet(0, header_row=None, dtypes="string", skip_rows=0)
        frame = pl.DataFrame(sheet)
    except fastexcel.FastExcelError as error:
        raise UnreadableExport(f"{path.name} could not be read as an Excel workbook: {error}") from error
    if frame.height == 0 or frame.width == 0:
        raise UnreadableExport(f"{path.name} is an empty workbook (its first sheet has no cells)")
    return RawExport(path=path, frame=_raw_frame(frame), encoding="utf-8", delimiter=None, kind="workbook")


def _read_spss(path: Path, content: io.BytesIO | None = None) -> RawExport:
    """An SPSS file (``content``, its bytes, when given) as a raw frame: names, labels, then the data with value labels applied."""
    import pyreadstat  # C library (ReadStat): imported only when an SPSS file arrives

    try:
        data, meta = pyreadstat.read_sav(content or str(path), output_format="polars", user_missing=False)
    except Exception as error:  # pyreadstat raises its own ReadstatError and plain exceptions alike
        raise UnreadableExport(f"{path.name} could not be read as an SPSS file: {error}") from error
    names = list(meta.column_names)
    if not names:
        raise UnreadableExport(f"{path.name} is an SPSS file without variables")
    labels = dict(zip(names, meta.column_labels or [None] * len(names)))
    value_labels = meta.variable_value_labels or {}
    counted = _dichotomy_counted_values(meta)
    cells = [
        _spss_text(data.get_column(name), value_labels.get(name), counted.get(name)).alias(f"c{i}")
        for i, name in enumerate(names)
    ]
    body = data.select(cells) if data.height else pl.DataFrame(schema={f"c{i}": pl.Utf8 for i in range(len(names))})
    head = pl.DataFrame([names, [labels.get(name) for name in names]], schema=list(body.columns), orient="row")
    frame = _raw_frame(pl.concat([head, body], how="vertical"))
    return RawExport(path=path, frame=frame, encoding=meta.file_encoding or "unknown", delimiter=None, kind="spss")


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
