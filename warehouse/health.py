"""Whether a warehouse file can be read whole.

DuckDB checks a block's checksum when it reads the block from disk, and reads only the
blocks a query needs: a warehouse with a corrupt block answers ``count(*)`` and most
queries, and fails only the query that touches that block. Reading every column of every
row of every table reads every data block, so a corrupt one shows before a publish
reuses the file's rows or swaps a new file in.

A new file that is the live one's copy with rows added and updated (an incremental night) is
read where the publish wrote it (``WrittenRows``): the blocks it copied are the live file's,
read whole at the start of the night, and compared byte for byte with it after the copy.

The live file is read whole once: the SHA-256 of each MiB of the bytes verified (read whole by a
night, or read back by the incremental publish that wrote them) is recorded beside it
(``record_digests``), and a night whose live file hashes to them (0.08 s of CPU for 135 MiB, 0.16 s
for 242 MiB, against 0.35-0.38 s to read every table) trusts those bytes (``live_unreadable``). No record, a record
that cannot be read, or any byte changed since: the file is read whole, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb


class WarehouseUnreadable(RuntimeError):
    """A warehouse file that cannot be read whole: ``path`` and the ``reason``, in one line."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"the warehouse {self.path} could not be read whole ({self.reason})"


class LiveWarehouseUnreadable(WarehouseUnreadable):
    """The live warehouse, whose rows a publish would keep, cannot be read whole: build
    every table from the staged files instead."""

    def describe(self) -> str:
        return f"the live warehouse {self.path} could not be read whole ({self.reason})"


class NewWarehouseUnreadable(WarehouseUnreadable):
    """The file a publish just wrote cannot be read back whole: it was not swapped in."""

    def describe(self) -> str:
        return (
            f"the new warehouse written for {self.path} could not be read back whole ({self.reason}): "
            "it was not published; the previous warehouse is still live"
        )


def one_line(error: BaseException) -> str:
    """An error's first line (DuckDB adds hints and stack traces on later lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


#: DuckDB's row group size: rows added after a kept table's last row go into row groups of their own,
#: or into its last row group, which is then written again.
ROW_GROUP_ROWS = 122_880


@dataclass(frozen=True)
class WrittenRows:
    """What a publish wrote of a table it kept from the live file (the rest: the live file's blocks,
    copied byte for byte): the rows from ``start`` on (those it added, and the row group before
    them), and ``columns`` over every row (those it updated in place, and one more: every row
    group's deletions)."""

    start: int
    columns: tuple[str, ...]

    def queries(self, quoted: str) -> list[str]:
        """What reads these rows and columns of the table ``quoted``: every block holding them."""
        columns = ", ".join(f't."{column}"' for column in self.columns)
        return [
            f"select bit_xor(hash(t)) from {quoted} as t where rowid >= {int(self.start)}",
            f"select bit_xor(hash({columns})) from {quoted} as t",
        ]


def unreadable_tables(
    connection: duckdb.DuckDBPyConnection,
    tables: list[str] | None = None,
    *,
    written: dict[str, WrittenRows] | None = None,
) -> str | None:
    """None when every row of ``tables`` (default: every table) reads whole, else why not, in one line;
    of a table ``written`` names (schema.table outside the main schema), what was written of it."""
    if tables is None:  # those of the main schema by name, the others (a build's own) schema.table
        tables = [
            name if schema == "main" else f"{schema}.{name}"
            for (schema, name) in connection.execute(
                "select schema_name, table_name from duckdb_tables() order by schema_name <> 'main', 1, 2"
            ).fetchall()
        ]
    written = written or {}
    for table in (table for table in tables if table in written):
        quoted = ".".join(f'"{part}"' for part in table.split(".", 1))
        if (reason := _unread(connection, table, written[table].queries(quoted))) is not None:
            return reason
    # Every table's columns, asked before statistics propagation is off (duckdb_columns() then takes
    # 0.24 s of CPU at 1M); with it, DuckDB answers the count of a column its statistics say has no
    # NULL from those statistics alone, reading none of its blocks.
    columns = table_columns(connection)
    connection.execute("SET disabled_optimizers = 'statistics_propagation'")
    try:
        for table in (table for table in tables if table not in written):
            quoted = ".".join(f'"{part}"' for part in table.split(".", 1))
            if (reason := _unread(connection, table, [every_block_query(columns.get(table, []), quoted)])) is not None:
                return reason
    finally:
        with contextlib.suppress(duckdb.Error):  # a connection a failed read left unusable: the reason stands
            connection.execute("RESET disabled_optimizers")
    return None


def _unread(connection: duckdb.DuckDBPyConnection, table: str, queries: list[str]) -> str | None:
    """None when these queries of ``table`` run, else why not, in one line."""
    try:
        for query in queries:
            connection.execute(query).fetchall()
    except duckdb.Error as error:
        return f"table {table}: {one_line(error)}"
    return None


def table_columns(connection: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The columns of every table, in order, by the table's name (schema.table outside the main schema)."""
    columns: dict[str, list[str]] = {}
    for schema, table, column in connection.execute(
        "select schema_name, table_name, column_name from duckdb_columns() order by schema_name, table_name, column_index"
    ).fetchall():
        columns.setdefault(table if schema == "main" else f"{schema}.{table}", []).append(column)
    return columns


def every_block_query(columns: list[str], quoted: str) -> str:
    """What reads every data and validity block of these ``columns`` of the table ``quoted`` (as SQL):
    the count of each column, a scan of its every vector (DuckDB checks a block's checksum when it
    reads it), for about 80% of the CPU of hashing every row (with ``statistics_propagation`` off:
    ``unreadable_tables``)."""
    counts = ", ".join('count("{}")'.format(column.replace('"', '""')) for column in columns)
    return f"select {counts or 'count(*)'} from {quoted}"


def warehouse_unreadable(path: Path, *, written: dict[str, WrittenRows] | None = None) -> str | None:
    """None when every table of the warehouse file at ``path`` reads whole (of a table ``written``
    names, what was written of it: ``WrittenRows``), else the reason in one line."""
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        return one_line(error)
    try:
        connection.execute("SET enable_progress_bar = false")
        return unreadable_tables(connection, written=written)
    finally:
        connection.close()


#: Bytes of a warehouse file each digest of its verified record covers (``chunk_digests``): a
#: publish that changes a few blocks hashes again only the chunks that differ from the live file's.
CHUNK_BYTES = 1 << 20


def verified_record(path: Path) -> Path:
    """Where the digests of the bytes last verified of the warehouse file at ``path`` are kept: a
    hidden file beside it (``.NAME.verified``), written by the night under the run lock."""
    return path.with_name(f".{path.name}.verified")


def chunk_digests(path: Path, *, like: Path | None = None, known: Sequence[str] = ()) -> list[str]:
    """The SHA-256 of each ``CHUNK_BYTES`` of the file at ``path`` (hashlib releases the interpreter's
    lock: 135 MiB in 0.08 s of CPU); of a chunk holding the same bytes as the file ``like`` at the
    same place, ``known``'s digest of that chunk (not hashed again)."""
    digests: list[str] = []
    with open(path, "rb") as handle, open(like or os.devnull, "rb") as other:
        while chunk := handle.read(CHUNK_BYTES):
            same = like is not None and len(digests) < len(known) and other.read(CHUNK_BYTES) == chunk
            digests.append(known[len(digests)] if same else hashlib.sha256(chunk).hexdigest())
    return digests


def recorded_digests(path: Path) -> list[str] | None:
    """The digests (``chunk_digests``) of the bytes last verified of the warehouse file at ``path``;
    None when none are kept (or the record cannot be read: the file is then read whole)."""
    try:
        record = json.loads(verified_record(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("chunk_bytes") != CHUNK_BYTES:
        return None
    digests = record.get("sha256")
    return digests if isinstance(digests, list) and all(isinstance(d, str) for d in digests) else None


def record_digests(path: Path, digests: list[str]) -> None:
    """``digests`` kept as those of the bytes verified of the warehouse file at ``path`` (read whole, or
    read back by the publish that wrote them); a record that cannot be written is left out (the next
    night reads the file whole). The draft has one name (the record is written under the run lock):
    a night killed while writing it leaves one file, which the next record replaces."""
    record = verified_record(path)
    draft = record.with_name(f"{record.name}-draft")
    try:
        draft.write_text(json.dumps({"chunk_bytes": CHUNK_BYTES, "sha256": digests}), encoding="utf-8")
        os.replace(draft, record)
    except OSError:
        draft.unlink(missing_ok=True)


def forget_digests(path: Path) -> None:
    """No verified record of the warehouse file at ``path`` (a publish that did not record one)."""
    verified_record(path).unlink(missing_ok=True)


def live_unreadable(path: Path, *, read_whole: Callable[[Path], str | None] = warehouse_unreadable) -> str | None:
    """None when the live warehouse file at ``path`` holds the bytes last verified (its digests are
    those recorded: ``record_digests``) or reads whole (``read_whole``; the digests then recorded),
    else why it cannot be read whole, in one line. A file with a write-ahead log beside it (left by a
    connection that wrote to it) is read whole: what DuckDB reads of it is not its bytes alone."""
    digests = chunk_digests(path)
    if digests == recorded_digests(path) and not Path(f"{path}.wal").exists():
        return None
    reason = read_whole(path)
    if reason is None:
        record_digests(path, digests)
    return reason
