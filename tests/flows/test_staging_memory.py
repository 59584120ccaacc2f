"""Staging one export holds a batch of its rows at a time: its peak memory does not grow
with the file. Each size is staged in its own process; what is compared is staging's own
peak, above what the process held once its imports were done (its high-water mark reset
then, as bench/stages.py measures a stage: ``bench.measure.reset_peak``)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.generate import export
from bench.measure import measure, python

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
    small, large = (export(tmp_path, "qualtrics_en", size, seed=5) for size in (10_000, 80_000))
    assert large.stat().st_size > 7 * small.stat().st_size
    small_mib, large_mib = _staging_own_peak_mib(small), _staging_own_peak_mib(large)
    # Before the reader read in batches: 113 MiB at 10,000 rows, 186 MiB at 80,000 (1.65x).
    assert large_mib < 1.3 * small_mib, f"{small_mib:.0f} MiB at 10,000 rows, {large_mib:.0f} MiB at 80,000"
