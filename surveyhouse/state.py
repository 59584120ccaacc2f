"""The state folder of one warehouse's writer: what the nights remember between them.

``<state>/archive/``            every raw export ever ingested, by SHA-256 (for rebuild)
``<state>/staged/<name>/``      each file's staged result: responses and quarantine
                                Parquet, and its record (file.json, written last)
``<state>/<name>.runs.jsonl``   the run log (surveyhouse/runlog.py)
``<state>/<name>.file-hashes.json``  the landing folder's hashes, remembered by stat
``<state>/<name>.lock``         the run lock: one run at a time per warehouse

The folder sits beside the warehouse file (a lake: beside its data folder), or at
``$SURVEYHOUSE_STATE``.
"""

from __future__ import annotations

import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from surveyhouse.lock import run_lock
from surveyhouse.runlog import RunLog
from surveyhouse.staging import StagedFile, staged_files


@dataclass(frozen=True)
class StateFolder:
    root: Path
    name: str  # the warehouse's short name: its files here are named after it

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def staged_dir(self) -> Path:
        return self.root / "staged" / self.name

    @property
    def runs(self) -> RunLog:
        return RunLog(self.root / f"{self.name}.runs.jsonl")

    @property
    def lock_file(self) -> Path:
        return self.root / f"{self.name}.lock"

    @property
    def hashes_file(self) -> Path:
        return self.root / f"{self.name}.file-hashes.json"

    def lock(self) -> AbstractContextManager[None]:
        """The run lock (RunInProgress when another process holds it; reentrant in this process)."""
        return run_lock(self.lock_file)

    def staged(self, folder: Path | None = None) -> list[StagedFile]:
        """Every completely staged file, in ingestion order."""
        return staged_files(folder or self.staged_dir)

    def next_file_order(self) -> int:
        return max((s.record["file_order"] for s in self.staged()), default=0) + 1

    def rebuild_dir(self, run_id: str) -> Path:
        """Where a rebuild stages every archived file before it publishes (surveyhouse/rebuild.py)."""
        return self.staged_dir.with_name(f".{self.staged_dir.name}.rebuild-{run_id}")

    def finish_rebuild(self) -> None:
        """A rebuild killed after its publish gets its staged folder swapped in; one killed before is dropped."""
        published = {run["run_id"] for run in self.runs.published_runs()}
        staged = self.staged_dir
        for leftover in sorted(staged.parent.glob(f".{staged.name}.rebuild-*")):
            run_id = leftover.name.rsplit(".rebuild-", 1)[1]
            if leftover.name.endswith(".files"):
                shutil.rmtree(leftover, ignore_errors=True)
            elif run_id in published:
                if staged.exists():
                    staged.rename(staged.with_name(f".{staged.name}.old-{run_id}"))
                leftover.rename(staged)
            else:
                shutil.rmtree(leftover, ignore_errors=True)
        for old in staged.parent.glob(f".{staged.name}.old-*"):
            shutil.rmtree(old, ignore_errors=True)
