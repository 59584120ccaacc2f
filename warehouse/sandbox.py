"""The connection of `surveyhouse sql`: it reads the warehouse, and nothing else.

A query typed by a person may not change anything: only queries run (SELECT, WITH,
FROM, SHOW, DESCRIBE, SUMMARIZE, PRAGMA of the read kind, EXPLAIN); COPY, EXPORT,
ATTACH, INSTALL, LOAD, SET and every write are refused before they reach DuckDB. The
connection itself can read no file but the warehouse (DuckDB's
``enable_external_access = false``) and the folders the user names (``--allow-read DIR``,
DuckDB's ``allowed_directories``), and its configuration is locked
(``lock_configuration``): a query cannot turn the access back on.

No Polars here: `surveyhouse sql` starts in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

#: The statement types that only read.
QUERY_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


class RefusedStatement(ValueError):
    """The query holds a statement that is not a query (the message names it)."""


def lock_down(connection: duckdb.DuckDBPyConnection, readable: Iterable[Path] = ()) -> duckdb.DuckDBPyConnection:
    """Make the connection unable to read any file but its databases and ``readable`` folders,
    and unable to change that (or any other setting) again."""
    folders = [str(Path(folder).expanduser().resolve()).rstrip("/") + "/" for folder in readable]
    # One placeholder per folder (DuckDB imports pandas to bind a list: a second at start).
    connection.execute(f"SET allowed_directories = [{', '.join('?' for _ in folders)}]", folders)
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection


def open_query_connection(store: object, readable: Iterable[Path] = ()) -> duckdb.DuckDBPyConnection:
    """The published warehouse (a file path, or a ``warehouse.lake.Lake``), read-only and locked
    down: no file read but its own (a lake's data folder) and ``readable`` folders'.
    FileNotFoundError when nothing was published there."""
    if not isinstance(store, Path):  # a DuckLake (Polars and the lake's extensions only here)
        from warehouse.lake import open_lake_reader

        connection = open_lake_reader(store)
        return lock_down(connection, [*lake_data_folders(connection), *readable])
    if not store.exists():
        raise FileNotFoundError(f"no warehouse at {store}: run `surveyhouse run` (or `surveyhouse demo`) first")
    connection = duckdb.connect(str(store), read_only=True)
    connection.execute("SET enable_progress_bar = false")
    return lock_down(connection, readable)


def lake_data_folders(connection: duckdb.DuckDBPyConnection) -> list[Path]:
    """The data folders of the DuckLakes attached to the connection (where their Parquet
    files are), as their catalogs record them (DuckLake's ``ducklake_metadata`` table)."""
    lakes = connection.execute("select database_name from duckdb_databases() where type = 'ducklake'").fetchall()
    folders = []
    for (name,) in lakes:  # a name from DuckDB's own catalog, quoted
        metadata = '"' + f"__ducklake_metadata_{name}".replace('"', '""') + '".ducklake_metadata'
        rows = connection.execute(f"select value from {metadata} where key = 'data_path'").fetchall()
        folders += [Path(value) for (value,) in rows if value]
    return folders


def query_statements(connection: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql``; RefusedStatement when one of them is not a query."""
    statements = connection.extract_statements(sql)
    for statement in statements:
        if statement.type not in QUERY_TYPES:
            kind = statement.type.name.replace("_", " ")
            raise RefusedStatement(
                f"the warehouse is read-only: `surveyhouse sql` runs queries only (SELECT, WITH, SHOW, DESCRIBE, "
                f"EXPLAIN), and this one holds a {kind} statement; nothing was run"
            )
    return statements
