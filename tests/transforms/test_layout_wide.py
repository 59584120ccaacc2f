"""The ``wide`` contract every layout's answer columns meet (``wide_from_columns``)."""

from __future__ import annotations

import polars as pl

from transforms.layouts import SourceColumn, wide_from_columns


def test_a_cell_blank_or_unanswered_once_stripped_is_null_and_any_other_is_kept_as_written():
    cells = [" Yes ", "", "   ", "-99", " -99\t", "-990", None, "No"]
    frame = pl.LazyFrame({"source_row": list(range(1, 9)), "c0": cells})
    columns = (SourceColumn(0, "Q1"),)
    seen = wide_from_columns(frame, columns, data_from_row=1, unanswered=("-99",)).collect()
    assert seen["0"].to_list() == [" Yes ", None, None, None, None, "-990", None, "No"]
    plain = wide_from_columns(frame, columns, data_from_row=2).collect()
    assert plain["0"].to_list() == [None, None, "-99", " -99\t", "-990", None, "No"]
    assert plain["source_row"].dtype == pl.Int64
