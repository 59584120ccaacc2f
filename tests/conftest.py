"""Shared fixtures: the codebook, and where the real exports live (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.codebook import codebook

ROOT = Path(__file__).resolve().parents[1]
REAL_FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"


@pytest.fixture(scope="session")
def book():
    return codebook()


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    if not REAL_FIXTURES.is_dir():
        pytest.skip(f"real survey exports not available here ({REAL_FIXTURES} is absent)")
    return REAL_FIXTURES
