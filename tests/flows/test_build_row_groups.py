"""The build's Parquet files are in DuckDB's row groups, so that the publish's ordered insert
writes every group once (issue 18: a 1M-response warehouse was a third free blocks, rewritten
at the checkpoint)."""

from __future__ import annotations

import duckdb
import pandera.polars as pa
import polars as pl

from surveyhouse.build import _written
from warehouse.publish import ParquetTable, publish_warehouse

LEVELS = pl.Enum(["low", "mid", "high"])
SCHEMA = pa.DataFrameSchema(
    {
        "k": pa.Column(pl.Int64, nullable=False, description="Key."),
        "v": pa.Column(LEVELS, description="Level, in questionnaire order."),
        "t": pa.Column(pl.Utf8, description="Text."),
    },
    description="One row per number.",
)
#: DuckDB's row group size (rows).
DUCKDB_ROW_GROUP = 122_880
#: Rows over two of DuckDB's row groups, not a multiple of one (what the build's files hold at scale).
ROWS = 300_001


def _big_rows() -> pl.LazyFrame:
    index = pl.int_range(ROWS, dtype=pl.Int64)
    return pl.LazyFrame().select(
        k=index,
        v=pl.lit(pl.Series(["low", "mid", "high"], dtype=LEVELS)).gather(index % 3),
        t=pl.format("response-{}", index),
    )


def _row_groups(path) -> list[int]:
    return [
        rows
        for (rows,) in duckdb.execute(
            "select row_group_num_rows from parquet_metadata(?) group by row_group_id, row_group_num_rows"
            " order by row_group_id",
            [str(path)],
        ).fetchall()
    ]


def test_a_big_table_written_by_the_build_is_published_in_order_without_free_blocks(tmp_path):
    table = _written(_big_rows(), tmp_path / "numbers.parquet", SCHEMA)
    assert _row_groups(tmp_path / "numbers.parquet") == [DUCKDB_ROW_GROUP] * 2 + [ROWS - 2 * DUCKDB_ROW_GROUP]
    path = tmp_path / "w.duckdb"
    publish_warehouse(path, {"numbers": table}, {"numbers": SCHEMA})
    with duckdb.connect(str(path), read_only=True) as connection:
        (free,) = connection.execute("select free_blocks from pragma_database_size()").fetchone()
        published = connection.execute("select k, v, t from numbers order by rowid").pl()
    assert isinstance(table, ParquetTable) and table.height == ROWS
    assert published.equals(_big_rows().collect().cast({"v": pl.Utf8}))
    assert free == 0
