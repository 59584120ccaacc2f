"""The landing folder's new export files: what no run has ingested yet, by content, and their wave.

A file's wave comes from its landing subfolder (a declared wave's folder), from an
assignment (`surveyhouse assign`), else from its submission dates once staging has read
it (schemas/waves.py). A file in a folder that is no declared wave's is held back here,
unread; one whose dates do not fit is held back by staging. Held files are not staged:
every night looks at them again (moved into the right folder, a file is then taken), and
``FileWaves`` remembers them for `surveyhouse files`, with the assigned and forgotten files.

What is not taken this night is said in the run's problems: a link or anything not a
regular file (skipped, nothing of it read, surveyhouse/landing.py), an unreadable file
(failed: the rest of the night goes on), and a file modified less than ``settle_s``
seconds ago, which may still be being written (left for the next night). A copy, under
another name, of a file already in (loaded before, or taken this night) or forgotten is not
read, nothing of it counted twice: it is said in the run's notes (``Discovery.notes``), every
night it stays in the landing folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schemas.waves import Placement, Wave, folder_placement
from surveyhouse.landing import FileNotTaken, identity, landed_sha256, shown, walk_landing
from surveyhouse.private import private_folder, write_private
from surveyhouse.state import StateFolder
from transforms.display import display_name
from transforms.privacy import masked_file_name

#: Default of the setting SURVEYHOUSE_SETTLE_S: a file modified more recently is taken the next night.
SETTLE_S = 5.0


@dataclass(frozen=True)
class NewFile:
    path: Path
    sha256: str
    wave: int | None  # None: from its submission dates, once read (schemas/waves.py place_file)
    inbox: Path | None = None  # the landing folder it was found in: no link below it is followed to read it
    times: dict | None = None  # the file's times as first recorded (a rebuild re-stages an archived copy)
    checked: bool = False  # whether its submissions must fall in its wave's field period (else it is held)
    #: What the file system said of it when ``sha256`` was read (``surveyhouse.landing.identity``): the
    #: same when staging copies it, the copy is those bytes, not hashed again (None: always hashed).
    identity: list[int] | None = None

    @property
    def shown_name(self) -> str:
        """Its name as logs and task names show it (control characters escaped)."""
        return display_name(self.path.name)


@dataclass
class Discovery:
    new: list[NewFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the files not taken this night, and why (one line each)
    files_failed: int = 0  # of those, the files that failed (unreadable) or were held back, not merely skipped or left
    held: list[dict] = field(default_factory=list)  # the files held back unread (a folder that is no wave's)
    seen: set[str] = field(default_factory=set)  # the SHA-256 of every file found, new or not
    notes: list[str] = field(default_factory=list)  # the copies of files already in, not read (one line each)

    def add(self, problem: FileNotTaken) -> None:
        self.problems.append(str(problem))
        self.files_failed += problem.failed


def placement_of(path: Path, inbox: Path, waves: tuple[Wave, ...], *, default: int) -> Placement | str:
    """Where a file's wave comes from, by its folders under the inbox (or why it is held back)."""
    return folder_placement(path.relative_to(inbox).parts[:-1], waves, default=default)


def discover_files(
    inbox: Path,
    *,
    state: StateFolder,
    default_wave: int,
    settle_s: float = SETTLE_S,
    waves: tuple[Wave, ...] | None = None,
) -> Discovery:
    """Export files in the landing folder that no run has ingested yet (by content), and what was not taken.

    A file seen before, unchanged, is not read (``_FileHashes``); a forgotten one is not
    taken again. A file's wave: its assignment, else its wave folder (``placement_of``;
    ``waves``: the study's, default the one ``default_wave`` without a field period).
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"the landing folder {inbox} does not exist")
    waves = waves or (Wave(default_wave),)
    decisions = FileWaves.of(state)
    filed = {staged.sha256: staged.record for staged in state.staged()}
    known = set(filed) | set(decisions.forgotten)
    hashes = _FileHashes(state.hashes_file)
    walk = walk_landing(inbox)
    found = Discovery()
    for skipped in walk.skipped:
        found.add(skipped)
    now = time.time()
    taken: dict[str, dict] = {}  # the files taken this night, as a copy of one names them
    for path in walk.files:
        try:
            sha = hashes.sha256(path, inbox=inbox, settled_before=now - settle_s)
        except FileNotTaken as problem:
            found.add(problem)
            continue
        if sha not in known and sha not in found.seen:
            seen = hashes.identity_of(path)
            _take(
                found, path, sha, inbox=inbox, waves=waves, default=default_wave, assigned=decisions.assigned, seen=seen
            )
            held = not found.new or found.new[-1].sha256 != sha
            taken[sha] = {"source_file": masked_file_name(shown(path, inbox)), "held": held}
        else:
            if sha in filed and sha not in decisions.assigned:
                moved = _moved(path, inbox=inbox, waves=waves, default=default_wave, filed=filed[sha]["wave"])
                found.problems += moved
            earlier = filed.get(sha) or decisions.forgotten.get(sha)
            found.notes += copy_notes(path, inbox=inbox, earlier=earlier, taken=taken.get(sha))
        found.seen.add(sha)
    hashes.save()
    return found


def _take(  # noqa: PLR0913
    found: Discovery,
    path: Path,
    sha: str,
    *,
    inbox: Path,
    waves: tuple[Wave, ...],
    default: int,
    assigned: dict,
    seen: list[int] | None = None,
) -> None:
    """A new file taken with its wave's placement, or held back for its folder (``seen``: its ``NewFile.identity``)."""
    if sha in assigned:
        found.new.append(NewFile(path, sha, int(assigned[sha]["wave"]), inbox, identity=seen))
        return
    placement = placement_of(path, inbox, waves, default=default)
    if isinstance(placement, str):
        message = f"{shown(path, inbox)} was held back: {placement}"
        found.problems.append(message)
        found.files_failed += 1
        found.held.append(held_entry(path, sha, inbox=inbox, message=message))
        return
    found.new.append(NewFile(path, sha, placement.wave, inbox, checked=placement.checked, identity=seen))


def copy_notes(path: Path, *, inbox: Path, earlier: dict | None, taken: dict | None = None) -> list[str]:
    """The line saying that ``path`` is not read, its content being that of a file already in under
    another name, if it is: ``earlier``, the record of a file loaded or forgotten; ``taken``, the
    file of this content taken (or held back) this night."""
    if earlier is None and taken is None:
        return []
    if earlier is not None and earlier.get("source_file") == masked_file_name(path.name):
        return []  # the very file that was loaded (its name as its record keeps it), not a copy
    if taken is not None:
        what = "held back this night" if taken["held"] else "taken this night"
    else:
        what = "forgotten (`surveyhouse forget`)" if "forgotten_at" in earlier else "already loaded"
    return [
        f"{masked_file_name(shown(path, inbox))} was not read: its content is that of "
        f"{display_name(str((taken or earlier).get('source_file')))}, {what}; nothing of it was counted twice "
        "(remove the copy from the landing folder)"
    ]


def _moved(path: Path, *, inbox: Path, waves: tuple[Wave, ...], default: int, filed: int) -> list[str]:
    """The line saying that a file already in sits in another declared wave's folder now (moved
    there after it was taken): its rows stay in their wave until `surveyhouse assign` moves them."""
    placement = placement_of(path, inbox, waves, default=default)
    if not isinstance(placement, Placement) or not placement.checked or placement.wave in (None, filed):
        return []
    return [
        f"{shown(path, inbox)} sits in wave {placement.wave}'s folder but its rows are in wave {filed}: run "
        f"`surveyhouse assign {display_name(path.name)} --wave {placement.wave}` to move them"
    ]


def held_entry(path: Path, sha: str, *, inbox: Path | None, message: str, record: dict | None = None) -> dict:
    """What `surveyhouse files` shows of a file held back (``record``: its staging record, when it was read)."""
    record = record or {}
    return {
        "file_sha256": sha,
        "source_file": masked_file_name(path.name),
        "path": shown(path, inbox) if inbox else display_name(path.name),
        "wave": record.get("wave"),
        "layout": record.get("layout"),
        "language": record.get("language"),
        "rows_read": record.get("rows_read"),
        "status": "held",
        "message": message,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@dataclass
class FileWaves:
    """The state folder's decisions about files (``<state>/<name>.file-waves.json``, 0600): the
    waves assigned (`surveyhouse assign`), the files forgotten (`surveyhouse forget`, their
    records as they were) and the files held back, each by SHA-256. Kept across `rebuild`."""

    path: Path
    assigned: dict[str, dict] = field(default_factory=dict)
    forgotten: dict[str, dict] = field(default_factory=dict)
    held: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def of(cls, state: StateFolder) -> FileWaves:
        path = state.root / f"{state.name}.file-waves.json"
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            saved = {}
        except ValueError as error:
            raise ValueError(
                f"the state file {path} is damaged ({error}): restore it from a backup, or delete it "
                "(the waves assigned and the files forgotten are then forgotten too)"
            ) from None
        return cls(path, **{key: dict(saved.get(key) or {}) for key in ("assigned", "forgotten", "held")})

    def save(self) -> None:
        data = {"assigned": self.assigned, "forgotten": self.forgotten, "held": self.held}
        write_private(private_folder(self.path.parent) / self.path.name, json.dumps(data, indent=1))


def record_held(state: StateFolder, found: Discovery, held: list[dict], *, staged: set[str]) -> None:
    """Remember the files held back this night (``found.held`` and ``held``, by staging); those
    taken since, or gone from the landing folder, are held no more."""
    decisions = FileWaves.of(state)
    before = dict(decisions.held)
    kept = {sha: entry for sha, entry in before.items() if sha in found.seen and sha not in staged}
    kept |= {entry["file_sha256"]: entry for entry in [*found.held, *held]}
    if kept != before:
        decisions.held = kept
        decisions.save()


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

    def identity_of(self, path: Path) -> list[int] | None:
        """The identity the file at ``path`` had when the SHA-256 ``sha256`` gave was read."""
        entry = self.seen.get(str(path))
        return list(entry["identity"]) if entry else None

    def save(self) -> None:
        if self.seen == self.known:
            return
        try:
            write_private(private_folder(self.path.parent) / self.path.name, json.dumps(self.seen))
        except OSError:
            pass
