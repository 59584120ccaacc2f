"""What the report shows, read from the warehouse (read-only) for one wave.

The one module of the report that holds SQL: small selects with bound values; the
rest is Polars on frames of a few thousand rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

FLAGS = ("is_speeder", "is_attention_failed", "is_duplicate", "is_straightliner", "is_gibberish")


class ReportError(ValueError):
    """The report cannot be built from this warehouse (say why and what to do)."""


@dataclass(frozen=True)
class ReportData:
    """What the page shows, read from the warehouse for one wave."""

    wave: int
    crosstab: pl.DataFrame  # the wave's rows, with `published_pct` from claims where the report printed one
    claims: pl.DataFrame  # the wave's published figures
    claim_waves: tuple[int, ...]
    files: pl.DataFrame
    checks: pl.DataFrame  # check, rows, files
    flags: pl.DataFrame  # flag, flagged, excluded
    responses: int
    excluded: int
    run: dict | None  # run_id, finished_at of the last published run
    minimum_base: int
    tolerance_pts: float


def read_report_data(connection: duckdb.DuckDBPyConnection, *, wave: int | None = None) -> ReportData:
    """The report's rows of one wave (default: the latest wave in the warehouse)."""
    waves = [row[0] for row in connection.execute("select distinct wave from crosstab order by wave").fetchall()]
    if not waves:
        raise ReportError("the warehouse has no crosstab rows: run `surveyhouse run` on some exports first")
    wave = waves[-1] if wave is None else wave
    if wave not in waves:
        raise ReportError(f"wave {wave} is not in the warehouse (waves: {', '.join(map(str, waves))})")
    claims = connection.execute("select * from claims order by id").pl()
    published = (
        claims.filter(pl.col("wave") == wave, pl.col("published_pct").is_not_null())
        .group_by("question", "answer", "segment_name", "segment_value", maintain_order=True)
        .agg(pl.col("published_pct").first())
        .rename({"segment_name": "segment"})
    )
    crosstab = connection.execute("select * from crosstab where wave = ?", [wave]).pl()
    crosstab = crosstab.join(published, on=["question", "answer", "segment", "segment_value"], how="left")
    files = connection.execute("select * from files where wave = ? order by file_order", [wave]).pl()
    quarantine = connection.execute('select source_file, "check" from quarantine').pl()
    checks = (
        quarantine.filter(pl.col("source_file").is_in(files["source_file"].implode()))
        .group_by("check")
        .agg(rows=pl.len(), files=pl.col("source_file").n_unique())
        .sort(["rows", "check"], descending=[True, False])
    )
    marks = connection.execute("select columns('^is_') from responses where wave = ?", [wave]).pl()
    flags = pl.DataFrame(
        {
            "flag": [f for f in FLAGS if f in marks.columns],
            "flagged": [int(marks[f].sum()) for f in FLAGS if f in marks.columns],
            "excluded": [int((marks[f] & marks["is_excluded"]).sum()) for f in FLAGS if f in marks.columns],
        },
        schema={"flag": pl.Utf8, "flagged": pl.Int64, "excluded": pl.Int64},
    )
    run = connection.execute(
        "select run_id, finished_at, settings from runs where finished_at is not null order by finished_at desc limit 1"
    ).fetchone()
    settings = json.loads(run[2]) if run and run[2] else {}
    return ReportData(
        wave=wave,
        crosstab=crosstab,
        claims=claims.filter(pl.col("wave") == wave),
        claim_waves=tuple(sorted(set(claims["wave"].to_list()))),
        files=files,
        checks=checks,
        flags=flags,
        responses=marks.height,
        excluded=int(marks["is_excluded"].sum()) if marks.height else 0,
        run={"run_id": run[0], "finished_at": run[1]} if run else None,
        minimum_base=int(settings.get("crosstab", {}).get("minimum_base", 30)),
        tolerance_pts=float(settings.get("claim_tolerance_pts", 3.0)),
    )
