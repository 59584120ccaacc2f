"""The data dictionary in Markdown, generated from the schemas and the views' headers.

`python -m warehouse.dictionary --write README.md` rewrites the README's dictionary
section; a test fails when the README and the schemas disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from schemas.codebook import codebook
from schemas.figures import published_figures, published_figures_frame
from schemas.tables import view_schemas, warehouse_schemas
from warehouse.ddl import duckdb_type, polars_dtype
from warehouse.generated_views import generated_views
from warehouse.publish import view_sql

START, END = "<!-- dictionary:start -->", "<!-- dictionary:end -->"


def view_purpose(sql: str) -> str:
    """A view's header comment: its grain and purpose."""
    lines = [line[2:].strip() for line in sql.splitlines() if line.startswith("--")]
    return " ".join(lines)


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


def dictionary_markdown() -> str:
    parts = []
    for name, schema in warehouse_schemas(codebook()).items():
        parts.extend(columns_markdown(f"`{name}`", schema))
    for name, schema in view_schemas(codebook()).items():
        parts.extend(columns_markdown(f"`{name}` (view)", schema))
    parts.append("### Views\n\n| view | grain and purpose |\n| --- | --- |")
    book = codebook()
    views = view_sql() | generated_views(book, published_figures_frame(published_figures(), book=book))
    for name, sql in views.items():
        parts.append(f"| `{name}` | {view_purpose(sql).removeprefix(name + ':').strip()} |")
    return "\n".join(parts) + "\n"


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
