"""Every view's purpose and every view column's description, as DuckDB comments.

A view's purpose is its header comment (the ``--`` lines at the top of its SQL: grain,
then purpose). A view column's description is, first, the comment at the end of the line
that names it in the SQL::

    count(*) filter (where is_flagged) as responses_flagged, -- Responses the flag caught.

else the description of the column of the same name in the first table the view reads
(``from`` / ``join``, in the order the SQL names them) that has one: the pandera schema's,
so a column a view passes through is described once, where the table defines it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from warehouse.ddl import _quote_identifier as ident
from warehouse.ddl import _quote_literal as literal

if TYPE_CHECKING:
    import duckdb
    import pandera.polars as pa

_LINE_COMMENT = re.compile(r'"?(\w+)"?\s*,?\s*--\s*(.+?)\s*$')
_SOURCE = re.compile(r"\b(?:from|join)\s+\"?(\w+)\"?", flags=re.IGNORECASE)


def view_purpose(sql: str) -> str:
    """A view's header comment: its grain and purpose (the ``--`` lines before its SQL)."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


def column_comments(sql: str) -> dict[str, str]:
    """Column -> the comment ending the line that names it (the header's lines excluded)."""
    found: dict[str, str] = {}
    for line in sql.splitlines():
        if line.lstrip().startswith("--") or "--" not in line:
            continue
        match = _LINE_COMMENT.search(line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


def source_tables(sql: str) -> list[str]:
    """The relations the SQL reads, in the order it names them (CTEs included: they match no table)."""
    return list(dict.fromkeys(_SOURCE.findall(sql)))


def in_creation_order(views: dict[str, str]) -> dict[str, str]:
    """The views, each after the views it reads (name order otherwise): the order to create them in."""
    ordered: dict[str, str] = {}

    def add(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name in path:
            return
        for source in source_tables(views[name]):
            if source in views and source != name:
                add(source, (*path, name))
        ordered[name] = views[name]

    for name in views:
        add(name, ())
    return ordered


def view_column_descriptions(
    sql: str, columns: list[str], schemas: dict[str, pa.DataFrameSchema]
) -> dict[str, str | None]:
    """Each of the view's ``columns`` with its description (None where neither rule gives one)."""
    comments = column_comments(sql)
    tables = [schemas[name] for name in source_tables(sql) if name in schemas]
    described: dict[str, str | None] = {}
    for column in columns:
        inherited = (t.columns[column].description for t in tables if column in t.columns)
        described[column] = comments.get(column) or next((d for d in inherited if d), None)
    return described


def view_comments(
    connection: duckdb.DuckDBPyConnection,
    views: dict[str, str],
    schemas: dict[str, pa.DataFrameSchema],
    *,
    columns: bool = True,
) -> list[str]:
    """COMMENT ON every view (its purpose) and on every view column (its description), the views
    created on ``connection``: their columns come from one query of the catalog.

    ``columns=False``: the views only (DuckLake comments no view column: "not a table").
    """
    statements = [f"COMMENT ON VIEW {ident(name)} IS {literal(view_purpose(sql))}" for name, sql in views.items()]
    if not columns or not views:
        return statements
    named: dict[str, list[str]] = {name: [] for name in views}
    for view, column in connection.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = current_schema() "
        "and table_name in (select view_name from duckdb_views() where not internal) "
        "order by table_name, column_index"
    ).fetchall():
        if view in named:
            named[view].append(column)
    for name, sql in views.items():
        for column, description in view_column_descriptions(sql, named[name], schemas).items():
            if description:
                statements.append(f"COMMENT ON COLUMN {ident(name)}.{ident(column)} IS {literal(description)}")
    return statements


def run_script(connection: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """The statements as one script: one call (inside a transaction, a thousand comments take
    milliseconds, not a second). Each ends on a line of its own: a view's SQL may end in a comment."""
    if statements:
        connection.execute("\n;\n".join(statements))


def describe_views(
    connection: duckdb.DuckDBPyConnection,
    views: dict[str, str],
    schemas: dict[str, pa.DataFrameSchema],
    *,
    columns: bool = True,
) -> None:
    """COMMENT ON every view (its purpose) and on every view column (its description): ``view_comments``, run.

    ``columns=False``: the views only (DuckLake comments no view column: "not a table").
    """
    run_script(connection, view_comments(connection, views, schemas, columns=columns))
