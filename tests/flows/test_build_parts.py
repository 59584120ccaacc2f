"""The responses table is written a part at a time (``surveyhouse.responses_file._parts``): a
table of a few parts reads each part's rows from the staged rows in one pass, with no spread
files; one of many parts spreads them once. Either way each part holds exactly its positions."""

from __future__ import annotations

import polars as pl
import pytest

from surveyhouse import responses_file

HEIGHT = 10_000


def _rows() -> pl.LazyFrame:
    """Rows in an order unlike their positions, with a few columns to carry."""
    positions = pl.int_range(HEIGHT, dtype=pl.UInt32, eager=True).shuffle(seed=7)
    return pl.LazyFrame({"_pos": positions, "value": positions.cast(pl.Int64) * 3, "text": positions.cast(pl.String)})


@pytest.mark.parametrize("parts", [2, responses_file._FILTERED_PARTS, responses_file._FILTERED_PARTS + 3])
def test_each_part_holds_exactly_its_positions_whatever_the_number_of_parts(tmp_path, parts):
    per_part = -(-HEIGHT // parts)
    written = list(responses_file._parts(_rows(), folder=tmp_path, height=HEIGHT, per_part=per_part))
    assert len(written) == parts
    for number, part in enumerate(written):
        expected = _rows().filter(pl.col("_pos") // per_part == number).collect().sort("_pos")
        assert part.sort("_pos").equals(expected)
    assert not (tmp_path / ".spread").exists()


def test_a_table_of_a_few_parts_is_written_without_spread_files(tmp_path):
    parts = responses_file._parts(_rows(), folder=tmp_path, height=HEIGHT, per_part=HEIGHT // 2)
    first = next(parts)
    assert first.height == HEIGHT // 2 and not (tmp_path / ".spread").exists()
    assert next(parts).height == HEIGHT // 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("memory_mb", [1, 64, 256, 1000])
def test_each_part_but_the_last_is_whole_row_groups_from_one_row_group_on(memory_mb):
    """A part's insert then writes whole row groups (the last part's last group aside), so that
    inserting the parts one after the other leaves no part-filled group between them."""
    rows = responses_file.rows_per_part(_rows(), memory_mb=memory_mb)
    group = responses_file.PARQUET_ROW_GROUP_ROWS
    assert rows % group == 0 if rows >= group else rows >= responses_file._SAMPLE_ROWS
