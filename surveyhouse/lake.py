"""Several writers, one DuckLake: each file's staged result is shared through the lake.

Every writer (a machine, a process) keeps its own state folder, but the lake holds what
the warehouse is built from: the staged result of every file any writer ingested
(``staging.files``: its record and the exact Parquet bytes of its responses and
quarantine rows). A publish is one DuckLake transaction that

1. reads the files staged in the lake (as of the transaction's snapshot) and writes
   those the local state lacks into the local staged folder;
2. numbers this writer's own new files after the lake's last one (ingestion order is
   the order in which the lake received them), and adds the runs the lake published
   to the local run log;
3. if any of that changed what the tables are built from, builds them again;
4. adds its new files to ``staging.files``, replaces every table and view, commits.

Two writers that publish at once both start from the same snapshot; DuckLake commits
the first and refuses the second (transaction conflict): nothing of the second is
kept, and it starts again at 1 on the new snapshot, so it builds on the first writer's
files: no file, response or run is lost or counted twice. After a bounded number of
conflicts (``warehouse.lake.PUBLISH_ATTEMPTS``, waits doubling from 0.25 s with jitter)
the publish fails with LakeBusy and the lake keeps its last snapshot.

Personal-data hashes must agree between writers: give every writer the same
``SURVEYHOUSE_SECRET``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from surveyhouse.staging import RECORD, StagedFile, staged_files

if TYPE_CHECKING:
    from surveyhouse.state import StateFolder


def _write_staged(staged_dir: Path, record: dict, responses: bytes | None, quarantine: bytes | None) -> None:
    """A staged folder as ``stage_export`` writes it: data first, the record last (its presence marks it whole)."""
    folder = staged_dir / record["file_sha256"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (("responses.parquet", responses), ("quarantine.parquet", quarantine)):
        if data is not None:
            partial = folder / (name + ".part")
            partial.write_bytes(data)
            partial.replace(folder / name)
    partial = folder / (RECORD + ".part")
    partial.write_text(json.dumps(record, indent=1), encoding="utf-8")
    partial.replace(folder / RECORD)


def pull_staged(staged_dir: Path, shared: pl.DataFrame) -> bool:
    """Write the lake's staged files that the local folder lacks (or has otherwise); True if any."""
    local = {staged.sha256: staged.record for staged in staged_files(staged_dir)}
    changed = False
    for sha, record_json, responses, quarantine in shared.select(
        "file_sha256", "record", "responses", "quarantine"
    ).iter_rows():
        record = json.loads(record_json)
        if local.get(sha) != record:
            _write_staged(staged_dir, record, responses, quarantine)
            changed = True
    return changed


def _renumber(staged: StagedFile, order: int) -> None:
    """Give a staged file another ingestion order (its record and its responses' file_order)."""
    if staged.responses.exists():
        frame = pl.read_parquet(staged.responses, glob=False).with_columns(file_order=pl.lit(order, pl.Int64))
        partial = staged.responses.with_name(staged.responses.name + ".part")
        frame.write_parquet(partial)
        partial.replace(staged.responses)
    record = staged.record | {"file_order": order}
    _write_staged(staged.folder.parent, record, None, None)


def _rows(staged: list[StagedFile]) -> pl.DataFrame:
    """Staged files as rows of the lake's staging.files."""
    return pl.DataFrame(
        {
            "file_sha256": [s.sha256 for s in staged],
            "file_order": [s.record["file_order"] for s in staged],
            "record": [json.dumps(s.record) for s in staged],
            "responses": [s.responses.read_bytes() if s.responses.exists() else None for s in staged],
            "quarantine": [s.quarantine.read_bytes() for s in staged],
        },
        schema={
            "file_sha256": pl.Utf8,
            "file_order": pl.Int64,
            "record": pl.Utf8,
            "responses": pl.Binary,
            "quarantine": pl.Binary,
        },
    )


class StateShare:
    """A writer's state folder as the lake shares it (``warehouse.store.StagingShare``).

    Normally the files other writers staged come into the local staged folder, this
    writer's new files are numbered after the lake's last one, and the runs others
    published join the local run log. A rebuild (``authoritative``) shares a fresh staged
    folder instead: its files replace the lake's copies of the same files, and only files
    it lacks (another writer's, staged since) come in.
    """

    def __init__(
        self,
        state: StateFolder,
        rebuild: Callable[[], dict[str, pl.DataFrame]] | None = None,
        *,
        staged_dir: Path | None = None,
    ) -> None:
        self.state = state
        self._rebuild = rebuild
        self.folder = staged_dir or state.staged_dir
        self.authoritative = staged_dir is not None

    def absorb(self, staged: pl.DataFrame, runs: pl.DataFrame | None) -> bool:
        if self.authoritative:
            mine = [s.sha256 for s in staged_files(self.folder)]
            staged = staged.filter(~pl.col("file_sha256").is_in(mine))
        changed = pull_staged(self.folder, staged)
        if not self.authoritative:
            changed |= self._number_mine_after(staged)
        return self.state.runs.add_missing(runs) or changed

    def _number_mine_after(self, shared: pl.DataFrame) -> bool:
        in_lake = set(shared["file_sha256"].to_list())
        last = int(shared["file_order"].max() or 0) if not shared.is_empty() else 0
        mine = [s for s in staged_files(self.folder) if s.sha256 not in in_lake]
        changed = False
        for offset, file in enumerate(mine, start=1):
            if file.record["file_order"] != last + offset:
                _renumber(file, last + offset)
                changed = True
        return changed

    def outgoing(self, published: set[str]) -> pl.DataFrame:
        files = staged_files(self.folder)
        return _rows(files if self.authoritative else [s for s in files if s.sha256 not in published])

    def rebuild(self) -> dict[str, pl.DataFrame]:
        if self._rebuild is None:
            raise RuntimeError("the tables must be built again, and no way to build them was given")
        return self._rebuild()
