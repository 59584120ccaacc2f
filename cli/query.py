"""`surveyhouse sql`: a query on the published warehouse, read-only, without Prefect or Polars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.errors import UserError
from cli.options import warehouse_option
from cli.output import print_table, write_csv, write_json

if TYPE_CHECKING:  # imported when a query runs: `surveyhouse run` starts its Prefect server before (cli/night.py)
    import duckdb

FORMATS = {"table": print_table, "csv": write_csv, "json": write_json}


@click.command("sql")
@click.argument("query", required=False)
@warehouse_option
@click.option(
    "--format", "fmt", type=click.Choice(tuple(FORMATS)), default="table", show_default=True, help="output format"
)
@click.option(
    "--allow-read",
    "allow_read",
    metavar="DIR",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="a folder whose files the query may read, e.g. to join a local CSV (repeatable); nothing else is readable",
)
def sql_command(query: str | None, warehouse: str | None, fmt: str, allow_read: tuple[str, ...]) -> int:
    """Query the published warehouse read-only (table, CSV or JSON output).

    The query runs on a connection that reads the warehouse and nothing else: no file is
    written, no other file is read unless its folder is named with --allow-read.
    Table output shows at most 200 characters of a cell; csv and json keep every value.

    \b
    Examples:
      surveyhouse sql "select * from headline"
      surveyhouse sql --format csv "select * from quarantine" > quarantine.csv
      echo "select count(*) from responses" | surveyhouse sql --format json
      surveyhouse sql --allow-read ~/lists "select r.* from responses r
          join read_csv('~/lists/panel.csv') p using (respondent_id)"
    """
    from surveyhouse.settings import load_settings

    query = query if query is not None else sys.stdin.read()
    if not query.strip():
        raise UserError("no query given (pass it as an argument or on stdin)")
    settings = load_settings(warehouse=warehouse)
    connection = _connect(settings, [Path(folder) for folder in allow_read])
    try:
        columns, rows = _answer(connection, query)
    finally:
        connection.close()
    if columns is not None:
        FORMATS[fmt](columns, rows)
    return 0


def _connect(settings, readable: list[Path]) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only, locked down: no file read but its own and ``readable`` folders'."""
    from warehouse.sandbox import open_query_connection

    try:
        return open_query_connection(settings.store(), readable)
    except FileNotFoundError as error:
        raise UserError(str(error)) from error


def _answer(connection: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str] | None, list[tuple]]:
    """The columns and rows of the query's last statement (None: it returns none)."""
    import duckdb

    from warehouse.sandbox import RefusedStatement, query_statements

    try:
        query_statements(connection, query)
        relation = connection.sql(query)
        if relation is None:
            return None, []
        return relation.columns, relation.fetchall()
    except RefusedStatement as error:
        raise UserError(str(error)) from error
    except duckdb.PermissionException as error:
        raise UserError(
            f"`surveyhouse sql` reads the warehouse only ({_first_line(error)}); "
            "name a folder with --allow-read DIR to read its files"
        ) from error
    except duckdb.Error as error:
        if "read-only" in str(error).lower():
            raise UserError(
                "the warehouse is read-only: `surveyhouse sql` only reads (the nightly run is the one writer)"
            ) from error
        raise UserError(f"query failed: {error}") from error


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
