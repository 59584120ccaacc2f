"""Named queries: the SQL the commands, the report page and the failure hook run on a
published warehouse, one ``.sql`` file each in ``warehouse/queries/`` (header comment:
what it returns, one row per what). Values are bound with ``?``, never formatted in.

    rows = run_query(connection, "last_run").fetchall()
    frame = run_query(connection, "crosstab_of_wave", [2023]).pl()
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import duckdb


@cache
def query(name: str) -> str:
    """The text of the named query ``warehouse/queries/<name>.sql``."""
    entry = resources.files("warehouse").joinpath("queries", f"{name}.sql")
    if not entry.is_file():
        raise KeyError(f"no named query {name!r} (warehouse/queries/{name}.sql)")
    return entry.read_text(encoding="utf-8")


def run_query(
    connection: duckdb.DuckDBPyConnection, name: str, parameters: list | None = None
) -> duckdb.DuckDBPyConnection:
    """Run the named query with its ``?`` parameters bound; fetch from the result."""
    return connection.execute(query(name), parameters or [])
