"""A run's summary counts: zeros when nothing was loaded, never None."""

from __future__ import annotations

import duckdb

from warehouse.queries import run_query


def test_a_run_with_nothing_loaded_counts_zeros_not_none(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute(
        "create table files (status varchar, rows_read bigint, accepted bigint, quarantined bigint, superseded bigint)"
    )
    flags = ("is_excluded", "is_speeder", "is_straightliner", "is_attention_failed", "is_duplicate", "is_gibberish")
    connection.execute(f"create table responses ({', '.join(f'{flag} boolean' for flag in flags)})")
    assert run_query(connection, "run_files_summary").fetchone() == (0, 0, 0, 0, 0, 0)
    assert run_query(connection, "run_flags_summary").fetchone() == (0, 0, 0, 0, 0, 0)
