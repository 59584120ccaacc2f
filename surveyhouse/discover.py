"""The landing folder's new export files: what no run has ingested yet, by content, and their wave."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from schemas.codebook import Codebook
from surveyhouse.read import EXPORT_SUFFIXES, file_sha256
from surveyhouse.settings import Settings
from surveyhouse.staging import (
    staged_files,
)

_WAVE_FOLDER = re.compile(r"^(?:wave[=_-]?)?(\d{4})$", re.IGNORECASE)


@dataclass(frozen=True)
class NewFile:
    path: Path
    sha256: str
    wave: int


def wave_of(path: Path, inbox: Path, default: int) -> int:
    """The wave a file belongs to: a folder named for a year (2024, wave=2024) under the inbox."""
    for part in reversed(path.relative_to(inbox).parts[:-1]):
        match = _WAVE_FOLDER.match(part)
        if match:
            return int(match.group(1))
    return default


def discover_files(settings: Settings, *, book: Codebook) -> list[NewFile]:
    """Export files in the landing folder that no run has ingested yet (by content)."""
    if not settings.inbox.is_dir():
        raise FileNotFoundError(f"the landing folder {settings.inbox} does not exist")
    known = {staged.sha256 for staged in staged_files(settings.staged_dir)}
    hashes = _FileHashes(settings.state_dir / f"{settings.warehouse_name}.file-hashes.json")
    found: dict[str, NewFile] = {}
    for path in sorted(settings.inbox.rglob("*")):
        if not path.is_file() or path.name.startswith((".", "~$")) or path.suffix.lower() not in EXPORT_SUFFIXES:
            continue
        sha = hashes.sha256(path)
        if sha not in known and sha not in found:
            found[sha] = NewFile(path, sha, wave_of(path, settings.inbox, book.wave))
    hashes.save()
    return list(found.values())


class _FileHashes:
    """SHA-256 of the landing folder's files, remembered by what the file system says of them.

    A file whose path, size, inode, modification and change times are those of the last
    run is not read again: a night with nothing new costs a ``stat`` per file, not a read
    of the whole history (gigabytes at millions of responses). Any write to a file moves
    its change time (which no tool can set back), so a changed file is hashed again. The
    cache is a convenience: lost or unreadable, every file is simply hashed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.known: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.seen: dict[str, dict] = {}

    def sha256(self, path: Path) -> str:
        info = path.stat()
        identity = [info.st_size, info.st_ino, info.st_dev, info.st_mtime_ns, info.st_ctime_ns]
        entry = self.known.get(str(path))
        if not (isinstance(entry, dict) and entry.get("identity") == identity and isinstance(entry.get("sha256"), str)):
            entry = {"identity": identity, "sha256": file_sha256(path)}
        self.seen[str(path)] = entry
        return entry["sha256"]

    def save(self) -> None:
        if self.seen == self.known:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".part")
            partial.write_text(json.dumps(self.seen), encoding="utf-8")
            partial.replace(self.path)
        except OSError:
            pass
