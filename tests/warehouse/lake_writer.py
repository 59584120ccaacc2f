"""One writer of the concurrency test, in its own process (as on its own machine).

    python -m tests.warehouse.lake_writer INBOX LAKE_SPEC LAKE_DATA STATE BARRIER NAME PEER

Runs the pipeline once into the lake with its own state folder. With a barrier folder,
the first publish attempt waits, after it has read the lake's snapshot, until the peer
writer has read it too: both then build on the same snapshot, so exactly one of the two
commits conflicts and is redone (the race the test is about, made certain). Prints a
JSON line: files, conflicts, published.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from warehouse import lake as shared  # the lake writer: warehouse.store.LakeWarehouse calls shared.add_staged


def main(inbox: str, spec: str, data: str, state: str, barrier: str, name: str, peer: str) -> None:
    import os

    os.environ["SURVEYHOUSE_STATE"] = state
    settings = load_settings(inbox=inbox, warehouse=spec, lake_data=data)
    conflicts: list[str] = []

    class Count(logging.Handler):
        def emit(self, record):
            conflicts.append(record.getMessage())

    logging.getLogger("surveyhouse.lake").addHandler(Count())  # each conflict with the other writer is logged once
    original, waited = shared.add_staged, []

    def add_staged_after_peer(connection, staged):
        if not waited:
            waited.append(True)
            Path(barrier, name).touch()
            deadline = time.monotonic() + 60
            while not Path(barrier, peer).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return original(connection, staged)

    shared.add_staged = add_staged_after_peer
    run = run_night(load_study(), settings)
    print(json.dumps({"name": name, "files": run.files_new, "conflicts": len(conflicts), "published": run.published}))


if __name__ == "__main__":
    main(*sys.argv[1:])
