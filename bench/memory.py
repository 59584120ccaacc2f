"""Peak memory of staging one export, against reading it alone: each in its own process.

``python -m bench.memory CACHE N [N ...]`` prints, for a Qualtrics export of each size N
(bench/generate.py, cached in CACHE), the peak RSS (MiB, the process's ``ru_maxrss``) of a
process that only reads the file (``surveyhouse.read.read_export``) and of one that stages
it whole (``surveyhouse.staging.stage_export``: read, map, validate, type, write), one JSON
object a line, and the ratio of each to the smallest size's. Staging maps, validates and
types a slice of rows at a time (``staging.SLICE_ROWS``): what it holds beyond the reader's
frame does not grow with the file; the reader's frame (every cell of the file as text) does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.generate import export
from bench.measure import measure, python

#: The child: the same imports whatever it does, then read or stage the file; its peak RSS (KiB).
_CHILD = """
import resource, sys, tempfile
from pathlib import Path
from schemas.codebook import codebook
from surveyhouse.read import read_export
from surveyhouse.staging import stage_export
action, path = sys.argv[1], Path(sys.argv[2])
sliced = {"slice_rows": int(sys.argv[3])} if len(sys.argv) > 3 else {}
if action == "read":
    read_export(path)
else:
    with tempfile.TemporaryDirectory() as folder:
        stage_export(path, staged_dir=Path(folder) / "staged", archive_dir=Path(folder) / "archive",
                     run_id="bench", file_order=1, wave=2023, book=codebook(), key=b"bench", **sliced)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_mib(action: str, path: Path, *, slice_rows: int | None = None) -> float:
    """Peak RSS (MiB) of a process that reads (``read``) or stages (``stage``, ``slice_rows``
    at a time, default ``staging.SLICE_ROWS``) the export at ``path``."""
    extra = [] if slice_rows is None else [str(slice_rows)]
    measured = measure(python("-c", _CHILD, action, str(path), *extra))
    if measured.returncode != 0:
        raise RuntimeError(f"{action} {path.name} failed: {measured.stderr[-2000:]}")
    return int(measured.stdout.split()[-1]) / 1024


def main(argv: list[str]) -> int:
    cache, sizes = Path(argv[0]), [int(size) for size in argv[1:]]
    first: dict[str, float] = {}
    for size in sizes:
        path = export(cache, "qualtrics_en", size)
        row = {"responses": size, **{f"{action}_mib": peak_rss_mib(action, path) for action in ("read", "stage")}}
        first = first or row
        row |= {f"{key}_ratio": round(row[key] / first[key], 3) for key in ("read_mib", "stage_mib")}
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
