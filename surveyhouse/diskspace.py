"""A full disk during a run: one line naming where, and the run's partial files removed.

Staging and publishing write through three libraries, and each says "disk full" its own
way: Python raises an OSError (ENOSPC, EDQUOT over a quota, EFBIG past a file size
limit), Polars a ComputeError "... (os error 28)" (or, when the Parquet footer is what
did not fit, "Invalid thrift: transport error"), DuckDB an IOException or a
FatalException "Could not write file ...: No space left on device".
"""

from __future__ import annotations

import errno
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from surveyhouse.runlog import RunSummary, record_failed_run
from surveyhouse.settings import Settings
from surveyhouse.staging import RECORD
from transforms.display import display_name
from warehouse.publish import building_files

logger = logging.getLogger("surveyhouse.pipeline")

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: How the errors that are not an OSError say it (Polars gives the OS error number, DuckDB the C library's text).
FULL_TEXTS = (
    "no space left on device",
    "disk quota exceeded",
    "file too large",
    "(os error 28)",
    "(os error 122)",
    "(os error 27)",
)
#: Below this much free space, an I/O error that does not say why is taken for a full disk.
NEARLY_FULL_BYTES = 1 << 20


class NoSpaceLeft(OSError):
    """A run stopped by a full disk; its message is the one line to show."""


def _chain(error: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def says_disk_full(error: BaseException) -> bool:
    """Whether the error (or one it was raised from) says that a disk, a quota or a file size limit is full."""
    return any(
        (isinstance(e, OSError) and e.errno in FULL_ERRNOS) or any(text in str(e).lower() for text in FULL_TEXTS)
        for e in _chain(error)
    )


def _is_io_error(error: BaseException) -> bool:
    return any(
        isinstance(e, OSError) or "io error" in str(e).lower() or "transport error" in str(e).lower()
        for e in _chain(error)
    )


def _free_bytes(folder: Path) -> int:
    """Free space for this user on the filesystem of ``folder`` (or of its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def no_space_message(error: BaseException, folders: list[Path]) -> str | None:
    """The one line to show when ``error`` comes from a full disk, else None.

    It names the one of ``folders`` (those the run writes into) with the least free
    space. An I/O error that does not say why counts when that folder has less than
    ``NEARLY_FULL_BYTES`` free.
    """
    if not folders:
        return None
    fullest = min(folders, key=_free_bytes)
    if not (says_disk_full(error) or (_is_io_error(error) and _free_bytes(fullest) < NEARLY_FULL_BYTES)):
        return None
    return (
        f"no space left on {display_name(str(fullest))}: free space there "
        "(or move the state folder with SURVEYHOUSE_STATE), then run again"
    )


def written_folders(settings: Settings) -> list[Path]:
    """The folders a run writes into: the state folder, and the warehouse file's folder (a lake: its data folder)."""
    folders = [settings.state_dir]
    if settings.is_lake:
        folders += [settings.lake_data] if settings.lake_data else []
    else:
        folders.append(settings.warehouse.parent)
    return folders


def remove_partial_files(settings: Settings) -> None:
    """What a run left half written: staged folders without their record, archive copies
    still ``.part``, a warehouse file being built. Call under the run lock."""
    if settings.staged_dir.is_dir():
        for folder in settings.staged_dir.iterdir():
            if folder.is_dir() and not (folder / RECORD).exists():
                shutil.rmtree(folder, ignore_errors=True)
    if settings.archive_dir.is_dir():
        for part in settings.archive_dir.glob("*.part"):
            part.unlink(missing_ok=True)
    if not settings.is_lake:
        for building in building_files(settings.warehouse):
            building.unlink(missing_ok=True)
            Path(str(building) + ".wal").unlink(missing_ok=True)


def record_failure(settings: Settings, run: RunSummary, error: BaseException) -> NoSpaceLeft | None:
    """Record the failed run in the run log; when a disk is full, the NoSpaceLeft to raise
    instead of ``error`` (its message is the one line to show), once the run's partial
    files are removed so that the run log's line fits."""
    message = no_space_message(error, written_folders(settings))
    if message is None:
        record_failed_run(settings, run, error)
        return None
    remove_partial_files(settings)
    full = NoSpaceLeft(message)
    try:
        record_failed_run(settings, run, full)
    except OSError as still_full:
        logger.error("%s (the run log could not record this failed run: %s)", message, still_full)
    return full
