"""The data dictionary in Markdown, generated from the schemas and the views' headers.

`python -m warehouse.dictionary --write README.md` rewrites the README's dictionary
section; a test fails when the README and the schemas disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from schemas.figures import published_figures_frame
from schemas.study import Study, builtin_study
from schemas.tables import warehouse_schemas
from warehouse.ddl import duckdb_type, polars_dtype
from warehouse.generated_views import generated_views
from warehouse.publish import view_sql

START, END = "<!-- dictionary:start -->", "<!-- dictionary:end -->"


def view_purpose(sql: str) -> str:
    """A view's header comment: its grain and purpose."""
    lines = [line[2:].strip() for line in sql.splitlines() if line.startswith("--")]
    return " ".join(lines)


def dictionary_markdown(study: Study | None = None) -> str:
    """The data dictionary of ``study``'s warehouse (default: the built-in study's), from the schemas."""
    study = study or builtin_study()
    book = study.book
    parts = []
    for name, schema in warehouse_schemas(book).items():
        parts.append(f"### `{name}`\n\n{schema.description}\n\n| column | type | description |\n| --- | --- | --- |")
        for column, spec in schema.columns.items():
            kind = duckdb_type(polars_dtype(spec))
            kind = "ENUM" if kind.startswith("ENUM(") else kind
            personal = (
                " *Personal data (hashed or masked).*" if spec.metadata and spec.metadata.get("personal_data") else ""
            )
            parts.append(f"| `{column}` | {kind} | {spec.description}{personal} |")
        parts.append("")
    parts.append("### Views\n\n| view | grain and purpose |\n| --- | --- |")
    views = view_sql() | generated_views(book, published_figures_frame(study.figures, book=book))
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
