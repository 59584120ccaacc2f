"""make.py runs `surveyhouse` commands in the caller's folder: their relative paths are the caller's."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

import make


def test_make_sql_resolves_the_warehouse_against_the_callers_folder(tmp_path, monkeypatch, capfd):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        connection.execute("create table responses as select 4242 as response_id")
    monkeypatch.setattr(make, "ensure_installed", lambda: None)  # this environment is the installed one
    monkeypatch.setattr(make, "BIN", Path(sys.executable).parent)
    monkeypatch.chdir(tmp_path)
    status = make.main(["sql", "--warehouse", "w.duckdb", "--format", "csv", "select response_id from responses"])
    out = capfd.readouterr()
    assert status == 0, out.err
    assert "4242" in out.out
    assert not (make.ROOT / "w.duckdb").exists()
