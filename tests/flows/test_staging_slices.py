"""A file is read a batch of records at a time, and mapped, validated and typed a slice of
rows at a time (peak memory): the result is the whole file's, whatever the batch and the
slice. The whole-file decisions (layout, columns, header language, the order of dates, the
rejected share, a response id repeated in the file) are the file's; the quarantine's source
rows are the file's own."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bench.generate import export
from schemas.codebook import codebook
from surveyhouse.staging import _in_order, _slice_size, _SlicedResponses, process_export, stage_export
from tests.flows.test_cases_exports import BROKEN, CASES, EXPORTS, run

WHOLE = 10**9


def _same(sliced: tuple, whole: tuple) -> None:
    assert sliced[0] == whole[0]
    assert_frame_equal(sliced[1], whole[1])
    assert_frame_equal(sliced[2], whole[2])


@pytest.mark.parametrize(
    "path", [CASES / name for name in EXPORTS] + sorted(BROKEN.iterdir()), ids=lambda path: path.name
)
def test_each_case_export_sliced_gives_the_whole_files_result(path):
    _same(run(path, slice_rows=5), run(path, slice_rows=WHOLE))


@pytest.mark.parametrize(
    "path", [CASES / name for name in EXPORTS] + sorted(BROKEN.iterdir()), ids=lambda path: path.name
)
def test_each_case_export_read_in_batches_gives_the_whole_files_result(path):
    # 300 bytes: a record or two a batch, so that every record boundary of the file is a batch's
    _same(run(path, slice_rows=2, batch_bytes=300), run(path, slice_rows=WHOLE, batch_bytes=WHOLE))


def test_dates_read_in_batches_take_the_order_of_the_whole_file(tmp_path):
    """A French Excel re-save: the first rows' dates (02/10/2023) read both ways, a later
    row's (14/10/2023) only day first; every batch reads the file's order, day first."""
    source = CASES / "excel_fr_qualtrics_fr_labels_split.csv"
    utf8 = tmp_path / "excel_fr_utf8.csv"
    utf8.write_bytes(source.read_bytes().decode("cp1252").encode("utf-8"))
    kept = {"max_quarantined_share": 1.0}  # its rows kept, failed checks and all
    batched = run(utf8, slice_rows=2, batch_bytes=300, **kept)
    whole = run(utf8, slice_rows=WHOLE, batch_bytes=WHOLE, **kept)
    _same(batched, whole)
    first = batched[1].sort("source_row").row(0, named=True)
    assert (first["started_at"].month, first["started_at"].day) == (10, 2)


def test_a_response_id_repeated_in_another_slice_is_quarantined_in_both(tmp_path):
    source = CASES / "qualtrics_en_labels_joined.csv"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("".join([*lines, lines[3]]), encoding="utf-8")  # the first data row again, last
    sliced, whole = run(repeated, slice_rows=4, batch_bytes=300), run(repeated, slice_rows=WHOLE, batch_bytes=WHOLE)
    _same(sliced, whole)
    quarantine = sliced[2]
    failed = quarantine.filter(pl.col("check") == "response_id_unique")["source_row"].to_list()
    assert failed[0] == 4 and len(failed) == 2 and failed[1] > 4 + 4  # another slice's


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory) -> Path:
    """A demo Qualtrics export of 3,000 responses, with the demo's defects (repeated ids, bad answers)."""
    return export(tmp_path_factory.mktemp("exports"), "qualtrics_en", 3_000, seed=3)


def test_a_demo_export_sliced_gives_the_whole_files_result(demo_export):
    options = {"run_id": "t", "file_order": 1, "wave": 2023, "book": codebook(), "key": b"k"}
    sliced = process_export(demo_export, slice_rows=700, batch_bytes=100_000, **options)
    _same(sliced, process_export(demo_export, slice_rows=WHOLE, batch_bytes=WHOLE, **options))
    assert sliced[0]["status"] == "loaded" and not sliced[2].is_empty()


def test_stage_export_writes_the_slices_as_one_file_and_leaves_no_part(demo_export, tmp_path):
    staged = stage_export(
        demo_export, staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive", run_id="t", file_order=1,
        wave=2023, book=codebook(), key=b"k", slice_rows=700, batch_bytes=100_000,
    )  # fmt: skip
    record, responses, quarantine = process_export(
        demo_export, run_id="t", file_order=1, wave=2023, book=codebook(), key=b"k", slice_rows=WHOLE, batch_bytes=WHOLE
    )
    assert {k: v for k, v in staged.record.items() if k in record} == record
    assert_frame_equal(pl.read_parquet(staged.responses), responses)
    assert_frame_equal(pl.read_parquet(staged.quarantine), quarantine)
    assert sorted(path.name for path in (tmp_path / "staged").iterdir()) == [staged.sha256]


def test_a_batch_cut_a_little_past_the_slice_size_is_one_slice():
    # The reader sizes a batch on the records before it: 50,500 rows for 50,000 is one slice, not 50,000 + 500.
    assert _slice_size(50_500, 50_000) == 50_500
    assert _slice_size(100_000, 50_000) == 50_000
    assert _slice_size(130_000, 50_000) == 43_334
    assert _slice_size(0, 50_000) == 1


def test_batches_checked_on_two_threads_stage_the_bytes_of_one(demo_export, tmp_path):
    staged = [
        stage_export(
            demo_export,
            staged_dir=tmp_path / f"staged{threads}",
            archive_dir=tmp_path / f"archive{threads}",
            run_id="t",
            file_order=1,
            wave=2023,
            book=codebook(),
            key=b"k",
            slice_rows=300,
            batch_bytes=50_000,
            threads=threads,
        )  # fmt: skip
        for threads in (1, 2)
    ]
    assert staged[0].record == staged[1].record
    assert staged[0].responses.read_bytes() == staged[1].responses.read_bytes()
    assert staged[0].quarantine.read_bytes() == staged[1].quarantine.read_bytes()


def test_a_batch_that_fails_on_a_thread_fails_where_its_result_is_due():
    def work(item: int) -> int:
        if item == 3:
            raise ValueError("batch 3")
        return item * 10

    given = []
    with pytest.raises(ValueError, match="batch 3"):
        for result in _in_order(work, iter(range(6)), threads=2):
            given.append(result)
    assert given == [0, 10, 20]


def _slices(wave: int) -> list[pl.DataFrame]:
    rows = pl.DataFrame({"wave": [wave] * 5, "source_row": range(2, 7), "text": list("abcde")})
    return [rows.with_columns(pl.col("wave").cast(pl.Int32)).slice(start, 2) for start in (0, 2, 4)]


def test_staged_responses_are_written_while_later_slices_are_checked(tmp_path):
    sliced = _SlicedResponses(tmp_path / ".slices")
    first, *rest = _slices(2023)
    sliced.keep(first)
    written = tmp_path / ".slices" / "responses.parquet"
    assert written.exists() and written.stat().st_mode & 0o777 == 0o600  # private before a row is in it
    for staged in rest:
        sliced.keep(staged)
    sliced.combine(tmp_path / "responses.parquet", wave=2023)
    sliced.remove()
    assert_frame_equal(pl.read_parquet(tmp_path / "responses.parquet"), pl.concat(_slices(2023)))
    assert (tmp_path / "responses.parquet").stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["responses.parquet"]


def test_slices_staged_with_another_wave_take_the_wave_the_file_is_placed_in(tmp_path):
    sliced = _SlicedResponses(tmp_path / ".slices")
    for staged in _slices(2023):
        sliced.keep(staged)
    sliced.combine(tmp_path / "responses.parquet", wave=2024)
    sliced.remove()
    assert_frame_equal(pl.read_parquet(tmp_path / "responses.parquet"), pl.concat(_slices(2024)))


def test_a_slice_the_writer_cannot_take_fails_the_file_and_leaves_nothing(tmp_path):
    sliced = _SlicedResponses(tmp_path / ".slices")
    first, second, _ = _slices(2023)
    sliced.keep(first)
    with pytest.raises(ValueError, match="other columns than the first"):
        sliced.keep(second.with_columns(pl.col("source_row").cast(pl.Utf8)))
    sliced.remove()
    assert list(tmp_path.iterdir()) == []
