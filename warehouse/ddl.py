"""DDL and column comments generated from the pandera schemas (never written by hand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pandera (and the pandas it imports) would cost `surveyhouse sql` most of a second
    import pandera.polars as pa


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_type(dtype: pl.DataType, *, enums: bool = True) -> str:
    """The DuckDB type of a polars dtype (enums keep their questionnaire order).

    ``enums=False`` gives VARCHAR for enums: DuckLake has no ENUM type.
    """
    if isinstance(dtype, pl.Enum):
        if not enums:
            return "VARCHAR"
        return "ENUM(" + ", ".join(_quote_literal(c) for c in dtype.categories.to_list()) + ")"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    if isinstance(dtype, pl.List):
        return duckdb_type(dtype.inner, enums=enums) + "[]"
    simple = {
        pl.Utf8: "VARCHAR",
        pl.Int32: "INTEGER",
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
        pl.UInt32: "UINTEGER",
    }
    for polars_type, sql in simple.items():
        if dtype == polars_type:
            return sql
    raise TypeError(f"no DuckDB type for {dtype}")


def polars_dtype(column: pa.Column) -> pl.DataType:
    return column.dtype.type


def _storage(column: pa.Column) -> str:
    """The column's ``USING COMPRESSION`` clause (its metadata's ``compression``), or none."""
    compression = (column.metadata or {}).get("compression")
    return f" USING COMPRESSION {compression}" if compression else ""


def create_table_sql(name: str, schema: pa.DataFrameSchema, *, enums: bool = True) -> list[str]:
    """CREATE TABLE and COMMENT ON statements for one table (``enums=False``: enums as VARCHAR, a
    DuckLake's; a warehouse file's columns also get the compression their metadata names, if any)."""
    columns = ",\n  ".join(
        f"{_quote_identifier(col)} {duckdb_type(polars_dtype(spec), enums=enums)}{'' if spec.nullable else ' NOT NULL'}"
        + (_storage(spec) if enums else "")
        for col, spec in schema.columns.items()
    )
    statements = [f"CREATE TABLE {_quote_identifier(name)} (\n  {columns}\n)"]
    if schema.description:
        statements.append(f"COMMENT ON TABLE {_quote_identifier(name)} IS {_quote_literal(schema.description)}")
    for col, spec in schema.columns.items():
        statements.append(
            f"COMMENT ON COLUMN {_quote_identifier(name)}.{_quote_identifier(col)} IS {_quote_literal(spec.description or '')}"
        )
    return statements


class DocumentedView(str):
    """A view's SQL (a query) that also carries the COMMENT statements describing the view and its
    columns, which the file warehouse runs after creating the view, and the view's query with
    VARCHAR for ENUM, which a DuckLake creates instead (it has no ENUM type, and cannot comment on
    a view's columns)."""

    comments: tuple[str, ...]
    without_enums: str

    def __new__(cls, sql: str, *, comments: list[str], without_enums: str) -> DocumentedView:
        view = super().__new__(cls, sql)
        view.comments, view.without_enums = tuple(comments), without_enums
        return view


def view_comment_sql(name: str, schema: pa.DataFrameSchema) -> list[str]:
    """COMMENT ON statements giving view ``name`` its schema's description and column descriptions
    (so that the `dictionary` view describes them as a table's)."""
    statements = create_table_sql(name, schema)[1:]
    return [statement.replace("COMMENT ON TABLE", "COMMENT ON VIEW", 1) for statement in statements]
