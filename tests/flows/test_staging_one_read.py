"""Staging one big export with fewer reads and less of Python's lock: the same verdicts and bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import threading
import time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import export
from schemas.codebook import codebook
from surveyhouse import staging
from surveyhouse.discover import discover_files
from surveyhouse.landing import identity
from surveyhouse.read import READ_ONCE_BYTES, _is_utf8_stream, _read_ahead, _record_chunks, read_batches, read_export
from surveyhouse.staging import _Options, _processed, _recognised, process_export
from surveyhouse.state import StateFolder
from tests.flows.test_cases_exports import KEY
from tests.flows.test_staging_slices import _same

#: Pieces that put every kind of character (and of broken one) across a block's end.
_PIECES = st.sampled_from(
    [b"a", b",", b"\n", "é".encode(), "€".encode(), "😀".encode(), b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80",
     b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80", b"\x00"]
)  # fmt: skip


def _python_says_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=40), block_bytes=st.integers(1, 9), skip=st.integers(0, 2))
def test_utf8_check_of_a_streamed_file_is_pythons_verdict_wherever_its_blocks_end(pieces, block_bytes, skip):
    data = b"".join(pieces)
    handle = io.BytesIO(data)
    assert _is_utf8_stream(handle, skip=skip, block_bytes=block_bytes) == _python_says_utf8(data[skip:])


def test_utf8_check_of_a_streamed_file_sees_a_character_cut_at_the_files_end():
    assert not _is_utf8_stream(io.BytesIO(b"a,b\n" * 10 + "€".encode()[:2]), skip=0, block_bytes=8)
    assert _is_utf8_stream(io.BytesIO(b"a,b\n" * 10 + "€".encode()), skip=0, block_bytes=8)


_CSV_PIECES = st.sampled_from([b"a", b",", b"\n", b'"', b'""', b'"x\ny"', "é".encode(), b"\r\n"])


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(_CSV_PIECES, max_size=60),
    size=st.integers(1, 12),
    rows=st.sampled_from([None, 1, 2, 5]),
    head=st.sampled_from([b"", b",,\n"]),
)
def test_record_chunks_are_the_files_bytes_cut_only_outside_quoted_cells(pieces, size, rows, head):
    data = b"".join(pieces)
    chunks = list(_record_chunks(io.BytesIO(data), size, rows, prefix=lambda: head))
    assert all(chunk.startswith(head) for chunk in chunks)  # (the empty record a batch is parsed after)
    chunks = [chunk[len(head) :] for chunk in chunks]
    assert b"".join(chunks) == data
    for chunk in chunks[:-1]:  # (the last is what is left, whole records or not)
        assert chunk.endswith(b"\n")
        assert chunk.count(b'"') % 2 == 0


def test_a_file_read_in_batches_of_one_row_is_the_file_read_whole(tmp_path):
    export = tmp_path / "export.csv"
    export.write_bytes('a,b,c\n1,"x\ny",3\n4\n\n"5",6,7,8\n,,\n9,"é",\n'.encode())
    whole = read_export(export).frame
    for rows in (None, 1, 2):
        batches = read_batches(export, batch_bytes=8, batch_rows=rows).batches
        for projected, kept in ((None, whole.columns), (lambda: [0], ["source_row", "c0"])):
            frames = [raw.frame for raw in batches(columns=projected)]
            assert pl.concat(frames, how="diagonal").select(kept).equals(whole.select(kept))


def test_discovery_gives_each_new_file_the_identity_its_hash_was_read_with(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    export = inbox / "export.csv"
    export.write_bytes(b"a,b\n1,2\n")
    os.utime(export, (time.time() - 60,) * 2)
    found = discover_files(
        inbox, state=StateFolder(tmp_path / ".surveyhouse", "warehouse"), default_wave=2023, settle_s=0
    )
    [new] = found.new
    assert new.sha256 == hashlib.sha256(export.read_bytes()).hexdigest()
    assert new.identity == identity(export.stat())


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000), byte=st.sampled_from([ord('"'), ord("\n"), 0, 255]), window=st.integers(1, 70))
def test_a_byte_is_counted_as_bytes_count_counts_it_whatever_the_window(data, byte, window):
    import surveyhouse.read as read

    kept, read._COUNT_WINDOW = read._COUNT_WINDOW, window
    try:
        assert read._count(data, byte) == data.count(bytes([byte]))
        assert read._count(memoryview(data)[1:], byte) == data[1:].count(bytes([byte]))
    finally:
        read._COUNT_WINDOW = kept


def _staged_reading(path, *, read_once: bool) -> tuple[tuple, list[int]]:
    """((record, accepted responses, quarantine) of ``path`` staged 500 rows a batch, the rows of each batch the reader gave)."""
    given, kept = [], []

    def counted(export):
        def batches(**options):
            for raw in export.batches(**options):
                given.append(raw.frame.height)
                yield raw

        return dataclasses.replace(export, batches=batches, read_once=read_once)

    options = _Options("test", 1, 2023, codebook(), KEY, None, 0.5, None, slice_rows=500)
    record, quarantine = _processed(path, lambda: counted(read_batches(path, batch_rows=500)), kept.append, options)
    return (record, pl.concat(kept), quarantine), given


def test_a_small_file_is_read_once(tmp_path):
    """A file of at most READ_ONCE_BYTES is parsed once, in batches: the first pass keeps them,
    parsed whole, for the checks (the same result as a file read twice, its first pass projected)."""
    path = export(tmp_path, "qualtrics_en", 3_000, seed=5)
    assert path.stat().st_size <= READ_ONCE_BYTES and read_batches(path).read_once
    once, given = _staged_reading(path, read_once=True)
    assert len(given) > 2 and sum(given) == read_export(path).frame.height  # every row parsed once
    twice, given_twice = _staged_reading(path, read_once=False)
    assert sum(given_twice) == 2 * sum(given)
    _same(once, twice)


def test_a_file_larger_than_a_batch_is_not_held_whole(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100)
    assert read_batches(path).read_once
    assert not read_batches(path, batch_bytes=100).read_once  # (what staging's memory tests read at)


def test_chunks_read_ahead_are_the_chunks_in_order_and_a_failure_where_it_is_due():
    def chunks():
        yield from (b"a", b"b", b"c")
        raise OSError("the disk went away")

    ahead = _read_ahead(chunks())
    assert [next(ahead) for _ in range(3)] == [b"a", b"b", b"c"]
    with pytest.raises(OSError, match="went away"):
        next(ahead)


def test_a_read_ahead_closed_early_waits_for_the_chunk_being_made():
    made, released = [], threading.Event()

    def chunks():
        for index in range(10):
            if index == 2:
                released.wait(5)
            made.append(index)
            yield bytes([index])

    ahead = _read_ahead(chunks())
    assert next(ahead) == b"\x00" and next(ahead) == b"\x01"  # (the third is being made meanwhile)
    threading.Timer(0.2, released.set).start()
    ahead.close()  # returns once the third is made: the file it reads is not closed under it
    assert made == [0, 1, 2]


def test_a_file_read_once_is_checked_in_parts_of_as_many_rows(tmp_path, monkeypatch):
    """The reader's first batch is small (the others are sized on it): a file read once is cut
    again into as many parts as threads check it, each with the reader's problems of its rows
    (a row with a cell past the header, in the last), and stages as checked a batch at a time."""
    monkeypatch.setattr(staging, "MIN_PART_ROWS", 1_000)  # (parts of at least 1,000 rows: two of 1,500)
    path = export(tmp_path, "qualtrics_en", 3_000, seed=5)
    last = path.read_text(encoding="utf-8").splitlines()[-1]
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{last.replace(last.split(',')[8], 'R_wider')},one cell too many\n")
    first = _recognised(read_batches(path, batch_rows=500), {}, book=codebook(), time_zones=None, key=KEY, threads=2)
    heights = [raw.frame.height for raw in first.kept]
    assert len(heights) == 2 and max(heights) - min(heights) <= 1
    assert first.kept[1].problems["check"].to_list() == ["more_cells_than_header"]
    staged = [
        process_export(
            path, run_id="t", file_order=1, wave=2023, book=codebook(), key=KEY, slice_rows=500, threads=threads
        )
        for threads in (1, 2)
    ]
    _same(staged[1], staged[0])
    assert "more_cells_than_header" in staged[1][2]["check"].to_list()


def test_a_small_file_is_checked_in_one_part_on_the_calling_thread(tmp_path, monkeypatch):
    """A file of fewer rows than two parts of ``MIN_PART_ROWS`` is checked in one part, with no
    thread started for it (a part's checks have a fixed cost), and stages the same bytes."""
    path = export(tmp_path, "qualtrics_en", 3_000, seed=5)
    checked_on, validate = [], staging._validate

    def validated(*args, **kwargs):
        checked_on.append(threading.current_thread().name)
        return validate(*args, **kwargs)

    monkeypatch.setattr(staging, "_validate", validated)
    two = process_export(path, run_id="t", file_order=1, wave=2023, book=codebook(), key=KEY, threads=2)
    assert checked_on == ["MainThread"]  # one part, on this thread
    _same(two, process_export(path, run_id="t", file_order=1, wave=2023, book=codebook(), key=KEY, threads=1))
    checked_on.clear()
    monkeypatch.setattr(staging, "MIN_PART_ROWS", 1_000)  # parts of at least 1,000 rows: two, on two threads
    process_export(path, run_id="t", file_order=1, wave=2023, book=codebook(), key=KEY, threads=2)
    assert len(checked_on) == 2 and all(name.startswith("staging") for name in checked_on)


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.sampled_from(["R_1", "R_2", "R_3", "x", "", None]) | st.text(max_size=3), max_size=40))
def test_the_repeated_ids_of_a_small_file_are_found_in_one_pass_as_in_sixteen_shares(ids):
    """A file of at most ``_ONE_SHARE_ROWS`` rows has its repeated ids looked for in one pass (16
    passes of a small file's ids were a fixed cost): the rows a file repeats the id of, nulls alike."""
    frame = pl.DataFrame(
        {"source_row": range(len(ids)), "response_id": ids}, schema={"source_row": pl.Int64, "response_id": pl.Utf8}
    )
    hashed = frame.with_columns(staging._ID_HASHES)
    expected = frame.filter(pl.col("response_id").is_duplicated())["source_row"]
    assert staging._repeated_rows(hashed).equals(expected)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staging, "_ONE_SHARE_ROWS", 0)  # (in sixteen shares, as a big file's)
        assert staging._repeated_rows(hashed).equals(expected)
