"""Rebuilding the whole warehouse from the archive of raw files.

Every ingested file is kept in the archive as ``<sha256><suffix>``; its staged record
names it as it landed (source file, wave, ingestion order, the run that ingested it).
A rebuild re-stages every archived file, in its original order and under its original
name (and with the run id that first ingested it), into a fresh staged folder with
today's code, builds and publishes from it, then swaps it in for the old staged folder.
With unchanged code the result equals the incrementally built warehouse (only `runs`
gains the rebuild's row). A rebuild that fails or is killed before its publish leaves
the published warehouse and the staged folder as they were; one killed after its
publish is finished by the next run (`recover_state`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from schemas.study import Study
from surveyhouse.discover import NewFile
from surveyhouse.night import InProcess, Night, publish_night, recover_state, stage_file
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import Settings
from warehouse.store import Warehouse


class RebuildError(RuntimeError):
    """The archive cannot give back what was ingested."""


def ingested_files(night: Night) -> list[dict]:
    """What was ingested, in order: staged records, else the published `files` table."""
    records = [staged.record for staged in night.state.staged()]
    if not records and night.warehouse.exists():
        with night.warehouse.reader() as connection:
            records = connection.table("files").pl().sort("file_order").to_dicts()
    archive = night.state.archive_dir
    for record in records:
        if not record.get("archived_as"):
            matches = sorted(p.name for p in archive.glob(f"{record['file_sha256']}.*") if not p.name.endswith(".part"))
            record["archived_as"] = matches[0] if matches else f"{record['file_sha256']}"
    return sorted(records, key=lambda record: record["file_order"])


def rebuild_warehouse(study: Study, settings: Settings, warehouse: Warehouse | None = None) -> RunSummary:
    """Re-stage every archived file and publish a warehouse built from them alone."""
    night = Night.of(study, settings, warehouse)
    run = RunSummary.starting()
    with night.state.lock():
        recover_state(night)
        ingested = _archived(night)
        fresh = night.state.rebuild_dir(run.run_id)
        scratch = fresh.with_name(fresh.name + ".files")  # the raw files under their names (dropped if killed)
        try:
            files = [_restore(night, record, scratch) for record in ingested]
            for staged in _stage(night, ingested, files, fresh):
                _account(run, staged.record)
            publish_night(night, run, runner=InProcess(), staged_dir=fresh)
        except Exception:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        recover_state(night)  # published: the fresh staged folder swapped in, the old one dropped
    return run


def _archived(night: Night) -> list[dict]:
    """Every ingested file's record, each with its archived copy present; else RebuildError."""
    ingested = ingested_files(night)
    if not ingested:
        raise RebuildError(
            f"nothing to rebuild: no file was ever ingested for {night.warehouse} (run `surveyhouse run` first)"
        )
    archive = night.state.archive_dir
    missing = [r["source_file"] for r in ingested if not (archive / r["archived_as"]).is_file()]
    if missing:
        raise RebuildError(
            f"the archive {archive} lacks {len(missing)} ingested file(s) ({', '.join(missing[:3])}): "
            "cannot rebuild; the published warehouse is unchanged"
        )
    return ingested


def _restore(night: Night, record: dict, scratch: Path) -> NewFile:
    """The archived copy of a file under its original name (staging reads name and suffix)."""
    source = scratch / str(record["file_order"]) / record["source_file"]
    source.parent.mkdir(parents=True)
    _link_or_copy(night.state.archive_dir / record["archived_as"], source)
    return NewFile(source, record["file_sha256"], record["wave"])


def _stage(night: Night, records: list[dict], files: list[NewFile], fresh: Path) -> list:
    """Each file staged into ``fresh`` under its original order and the run id that first ingested it."""
    return [
        stage_file(night, new, run_id=record["run_id"], file_order=record["file_order"], staged_dir=fresh)
        for record, new in zip(records, files, strict=True)
    ]


def _account(run: RunSummary, staged: dict) -> None:
    run.rows_read += staged["rows_read"]
    if staged["status"] != "loaded":
        run.files_failed += 1
        run.problems.append(staged["message"] or f"{staged['source_file']}: {staged['status']}")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
