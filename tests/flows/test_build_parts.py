"""The responses table is written a part at a time (``surveyhouse.responses_file._parts``): a
table of a few parts reads each part's rows from the staged rows in one pass, with no spread
files; one of many parts spreads them once. Either way each part holds exactly its positions."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.study import load_study
from surveyhouse import responses_file
from surveyhouse.staging import response_columns, staged_schema

HEIGHT = 10_000


def _rows(*, in_order: bool = False) -> pl.LazyFrame:
    """Rows in an order unlike their positions (``in_order``: in theirs), with a few columns to carry."""
    positions = pl.int_range(HEIGHT, dtype=pl.UInt32, eager=True)
    positions = positions if in_order else positions.shuffle(seed=7)
    return pl.LazyFrame({"_pos": positions, "value": positions.cast(pl.Int64) * 3, "text": positions.cast(pl.String)})


def _parts(path, *, per_part: int, in_order: bool = False):
    """``_parts`` of ``_rows`` (their ``_row``: their order), each part read from its span of rows."""
    staged = _rows(in_order=in_order).with_row_index("_row")
    spans = responses_file._row_spans(staged.sort("_pos").collect()["_row"], per_part)

    def rows(span=None):
        return (staged if span is None else staged.filter(pl.col("_row").is_between(*span))).drop("_row")

    return responses_file._parts(rows, spans=spans, folder=path, height=HEIGHT, per_part=per_part)


@pytest.mark.parametrize("in_order", [False, True])
@pytest.mark.parametrize("parts", [2, responses_file._FILTERED_PARTS, responses_file._FILTERED_PARTS + 3])
def test_each_part_holds_exactly_its_positions_whatever_the_number_of_parts(tmp_path, parts, in_order):
    per_part = -(-HEIGHT // parts)
    written = list(_parts(tmp_path, per_part=per_part, in_order=in_order))
    assert len(written) == parts
    for number, part in enumerate(written):
        expected = _rows(in_order=in_order).filter(pl.col("_pos") // per_part == number).collect().sort("_pos")
        assert part.sort("_pos").equals(expected)
    assert not (tmp_path / ".spread").exists()


def test_a_table_of_many_parts_in_the_rows_order_is_written_without_spread_files(tmp_path):
    """Each part's span then holds its own rows alone: the rows are read about once, part by part."""
    parts = _parts(tmp_path, per_part=HEIGHT // (responses_file._FILTERED_PARTS * 3), in_order=True)
    assert next(parts).height == HEIGHT // (responses_file._FILTERED_PARTS * 3)
    assert not (tmp_path / ".spread").exists()
    assert sum(part.height for part in parts) + HEIGHT // (responses_file._FILTERED_PARTS * 3) == HEIGHT


def test_a_table_of_a_few_parts_is_written_without_spread_files(tmp_path):
    parts = _parts(tmp_path, per_part=HEIGHT // 2)
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


def test_a_part_reads_the_staged_files_only_within_its_span_of_rows(tmp_path):
    """The span of a part's rows is given to the staged files' scan (which then skips the row
    groups outside it: an export in submission order reads each row group for one part, not for
    each), not filtered after the derived segments and the flags' lookups, which keep it from the scan."""
    book = load_study().book
    path = tmp_path / "staged.parquet"
    pl.DataFrame(schema=staged_schema(book)).write_parquet(path)
    staged = pl.scan_parquet(path).with_row_index("_row").select("_row", *response_columns(book))
    lookups = responses_file._by_row(pl.DataFrame({"_pos": [0, 1]}, schema={"_pos": pl.UInt32}), pl.Series([0, 1]))
    rows = responses_file.rows_in_span(staged, (3, 500), book=book, lookups=lookups, columns=["response_id", "_pos"])
    scan = rows.explain(engine="streaming").split("SCAN", 1)[1]
    assert "SELECTION" in scan and 'col("_row").is_between' in scan.split("SELECTION", 1)[1]
