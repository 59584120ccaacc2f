"""The console script keeps the C library's freed buffers for the next ones (cli/main.py ``keep_freed_heap``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Two threads, each reading 20 chunks of 24 MB one after the other (as staging reads a landed
#: file, a chunk parsed while the next is read): the minor page faults they cost.
_CHUNKS = """
import resource, sys, threading
{setup}
def read_chunks():
    held = []
    for i in range(20):
        held.append(b"x" * (24_000_000 + i * 4096))
        if len(held) > 1:
            held.pop(0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
threads = [threading.Thread(target=read_chunks) for _ in range(2)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
_PAGES = 40 * 24_000_000 // 4096


def _faults(setup: str) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    found = subprocess.run(
        [sys.executable, "-c", _CHUNKS.format(setup=setup)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(found.stdout.split()[-1])


def test_the_console_script_reads_chunk_after_chunk_without_faulting_their_pages_in_again():
    """After ``main`` (the console script's start) only the first chunks' pages are faulted in
    (0.40 of them); by the C library's default, freed chunks went back to the kernel and the
    next ones' pages were faulted in anew (0.65 to 1.0 of them, measured)."""
    faults = _faults("import cli.main; cli.main.main(['--help'])")
    assert faults < 0.5 * _PAGES, f"{faults:,} page faults for {_PAGES:,} pages of chunks"
