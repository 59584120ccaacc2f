"""Named queries: every file parses and runs on an empty warehouse of today's schema."""

import duckdb
import pytest

from warehouse.queries import query, run_query


def test_a_named_query_runs_with_its_parameters_bound():
    connection = duckdb.connect()
    connection.execute("create table runs (run_id varchar, finished_at timestamptz, status varchar, settings varchar)")
    connection.execute(
        "insert into runs values ('a', '2026-01-01 00:00:00+00', 'ok', '{}'), ('b', null, 'failed', '{}')"
    )
    assert run_query(connection, "last_run").fetchall()[0][0] == "a"


def test_an_unknown_query_name_says_which_file_it_looked_for():
    with pytest.raises(KeyError, match="warehouse/queries/nope.sql"):
        query("nope")
