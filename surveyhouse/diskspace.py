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
from typing import TYPE_CHECKING

from surveyhouse.runlog import RunSummary, failed_run_record
from surveyhouse.staging import RECORD
from transforms.display import display_name

if TYPE_CHECKING:
    from surveyhouse.night import Night

logger = logging.getLogger("surveyhouse.night")

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


def record_failure(night: Night, run: RunSummary, error: BaseException) -> NoSpaceLeft | None:
    """Record the failed run in the run log; when a disk is full, the NoSpaceLeft to raise
    instead of ``error`` (its message is the one line to show), once the run's partial
    files are removed so that the run log's line fits."""
    settings = night.settings.recorded()
    message = no_space_message(error, [night.state.root, *night.warehouse.written_folders()])
    if message is None:
        night.state.runs.append(failed_run_record(run, error, settings=settings))
        return None
    remove_partial_files(night)
    full = NoSpaceLeft(message)
    try:
        night.state.runs.append(failed_run_record(run, full, settings=settings))
    except OSError as still_full:
        logger.error("%s (the run log could not record this failed run: %s)", message, still_full)
    return full


def remove_partial_files(night: Night) -> None:
    """What a run left half written: staged folders without their record, archive copies
    still ``.part``, a warehouse being built. Call under the run lock."""
    staged, archive = night.state.staged_dir, night.state.archive_dir
    if staged.is_dir():
        for folder in staged.iterdir():
            if folder.is_dir() and not (folder / RECORD).exists():
                shutil.rmtree(folder, ignore_errors=True)
    if archive.is_dir():
        for part in archive.glob("*.part"):
            part.unlink(missing_ok=True)
    night.warehouse.discard_partial()
