"""Reading the landing folder without trusting it: no link followed, regular files only.

Anyone who can drop a file in the landing folder can drop a symbolic link
(``ln -s /etc/passwd landing/export.csv``), a named pipe or a folder link too. None of
them is ever opened: the folder is walked without following links, each file is opened
with ``O_NOFOLLOW`` below the landing folder (every folder on the way opened the same
way, so a folder swapped for a link between the walk and the read is refused too), and
the opened descriptor must be a regular file. What is skipped is reported by name,
nothing of its content read.

A file is identified by what ``fstat`` says of it before its bytes are read; when it says
something else after, the file was written meanwhile and is left for the next night.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from surveyhouse.read import EXPORT_SUFFIXES
from transforms.display import display_name

_BLOCK = 1 << 20
_COPY_BYTES = 1 << 30
#: A landed file of at least this many bytes is copied around the page cache (``_copied_direct``).
DIRECT_COPY_BYTES = 64 << 20
_DIRECT_BLOCK = 4 << 20
_DIRECT_ALIGN = 4096
_NO_FOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class FileNotTaken(Exception):
    """A landed file not taken this night: why, naming it (one line), and whether it failed or was only left."""

    def __init__(self, message: str, *, failed: bool) -> None:
        super().__init__(message)
        self.failed = failed


@dataclass(frozen=True)
class NotTaken:
    """What a night does with a file not taken (a plain value: a Prefect task or a Dask worker returns it)."""

    message: str
    failed: bool
    held: dict | None = None  # a file held back for its wave: what `surveyhouse files` shows of it

    @classmethod
    def of(cls, problem: FileNotTaken, held: dict | None = None) -> NotTaken:
        return cls(str(problem), problem.failed, held)


@dataclass
class LandingWalk:
    files: list[Path] = field(default_factory=list)  # regular export files, in name order
    skipped: list[FileNotTaken] = field(default_factory=list)  # links, pipes, unreadable folders


def walk_landing(inbox: Path) -> LandingWalk:
    """The regular export files below ``inbox``, and what was skipped, without following any link."""
    walk = LandingWalk()
    _walk_folder(inbox, inbox, walk)  # the landing folder itself unreadable: the run fails, saying so
    return walk


def _walk_folder(folder: Path, inbox: Path, walk: LandingWalk) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        if folder == inbox:
            raise
        walk.skipped.append(_unreadable(folder, inbox, error, what="folder"))
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith((".", "~$")):
            continue
        if entry.is_symlink():
            walk.skipped.append(_not_a_file(path, inbox, "a symbolic link"))
        elif entry.is_dir(follow_symlinks=False):
            _walk_folder(path, inbox, walk)
        elif path.suffix.lower() not in EXPORT_SUFFIXES:
            continue
        elif entry.is_file(follow_symlinks=False):
            walk.files.append(path)
        else:
            walk.skipped.append(_not_a_file(path, inbox, "not a regular file (a pipe, socket or device)"))


def shown(path: Path, inbox: Path | None) -> str:
    """A landed file's name as messages show it: its path below the landing folder, printable."""
    if inbox is not None and path.is_relative_to(inbox):
        return display_name(str(path.relative_to(inbox)))
    return display_name(path.name)


def _not_a_file(path: Path, inbox: Path | None, what: str) -> FileNotTaken:
    return FileNotTaken(
        f"{shown(path, inbox)} was skipped, nothing of it read: it is {what}. The landing folder takes files "
        "themselves; copy the export in (not a link to it).",
        failed=False,
    )


def _unreadable(path: Path, inbox: Path | None, error: OSError, *, what: str = "file") -> FileNotTaken:
    reason = error.strerror or type(error).__name__
    return FileNotTaken(
        f"{shown(path, inbox)} was not loaded: the {what} cannot be read ({reason}). The rest of the run went on. "
        f"Give the user that runs surveyhouse read access to it (chmod {'a+rx' if what == 'folder' else 'a+r'}), "
        "or take it out of the landing folder; "
        "it is taken the next night.",
        failed=True,
    )


def identity(info: os.stat_result) -> list[int]:
    """What the file system says of a file's content: any write changes it (the change time no tool sets back)."""
    return [info.st_size, info.st_ino, info.st_dev, info.st_mtime_ns, info.st_ctime_ns]


def open_landed(path: Path, *, inbox: Path | None = None) -> int:
    """A read descriptor of a regular file, no link followed (below ``inbox``, no folder link either).

    Raises FileNotTaken for a link, a pipe or anything else, or an unreadable file.
    """
    parts = path.relative_to(inbox).parts if inbox is not None and path.is_relative_to(inbox) else (path.name,)
    start = inbox if inbox is not None and path.is_relative_to(inbox) else path.parent
    folder = None
    try:
        folder = os.open(start, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            os.close(folder)
            folder = inner
        fd = os.open(parts[-1], _NO_FOLLOW, dir_fd=folder)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _not_a_file(path, inbox, "a symbolic link, or below one") from None
        raise _unreadable(path, inbox, error) from None
    finally:
        if folder is not None:
            os.close(folder)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_a_file(path, inbox, "not a regular file (a pipe, socket or device)")
    os.set_blocking(fd, True)
    return fd


def landed_sha256(path: Path, *, inbox: Path | None = None) -> tuple[str, list[int]]:
    """(SHA-256, identity) of a landed file, read a block at a time; FileNotTaken if written meanwhile."""
    digest = hashlib.sha256()

    def hash_blocks(handle) -> None:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)

    found = _read_landed(path, inbox, hash_blocks)
    return digest.hexdigest(), found


def landed_bytes(path: Path, *, inbox: Path | None = None) -> tuple[bytes, list[int]]:
    """(bytes, identity) of a landed file, read once; FileNotTaken if written while it was read."""
    content: list[bytes] = []
    found = _read_landed(path, inbox, lambda handle: content.append(handle.read()))
    return content[0], found


def landed_copy(path: Path, target: Path, *, inbox: Path | None = None, read_again: bool = False) -> list[int]:
    """The identity of a landed file copied to ``target`` (0600), by the kernel: none of its
    bytes held here; a big one around the page cache unless the copy is ``read_again`` next
    (``_copied_direct``: it would be read back from the disk). FileNotTaken if it was written
    while it was copied."""

    def copy(handle) -> None:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise _CopyNotWritten(error) from error
        try:
            os.fchmod(fd, 0o600)  # a leftover of a killed run may have had another mode
            _copied(handle, fd, direct=not read_again)
        except OSError as error:
            if error.errno in _WRITE_ERRORS:
                raise _CopyNotWritten(error) from error
            raise
        finally:
            os.close(fd)

    try:
        return _read_landed(path, inbox, copy)
    except _CopyNotWritten as failed:  # the copy could not be written: not the landed file's fault
        raise failed.error from None


#: What writing a copy may fail with (the landed file itself was readable).
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


class _CopyNotWritten(Exception):
    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _copied(handle, fd: int, *, direct: bool) -> None:
    """``handle``'s bytes written to ``fd``: around the page cache when ``direct`` and big
    (``_copied_direct``), else by the kernel (``sendfile``), else a block at a time."""
    if direct and _copied_direct(handle, fd):
        return
    offset = 0
    try:
        while sent := os.sendfile(fd, handle.fileno(), offset, _COPY_BYTES):
            offset += sent
        return
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP) or offset:
            raise
    handle.seek(0)
    for block in iter(lambda: handle.read(_BLOCK), b""):  # a file system sendfile does not copy from
        view = memoryview(block)
        while view:
            view = view[os.write(fd, view) :]


def _copied_direct(handle, fd: int, *, at_least: int | None = None) -> bool:
    """Whether ``handle``'s bytes (a file of at least ``at_least`` bytes, default ``DIRECT_COPY_BYTES``)
    were written to ``fd`` around the page cache (``O_DIRECT``: aligned blocks, the last one padded
    with zeros, then the file cut to its size). The kernel's copy into the page cache cost 0.6-1.2 s
    of CPU for a 455 MB export (and its write-back more), this one 0.06 s. False, nothing written,
    where the file system refuses it (the caller copies as before)."""
    size = os.fstat(handle.fileno()).st_size
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if size < (DIRECT_COPY_BYTES if at_least is None else at_least) or not hasattr(os, "O_DIRECT"):
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT)
    except OSError:
        return False
    try:
        return _direct_blocks(handle.fileno(), fd)
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)


def _direct_blocks(source: int, fd: int) -> bool:
    """``source`` written to ``fd`` (opened ``O_DIRECT``) in aligned blocks; False, ``fd`` left empty,
    when the first write is refused (a file system that takes the flag but not the writes)."""
    buffer = mmap.mmap(-1, _DIRECT_BLOCK)  # page-aligned, as O_DIRECT needs
    offset = 0
    try:
        while read := _filled(source, buffer, offset):
            length = -(-read // _DIRECT_ALIGN) * _DIRECT_ALIGN
            buffer[read:length] = bytes(length - read)
            try:
                written = os.pwritev(fd, [memoryview(buffer)[:length]], offset)
            except OSError as error:
                if offset or error.errno != errno.EINVAL:
                    raise
                return False
            if written != length:
                raise OSError(errno.EIO, f"a direct write took {written} of {length} bytes")
            offset += read
            if read < _DIRECT_BLOCK:
                break
        os.ftruncate(fd, offset)
        return True
    finally:
        buffer.close()


def _filled(source: int, buffer: mmap.mmap, offset: int) -> int:
    """How many bytes of ``source`` from ``offset`` were read into ``buffer``: all it holds, or to the end."""
    view, got = memoryview(buffer), 0
    try:
        while got < len(buffer) and (read := os.preadv(source, [view[got:]], offset + got)):
            got += read
    finally:
        view.release()
    return got


def _read_landed(path: Path, inbox: Path | None, read) -> list[int]:
    """Opens the landed file, lets ``read`` read it, and returns its identity, the same before and after."""
    fd = open_landed(path, inbox=inbox)
    with os.fdopen(fd, "rb") as handle:
        before = identity(os.fstat(fd))
        try:
            read(handle)
        except OSError as error:
            raise _unreadable(path, inbox, error) from None
        after = identity(os.fstat(fd))
    if after != before:
        raise FileNotTaken(
            f"{shown(path, inbox)} was left for the next night: it was written while it was read, may still be written.",
            failed=False,
        )
    return before
