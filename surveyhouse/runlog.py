"""The run log: one JSON line per run in the state folder, kept in step with the live warehouse.

Every run appends one line when it publishes or fails, and every night that finds nothing
new one with the status ``nothing_new`` (nothing is built or published for it: the warehouse
is not rewritten); the next publish lists them all in `runs`, in order. A process killed
while appending leaves a line cut short, and a process that appends after it (a failure
hook) glues its line onto the cut one: ``RunLog`` repairs both before anything reads the
log, keeping any damaged text aside in ``<log>.damaged`` (nothing is lost), so a reader
never meets half a line. A whole line that is no run's (edited by hand) is not guessed at:
``RunLogDamaged`` names the log and the line.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from surveyhouse.logs import error_line


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
    notes: list[str] = field(default_factory=list)  # what the run did beyond the usual (recovered a warehouse...)
    trigger: str | None = (
        None  # the command that started it besides the nightly run: "assign FILE --wave W", "forget FILE"
    )
    unchanged_since: datetime | None = None  # a night with nothing new: when the live warehouse was published

    def record(self, **outcome) -> dict:
        """This run's line of the run log (and row of `runs`): who, when, what it read, and ``outcome``."""
        return {
            "run_id": self.run_id,
            "flow_run_id": self.flow_run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "files_new": self.files_new,
            "files_failed": self.files_failed,
            "rows_read": self.rows_read,
            "trigger": self.trigger,
        } | outcome

    @classmethod
    def starting(cls, flow_run_id: str | None = None) -> RunSummary:
        now = datetime.now(UTC)
        return cls(run_id=new_run_id(now), started_at=now, flow_run_id=flow_run_id)


#: The status of a night that found nothing new (runs.status): recorded in the run log, nothing published.
NOTHING_NEW = "nothing_new"
#: What `runs` says of the warehouse after a run; a night with nothing new keeps the last publish's.
WAREHOUSE_COUNTS = ("responses", "responses_excluded", "claims_reproduced", "claims_total")


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


#: What every line of the run log has, whatever version wrote it.
RUN_FIELDS = ("run_id", "started_at", "status", "settings")


class RunLogDamaged(ValueError):
    """A line of the run log is whole JSON but no run's (edited by hand): one line naming the file and the fix."""


class RunLog:
    """The run log file: whole lines only, repaired before it is read or appended to."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def runs(self) -> list[dict]:
        """Every run in the log, oldest first; RunLogDamaged when a line is a record but not a run's."""
        self.repair()
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        runs = {number: json.loads(line) for number, line in enumerate(lines, start=1) if line.strip()}
        for number, run in runs.items():
            missing = [name for name in RUN_FIELDS if name not in run]
            if missing:
                raise RunLogDamaged(
                    f"the run log {self.path} is damaged: line {number} is no run's ({', '.join(missing)} missing); "
                    "delete that line (the runs the warehouse published come back from its `runs` table)"
                )
        return list(runs.values())

    def published_runs(self) -> list[dict]:
        """The runs that published a warehouse (not those that failed or found nothing new), oldest first."""
        return [run for run in self.runs() if run.get("status") not in ("failed", NOTHING_NEW)]

    def last_published_settings(self) -> str | None:
        published = self.published_runs()
        return published[-1]["settings"] if published else None

    def nights_since_publish(self) -> list[dict]:
        """The nights that found nothing new since the last publish, oldest first; read as a reader
        reads (never repaired or written: no lock held), a line it cannot read is skipped."""
        try:
            lines = self.path.read_bytes().splitlines()
        except OSError:  # no log yet, or the writer's state folder is not for this reader
            return []
        quiet = []
        for run in (json.loads(line) for line in reversed(lines) if _is_record(line)):
            if run.get("status") not in ("failed", NOTHING_NEW):
                break
            if run.get("status") == NOTHING_NEW:
                quiet.append(run)
        return quiet[::-1]

    def append(self, record: dict) -> None:
        """Add one run (a whole line, flushed to disk)."""
        self.repair()
        self._write_lines([json.dumps(record, default=str) + "\n"], mode=os.O_APPEND)

    def add_missing(self, published: pl.DataFrame | None) -> bool:
        """Append the runs of a published `runs` table that the log lacks (a run killed between
        its publish and its log line, another writer's runs); True if any."""
        if published is None or published.is_empty():
            return False
        known = {run["run_id"] for run in self.runs()}
        missing = published.filter(~pl.col("run_id").is_in(list(known))).sort("started_at")
        if missing.is_empty():
            return False
        missing = missing.with_columns(
            pl.col("started_at", "finished_at").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
        )
        self._write_lines([json.dumps(run) + "\n" for run in missing.to_dicts()], mode=os.O_APPEND)
        return True

    def repair(self) -> None:
        """Drop a last line cut short and any line that is not one whole JSON record (kept aside)."""
        if not self.path.exists():
            return
        text = self.path.read_bytes()
        lines = text.splitlines(keepends=True)
        good = [line for line in lines if line.endswith(b"\n") and _is_record(line)]
        if len(good) == len(lines):
            return
        damaged = [line for line in lines if line not in good]
        with open(self.path.with_name(self.path.name + ".damaged"), "ab") as aside:
            aside.writelines(line if line.endswith(b"\n") else line + b"\n" for line in damaged)
        partial = self.path.with_name(self.path.name + ".part")
        partial.write_bytes(b"".join(good))
        os.chmod(partial, 0o600)
        partial.replace(self.path)

    def _write_lines(self, lines: list[str], *, mode: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | mode, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("".join(lines))  # one write: a kill leaves a line cut short, never lines interleaved
            handle.flush()
            os.fsync(handle.fileno())


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def failed_run_record(run: RunSummary, error: BaseException, *, settings: str) -> dict:
    """The run log's line for a run that failed: the next published warehouse lists it in `runs`."""
    return run.record(
        status="failed",
        message=f"{error_line(error)}. Nothing was published; the previous warehouse stayed live.",
        settings=settings,
    )


def quiet_night_record(run: RunSummary, last_published: dict | None, *, settings: str) -> dict:
    """The run log's line for a night that found nothing new: nothing built or published, the
    warehouse's counts those of ``last_published`` (the run that published it), no new failure."""
    kept = {name: (last_published or {}).get(name) for name in WAREHOUSE_COUNTS}
    return run.record(
        **kept,
        quarantined_rows=0,
        status=NOTHING_NEW,
        message="; ".join(run.problems + run.notes) or None,
        settings=settings,
    )
