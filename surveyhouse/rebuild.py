"""Rebuilding the whole warehouse from the archive of raw files.

Every ingested file is kept in the archive as ``<sha256><suffix>``; its staged record
names it as it landed (source file, wave, ingestion order, the run that ingested it).
A rebuild re-stages every archived file, in its original order and under its original
name (and with the run id that first ingested it), into a fresh staged folder with
today's code, builds and publishes from it, then swaps it in for the old staged folder.
With unchanged code the result equals the incrementally built warehouse (only `runs`
gains the rebuild's row).

Raw files are kept ``archive_days`` (surveyhouse/staging.py ``expire_archive``): a file
whose raw copy expired is not re-staged, its staged result (responses with personal
data masked, quarantine rows, record) is taken as it is into the rebuild. A rebuild that fails or is killed before its publish leaves
the published warehouse and the staged folder as they were; one killed after its
publish is finished by the next run (`recover_state`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from schemas.study import Study
from surveyhouse.discover import FileWaves, NewFile
from surveyhouse.landing import NotTaken
from surveyhouse.night import (
    InProcess,
    Night,
    check_secret_unchanged,
    failures_recorded,
    problem_of,
    publish_night,
    recover_state,
    stage_file,
    write_report_page,
)
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import SecretChanged, Settings
from surveyhouse.staging import EXPIRED, FILE_TIMES, StagedFile
from transforms.display import display_name
from warehouse.queries import run_query
from warehouse.store import Warehouse


class RebuildError(RuntimeError):
    """The archive cannot give back what was ingested."""


def ingested_files(night: Night) -> list[dict]:
    """What was ingested, in order: staged records, else the published `files` table."""
    records = [staged.record for staged in night.state.staged()]
    if not records and night.warehouse.exists():
        with night.warehouse.reader() as connection:
            records = run_query(connection, "ingested_files").pl().to_dicts()
    decisions = FileWaves.of(night.state)  # `surveyhouse assign` and `forget` hold across a rebuild
    records = [record for record in records if record["file_sha256"] not in decisions.forgotten]
    archive = night.state.archive_dir
    for record in records:
        record["wave"] = decisions.assigned.get(record["file_sha256"], {}).get("wave", record["wave"])
        if not record.get("archived_as"):
            matches = sorted(
                p.name for p in archive.glob(f"{record['file_sha256']}.*") if not p.name.endswith((".part", EXPIRED))
            )
            record["archived_as"] = matches[0] if matches else f"{record['file_sha256']}"
    return sorted(records, key=lambda record: record["file_order"])


def rebuild_warehouse(study: Study, settings: Settings, warehouse: Warehouse | None = None) -> RunSummary:
    """Re-stage every archived file and publish a warehouse built from them alone."""
    night = Night.of(study, settings, warehouse)
    run = RunSummary.starting()
    with night.state.lock():
        unreadable = night.warehouse.unreadable()
        recover_state(night, warehouse_readable=unreadable is None)
        ingested, kept = _archived(night)
        if kept:
            _hashes_kept_match_the_key(night, len(kept))
        fresh = night.state.rebuild_dir(run.run_id)
        scratch = fresh.with_name(fresh.name + ".files")  # the raw files under their names (dropped if killed)
        try:
            for record in ingested:
                staged = kept.get(record["file_sha256"])
                if staged is not None:
                    _link_folder(staged.folder, fresh / staged.sha256)
                else:
                    staged = _restage(night, record, scratch, fresh)
                _account(run, staged.record)
            with failures_recorded(night, run):
                publish_night(night, run, runner=InProcess(), staged_dir=fresh, unreadable=unreadable)
        except Exception:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        recover_state(night)  # published: the fresh staged folder swapped in, the old one dropped
    run.report = write_report_page(night)  # the page of the rebuilt warehouse, not the previous run's
    return run


def _archived(night: Night) -> tuple[list[dict], dict[str, StagedFile]]:
    """Every ingested file's record, and the staged results of those whose raw copy the
    retention deleted; RebuildError when a raw copy is missing otherwise."""
    ingested = ingested_files(night)
    if not ingested:
        raise RebuildError(
            f"nothing to rebuild: no file was ever ingested for {night.warehouse} (run `surveyhouse run` first)"
        )
    archive = night.state.archive_dir
    kept = _expired_but_staged(night, ingested)
    missing = [
        display_name(r["source_file"])
        for r in ingested
        if r["file_sha256"] not in kept and not (archive / r["archived_as"]).is_file()
    ]
    if missing:
        raise RebuildError(
            f"the archive {archive} lacks {len(missing)} ingested file(s) ({', '.join(missing[:3])}): "
            "cannot rebuild; the published warehouse is unchanged"
        )
    return ingested, kept


def _hashes_kept_match_the_key(night: Night, expired: int) -> None:
    """RebuildError when files whose raw copy expired (their staged hashes kept as they are)
    were hashed with another key than today's: their hashes cannot be made again."""
    try:
        check_secret_unchanged(night)
    except SecretChanged as changed:
        raise RebuildError(
            f"the raw copies of {expired} file(s) expired from the archive (SURVEYHOUSE_ARCHIVE_DAYS): their staged "
            f"hashes were made with the previous key and cannot be made again with a new one. {changed}"
        ) from None


def _expired_but_staged(night: Night, ingested: list[dict]) -> dict[str, StagedFile]:
    """The staged results of the files whose raw copy the retention deleted, by SHA-256."""
    staged = {s.sha256: s for s in night.state.staged()}
    kept = {}
    for record in ingested:
        archived = night.state.archive_dir / record["archived_as"]
        expired = not archived.is_file() and archived.with_name(archived.name + EXPIRED).is_file()
        if expired and record["file_sha256"] in staged:
            kept[record["file_sha256"]] = staged[record["file_sha256"]]
    return kept


def _restage(night: Night, record: dict, scratch: Path, fresh: Path) -> StagedFile:
    """An archived raw file staged again with today's code into ``fresh``, under its original
    name (staging reads name and suffix), order and the run id that first ingested it."""
    source = scratch / str(record["file_order"]) / record["source_file"]
    source.parent.mkdir(parents=True)
    _link_or_copy(night.state.archive_dir / record["archived_as"], source)
    times = {name: _iso(record.get(name)) for name in FILE_TIMES} if all(n in record for n in FILE_TIMES) else None
    new = NewFile(source, record["file_sha256"], record["wave"], times=times)
    staged = stage_file(night, new, run_id=record["run_id"], file_order=record["file_order"], staged_dir=fresh)
    if isinstance(staged, NotTaken):
        raise RebuildError(
            f"the archived copy of {display_name(record['source_file'])} cannot be staged again: {staged.message}"
        )
    return staged


def _iso(value: object) -> str | None:
    """A recorded time as the staged record keeps it (the `files` table gives datetimes)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _link_folder(source: Path, target: Path) -> None:
    target.mkdir(mode=0o700, parents=True)
    for path in source.iterdir():
        _link_or_copy(path, target / path.name)


def _account(run: RunSummary, staged: dict) -> None:
    run.rows_read += staged["rows_read"]
    if staged["status"] != "loaded":
        run.files_failed += 1
        run.problems.append(problem_of(staged))


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
