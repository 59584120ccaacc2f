"""The staged Parquet files are internal, read once by the build: they are written with
ZSTD at its cheapest level (a third less CPU than Polars' default level for a file no
larger), the same values read back."""

from __future__ import annotations

import io

import polars as pl

from bench.generate import export
from schemas.codebook import codebook
from surveyhouse.staging import _ROW_GROUP_ROWS, stage_export


def _written(frame: pl.DataFrame, level: int) -> bytes:
    out = io.BytesIO()
    frame.lazy().sink_parquet(out, compression="zstd", compression_level=level, row_group_size=_ROW_GROUP_ROWS)
    return out.getvalue()


def test_staged_responses_are_written_at_the_cheapest_zstd_level(tmp_path):
    path = export(tmp_path / "exports", "qualtrics_en", 3_000, seed=3)
    staged = stage_export(
        path, staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive", run_id="t", file_order=1,
        wave=2023, book=codebook(), key=b"k",
    )  # fmt: skip
    written = staged.responses.read_bytes()
    responses = pl.read_parquet(staged.responses)
    assert _written(responses, 3) != _written(responses, 1)  # the level shows in the bytes
    assert written == _written(responses, 1)
