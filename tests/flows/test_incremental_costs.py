"""A night with a few new files on a big warehouse costs what changed, not the whole history
(issue 18): what it reads of the staged files.

Its results are those of a full build (tests/flows/test_incremental_night.py); these tests pin
the work it no longer does.
"""

from __future__ import annotations

import polars as pl

from schemas.study import load_study
from surveyhouse.build import _respondents, staged_rows, staged_rows_at
from surveyhouse.night import Night
from warehouse.publish import ParquetTable


def test_the_trend_of_responses_of_one_wave_reads_no_email_hash(tmp_path):
    # a table whose files are gone: any read of them fails
    gone = ParquetTable((tmp_path / "gone.parquet",), 5, pl.Schema({"wave": pl.Int32, "email_hash": pl.Utf8}))
    respondents = _respondents(gone, waves=[2024]).collect()
    assert respondents.is_empty() and respondents.columns == ["wave", "email_hash"]


def test_the_staged_rows_a_night_asks_for_are_read_from_the_files_that_hold_them_alone(demo_night):
    book = load_study().book
    staged = Night.of(load_study(), demo_night).state.staged()
    every = staged_rows(staged, book=book).collect()
    last = staged[-1]
    first = every.height - pl.scan_parquet(last.responses).select(pl.len()).collect().item()
    at = pl.Series([first, first + 2, every.height - 1], dtype=pl.UInt32)
    rows = staged_rows_at(staged, at, book=book)
    plan = rows.explain()
    assert str(last.responses) in plan and not any(str(s.responses) in plan for s in staged[:-1])
    assert rows.collect().equals(every.filter(pl.col("_row").is_in(at.implode())))
    assert staged_rows_at(staged, at.clear(), book=book).collect().is_empty()
