"""Item 13 of the hardening: a publish keeps the live warehouse's permissions (mode and group)."""

from __future__ import annotations

import grp
import os
import stat

import pandera.polars as pa
import polars as pl
import pytest

from warehouse.publish import publish_warehouse

SCHEMA = {"numbers": pa.DataFrameSchema({"k": pa.Column(pl.Int64)})}


def publish(path, count: int) -> None:
    publish_warehouse(path, {"numbers": pl.DataFrame({"k": list(range(count))})}, SCHEMA)


@pytest.mark.parametrize("mode", [0o444, 0o640, 0o600], ids=oct)
def test_a_publish_keeps_the_live_files_mode(tmp_path, mode):
    path = tmp_path / "w.duckdb"
    publish(path, 1)
    os.chmod(path, mode)
    publish(path, 2)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def _another_group() -> int | None:
    """A group this user may give a file that is not its own group (any group, for root)."""
    current = os.getegid()
    allowed = [g.gr_gid for g in grp.getgrall()] if os.geteuid() == 0 else os.getgroups()
    return next((gid for gid in allowed if gid != current), None)


def test_a_publish_keeps_the_live_files_group(tmp_path):
    group = _another_group()
    if group is None:
        pytest.skip("this user belongs to one group only: no other group to give the warehouse")
    path = tmp_path / "w.duckdb"
    publish(path, 1)
    os.chown(path, -1, group)
    os.chmod(path, 0o640)
    publish(path, 2)
    assert (path.stat().st_gid, stat.S_IMODE(path.stat().st_mode)) == (group, 0o640)


def test_the_first_publish_gets_the_usual_mode(tmp_path):
    path = tmp_path / "w.duckdb"
    umask = os.umask(0o022)
    try:
        publish(path, 1)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
