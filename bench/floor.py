"""The floor: reading the export's cells into a table, nothing more.

``python -m bench.floor duckdb|polars FILE [FILE...] OUT`` (one engine per process, so
its peak memory is its own): DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(...)``
into a database file, every cell as text; or Polars ``scan_csv(...).collect()``.
Header rows are skipped as the layout has them (3 for Qualtrics).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

#: Header rows by the start of the file name (the cache's names: <channel>_<n>_...).
HEADER_ROWS = {"qualtrics": 3, "surveymonkey": 2, "google_forms": 1, "typeform": 1}


def header_rows(path: Path) -> int:
    return next((rows for prefix, rows in HEADER_ROWS.items() if path.name.startswith(prefix)), 1)


def duckdb_floor(files: list[Path], out: Path) -> None:
    import duckdb

    out.unlink(missing_ok=True)
    connection = duckdb.connect(str(out))
    connection.execute("SET enable_progress_bar = false")
    for index, path in enumerate(files):
        connection.execute(
            f"CREATE TABLE t{index} AS SELECT * FROM read_csv(?, all_varchar = true, header = false, skip = {header_rows(path)}, "
            "delim = ',', quote = '\"', escape = '\"')",
            [str(path)],
        )
    connection.execute("CHECKPOINT")
    connection.close()


def polars_floor(files: list[Path]) -> None:
    import polars as pl

    for path in files:
        pl.scan_csv(path, has_header=False, infer_schema=False, skip_rows=header_rows(path)).collect()


def main(argv: list[str]) -> int:
    engine, files, out = argv[0], [Path(a) for a in argv[1:-1]], Path(argv[-1])
    start = time.perf_counter()
    if engine == "duckdb":
        duckdb_floor(files, out)
    else:
        polars_floor(files)
    print(f"{time.perf_counter() - start:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
