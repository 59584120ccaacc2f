"""The lock between pytest-xdist workers that lets a test marked ``alone`` run with no other.

Every test holds the lock shared while it runs (setup, call, teardown); a test marked
``alone`` holds it exclusive, so it starts once the other worker's current test has
ended and the other worker starts nothing until it has ended. A waiting ``alone`` test
holds the turnstile, so the other worker's next tests queue behind it instead of
keeping the shared lock taken forever. The lock files are named for the run
(``PYTEST_XDIST_TESTRUNUID``, which xdist gives each worker) in the temporary folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class WorkerLock:
    def __init__(self, prefix: Path):
        self.paths = (prefix.with_name(prefix.name + ".turnstile"), prefix.with_name(prefix.name + ".room"))
        self.turnstile, self.room = (open(path, "a") for path in self.paths)  # noqa: SIM115 (closed in close())

    @classmethod
    def of_this_run(cls) -> WorkerLock | None:
        """The lock of this xdist run; None outside a worker (one process runs one test at a time)."""
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        return cls(Path(tempfile.gettempdir()) / f"surveyhouse-tests-{run}") if run else None

    @contextlib.contextmanager
    def holding(self, *, alone: bool) -> Iterator[None]:
        fcntl.flock(self.turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(self.room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self.room, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the files and remove them: the other worker, if still running, holds them open (no third opens them)."""
        for handle in (self.turnstile, self.room):
            handle.close()
        for path in self.paths:
            path.unlink(missing_ok=True)
