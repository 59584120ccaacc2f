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
from datetime import UTC, datetime
from pathlib import Path

from schemas.codebook import Codebook, codebook
from surveyhouse.build import build_tables
from surveyhouse.discover import NewFile
from surveyhouse.diskspace import record_failure
from surveyhouse.lock import run_lock
from surveyhouse.night import (
    logger,
    publish,
    rebuild_dir,
    rebuilt_message,
    recover_state,
    stage_file,
    unreadable_live_warehouse,
)
from surveyhouse.runlog import RunSummary, new_run_id
from surveyhouse.settings import Settings
from surveyhouse.staging import staged_files
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
                p.name for p in settings.archive_dir.glob(f"{record['file_sha256']}.*") if not p.name.endswith(".part")
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
        unreadable = unreadable_live_warehouse(settings)
        recover_state(settings, warehouse_readable=unreadable is None)
        ingested = ingested_files(settings)
        if not ingested:
            raise RebuildError(
                f"nothing to rebuild: no file was ever ingested for {settings.warehouse} (run `surveyhouse run` first)"
            )
        missing = [r["source_file"] for r in ingested if not (settings.archive_dir / r["archived_as"]).is_file()]
        if missing:
            raise RebuildError(
                f"the archive {settings.archive_dir} lacks {len(missing)} ingested file(s) ({', '.join(missing[:3])}): "
                "cannot rebuild; the published warehouse is unchanged"
            )
        fresh = rebuild_dir(settings, run.run_id)
        scratch = fresh.with_name(
            fresh.name + ".files"
        )  # the raw files under their names (removed by recover_state if killed)
        try:
            for record in ingested:
                source = (
                    scratch / str(record["file_order"]) / record["source_file"]
                )  # stage_export reads name and suffix
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
                run.rows_read += staged.record["rows_read"]
                if staged.record["status"] != "loaded":
                    run.files_failed += 1
                    run.problems.append(
                        staged.record["message"] or f"{staged.record['source_file']}: {staged.record['status']}"
                    )
            tables = build_tables(settings, run, book=book, staged_dir=fresh)
            publish(settings, tables, book=book)
        except Exception as error:
            shutil.rmtree(fresh, ignore_errors=True)
            full = record_failure(settings, run, error)
            if full is None:
                raise
            raise full from error
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        recover_state(settings)  # published: swaps the fresh staged folder in, drops the old one
        if unreadable is not None:
            logger.warning(rebuilt_message(settings, unreadable, "the archive"))
        run.published, run.tables = True, tables
    return run


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
