"""Fixtures of the warehouse tests (the throwaway PostgreSQL itself is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture()
def lake_catalog(new_lake, request):
    """A fresh database for one test's lake."""
    return new_lake(request.node.name)
