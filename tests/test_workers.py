"""What pytest-xdist workers share (tests/workers.py): a test marked ``alone`` runs while no
other test does, tests not marked so run side by side, and a folder built once is built
by one worker and taken by the others."""

from __future__ import annotations

import fcntl
import threading
import time

from tests.conftest import LONGEST_FIRST, ROOT
from tests.workers import WorkerLock, built_once


def _would_wait(path, mode: int) -> bool:
    """Whether a lock of ``mode`` on ``path``, taken from another open file, would have to wait."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _wait_until(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.001)


def test_tests_not_marked_alone_run_side_by_side(tmp_path):
    one, two = WorkerLock(tmp_path / "run"), WorkerLock(tmp_path / "run")
    with one.holding(alone=False), two.holding(alone=False):
        assert not _would_wait(one.paths[1], fcntl.LOCK_SH)
    one.close()
    two.close()


def test_a_test_marked_alone_waits_for_the_running_one_and_holds_the_next_back(tmp_path):
    running, alone = WorkerLock(tmp_path / "run"), WorkerLock(tmp_path / "run")
    turnstile, room = running.paths
    order, started, may_end = [], threading.Event(), threading.Event()

    def alone_test():
        with alone.holding(alone=True):
            order.append("alone")
            started.set()
            may_end.wait(30)

    thread = threading.Thread(target=alone_test)
    with running.holding(alone=False):
        thread.start()
        _wait_until(lambda: _would_wait(turnstile, fcntl.LOCK_EX))  # it waits at the turnstile...
        assert not started.is_set()  # ...while the other worker's test runs
        order.append("running test ends")
    assert started.wait(30)
    assert _would_wait(turnstile, fcntl.LOCK_EX) is False and _would_wait(room, fcntl.LOCK_SH), (
        "no other test may start while it runs"
    )
    may_end.set()
    thread.join(30)
    with running.holding(alone=False):
        order.append("next test")
    assert order == ["running test ends", "alone", "next test"]
    running.close()
    alone.close()


def test_outside_an_xdist_worker_there_is_no_lock(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_TESTRUNUID", raising=False)
    assert WorkerLock.of_this_run() is None


class _Worker:
    """A worker's tmp_path_factory: its own folder in the run's shared one."""

    def __init__(self, folder):
        self.folder = folder

    def getbasetemp(self):
        return self.folder


def test_a_folder_built_once_is_built_by_the_first_worker_and_taken_by_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    builds, taken = [], []

    def build(folder):
        builds.append(folder)
        time.sleep(0.2)  # the other worker asks meanwhile
        (folder / "warehouse").write_text("built")

    def worker(name):
        (tmp_path / name).mkdir()
        taken.append(built_once(_Worker(tmp_path / name), "demo-night", build))

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("gw0", "gw1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert builds == [tmp_path / "demo-night"] and taken == builds * 2
    assert (tmp_path / "demo-night" / "warehouse").read_text() == "built"


def test_every_file_started_first_exists():
    assert [name for name in LONGEST_FIRST if not (ROOT / name).is_file()] == []
