"""Reading export files into raw frames.

A raw frame is the file as a person sees it in a spreadsheet: every cell as text,
header rows included, one column ``c0 .. cN`` per spreadsheet column and
``source_row``, the 1-based row number a spreadsheet shows (a record with newlines
inside quoted cells is still one row). Nothing is interpreted here: which tool made
the file, which rows are headers and what the columns mean is the job of
``transforms.layouts``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

#: Extensions the landing folder is scanned for.
EXPORT_SUFFIXES = (".csv", ".tsv", ".txt")
#: A file that is valid UTF-8 but for this share of bytes is read as UTF-8 with
#: replacement characters (a stray byte in a header), not re-decoded as Windows-1252.
_STRAY_BYTES_SHARE = 0.001


class UnreadableExport(Exception):
    """The file could not be parsed as a delimited text export."""


@dataclass(frozen=True)
class RawExport:
    path: Path
    frame: pl.DataFrame  # c0..cN (Utf8, null where empty) + source_row (Int64, 1-based)
    encoding: str
    delimiter: str

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


def read_export(path: Path) -> RawExport:
    """Read one export file into a raw frame, every cell as text."""
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableExport(f"{path.name} is empty")
    if data[:4] == b"PK\x03\x04":
        raise UnreadableExport(f"{path.name} is a zip or Excel workbook, not a delimited text export")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableExport(f"{path.name} is a binary file, not a delimited text export")
    text, encoding = decode_export(data)
    delimiter = sniff_delimiter(text)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            truncate_ragged_lines=True,
            raise_if_empty=True,
        )
    except pl.exceptions.PolarsError as error:
        raise UnreadableExport(f"{path.name} could not be parsed as CSV: {error}") from error
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    frame = frame.with_columns(pl.all().replace("", None)).with_row_index("source_row", offset=1)
    frame = frame.with_columns(pl.col("source_row").cast(pl.Int64))
    return RawExport(path=path, frame=frame, encoding=encoding, delimiter=delimiter)
