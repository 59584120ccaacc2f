"""A night with a few new files on a big warehouse costs what changed, not the whole history
(issue 18): what it reads of the staged files.

Its results are those of a full build (tests/flows/test_incremental_night.py); these tests pin
the work it no longer does.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.study import load_study
from surveyhouse import incremental
from surveyhouse.build import (
    _respondents,
    repeated_values,
    staged_rows,
    staged_rows_at,
    staged_version_keys,
    version_key,
)
from surveyhouse.incremental import _GROUPS, ChangedResponses, _regrouped, rows_at
from surveyhouse.night import Night
from tests.flows.test_incremental_night import cumulative_reexport, earlier_duplicates, night_on_demo
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


def test_a_slice_of_the_staged_rows_reads_the_row_groups_that_hold_it(demo_night):
    book = load_study().book
    staged = Night.of(load_study(), demo_night).state.staged()
    plan = staged_rows(staged, book=book).slice(100, 3).explain()
    assert "SLICE:" in plan.split("Parquet SCAN", 1)[1]  # the slice is the scan's, not a step over every row


def test_a_few_rows_are_read_in_slices_of_the_rows_that_hold_them_and_many_with_a_filter(tmp_path):
    path = tmp_path / "rows.parquet"
    pl.DataFrame({"x": pl.int_range(100_000, eager=True)}).write_parquet(path, row_group_size=20_000)
    rows = pl.scan_parquet(path).with_row_index("_row")
    every = rows.collect()
    few = pl.Series([3, 4, 60_000, 99_999], dtype=pl.UInt32)
    read = rows_at(rows, few)
    assert "Parquet SCAN" not in read.explain()  # each stretch read on its own, not the rows whole once for all
    assert read.collect().equals(every.filter(pl.col("_row").is_in(few.implode())))
    many = pl.Series(range(0, every.height, 7), dtype=pl.UInt32)
    assert "Parquet SCAN" in rows_at(rows, many).explain()
    assert rows_at(rows, many).collect().equals(every.filter(pl.col("_row").is_in(many.implode())))
    assert rows_at(rows, few.clear()).collect().is_empty()


def test_a_night_hashes_the_version_keys_of_its_new_files_alone(demo_night, tmp_path):
    """Each staged file's version keys are kept beside it by the first build that reads them: a
    night reads the old files' kept keys (not their ids' text again), makes its new file's, and
    they are the staged rows' keys; a staged file written again (keyed ids) has its keys made anew."""
    book = load_study().book
    kept = lambda staged: {p.parent.name: (p.name, p.stat().st_mtime_ns) for p in staged.glob("*/version_keys-*")}  # noqa: E731
    before = kept(Night.of(load_study(), demo_night).state.staged_dir)
    run, settings, _ = night_on_demo(demo_night, tmp_path / "night", cumulative_reexport)
    assert isinstance(run.tables["responses"], ChangedResponses)
    state = Night.of(load_study(), settings).state
    after, staged = kept(state.staged_dir), state.staged()
    assert before and {name: after[name] for name in before} == before  # read, not made again
    assert set(after) == {s.sha256 for s in staged if s.record["status"] == "loaded"}
    assert {p.stat().st_mode & 0o777 for p in state.staged_dir.glob("*/version_keys-*")} == {0o600}
    hashed = staged_rows(staged, book=book).select("_row", "file_order", _key=version_key()).collect()
    assert staged_version_keys(staged).equals(hashed)
    last = staged[-1].responses  # written again, other ids: other keys, the old ones removed
    pl.read_parquet(last).with_columns(pl.col("response_id") + "-k").write_parquet(last)
    hashed = staged_rows(staged, book=book).select("_row", "file_order", _key=version_key()).collect()
    assert staged_version_keys(staged).equals(hashed) and len(list(staged[-1].folder.glob("version_keys-*"))) == 1


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.sampled_from([0, 1, 7, 2**63, 2**64 - 1]) | st.integers(0, 2**64 - 1), max_size=30))
def test_the_repeated_version_keys_are_the_hashes_held_more_than_once(values):
    hashes = pl.Series("_key", values, dtype=pl.UInt64)
    expected = hashes.filter(hashes.is_duplicated()).unique().sort()
    assert repeated_values(hashes).sort().equals(expected)


def _regrouped_by_joins(narrow: pl.DataFrame, moving: pl.DataFrame) -> set[tuple[int, bool]]:
    """What ``_regrouped`` gives, by joins on the exact keys of each group (its way before the groups' hashes)."""

    def members(of: pl.DataFrame) -> set[int]:
        found = set()
        for keys in _GROUPS:
            wanted = of.filter(pl.col(keys[1]).is_not_null()).select(keys).unique()
            found |= set(narrow.join(wanted, on=list(keys), how="semi", nulls_equal=True)["_row"])
        return found

    regrouped = members(moving)
    every = members(narrow.filter(pl.col("_row").is_in(list(regrouped))))
    return {(row, row in regrouped) for row in every}


_KEY = st.none() | st.integers(0, 3)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(1, 2), _KEY, _KEY, _KEY), max_size=25),
    moving=st.lists(st.tuples(st.integers(1, 2), _KEY, _KEY, _KEY), max_size=5),
    gone=st.lists(st.tuples(st.integers(1, 2), _KEY, _KEY, _KEY), max_size=3),
)
def test_the_responses_decided_anew_are_every_one_sharing_a_group_with_one_that_moves(rows, moving, gone):
    """Looked up by each group's keys hashed as one (``_group_hashes``): the responses of ``narrow``
    in a group (same wave and email; same wave, IP and answers; no group without the first) of one
    that comes in or goes out, and the others of their groups, as joins on the exact keys find them."""
    schema = {
        "_row": pl.UInt32,
        "wave": pl.Int32,
        "email_hash": pl.UInt64,
        "ip_hash": pl.UInt64,
        "_answers_key": pl.UInt64,
    }
    narrow = pl.DataFrame([(n, *r) for n, r in enumerate(rows)], schema=schema, orient="row")
    came = pl.DataFrame([(100 + n, *r) for n, r in enumerate(moving)], schema=schema, orient="row")
    went = pl.DataFrame([(200 + n, *r) for n, r in enumerate(gone)], schema=schema, orient="row")  # (not current)
    found = _regrouped(pl.concat([narrow, came]), pl.concat([came, went]))
    assert set(found.iter_rows()) == _regrouped_by_joins(pl.concat([narrow, came]), pl.concat([came, went]))


def test_a_night_reads_the_staged_rows_of_its_duplicate_candidates_once(demo_night, tmp_path, monkeypatch):
    """The duplicates compare their candidates' exact values by email, then by IP and answers: the
    candidates' staged rows are read in one pass (``incremental._read_once``), not once for each;
    the other read is of the live rows whose flags move (``_live_rows``)."""
    reads, read = [], incremental.rows_at
    monkeypatch.setattr(incremental, "rows_at", lambda rows, at: reads.append(at.len()) or read(rows, at))
    run, _, _ = night_on_demo(demo_night, tmp_path / "night", earlier_duplicates)
    assert isinstance(run.tables["responses"], ChangedResponses)
    assert len(reads) == 2 and reads[0] > 0, reads


def test_duplicate_candidates_more_than_the_builds_memory_holds_are_read_as_asked():
    rows = pl.LazyFrame({"_row": pl.Series(range(1_000), dtype=pl.UInt32), "x": range(1_000)})
    staged_at = lambda at: rows.filter(pl.col("_row").is_in(at.implode()))  # noqa: E731
    assert (
        incremental._read_once(staged_at, rows.collect()["_row"], memory_mb=1) is staged_at
    )  # (1,000 x 2 KB > 256 KB)
    held = incremental._read_once(staged_at, rows.collect()["_row"].head(100), memory_mb=1)
    at = pl.Series([3, 50], dtype=pl.UInt32)
    assert held is not staged_at and held(at).collect().equals(staged_at(at).collect())


def test_a_night_takes_the_live_screening_as_the_table_keeps_it_without_sorting_it(demo_night):
    """The kept screening inputs are read in the order `_build.screening` keeps them (a sort by staged
    row cost 0.06 s of CPU and a copy of every column at 1M responses, on the thread the build waits
    for), and still taken as the night's base: matched by staged row, in any order, no row twice."""
    night = Night.of(load_study(), demo_night)
    live = incremental.read_live(night.warehouse, book=night.study.book, weighted=False, versioned=False)
    screening = live.screening_and_sums[0]
    with night.warehouse.reader() as connection:
        kept = pl.from_arrow(connection.execute("select _row from _build.screening").to_arrow_table())["_row"]
    assert screening["_row"].equals(kept) and not kept.is_sorted()  # (the table keeps the responses' order)
    rows = pl.int_range(int(kept.max()) + 2, eager=True).alias("_row")
    old_rows = pl.DataFrame({"_row": rows, "is_superseded": ~rows.is_in(kept.implode())})
    assert incremental._of_rows(screening, old_rows)
    assert not incremental._of_rows(pl.concat([screening, screening.head(1)]), old_rows)  # a row twice
    assert not incremental._of_rows(screening.tail(-1), old_rows)  # a current version missing


def test_the_decisions_of_the_new_files_rows_are_taken_by_their_place_not_looked_up():
    """The new files' rows come last (``build._old_rows``): their decisions are the rows of ``decided``
    from the first of them on, as a join on their rows finds them; no current version, none."""
    decided = pl.DataFrame({"_row": pl.Series([5, 0, 3, 1, 7, 8, 9], dtype=pl.UInt32), "is_speeder": [True] * 7})
    new_rows = pl.Series("_row", [7, 9], dtype=pl.UInt32)  # (8 superseded by 9, say: not a current version)
    joined = decided.join(new_rows.to_frame(), on="_row", how="semi")
    assert incremental.of_new_files(decided.filter(pl.col("_row") != 8), new_rows).equals(joined)
    assert incremental.of_new_files(decided, new_rows.clear()).is_empty()
