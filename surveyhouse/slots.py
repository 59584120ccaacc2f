"""How many files a night stages at once: within the machine's threads, and a big file alone.

Staging a small export holds a few MiB; staging a big one holds its batch of rows, its
mapped and typed slices (about 450-600 MiB whatever its size once it is read in batches, and
about ten times its size for a workbook or SPSS file, read whole). Small files are staged side by
side, up to ``SURVEYHOUSE_THREADS`` at a time; a file over ``BIG_FILE_BYTES`` waits until it
can be staged alone, so the night's peak is one big file's, not the sum of every file's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: A file this large (bytes) is staged alone: a quarter of a delimited batch
#: (``surveyhouse.read.BATCH_BYTES``), where staging's working set stops being small.
BIG_FILE_BYTES = 16 << 20


class StagingSlots:
    """At most ``threads`` files staged at once, and a big file alone (``taken``)."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self._free = self.threads
        self._changed = threading.Condition()

    def slots_for(self, path: Path) -> int:
        """The slots staging the file at ``path`` takes: one, or every slot for a big file."""
        try:
            size = path.stat().st_size
        except OSError:
            return 1  # staging says what is wrong with it
        return self.threads if size > BIG_FILE_BYTES else 1

    def __getstate__(self) -> dict:
        """Sent to another process (a Dask worker stages there): that process's own free slots."""
        return {"threads": self.threads}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["threads"])

    @contextmanager
    def taken(self, path: Path) -> Iterator[None]:
        """Wait until the file at ``path`` may be staged, and hold its slots while it is."""
        wanted = self.slots_for(path)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= wanted)
            self._free -= wanted
        try:
            yield
        finally:
            with self._changed:
                self._free += wanted
                self._changed.notify_all()
