"""Fixtures of the warehouse tests (the throwaway PostgreSQL itself is in tests/conftest.py)."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture()
def lake_catalog(new_lake, request):
    """A fresh database for one test's lake."""
    return new_lake(request.node.name)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory):
    """A warehouse of the demo study, one wave (2023) of 600 respondents (built once)."""
    from demo.study import write_demo_study
    from schemas.study import load_study
    from surveyhouse.night import run_night
    from surveyhouse.settings import load_settings

    root = tmp_path_factory.mktemp("demo")
    write_demo_study(root / "landing", waves=((2023, 600),))
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "w.duckdb"))
    run_night(load_study(), dataclasses.replace(settings, secret="demo", settle_s=0), report=False)
    return root / "w.duckdb"
