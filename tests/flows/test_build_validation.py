"""The build's big tables (Parquet files) are checked as deep as a frame: a column at a time
when every row passes, and every failure named by pandera when one does not."""

from __future__ import annotations

import pandera.errors
import pandera.polars as pa
import polars as pl
import pytest

from surveyhouse import build
from surveyhouse.build import _validated
from warehouse.publish import ParquetTable

SCHEMA = pa.DataFrameSchema(
    {
        "k": pa.Column(pl.Int64, nullable=False, description="Key."),
        "share": pa.Column(pl.Float64, nullable=True, checks=[pa.Check.in_range(0, 1)], description="Share, 0-1."),
        "chosen": pa.Column(
            pl.List(pl.Utf8),
            nullable=True,
            checks=[pa.Check(lambda d: d.lazyframe.select(pl.col(d.key).list.len() < 3), name="short")],
            description="Options.",
        ),
    },
    unique=["k"],
)


def _table(tmp_path, rows: dict) -> ParquetTable:
    frame = pl.DataFrame(rows, schema={"k": pl.Int64, "share": pl.Float64, "chosen": pl.List(pl.Utf8)})
    halves = [frame.head(2), frame.tail(frame.height - 2)]
    paths = tuple(tmp_path / f"part-{i}.parquet" for i in range(2))
    for half, path in zip(halves, paths, strict=True):
        half.write_parquet(path)
    return ParquetTable(paths, frame.height, frame.schema)


def test_a_big_table_whose_rows_pass_is_returned_as_it_is(tmp_path):
    table = _table(
        tmp_path, {"k": [1, 2, 3, 4], "share": [0.1, None, 1.0, 0.0], "chosen": [["a"], None, [], ["a", "b"]]}
    )
    assert _validated(table, SCHEMA) is table


def test_every_failure_of_a_big_table_is_named(tmp_path):
    table = _table(
        tmp_path, {"k": [1, None, 3, 4], "share": [0.1, 0.2, 1.5, 0.0], "chosen": [["a"], [], ["a", "b", "c"], None]}
    )
    with pytest.raises(pandera.errors.SchemaErrors) as raised:
        _validated(table, SCHEMA)
    failures = raised.value.failure_cases
    assert sorted(set(failures["column"].to_list())) == ["chosen", "k", "share"]
    assert set(failures["check"].to_list()) >= {"not_nullable", "short"}


def test_a_key_repeated_once_among_distinct_keys_is_found_and_none_when_none_repeats():
    keys = pl.LazyFrame(
        {"tool": ["a"] * 5000 + ["b"] * 5000 + [None, None], "id": [str(i) for i in range(10_000)] + [None, None]}
    )
    assert build._sharing_hashes(keys.head(10_000)).height == 0
    assert build._sharing_hashes(keys.head(10_000)).schema == keys.collect_schema()
    assert build._sharing_hashes(keys).rows() == [(None, None), (None, None)]
    again = pl.concat([keys.head(10_000), keys.slice(4321, 1)])
    assert build._sharing_hashes(again).rows() == [("a", "4321"), ("a", "4321")]


def test_a_big_table_whose_key_repeats_across_its_files_fails(tmp_path):
    table = _table(tmp_path, {"k": [1, 2, 3, 1], "share": [0.1, None, 1.0, 0.0], "chosen": [["a"], None, [], ["b"]]})
    with pytest.raises(pandera.errors.SchemaErrors) as raised:
        _validated(table, SCHEMA)
    assert (
        raised.value.failure_cases.select("check", "failure_case").rows() == [("multiple_fields_uniqueness", "1")] * 2
    )


def test_a_check_of_a_big_table_that_is_no_expression_is_still_run_by_pandera(tmp_path):
    """A row-by-row check (no one expression stands for it) is run by pandera on each slice."""
    upper = pa.Check(lambda value: value.isupper(), element_wise=True, name="upper")
    schema = pa.DataFrameSchema({"code": pa.Column(pl.Utf8, checks=[upper], description="Code.")})
    frame = pl.DataFrame({"code": ["A", "B", "C", "d"]})
    paths = (tmp_path / "a.parquet", tmp_path / "b.parquet")
    frame.head(2).write_parquet(paths[0])
    frame.tail(2).write_parquet(paths[1])
    table = ParquetTable(paths, 4, frame.schema)
    with pytest.raises(pandera.errors.SchemaErrors) as raised:
        _validated(table, schema)
    assert raised.value.failure_cases.select("check", "failure_case").rows() == [("upper", "d")]
    assert _validated(ParquetTable(paths[:1], 2, frame.schema), schema) is not None


@pytest.mark.parametrize(
    ("column", "value", "check"), [("share", 1.5, "in_range(0, 1)"), ("chosen", ["a", "b", "c"], "short")]
)
def test_one_value_failing_a_check_of_a_big_table_fails_it(tmp_path, column, value, check):
    rows = {"k": [1, 2, 3, 4], "share": [0.1, None, 1.0, 0.0], "chosen": [["a"], None, [], ["a", "b"]]}
    rows[column][3] = value
    with pytest.raises(pandera.errors.SchemaErrors) as raised:
        _validated(_table(tmp_path, rows), SCHEMA)
    assert raised.value.failure_cases.select("column", "check").rows() == [(column, check)]
