"""The first pass over a file (its response ids and the votes of its dates) parses, after
its first batch, only the columns it reads (``surveyhouse.read.ExportBatches.batches(columns=...)``):
a batch in which a row has none of those filled is parsed whole (whether a row is empty is
told by all its cells), and the file's result is the one of the file read whole."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from schemas.codebook import codebook
from surveyhouse.read import read_batches
from surveyhouse.staging import _first_pass_columns, _FirstPass, _recognised
from tests.flows.test_cases_exports import CASES
from tests.flows.test_staging_slices import WHOLE, _same, run
from transforms.layouts import detect_layout

TEXT = "id,name,when\nI,N,W\n" + "".join(f"r{i},n{i},2023-10-0{i % 9 + 1}\n" for i in range(12))


def _batches(path: Path, columns) -> list[pl.DataFrame]:
    return [raw.frame for raw in read_batches(path, batch_bytes=40, batch_rows=3).batches(columns=columns)]


def test_a_batch_read_for_some_columns_holds_only_those(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(TEXT, encoding="utf-8")
    whole = pl.concat(_batches(path, None))
    projected = _batches(path, lambda: [0, 2])
    assert projected[0].columns == ["source_row", "c0", "c1", "c2"]  # the first batch: every column
    assert len(projected) > 2 and all(frame.columns == ["source_row", "c0", "c2"] for frame in projected[1:])
    together = pl.concat([frame.select("source_row", "c0", "c2") for frame in projected])
    assert_frame_equal(together, whole.select("source_row", "c0", "c2"))


def test_a_batch_with_a_row_empty_in_the_columns_read_is_read_whole(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(TEXT + ",only a name,\n" + ",,\n" + "r99,n99,2023-10-09\n", encoding="utf-8")
    projected = _batches(path, lambda: [0, 2])
    last = projected[-1]
    assert last.columns == ["source_row", "c0", "c1", "c2"]
    assert last.filter(pl.col("c0").is_null())["c1"].to_list() == ["only a name", None]


def test_a_file_with_empty_ids_and_empty_rows_in_later_batches_stages_as_read_whole(tmp_path):
    """Past the first batch: a row with one answer alone (its id and dates empty), a row
    without its id, a line of delimiters alone (no response): staged as the file read whole."""
    source = CASES / "qualtrics_en_labels_joined.csv"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    width = lines[0].count(",")
    one_answer = "," * 17 + "Manager" + "," * (width - 17) + "\n"  # Q1 alone
    cells = next(csv.reader([lines[3]]))
    cells[8] = ""  # ResponseId
    no_id = ",".join(f'"{cell}"' if "," in cell else cell for cell in cells) + "\n"
    edited = tmp_path / "edited.csv"
    edited.write_text("".join([*lines, one_answer, no_id, "," * width + "\n", *lines[4:6]]), encoding="utf-8")
    batched = run(edited, slice_rows=2, batch_bytes=300, max_quarantined_share=1.0)
    _same(batched, run(edited, slice_rows=WHOLE, batch_bytes=WHOLE, max_quarantined_share=1.0))
    assert batched[0]["rows_read"] == run(source)[0]["rows_read"] + 2 + 2  # not the empty line


def test_the_first_pass_of_a_qualtrics_export_reads_its_id_and_date_columns_alone():
    export = read_batches(CASES / "qualtrics_en_labels_joined.csv")
    first = _FirstPass(
        detect_layout(export.header), export.header, "UTC", [], {}, pl.Series([], dtype=pl.Int64), b"key"
    )
    # StartDate, EndDate, RecordedDate, ResponseId (not the answers: a Polars change that lost this is caught here)
    assert _first_pass_columns(first, next(export.batches())) == [0, 1, 7, 8]


def test_a_second_pass_reads_the_chunks_the_first_cut_unless_the_file_changed(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(TEXT, encoding="utf-8")
    export = read_batches(path, batch_bytes=40, batch_rows=3)
    first = [raw.frame for raw in export.batches()]
    (lengths, size), *_ = [cut for key, cut in export.batches.cuts.items() if key[1] == 3]
    assert len(lengths) == len(first) > 2 and sum(lengths) == size == path.stat().st_size
    assert_frame_equal(pl.concat([raw.frame for raw in export.batches()]), pl.concat(first))
    path.write_text(
        TEXT + 'r20,"two\nlines",2023-10-09\n', encoding="utf-8"
    )  # longer: its records are looked for again
    again = pl.concat([raw.frame for raw in export.batches()])
    assert_frame_equal(again, pl.concat([raw.frame for raw in read_batches(path).batches()]))


def test_the_first_pass_on_two_threads_takes_the_decisions_of_one(tmp_path):
    """Batches of a French re-save (dates read day first only from a later row's) with a
    response id repeated across batches: the same record, votes, repeated rows and columns."""
    source = CASES / "excel_fr_qualtrics_fr_labels_split.csv"
    lines = source.read_bytes().decode("cp1252").splitlines(keepends=True)
    path = tmp_path / "export.csv"
    path.write_text("".join([*lines, *lines[4:6]]), encoding="utf-8")
    found = []
    for threads in (1, 2):
        export, record = read_batches(path, batch_bytes=300, batch_rows=2), {}
        first = _recognised(export, record, book=codebook(), time_zones=None, key=b"key", threads=threads)
        found.append((record, first.votes, first.duplicated.to_list(), first.resolved))
    assert found[0] == found[1]
    assert found[0][2] and any(day_first for _, day_first in found[0][1].values())
