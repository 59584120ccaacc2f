"""Running one command as a child process: wall time, peak memory (RSS), exit status.

The machine is shared: a child whose processes together hold more than ``memory_cap_mib``
is stopped (its whole process group) and reported as such, rather than letting the
kernel's out-of-memory killer pick a victim among other people's processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cli.main import MALLOC_CONF

ROOT = Path(__file__).resolve().parent.parent
#: Default ceiling on the RSS of a measured command and its children (MiB).
MEMORY_CAP_MIB = 16 * 1024


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str
    started_at: float  # time.time() just before the start
    capped: bool = False  # stopped for holding more than the memory cap


def _group_rss_mib(group: int) -> float:
    """RSS of every process of a process group (MiB)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != group:  # pgrp (fields after the command name: state, ppid, pgrp, ...)
                continue
            with open(f"/proc/{entry}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def measure(
    command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, memory_cap_mib: float = MEMORY_CAP_MIB
) -> Measured:
    """Wall time and the child's own peak RSS (``wait4``'s rusage of that child, KiB on Linux)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started_at = time.time()
        started = time.perf_counter()
        child = subprocess.Popen(
            command,
            cwd=cwd,
            # The allocator setting `surveyhouse` sets at start (cli.main.MALLOC_CONF), for every
            # measured process, whichever entry point it uses (BENCHMARKS.md's peak memory).
            env={"_RJEM_MALLOC_CONF": MALLOC_CONF, **os.environ, **(env or {})},
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        capped = threading.Event()
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.2):
                if _group_rss_mib(child.pid) > memory_cap_mib:
                    capped.set()
                    try:
                        os.killpg(child.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(child.pid, 0)  # reaped here, not by Popen: its rusage is this child's alone
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
        try:  # what the child left behind (a server it started) goes with it
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            seconds, usage.ru_maxrss / 1024, child.returncode, out.read(), err.read(), started_at, capped.is_set()
        )


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def reset_peak() -> None:
    """Reset this process's peak resident set size (Linux: VmHWM), to measure one step's peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mib() -> float | None:
    """This process's peak resident set size since start or the last ``reset_peak``, MiB (Linux)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) / 1024 if line else None
