"""The data dictionary in Markdown, generated from the schemas and the views' headers.

`python -m warehouse.dictionary --write README.md` rewrites the README's dictionary
section; a test fails when the README and the schemas disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb

from schemas.codebook import Codebook
from schemas.figures import published_figures_frame
from schemas.study import Study, builtin_study
from schemas.tables import view_schemas, warehouse_schemas
from warehouse.ddl import duckdb_type, polars_dtype
from warehouse.generated_views import generated_views
from warehouse.publish import create_tables, create_views, view_sql
from warehouse.view_columns import view_purpose

START, END = "<!-- dictionary:start -->", "<!-- dictionary:end -->"


def study_views(book: Codebook, study: Study | None = None) -> dict[str, str]:
    """Every view of a warehouse of this codebook and ``study``'s published figures (default: the built-in study's)."""
    figures = (study or builtin_study()).figures
    return view_sql() | generated_views(book, published_figures_frame(figures, book=book))


def empty_warehouse(book: Codebook, views: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with every table (empty) and view, commented as a publish comments them."""
    connection = duckdb.connect()
    schemas = warehouse_schemas(book)
    create_tables(connection, schemas)
    create_views(connection, views, schemas)
    return connection


def view_columns_markdown(connection, names: list[str]) -> str:
    """Each named view's columns, types and descriptions, from a warehouse's `dictionary` view."""
    parts = []
    for name in names:
        rows = connection.execute(
            "select column_name, data_type, description, table_description from dictionary "
            "where table_name = ? order by column_index",
            [name],
        ).fetchall()
        parts.append(f"#### `{name}` (view)\n\n{rows[0][3]}\n\n| column | type | description |\n| --- | --- | --- |")
        for column, kind, description, _ in rows:
            kind = "ENUM" if kind.startswith("ENUM(") else kind
            parts.append(f"| `{column}` | {kind} | {description or ''} |")
        parts.append("")
    return "\n".join(parts)


def columns_markdown(heading: str, schema) -> list[str]:
    """A table's (or a documented view's) section: its description and one line per column."""
    parts = [f"### {heading}\n\n{schema.description}\n\n| column | type | description |\n| --- | --- | --- |"]
    for column, spec in schema.columns.items():
        kind = duckdb_type(polars_dtype(spec))
        if kind.startswith("ENUM("):  # the codes are in the questionnaire; a list of them ends in []
            kind = "ENUM[]" if kind.endswith("[]") else "ENUM"
        personal = (
            " *Personal data (hashed or masked).*" if spec.metadata and spec.metadata.get("personal_data") else ""
        )
        parts.append(f"| `{column}` | {kind} | {spec.description}{personal} |")
    return [*parts, ""]


def dictionary_markdown(study: Study | None = None) -> str:
    """The data dictionary of ``study``'s warehouse (default: the built-in study's), from the schemas."""
    study = study or builtin_study()
    book = study.book
    parts = []
    for name, schema in warehouse_schemas(book).items():
        parts.extend(columns_markdown(f"`{name}`", schema))
    for name, schema in view_schemas(book).items():
        parts.extend(columns_markdown(f"`{name}` (view)", schema))
    parts.append("### Views\n\n| view | grain and purpose |\n| --- | --- |")
    views = study_views(book, study)
    for name, sql in views.items():
        parts.append(f"| `{name}` | {view_purpose(sql).removeprefix(name + ':').strip()} |")
    parts.append(
        "\nThe columns of the views above that are written by hand (warehouse/views); those generated from the "
        "questionnaire (`crosstab_by_*`, `figure_*`) are described in `surveyhouse dictionary` and the `dictionary` "
        "view like every other.\n"
    )
    with empty_warehouse(book, views) as connection:
        parts.append(view_columns_markdown(connection, sorted(view_sql())))
    return "\n".join(parts).rstrip("\n") + "\n"


def dictionary_from_warehouse(connection) -> str:
    """The data dictionary of a published warehouse, from its `dictionary` view, in Markdown."""
    rows = connection.execute(
        "select d.table_name, d.column_name, d.data_type, d.description, d.table_description, "
        "coalesce(t.table_type, 'BASE TABLE') = 'VIEW' as is_view "
        "from dictionary d left join information_schema.tables t "
        "on t.table_name = d.table_name and t.table_schema = 'main' and t.table_catalog = current_database() "
        "order by is_view, d.table_name, d.column_index"
    ).fetchall()
    parts: list[str] = []
    current = None
    for table, column, kind, description, table_description, is_view in rows:
        if table != current:
            current = table
            heading = f"### `{table}`" + (" (view)" if is_view else "")
            parts.append(("\n" if parts else "") + heading + "\n")
            if table_description:
                parts.append(f"{table_description}\n")
            parts.append("| column | type | description |\n| --- | --- | --- |")
        kind = "ENUM" if kind.startswith("ENUM(") else kind
        parts.append(f"| `{column}` | {kind} | {description or ''} |")
    return "\n".join(parts) + "\n"


def with_dictionary(readme: str) -> str:
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), flags=re.S)
    return pattern.sub(lambda _: f"{START}\n{dictionary_markdown()}{END}", readme)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        path.write_text(with_dictionary(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(dictionary_markdown())
