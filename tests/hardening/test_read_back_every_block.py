"""The read-back of a warehouse file (``warehouse_unreadable``) reads every block of every table:
a block garbled anywhere (each in turn: data or validity, of every column type the warehouse
holds, in the main schema and the build's own) fails it, so a corrupt file is never swapped in or
its rows kept."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.hardening.warehouse_files import CHECKSUM, HEADERS
from warehouse.health import warehouse_unreadable

#: More rows than two DuckDB row groups (122,880 each), NULLs in some columns and none in others:
#: DuckDB answers the count of a column without NULLs from its statistics unless told not to.
TABLES = {
    "main.answers": """
        select i::integer as wave, 'response-' || i as response_id, (['a', 'b', 'c'])[i % 3 + 1]::mood as mood,
            case when i % 7 = 0 then null else [(['a', 'b', 'c'])[i % 3 + 1]::mood] end as moods,
            timestamptz '2024-01-01' + to_seconds(i) as submitted_at,
            case when i % 5 = 0 then null else i / 3.0 end as duration_s, i % 2 = 0 as is_speeder,
            hash(i) as answers_key, case when i % 11 = 0 then null else md5(i::varchar) end as comment
        from range(300000) as r(i)""",
    "_build.screening": "select i::uinteger as _row, i % 2 = 0 as is_duplicate from range(300000) as r(i)",
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("every-block") / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create type mood as enum ('a', 'b', 'c'); create schema _build")
        for table, query in TABLES.items():
            connection.execute(f"create table {table} as {query}")
    return path


def stored_segments(path: Path) -> tuple[int, list[tuple[int, int]]]:
    """The block size, and (block, offset in the block) of every stored segment of every table."""
    with duckdb.connect(str(path), read_only=True) as connection:
        block_size = connection.execute("select block_size from pragma_database_size()").fetchone()[0]
        segments = {
            (block, offset)
            for table in TABLES
            for block, offset in connection.execute(
                "select block_id, block_offset from pragma_storage_info(?) where block_id >= 0", [table]
            ).fetchall()
        }
    return block_size, sorted(segments)


def flip_word(path: Path, at: int) -> None:
    """Flip the 8 bytes at ``at`` (flipping them again restores them)."""
    with open(path, "r+b") as handle:
        handle.seek(at)
        data = handle.read(8)
        handle.seek(at)
        handle.write(bytes(byte ^ 0xFF for byte in data))


def test_the_read_back_fails_on_a_garbled_block_of_any_column_of_any_table(warehouse):
    assert warehouse_unreadable(warehouse) is None
    block_size, segments = stored_segments(warehouse)
    assert len(segments) > 2 * 10  # several blocks and row groups of each column
    unread = []
    for block, offset in segments:
        word = HEADERS + block * block_size + CHECKSUM + (offset // 8 + 2) * 8
        flip_word(warehouse, word)
        try:
            if warehouse_unreadable(warehouse) is None:
                unread.append((block, offset))
        finally:
            flip_word(warehouse, word)
    assert unread == []
    assert warehouse_unreadable(warehouse) is None
