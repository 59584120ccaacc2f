"""What the report shows, read from the warehouse (read-only) for one wave.

The SQL is in named queries (`warehouse/queries/report_*.sql`, bound values); the
rest is Polars on frames of a few thousand rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from warehouse.queries import run_query

FLAGS = ("is_speeder", "is_attention_failed", "is_duplicate", "is_straightliner", "is_gibberish")


class ReportError(ValueError):
    """The report cannot be built from this warehouse (say why and what to do)."""


@dataclass(frozen=True)
class ReportData:
    """What the page shows, read from the warehouse for one wave."""

    wave: int
    crosstab: pl.DataFrame  # the wave's rows, with `published_pct` from claims where the report printed one,
    # and `previous_wave`, `change_pts`, `is_change_significant` from trend where the previous wave has the row
    claims: pl.DataFrame  # the published figures of every wave that has some, latest wave first
    claim_waves: tuple[int, ...]
    files: pl.DataFrame
    checks: pl.DataFrame  # check, rows, files
    flags: pl.DataFrame  # flag, flagged, excluded
    responses: int
    excluded: int
    run: dict | None  # run_id, finished_at of the last published run
    minimum_base: int
    tolerance_pts: float
    low_base: int = 100  # bases from minimum_base up to under this are marked (read with caution)
    is_weighted: bool = False  # pct, ci_low, ci_high are the weighted ones (the run had weighting targets)
    previous_wave: int | None = None  # the wave the changes are measured from (None: no earlier wave)
    is_trend_weighted: bool = False  # the changes and their tests are the weighted ones (trend.is_weighted)


def read_report_data(connection: duckdb.DuckDBPyConnection, *, wave: int | None = None) -> ReportData:
    """The report's rows of one wave (default: the latest wave in the warehouse)."""
    wave = _chosen_wave(connection, wave)
    claims = run_query(connection, "report_claims").pl()
    crosstab, is_weighted = _shown_figures(run_query(connection, "report_crosstab", [wave]).pl())
    trend, is_trend_weighted = _changes(run_query(connection, "report_trend", [wave]).pl())
    files = run_query(connection, "report_files", [wave]).pl()
    marks = run_query(connection, "report_response_flags", [wave]).pl()
    run = run_query(connection, "last_run").fetchone()  # run_id, finished_at, status, settings
    settings = json.loads(run[3]) if run and run[3] else {}
    return ReportData(
        wave=wave,
        crosstab=crosstab.join(
            _published_pct(claims, wave), on=["question", "answer", "segment", "segment_value"], how="left"
        ).join(trend, on=["question", "answer", "segment", "segment_value"], how="left"),
        claims=claims.sort("wave", descending=True, maintain_order=True),
        claim_waves=tuple(sorted(set(claims["wave"].to_list()))),
        files=files,
        checks=_check_counts(run_query(connection, "report_quarantine_checks").pl(), files),
        flags=_flag_counts(marks),
        responses=marks.height,
        excluded=int(marks["is_excluded"].sum()) if marks.height else 0,
        run={"run_id": run[0], "finished_at": run[1]} if run else None,
        minimum_base=int(settings.get("crosstab", {}).get("minimum_base", 30)),
        tolerance_pts=float(settings.get("claim_tolerance_pts", 1.0)),
        low_base=int(settings.get("crosstab", {}).get("low_base", 100)),
        is_weighted=is_weighted,
        is_trend_weighted=is_trend_weighted,
        previous_wave=trend["previous_wave"].max() if trend.height else None,
    )


def _changes(trend: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """The wave's changes since the previous wave (the crosstab's key, previous_wave, change_pts,
    is_change_significant), and whether they are weighted (a trend with `is_weighted`)."""
    weighted = "is_weighted" in trend.columns and bool(trend["is_weighted"].any())
    changes = trend.select(
        "question",
        "answer",
        "segment",
        "segment_value",
        "previous_wave",
        "change_pts",
        pl.col("is_significant").alias("is_change_significant"),
    )
    return changes, weighted


def _shown_figures(crosstab: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """The wave's crosstab with the figures the page shows: the weighted ones where the run had weights."""
    weighted = "weighted_pct" in crosstab.columns and crosstab["weighted_pct"].is_not_null().any()
    if not weighted:
        return crosstab, False
    return crosstab.with_columns(
        pl.col("weighted_pct").alias("pct"),
        pl.col("weighted_ci_low").alias("ci_low"),
        pl.col("weighted_ci_high").alias("ci_high"),
    ), True


def _chosen_wave(connection: duckdb.DuckDBPyConnection, wave: int | None) -> int:
    """The wave asked for, or the latest; a wave the warehouse lacks is a ReportError."""
    waves = [row[0] for row in run_query(connection, "report_waves").fetchall()]
    if not waves:
        raise ReportError(
            "the warehouse has no crosstab rows: no response has been accepted yet. `surveyhouse files` says "
            "what became of each export file, `surveyhouse quality` why its rows were set aside; "
            "land exports and `surveyhouse run`"
        )
    if wave is None:
        return waves[-1]
    if wave not in waves:
        raise ReportError(f"wave {wave} is not in the warehouse (waves: {', '.join(map(str, waves))})")
    return wave


def _published_pct(claims: pl.DataFrame, wave: int) -> pl.DataFrame:
    """One row per crosstab key the report printed a figure for: its published_pct."""
    return (
        claims.filter(pl.col("wave") == wave, pl.col("published_pct").is_not_null())
        .group_by("question", "answer", "segment_name", "segment_value", maintain_order=True)
        .agg(pl.col("published_pct").first())
        .rename({"segment_name": "segment"})
    )


def _check_counts(quarantine: pl.DataFrame, files: pl.DataFrame) -> pl.DataFrame:
    """One row per failed check among the wave's files: check, rows, files (most rows first)."""
    return (
        quarantine.filter(pl.col("source_file").is_in(files["source_file"].implode()))
        .group_by("check")
        .agg(rows=pl.len(), files=pl.col("source_file").n_unique())
        .sort(["rows", "check"], descending=[True, False])
    )


def _flag_counts(marks: pl.DataFrame) -> pl.DataFrame:
    """One row per screening flag: flag, responses flagged, and of those excluded from the bases."""
    present = [flag for flag in FLAGS if flag in marks.columns]
    return pl.DataFrame(
        {
            "flag": present,
            "flagged": [int(marks[flag].sum()) for flag in present],
            "excluded": [int((marks[flag] & marks["is_excluded"]).sum()) for flag in present],
        },
        schema={"flag": pl.Utf8, "flagged": pl.Int64, "excluded": pl.Int64},
    )
