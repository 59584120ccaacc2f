"""The data dictionary is complete: every view has a purpose line, every column of every
table and view a description (from its schema, the table column a view passes on, or a
comment in the view's SQL)."""

from __future__ import annotations

import duckdb
import pandera.polars as pa
import polars as pl

from schemas.codebook import codebook
from schemas.tables import warehouse_schemas
from warehouse.dictionary import empty_warehouse, study_views
from warehouse.publish import create_tables, create_views, publish_warehouse
from warehouse.view_columns import in_creation_order, view_column_descriptions, view_purpose

SCHEMAS = {
    "notes": pa.DataFrameSchema(
        {"k": pa.Column(pl.Int64, description="Key."), "text": pa.Column(pl.Utf8, description="Free text as typed.")},
        description="One row per note.",
    )
}
VIEW = """-- long_notes: one row per note with text.
-- The notes worth reading.
with final as (
    select
        k,
        length(text) as text_length -- Characters of the text.
    from notes
)
select * from final"""


def test_every_column_of_every_table_and_view_of_the_builtin_study_has_a_description():
    book = codebook()
    with empty_warehouse(book, study_views(book)) as connection:
        undescribed = connection.execute(
            "select table_name, column_name from dictionary where coalesce(description, '') = '' order by all"
        ).fetchall()
        no_purpose = connection.execute(
            "select distinct table_name from dictionary where coalesce(table_description, '') = ''"
        ).fetchall()
        views = connection.execute("select count(*) from duckdb_views() where not internal").fetchone()[0]
    assert undescribed == []
    assert no_purpose == []
    assert views == len(study_views(book)) > 30


def test_a_view_column_is_described_by_its_sql_comment_else_by_the_table_column_it_passes_on():
    described = view_column_descriptions(VIEW, ["k", "text_length", "unknown"], SCHEMAS)
    assert described == {"k": "Key.", "text_length": "Characters of the text.", "unknown": None}
    assert view_purpose(VIEW) == "long_notes: one row per note with text. The notes worth reading."


def test_a_published_warehouse_comments_its_views_and_their_columns(tmp_path):
    path = tmp_path / "w.duckdb"
    frame = pl.DataFrame({"k": [1, 2], "text": ["a", "bb"]})
    publish_warehouse(path, {"notes": frame}, SCHEMAS, {"long_notes": VIEW})
    with duckdb.connect(str(path), read_only=True) as connection:
        comments = connection.execute(
            "select column_name, comment from duckdb_columns() where table_name = 'long_notes' order by column_index"
        ).fetchall()
        purpose = connection.execute("select comment from duckdb_views() where view_name = 'long_notes'").fetchone()
    assert comments == [("k", "Key."), ("text_length", "Characters of the text.")]
    assert purpose == ("long_notes: one row per note with text. The notes worth reading.",)


def test_views_are_created_after_the_views_they_read():
    views = {
        "a_reads_b": "-- a_reads_b: one row per note.\nselect * from b_reads_notes",
        "b_reads_notes": "-- b_reads_notes: one row per note.\nselect * from notes",
        "c": "-- c: one row per note.\nselect * from notes join a_reads_b using (k)",
    }
    assert list(in_creation_order(views)) == ["b_reads_notes", "a_reads_b", "c"]
    assert list(in_creation_order(study_views(codebook()))).index("column_letters") < list(
        in_creation_order(study_views(codebook()))
    ).index("banner")


def test_the_study_tables_views_and_their_comments_are_written_in_two_transactions():
    """A publish writes the DDL, the views and about a thousand comments: each statement committed
    alone costs a millisecond and more (a second a night), in one transaction per step next to nothing."""
    book = codebook()
    schemas = warehouse_schemas(book)
    with duckdb.connect() as connection:
        connection.execute("CALL enable_logging('QueryLog')")
        create_tables(connection, schemas)
        create_views(connection, study_views(book), schemas)
        statements, transactions = connection.execute(
            "select count(*), count(distinct transaction_id) from duckdb_logs where type = 'QueryLog'"
        ).fetchone()
        assert connection.execute("select count(*) from dictionary where description is not null").fetchone()[0] > 500
    assert statements > 500 and transactions == 2
