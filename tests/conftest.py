"""Shared fixtures: the codebook, where the real exports live (read in place, never copied),
and a throwaway PostgreSQL for DuckLake catalogs and the Prefect server (one per session).

Under pytest-xdist (the README's test command runs two workers), a test marked ``alone``
runs while no other test does: the other worker waits (tests/workers.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import os
from pathlib import Path

import pytest

from schemas.codebook import codebook
from tests.warehouse.postgres import postgres_bin, start_postgres
from tests.workers import WorkerLock, built_once

# Tests write an export and run at once: no waiting for files to settle (subprocesses
# inherit it). The tests of the setting itself set it (tests/hardening/test_landing_files.py).
os.environ.setdefault("SURVEYHOUSE_SETTLE_S", "0")

ROOT = Path(__file__).resolve().parents[1]
REAL_FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"
#: The key of the shared demo night: the one the golden warehouse was built with (tests/golden).
DEMO_KEY = "golden-demo-key"


#: The longest test files (about a minute each on two cores), in that order, after those marked
#: ``alone``: started first, so that the workers end together instead of one of them running
#: a long file alone at the end while the other has finished.
LONGEST_FIRST = (
    "tests/flows/test_scale_out.py",
    "tests/warehouse/test_lake.py",
    "tests/flows/test_serve.py",
    "tests/warehouse/test_lake_concurrency.py",
    "tests/flows/test_serve_lake.py",
    "tests/hardening/test_waves.py",
    "tests/hardening/test_cli_commands.py",
    "tests/flows/test_dask.py",
    "tests/flows/test_rebuild_lake.py",
    "tests/flows/test_readers.py",
    "tests/flows/test_second_study.py",
    "tests/transforms/test_design_oracle.py",
)


def pytest_collection_modifyitems(config, items):
    """The files marked ``alone`` first, then LONGEST_FIRST, then the rest in their order (each file whole)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(
        key=lambda item: (
            item.get_closest_marker("alone") is None,
            rank.get(item.nodeid.split("::")[0], len(rank)),
        )
    )


def pytest_configure(config):
    config.worker_lock = WorkerLock.of_this_run()


def pytest_unconfigure(config):
    if config.worker_lock is not None:
        config.worker_lock.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Setup, call and teardown of a test (its module's fixtures too) under the workers' lock."""
    if item.config.worker_lock is None:  # one process: nothing runs beside a test
        return (yield)
    with item.config.worker_lock.holding(alone=item.get_closest_marker("alone") is not None):
        return (yield)


@pytest.fixture(autouse=True)
def _settings_from_the_test_alone(monkeypatch):
    """Every test starts from the default settings, whatever the shell exports: no
    ``SURVEYHOUSE_*`` variable but ``SURVEYHOUSE_SETTLE_S=0`` (tests write a landing file
    and run at once). Subprocesses started by a test inherit the same."""
    for name in [name for name in os.environ if name.startswith("SURVEYHOUSE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SURVEYHOUSE_SETTLE_S", "0")


@pytest.fixture(scope="session")
def demo_night(tmp_path_factory):
    """The settings of the built-in demo night, run once for the whole test run (all workers).

    The demo as `surveyhouse demo` lands it (both waves, seed 2023) in ``landing/``, run by
    ``run_night`` with the golden key and the report page into ``surveyhouse.duckdb``.
    Read it; a test that runs anything on it copies its folder (``settings.warehouse.parent``)
    and runs on the copy with ``dataclasses.replace(settings, ...)`` (the same key).
    """

    def settings_in(folder: Path):
        from surveyhouse.settings import load_settings

        with pytest.MonkeyPatch.context() as patch:  # the default settings, whatever the shell exports
            for name in [name for name in os.environ if name.startswith("SURVEYHOUSE_")]:
                patch.delenv(name)
            built = load_settings(inbox=str(folder / "landing"), warehouse=str(folder / "surveyhouse.duckdb"))
        return dataclasses.replace(built, secret=DEMO_KEY, settle_s=0)

    def build(folder: Path) -> None:
        from demo.study import write_demo_study
        from schemas.study import load_study
        from surveyhouse.night import run_night

        write_demo_study(folder / "landing")
        run_night(load_study(), settings_in(folder))

    return settings_in(built_once(tmp_path_factory, "demo-night", build))


@pytest.fixture(scope="session")
def book():
    return codebook()


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    if not REAL_FIXTURES.is_dir():
        pytest.skip(f"real survey exports not available here ({REAL_FIXTURES} is absent)")
    return REAL_FIXTURES


_names = itertools.count(1)


def _unavailable(reason: str):
    """Skip on a developer's machine; fail in CI (CI=true), where .ci/run installs what is needed."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the DuckLake tests (.ci/run installs Debian's postgresql)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server on loopback in a temporary folder (tests/warehouse/postgres.py)."""
    if postgres_bin() is None:
        _unavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under /usr/lib/postgresql/*/bin: "
            "install Debian's `postgresql` package to run the DuckLake tests"
        )
    for package in ("duckdb_extension_ducklake", "duckdb_extension_postgres"):
        if importlib.util.find_spec(package) is None:
            _unavailable(f"the Python package {package.replace('_', '-')} is not installed (pip install -e .)")
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def new_lake(postgres):
    """Makes a fresh database for a lake: returns its spec ``ducklake:postgres:<conninfo>``."""

    def make(label: str) -> str:
        name = "".join(ch if ch.isalnum() else "_" for ch in f"lake_{next(_names)}_{label[:40]}".lower())
        return "ducklake:postgres:" + postgres.create_database(name)

    return make
