"""One run at a time per warehouse, across processes (an advisory file lock).

The lock is released by the operating system when its process dies, so a killed run
never leaves a stale lock behind. Within one process it is reentrant: the command line
takes it before it starts Prefect (so that a second `surveyhouse run` stops at once,
quietly), and the flow it then runs takes it again without blocking on itself. Taking it
makes the state folder private (0700) and the lock file 0600 (surveyhouse/private.py):
every run and rebuild starts here.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from surveyhouse.private import is_state_folder, private_folder


class RunInProgress(RuntimeError):
    """Another run holds the warehouse's lock."""


_held: dict[Path, list] = {}  # lock files this process holds: [times taken, open handle]
_guard = threading.Lock()


@contextmanager
def run_lock(path: Path):
    key = path.absolute()
    with _guard:
        if key in _held:
            _held[key][0] += 1
        else:
            _held[key] = [1, _acquire(path)]
    try:
        yield
    finally:
        with _guard:
            _held[key][0] -= 1
            if _held[key][0] == 0:
                _held.pop(key)[1].close()


def _acquire(path: Path):
    private_folder(path.parent, tighten=is_state_folder(path.parent))  # the state folder: 0700
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(descriptor, "r+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RunInProgress(
            f"another run is in progress ({holder}); this run did nothing and the published warehouse is unchanged"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    handle.flush()
    return handle
