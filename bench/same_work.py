"""The pipeline doing the pandas baseline's work, as a whole process.

bench/baseline_pandas.py reads one Qualtrics export, maps answer labels to option codes,
checks every answer with pandera and sets failing rows aside, then counts every closed
question in every segment (base, n, percentage). Here the pipeline's own functions do
that work on the same file: ``surveyhouse.staging.process_export`` (read, recognise the layout,
map, validate with pandera, quarantine) and ``build_crosstab`` on the accepted responses.
They also do what the baseline leaves out, because that is how the pipeline computes:
timestamps and time zones, keyed hashes of personal data, typed answers, screening flags,
NETs, intervals and significance tests. So the comparison leans against the pipeline.
Nothing is written: no staging, no warehouse, no report page.

``python -m bench.same_work FILE`` prints the seconds the work took (imports excluded,
as in the baseline), the accepted responses and the crosstab's row count.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from schemas.codebook import codebook
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export
from transforms.crosstab import build_crosstab
from transforms.responses import build_responses
from transforms.weighting import weight_responses


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(inbox=str(path.parent), warehouse=str(Path(scratch) / "unused.duckdb"))
        book = codebook()
        start = time.perf_counter()
        record, accepted, _ = process_export(
            path, run_id="bench", file_order=1, wave=book.wave, book=book, key=b"bench-key"
        )
        if record["status"] != "loaded":
            raise SystemExit(f"{path.name}: {record['message']}")
        responses = (
            build_responses(accepted.drop("file_order").lazy(), book=book, policy=settings.screening)
            .collect()
            .pipe(weight_responses, targets=None, key=["wave", "source_tool", "response_id"])
        )
        table = build_crosstab(responses.lazy(), book=book, settings=settings.crosstab).collect()
        seconds = time.perf_counter() - start
    print(f"{seconds:.3f} {responses.height} {table.height}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
