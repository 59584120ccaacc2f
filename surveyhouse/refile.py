"""Every file a warehouse has seen, and the two fixes a person makes to one: assign and forget.

``files_seen``: every file staged (accepted, rejected or failed), held back, or forgotten.
``assign_file``: a file put in a wave by hand; a staged file is staged again from its
archived copy with that wave (in its place: same ingestion order and run), a held one
is taken from the landing folder. ``forget_file``: a file's rows out of every table (its
staged result dropped; its archive copy stays until the retention deletes it), and the
file not taken again. Both are remembered in the state folder (``FileWaves``), kept by
`rebuild`, and republish the warehouse through ``run_night`` under the run lock, which
records them in `runs` (``trigger``).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from schemas.study import Study
from surveyhouse.discover import FileWaves, NewFile
from surveyhouse.landing import NotTaken
from surveyhouse.night import Night, check_study_unchanged, run_night, stage_file
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import Settings
from surveyhouse.staging import FILE_TIMES, StagedFile
from transforms.display import display_name
from transforms.privacy import masked_file_name

#: `surveyhouse files`'s columns.
FILES_COLUMNS = ("file", "wave", "layout", "language", "rows", "status", "when", "message")
#: A staged file's status as `surveyhouse files` says it (files.status).
_STATUS = {"loaded": "accepted", "rejected": "rejected", "failed": "failed"}


class FileNotKnown(ValueError):
    """The file named is none the warehouse has seen, or cannot be done what was asked (one line, with the fix)."""


def files_seen(night: Night) -> list[dict]:
    """One row per file seen (``FILES_COLUMNS`` plus ``sha256`` and ``kind``), oldest first."""
    decisions = FileWaves.of(night.state)
    rows = []
    for staged in night.state.staged():
        record = staged.record
        rows.append(
            _row(record, _STATUS.get(record["status"], record["status"]), _run_time(record["run_id"]), "staged")
        )
    for entry in decisions.held.values():
        rows.append(_row(entry, "held", entry["at"], "held", name=entry.get("path")))
    for entry in decisions.forgotten.values():
        rows.append(_row(entry, "forgotten", entry["forgotten_at"], "forgotten"))
    return sorted(rows, key=lambda row: (row["when"] or "", row["file"]))


def _row(record: dict, status: str, when: str | None, kind: str, *, name: str | None = None) -> dict:
    return {
        "file": name or display_name(record["source_file"]),
        "wave": record.get("wave"),
        "layout": record.get("layout"),
        "language": record.get("language"),
        "rows": record.get("rows_read"),
        "status": status,
        "when": when,
        "message": record.get("message"),
        "sha256": record["file_sha256"],
        "kind": kind,
        "record": record,
    }


def _run_time(run_id: str) -> str | None:
    """When a run started, from its id (``20241116T020000Z-1a2b3c``), ISO 8601 UTC."""
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return None


def find_file(night: Night, name: str) -> dict:
    """The file ``name`` names: a path (by its content) or a name as `surveyhouse files` shows it."""
    rows = files_seen(night)
    path = Path(name)
    if path.is_file():
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        by_content = [row for row in rows if row["sha256"] == sha]
        if by_content:
            return by_content[-1]
    names = {name, path.name, masked_file_name(path.name)}  # as the user knows it, or as `files` shows it
    named = [row for row in rows if names & {row["file"], row["record"].get("source_file")}]
    if not named:
        raise FileNotKnown(f"no file {display_name(name)} was ever seen: run `surveyhouse files` to see the names")
    if len({row["sha256"] for row in named}) > 1:
        raise FileNotKnown(
            f"{len(named)} different files are named {display_name(name)}: give its path (FILE as a path to the "
            "file itself), or run `surveyhouse files` to see them"
        )
    return named[-1]


def assign_file(study: Study, settings: Settings, name: str, wave: int) -> tuple[dict, RunSummary]:
    """Put the file ``name`` in ``wave`` and republish; (the file's row, the run)."""
    night = Night.of(study, settings)
    declared = [w.wave for w in study.waves if w.folder is not None]
    if declared and wave not in declared:
        raise FileNotKnown(
            f"wave {wave} is not one of the study's waves ({', '.join(map(str, declared))}): give one of them, "
            "or declare it under `waves:` in questionnaire.yaml"
        )
    with night.state.lock():
        check_study_unchanged(night)  # before any decision is kept: a refused command does nothing
        row = find_file(night, name)
        decisions = FileWaves.of(night.state)
        decisions.assigned[row["sha256"]] = {"wave": wave, "source_file": row["record"]["source_file"],
                                             "assigned_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        record = decisions.forgotten.pop(row["sha256"], None) or (row["record"] if row["kind"] == "staged" else None)
        decisions.save()
        if record is not None and "run_id" in record:
            _restage(night, record, wave)
        run = RunSummary.starting()
        run.trigger = f"assign {row['file']} --wave {wave}"
        return row, run_night(study, settings, night.warehouse, run=run)


def forget_file(study: Study, settings: Settings, name: str) -> tuple[dict, RunSummary]:
    """Take the file ``name``'s rows out of every table and republish; (the file's row, the run)."""
    night = Night.of(study, settings)
    with night.state.lock():
        check_study_unchanged(night)
        row = find_file(night, name)
        if row["kind"] == "forgotten":
            raise FileNotKnown(
                f"{row['file']} is forgotten already (none of its rows is in the warehouse); "
                f"`surveyhouse assign {row['file']} --wave W` takes it again"
            )
        decisions = FileWaves.of(night.state)
        decisions.forgotten[row["sha256"]] = row["record"] | {
            "forgotten_at": datetime.now(UTC).isoformat(timespec="seconds")
        }
        decisions.held.pop(row["sha256"], None)
        decisions.save()
        if row["kind"] == "staged":
            _drop_folder(night.state.staged_dir / row["sha256"])
        run = RunSummary.starting()
        run.trigger = f"forget {row['file']}"
        return row, run_night(study, settings, night.warehouse, run=run)


def _restage(night: Night, record: dict, wave: int) -> StagedFile:
    """The file of ``record`` staged again from its archived copy with ``wave``, in its place."""
    archived = night.state.archive_dir / (record.get("archived_as") or "")
    if not archived.is_file():
        raise FileNotKnown(
            f"the raw copy of {display_name(record['source_file'])} is no longer in the archive "
            f"({night.state.archive_dir}): it cannot be staged again; drop the file in the landing folder again"
        )
    with tempfile.TemporaryDirectory(dir=night.state.root, prefix=".assign-") as scratch:
        source = Path(scratch) / "raw" / record["source_file"]
        source.parent.mkdir()
        shutil.copyfile(archived, source)
        times = {name: record.get(name) for name in FILE_TIMES} if all(n in record for n in FILE_TIMES) else None
        new = NewFile(source, record["file_sha256"], wave, times=times)
        fresh = Path(scratch) / "staged"
        staged = stage_file(night, new, run_id=record["run_id"], file_order=record["file_order"], staged_dir=fresh)
        if isinstance(staged, NotTaken):
            raise FileNotKnown(f"{display_name(record['source_file'])} cannot be staged again: {staged.message}")
        target = night.state.staged_dir / staged.sha256
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _drop_folder(target)
        staged.folder.rename(target)
    return StagedFile(staged.sha256, target, staged.record)


def _drop_folder(folder: Path) -> None:
    """A staged folder out of the staged files at once (renamed away), then deleted."""
    if folder.exists():
        gone = folder.parent.with_name(f".{folder.parent.name}.dropped-{folder.name}")  # beside, not among, the staged
        shutil.rmtree(gone, ignore_errors=True)
        folder.rename(gone)
        shutil.rmtree(gone, ignore_errors=True)
