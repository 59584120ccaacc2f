"""The state folder is private: its folders 0700, its files 0600, whatever the umask.

It holds the raw exports (names, emails, IP addresses, locations), the staged results,
the run log, the discovered files' hashes, the hashing key and the run lock: nothing
another account of the machine may read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


#: What only a state folder holds (``is_state_folder``).
STATE_MARKS = ("archive", "staged", "secret.key")


def private_folder(path: Path, *, tighten: bool = True) -> Path:
    """``path`` (and any missing parent) created 0700; an existing one tightened to 0700 (``tighten``).

    A folder shared (sticky, like /tmp) or another account's is never tightened: the
    files in it are still 0600.
    """
    missing = [path, *[parent for parent in path.parents if not parent.exists()]]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass
    info = path.stat()
    is_ours = info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX
    if info.st_mode & 0o077 and is_ours and tighten:
        path.chmod(FOLDER_MODE)
    return path


def is_state_folder(path: Path) -> bool:
    """Whether ``path`` is missing, empty, or surveyhouse's state: what may be made private.

    A state setting pointed by mistake at /srv or a home folder leaves that folder's mode alone.
    """
    if not path.is_dir():
        return True
    return path.name == ".surveyhouse" or any((path / mark).exists() for mark in STATE_MARKS) or not any(path.iterdir())


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``path`` whole, 0600: aside first, then moved in place (never half-written)."""
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # a leftover .part of a killed run may have had another mode
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    partial.replace(path)


def open_private(path: Path, mode: str = "a"):
    """``path`` opened as ``open`` would (text, UTF-8), created 0600 and made 0600 when it is not."""
    flags = {"a": os.O_WRONLY | os.O_CREAT | os.O_APPEND, "a+": os.O_RDWR | os.O_CREAT | os.O_APPEND}[mode]
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    if os.fstat(fd).st_mode & 0o077:
        os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode, encoding="utf-8")


def make_private(path: Path) -> None:
    """A file written by a library (Parquet) made 0600 before it is moved in place."""
    path.chmod(FILE_MODE)
