"""The landing folder's new export files: what no run has ingested yet, by content, and their wave.

What is not taken this night is said in the run's problems: a link or anything not a
regular file (skipped, nothing of it read, surveyhouse/landing.py), an unreadable file
(failed: the rest of the night goes on), and a file modified less than ``settle_s``
seconds ago, which may still be being written (left for the next night).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from surveyhouse.landing import FileNotTaken, identity, landed_sha256, shown, walk_landing
from surveyhouse.private import private_folder, write_private
from surveyhouse.state import StateFolder
from transforms.display import display_name

#: Default of the setting SURVEYHOUSE_SETTLE_S: a file modified more recently is taken the next night.
SETTLE_S = 5.0

_WAVE_FOLDER = re.compile(r"^(?:wave[=_-]?)?(\d{4})$", re.IGNORECASE)


@dataclass(frozen=True)
class NewFile:
    path: Path
    sha256: str
    wave: int
    inbox: Path | None = None  # the landing folder it was found in: no link below it is followed to read it
    times: dict | None = None  # the file's times as first recorded (a rebuild re-stages an archived copy)

    @property
    def shown_name(self) -> str:
        """Its name as logs and task names show it (control characters escaped)."""
        return display_name(self.path.name)


@dataclass
class Discovery:
    new: list[NewFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the files not taken this night, and why (one line each)
    files_failed: int = 0  # of those, the files that failed (unreadable), not merely skipped or left

    def add(self, problem: FileNotTaken) -> None:
        self.problems.append(str(problem))
        self.files_failed += problem.failed


def wave_of(path: Path, inbox: Path, default: int) -> int:
    """The wave a file belongs to: a folder named for a year (2024, wave=2024) under the inbox."""
    for part in reversed(path.relative_to(inbox).parts[:-1]):
        match = _WAVE_FOLDER.match(part)
        if match:
            return int(match.group(1))
    return default


def discover_files(inbox: Path, *, state: StateFolder, default_wave: int, settle_s: float = SETTLE_S) -> Discovery:
    """Export files in the landing folder that no run has ingested yet (by content), and what was not taken.

    A file seen before, unchanged, is not read (``_FileHashes``). A file's wave is its
    year-named subfolder's (``wave_of``), else ``default_wave``.
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"the landing folder {inbox} does not exist")
    known = {staged.sha256 for staged in state.staged()}
    hashes = _FileHashes(state.hashes_file)
    walk = walk_landing(inbox)
    found = Discovery()
    for skipped in walk.skipped:
        found.add(skipped)
    taken: set[str] = set()
    now = time.time()
    for path in walk.files:
        try:
            sha = hashes.sha256(path, inbox=inbox, settled_before=now - settle_s)
        except FileNotTaken as problem:
            found.add(problem)
            continue
        if sha not in known and sha not in taken:
            taken.add(sha)
            found.new.append(NewFile(path, sha, wave_of(path, inbox, default_wave), inbox))
    hashes.save()
    return found


class _FileHashes:
    """SHA-256 of the landing folder's files, remembered by what the file system says of them.

    A file whose path, size, inode, modification and change times are those of the last
    run is not read again: a night with nothing new costs a ``stat`` per file, not a read
    of the whole history (gigabytes at millions of responses). Any write to a file moves
    its change time (which no tool can set back), so a changed file is hashed again, once
    it has not changed for ``settle_s`` seconds. The cache is a convenience: lost or
    unreadable, every file is simply hashed. Staging reads the file again and checks its
    bytes have this hash (surveyhouse/staging.py).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.known: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.seen: dict[str, dict] = {}

    def sha256(self, path: Path, *, inbox: Path, settled_before: float) -> str:
        """The file's SHA-256; FileNotTaken when it changed after ``settled_before`` (a time), or cannot be read."""
        try:
            info = path.lstat()
        except OSError as error:
            raise FileNotTaken(
                f"{shown(path, inbox)} was left for the next night: it went away ({error.strerror})", failed=False
            ) from None
        entry = self.known.get(str(path))
        if isinstance(entry, dict) and entry.get("identity") == identity(info) and isinstance(entry.get("sha256"), str):
            self.seen[str(path)] = entry
            return entry["sha256"]
        changed = info.st_ctime_ns / 1e9  # any write, rename or chmod moves it; no tool sets it back
        if changed > settled_before:
            age = max(time.time() - changed, 0)
            raise FileNotTaken(
                f"{shown(path, inbox)} was left for the next night: modified {age:.0f} s ago, may still be written.",
                failed=False,
            )
        sha, found = landed_sha256(path, inbox=inbox)
        self.seen[str(path)] = {"identity": found, "sha256": sha}
        return sha

    def save(self) -> None:
        if self.seen == self.known:
            return
        try:
            write_private(private_folder(self.path.parent) / self.path.name, json.dumps(self.seen))
        except OSError:
            pass
