"""Helpers of the warehouse hardening tests: a warehouse file with corrupt blocks."""

from __future__ import annotations

from pathlib import Path

import duckdb

#: DuckDB's file header: the main header and two database headers, 4 KiB each; the blocks follow,
#: each starting with its 8-byte checksum.
HEADERS = 3 * 4096
CHECKSUM = 8


def table_segments(path: Path, table: str, row_group: int | None = None) -> list[tuple[int, int]]:
    """(block, offset in the block) of every stored segment of ``table`` (of one row group) in a
    block that no other table (nor another row group) uses."""
    stored = "select row_group_id, block_id, block_offset from pragma_storage_info(?) where block_id >= 0"
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = [
            name if schema == "main" else f"{schema}.{name}"
            for (schema, name) in connection.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        ]
        segments = {name: connection.execute(stored, [name]).fetchall() for name in tables}
    mine = [(group, block, offset) for group, block, offset in segments[table] if row_group in (None, group)]
    others = {
        block
        for name, rows in segments.items()
        for group, block, _ in rows
        if name != table or row_group not in (None, group)
    }
    return sorted({(block, offset) for _, block, offset in mine if block not in others})


def corrupt_table(path: Path, *tables: str, row_group: int | None = None) -> list[tuple[int, int]]:
    """Flip 8 bytes inside each segment of these tables (of one row group): reading them then
    fails DuckDB's block checksum. The segments corrupted (at least one, or the test proves nothing)."""
    segments = [segment for table in tables for segment in table_segments(path, table, row_group)]
    assert segments, f"no block of {path} holds {tables} alone"
    with duckdb.connect(str(path), read_only=True) as connection:
        block_size = connection.execute("select block_size from pragma_database_size()").fetchone()[0]
    with open(path, "r+b") as handle:
        for block, offset in segments:
            # One aligned 8-byte word: the block checksum combines its words' hashes with XOR,
            # so flipping two equal words (a run of equal bytes) would leave it unchanged.
            word = HEADERS + block * block_size + CHECKSUM + (offset // 8 + 2) * 8
            handle.seek(word)
            data = handle.read(8)
            handle.seek(word)
            handle.write(bytes(byte ^ 0xFF for byte in data))
    return segments


def select_all_fails(path: Path, table: str) -> str | None:
    """The error of a plain ``select *`` of the table, or None when it reads."""
    with duckdb.connect(str(path), read_only=True) as connection:
        try:
            connection.execute(f'select * from "{table}"').fetchall()
        except duckdb.Error as error:
            return str(error)
    return None
