"""What pytest-xdist workers share: the lock that lets a test marked ``alone`` run with no
other, and folders built once for the whole run (``built_once``).

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
import shutil
import tempfile
from collections.abc import Callable, Iterator
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


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder built by ``build(folder)`` once for the whole test run, whichever worker asks first.

    Under xdist the folder sits in the run's temporary folder that all workers share (each
    worker's own is a folder in it); the others wait for the build and take the same folder.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = shared / name, shared / f"{name}.built"
    with open(shared / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed build left
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
