"""A full build of a night's staged files, not published: what the build tests compare."""

from __future__ import annotations

from surveyhouse import build
from surveyhouse.night import Night
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import Settings


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
