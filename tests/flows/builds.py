"""A full build of a night's staged files, not published: what the build tests compare."""

from __future__ import annotations

from pathlib import Path

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse import build
from surveyhouse.night import Night, run_night
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import Settings, load_settings


def full_build(night: Night, settings: Settings | None = None) -> dict:
    """Every table the build makes from ``night``'s staged files (``settings``: the night's by default)."""
    return build.build_tables(
        night.study,
        settings or night.settings,
        RunSummary.starting(),
        state=night.state,
        warehouse=night.warehouse,
        staged_dir=night.state.staged_dir,
    )


def published_demo_night(root: Path) -> Night:
    """The demo study written into ``root``'s landing folder, staged and published (``root/w.duckdb``): its night."""
    write_demo_study(root / "landing")
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "w.duckdb"))
    assert run_night(load_study(), settings, report=False).published
    return Night.of(load_study(), settings)
