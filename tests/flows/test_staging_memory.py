"""Staging a file holds a slice of its rows at a time beyond what the reader holds: its
peak memory grows with the file no faster than reading the file alone does (each measured
as a whole process's peak RSS). The reader's frame (every cell as text) still grows with
the file: ``python -m bench.memory CACHE 50000 200000`` prints both at bench sizes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.generate import export
from bench.memory import peak_rss_mib

SIZES = (20_000, 80_000)
SLICE_ROWS = 5_000

#: Alone: its processes' peaks are compared, measured with no other test using the machine's memory.
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB is Linux's"),
    pytest.mark.alone,
]


def test_staging_memory_grows_no_faster_than_reading_the_file(tmp_path: Path):
    small, large = (export(tmp_path, "qualtrics_en", size, seed=5) for size in SIZES)
    read = [peak_rss_mib("read", path) for path in (small, large)]
    staged = [peak_rss_mib("stage", path, slice_rows=SLICE_ROWS) for path in (small, large)]
    # Before slicing, staging held the whole canonical and typed frames too: it grew 1.3x as fast as the read.
    assert staged[1] - staged[0] <= read[1] - read[0], (read, staged)
