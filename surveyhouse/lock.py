"""One run at a time per warehouse, across processes (an advisory file lock).

The lock is released by the operating system when its process dies, so a killed run
never leaves a stale lock behind. Taking it makes the state folder private (0700) and
the lock file 0600 (surveyhouse/private.py): every run and rebuild starts here.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from surveyhouse.private import is_state_folder, open_private, private_folder


class RunInProgress(RuntimeError):
    """Another run holds the warehouse's lock."""


@contextmanager
def run_lock(path: Path):
    private_folder(path.parent, tighten=is_state_folder(path.parent))
    handle = open_private(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunInProgress(
                f"another run is in progress ({holder}); this run did nothing and the published warehouse is unchanged"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        handle.close()
