"""Staging a file holds a batch of its rows at a time: its peak memory grows with the file
no faster than reading the file alone does (each measured as a whole process's peak RSS),
and does not grow with the file at all (``test_staging_peak_memory_does_not_grow_with_the_file``:
staging's own peak, above what the process held once its imports were done, its high-water
mark reset then, as bench/stages.py measures a stage: ``bench.measure.reset_peak``).
``python -m bench.memory CACHE 50000 200000`` prints both at bench sizes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.generate import export
from bench.measure import measure, python
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


#: The child stages one file, 2 MB parsed and 5,000 rows mapped at a time, and prints
#: (RSS once imported, peak RSS while staging), MiB.
_CHILD = """
import json, sys, tempfile
from pathlib import Path
from bench.measure import reset_peak
from schemas.codebook import codebook
from surveyhouse.staging import stage_export

def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key)) / 1024

with tempfile.TemporaryDirectory() as folder:
    imported = status("VmRSS")
    reset_peak()
    stage_export(Path(sys.argv[1]), staged_dir=Path(folder) / "staged", archive_dir=Path(folder) / "archive",
                 run_id="t", file_order=1, wave=2023, book=codebook(), key=b"k", slice_rows=5_000,
                 batch_bytes=2 * 1024 * 1024)
    print(json.dumps([imported, status("VmHWM")]))
"""


def _staging_own_peak_mib(path: Path) -> float:
    measured = measure(python("-c", _CHILD, str(path)))
    assert measured.returncode == 0, measured.stderr[-2000:]
    imported, peak = json.loads(measured.stdout.splitlines()[-1])
    return peak - imported


def test_staging_peak_memory_does_not_grow_with_the_file(tmp_path):
    small, large = (export(tmp_path, "qualtrics_en", size, seed=5) for size in SIZES)
    small_mib, large_mib = _staging_own_peak_mib(small), _staging_own_peak_mib(large)
    # Before the reader read in batches: 113 MiB at 20,000 rows, 156 MiB at 80,000 (1.38x); since, 1.1-1.15x.
    assert large_mib < 1.3 * small_mib, f"{small_mib:.0f} MiB at {SIZES[0]:,} rows, {large_mib:.0f} MiB at {SIZES[1]:,}"
