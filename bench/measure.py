"""Running one command as a child process: wall time, peak memory (RSS), exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def measure(command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Measured:
    """Wall time and the child's own peak RSS (``wait4``'s rusage of that child, KiB on Linux)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # reaped here, not by Popen: its rusage is this child's alone
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(seconds, usage.ru_maxrss / 1024, child.returncode, out.read(), err.read())


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
