"""Where a small study's night goes: the demo night, step by step, in one process.

``python -m bench.demo_profile INBOX WAREHOUSE`` runs ``surveyhouse.night.run_night`` (no
Prefect) with a runner that times each step (recover, discover, each file's staging,
build, publish, report) and prints one JSON object: the import time of the modules a
night needs, then each step's seconds. The whole-process figures (``surveyhouse run``,
Prefect's server included) come from bench/run.py; this says where their seconds go.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from bench.measure import peak_mib, reset_peak

T = TypeVar("T")
X = TypeVar("X")


class TimedSteps:
    """Each step and each mapped item, in this process, with its wall time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mib: dict[str, float] = {}

    def step(self, name: str, function: Callable[[], T], *, io: bool = False) -> T:
        reset_peak()
        start = time.perf_counter()
        try:
            return function()
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.peak_mib[name] = max(self.peak_mib.get(name, 0.0), peak_mib() or 0.0)

    def map(self, name: str, function: Callable[[X], T], items: Sequence[X], *, label: Callable[[X], str]) -> list[T]:
        return [self.step(f"{name} {label(item)}", lambda item=item: function(item)) for item in items]


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    from schemas.study import load_study
    from surveyhouse.night import run_night
    from surveyhouse.settings import load_settings

    imported = time.perf_counter()
    settings = load_settings(inbox=argv[0], warehouse=argv[1])
    study = load_study()
    loaded = time.perf_counter()
    runner = TimedSteps()
    run = run_night(study, settings, runner=runner)
    done = time.perf_counter()
    steps = {"imports": imported - start, "settings and study": loaded - imported} | runner.seconds
    steps["other (lock, checks, run log)"] = done - loaded - sum(runner.seconds.values())
    print(
        json.dumps(
            {"steps": steps, "peak_rss_mib": runner.peak_mib, "files_new": run.files_new, "published": run.published}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
