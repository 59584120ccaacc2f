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
from datetime import UTC, datetime
from pathlib import Path

from schemas.codebook import Codebook, codebook
from surveyhouse.build import build_tables
from surveyhouse.discover import NewFile
from surveyhouse.landing import NotTaken
from surveyhouse.lock import run_lock
from surveyhouse.night import publish, rebuild_dir, recover_state, stage_file
from surveyhouse.runlog import RunSummary, new_run_id, record_failed_run
from surveyhouse.settings import Settings
from surveyhouse.staging import EXPIRED, StagedFile, staged_files
from transforms.display import display_name
from warehouse.publish import connect_read_only


class RebuildError(RuntimeError):
    """The archive cannot give back what was ingested."""


def ingested_files(settings: Settings) -> list[dict]:
    """What was ingested, in order: staged records, else the published `files` table."""
    records = [staged.record for staged in staged_files(settings.staged_dir)]
    if not records and settings.warehouse.exists():
        with connect_read_only(settings.warehouse) as connection:
            records = connection.table("files").pl().sort("file_order").to_dicts()
    for record in records:
        if not record.get("archived_as"):
            matches = sorted(
                p.name
                for p in settings.archive_dir.glob(f"{record['file_sha256']}.*")
                if not p.name.endswith((".part", EXPIRED))
            )
            record["archived_as"] = matches[0] if matches else f"{record['file_sha256']}"
    return sorted(records, key=lambda record: record["file_order"])


def rebuild_warehouse(settings: Settings, *, book: Codebook | None = None) -> RunSummary:
    """Re-stage every archived file and publish a warehouse built from them alone."""
    if settings.is_lake:
        raise RebuildError(
            "rebuild works on an embedded warehouse file only, not yet on a DuckLake (its writers share staged files "
            "through the lake, and each keeps only its own archive); the lake is unchanged"
        )
    book = book or codebook()
    now = datetime.now(UTC)
    run = RunSummary(run_id=new_run_id(now), started_at=now)
    with run_lock(settings.lock_file):
        recover_state(settings)
        ingested = ingested_files(settings)
        if not ingested:
            raise RebuildError(
                f"nothing to rebuild: no file was ever ingested for {settings.warehouse} (run `surveyhouse run` first)"
            )
        kept = _expired_but_staged(settings, ingested)
        missing = [
            display_name(r["source_file"])
            for r in ingested
            if r["file_sha256"] not in kept and not (settings.archive_dir / r["archived_as"]).is_file()
        ]
        if missing:
            raise RebuildError(
                f"the archive {settings.archive_dir} lacks {len(missing)} ingested file(s) ({', '.join(missing[:3])}): "
                "cannot rebuild; the published warehouse is unchanged"
            )
        fresh = rebuild_dir(settings, run.run_id)
        try:
            for record in ingested:
                staged = kept.get(record["file_sha256"]) or _restage(settings, record, book=book, fresh=fresh)
                if record["file_sha256"] in kept:
                    _link_folder(staged.folder, fresh / staged.sha256)
                run.rows_read += staged.record["rows_read"]
                if staged.record["status"] != "loaded":
                    run.files_failed += 1
                    run.problems.append(
                        staged.record["message"]
                        or f"{display_name(staged.record['source_file'])}: {staged.record['status']}"
                    )
            tables = build_tables(settings, run, book=book, staged_dir=fresh)
            publish(settings, tables, book=book)
        except Exception as error:
            shutil.rmtree(fresh, ignore_errors=True)
            record_failed_run(settings, run, error)
            raise
        finally:
            shutil.rmtree(_scratch(fresh), ignore_errors=True)
        recover_state(settings)  # published: swaps the fresh staged folder in, drops the old one
        run.published, run.tables = True, tables
    return run


def _expired_but_staged(settings: Settings, ingested: list[dict]) -> dict[str, StagedFile]:
    """The staged results of the files whose raw copy the retention deleted, by SHA-256."""
    staged = {s.sha256: s for s in staged_files(settings.staged_dir)}
    kept = {}
    for record in ingested:
        archived = settings.archive_dir / record["archived_as"]
        expired = not archived.is_file() and archived.with_name(archived.name + EXPIRED).is_file()
        if expired and record["file_sha256"] in staged:
            kept[record["file_sha256"]] = staged[record["file_sha256"]]
    return kept


def _scratch(fresh: Path) -> Path:
    """Where the raw files are put back under their names to be re-staged (removed by recover_state if killed)."""
    return fresh.with_name(fresh.name + ".files")


def _restage(settings: Settings, record: dict, *, book: Codebook, fresh: Path) -> StagedFile:
    """An archived raw file staged again with today's code, under its original name, order and run."""
    source = _scratch(fresh) / str(record["file_order"]) / record["source_file"]  # stage_export reads name and suffix
    source.parent.mkdir(parents=True)
    _link_or_copy(settings.archive_dir / record["archived_as"], source)
    staged = stage_file(
        NewFile(source, record["file_sha256"], record["wave"]),
        settings=settings,
        run_id=record["run_id"],
        file_order=record["file_order"],
        book=book,
        staged_dir=fresh,
    )
    if isinstance(staged, NotTaken):
        raise RebuildError(
            f"the archived copy of {display_name(record['source_file'])} cannot be staged again: {staged.message}"
        )
    return staged


def _link_folder(source: Path, target: Path) -> None:
    target.mkdir(mode=0o700, parents=True)
    for path in source.iterdir():
        _link_or_copy(path, target / path.name)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
