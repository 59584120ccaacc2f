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
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from surveyhouse.settings import Settings
from surveyhouse.staging import RECORD, StagedFile, staged_files
from warehouse.lake import (
    LakeConflict,
    add_staged,
    connect_lake,
    in_transaction,
    read_published_runs,
    read_staged,
    write_snapshot,
)

if TYPE_CHECKING:
    import pandera.polars as pa

logger = logging.getLogger("surveyhouse.lake")


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


def add_runs_to_log(settings: Settings, published: pl.DataFrame | None) -> bool:
    """Append the published runs that the local run log lacks (other writers' runs); True if any."""
    if published is None or published.is_empty():
        return False
    known = set()
    if settings.runs_log.exists():
        known = {
            json.loads(line)["run_id"]
            for line in settings.runs_log.read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
    missing = published.filter(~pl.col("run_id").is_in(list(known))).sort("started_at")
    if missing.is_empty():
        return False
    missing = missing.with_columns(
        pl.col("started_at", "finished_at").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
    )
    settings.runs_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.runs_log.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(run) + "\n" for run in missing.to_dicts())
    return True


def pull_from_lake(settings: Settings) -> None:
    """Bring the local state up to the lake's last snapshot (files other writers staged, their runs)."""
    try:
        connection = connect_lake(settings.store(), read_only=True)
    except FileNotFoundError:
        return  # nothing published yet
    with connection:
        pull_staged(settings.staged_dir, read_staged(connection))
        add_runs_to_log(settings, read_published_runs(connection))


def publish_shared(
    settings: Settings,
    tables: dict[str, pl.DataFrame],
    schemas: dict[str, pa.DataFrameSchema],
    views: dict[str, str],
    *,
    rebuild: Callable[[], dict[str, pl.DataFrame]],
) -> dict[str, pl.DataFrame]:
    """Publish into the lake as one snapshot, on top of whatever other writers committed; the tables published."""
    lake = settings.store()
    if lake.data_path is None:
        raise ValueError(
            f"a DuckLake warehouse needs its data folder to write: give --lake-data DIR (or SURVEYHOUSE_LAKE_DATA) "
            f"for {settings.warehouse}; nothing was published"
        )

    def attempt(connection) -> dict[str, pl.DataFrame]:
        nonlocal tables
        shared = read_staged(connection)
        changed = pull_staged(settings.staged_dir, shared)
        in_lake = set(shared["file_sha256"].to_list())
        last = int(shared["file_order"].max() or 0) if not shared.is_empty() else 0
        mine = [s for s in staged_files(settings.staged_dir) if s.sha256 not in in_lake]
        for offset, staged in enumerate(mine, start=1):
            if staged.record["file_order"] != last + offset:
                _renumber(staged, last + offset)
                changed = True
        changed |= add_runs_to_log(settings, read_published_runs(connection))
        if changed:
            tables = rebuild()
        mine = [s for s in staged_files(settings.staged_dir) if s.sha256 not in in_lake]
        add_staged(connection, _rows(mine))
        write_snapshot(connection, {name: tables[name] for name in schemas}, schemas, views)
        return tables

    def conflicted(attempt_number: int, error: LakeConflict) -> None:
        logger.warning(
            "Another writer published into %s first (attempt %d: %s); building again on its snapshot.",
            settings.warehouse,
            attempt_number,
            error,
        )

    return in_transaction(lake, attempt, on_conflict=conflicted)
