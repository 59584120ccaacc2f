"""The run log: one JSON line per run in the state folder, kept in step with the live warehouse."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from surveyhouse.settings import Settings
from warehouse.backend import exists as warehouse_exists
from warehouse.backend import open_reader


@dataclass
class RunSummary:
    run_id: str
    started_at: datetime
    files_new: int = 0
    files_failed: int = 0
    rows_read: int = 0
    published: bool = False
    tables: dict[str, pl.DataFrame] | None = None
    flow_run_id: str | None = None  # the Prefect flow run, when the flow ran it
    problems: list[str] = field(default_factory=list)  # what went wrong with files, in plain language
    report: Path | None = None  # the report page this run wrote after its publish


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def previous_runs(settings: Settings) -> list[dict]:
    """Every run in the run log (a last line cut short by a killed run is not one)."""
    if not settings.runs_log.exists():
        return []
    text = settings.runs_log.read_text(encoding="utf-8")
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    return [json.loads(line) for line in lines if line.strip()]


def repair_run_log(settings: Settings, *, from_warehouse: bool = True) -> None:
    """Make the run log agree with the live warehouse; call under the run lock, first.

    A run killed while appending leaves a line cut short: it is dropped. A run killed
    between its publish and its log line leaves a warehouse whose `runs` table names a
    run that the log lacks: the line is added from the warehouse, so the next run
    neither republishes for nothing nor forgets that run. Not ``from_warehouse`` (the live
    warehouse cannot be read whole), the log is taken as it is.
    """
    log = settings.runs_log
    if log.exists():
        text = log.read_bytes()
        if text and not text.endswith(b"\n"):
            with log.open("r+b") as handle:
                handle.truncate(text.rfind(b"\n") + 1)
    if not from_warehouse or not warehouse_exists(settings.store()):
        return
    known = {run["run_id"] for run in previous_runs(settings)}
    with open_reader(settings.store()) as connection:
        published = connection.table("runs").pl().sort("started_at")
    missing = published.filter(~pl.col("run_id").is_in(list(known)))
    if missing.is_empty():
        return
    missing = missing.with_columns(
        pl.col("started_at", "finished_at").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(run) + "\n" for run in missing.to_dicts())


def last_published_settings(settings: Settings) -> str | None:
    published = [run for run in previous_runs(settings) if run.get("status") != "failed"]
    return published[-1]["settings"] if published else None


def record_failed_run(settings: Settings, run: RunSummary, error: BaseException) -> None:
    """Keep a failed run in the run log: the next published warehouse lists it in `runs`."""
    record = {
        "run_id": run.run_id,
        "flow_run_id": run.flow_run_id,
        "started_at": run.started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "files_new": run.files_new,
        "files_failed": run.files_failed,
        "rows_read": run.rows_read,
        "status": "failed",
        "message": f"{type(error).__name__}: {error}. Nothing was published; the previous warehouse stayed live.",
        "settings": settings.recorded(),
    }
    settings.runs_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.runs_log.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
