"""`surveyhouse sql` on a DuckLake: the lake's tables answer, no other file is read, nothing is written."""

from __future__ import annotations

import subprocess
import sys

import pandera.polars as pa
import polars as pl

from cli.main import main
from warehouse.lake import Lake, publish_lake


def test_sql_on_a_lake_reads_its_tables_and_no_other_file(new_lake, tmp_path, monkeypatch, capsys):
    spec = new_lake("sql sandbox")
    monkeypatch.setenv("SURVEYHOUSE_STATE", str(tmp_path / ".surveyhouse"))
    lake = Lake(spec.removeprefix("ducklake:"), tmp_path / "data", tmp_path / ".surveyhouse" / "extensions")
    schemas = {
        "numbers": pa.DataFrameSchema({"n": pa.Column(pl.Int64, description="A number.")}, name="numbers"),
        "runs": pa.DataFrameSchema({"run_id": pa.Column(pl.Utf8, description="A run.")}, name="runs"),
    }
    publish_lake(lake, {"numbers": pl.DataFrame({"n": [1, 2]}), "runs": pl.DataFrame({"run_id": ["a"]})}, schemas)
    # In another process, as a reader opens it (this one still holds the writer's attachment).
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "sql",
            "--warehouse",
            spec,
            "--format",
            "csv",
            "select sum(n) as total from numbers",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout == "total\n3\n", out.stderr
    for query in ("select * from read_csv('/etc/passwd')", f"COPY (select 1) TO '{tmp_path}/out.csv'"):
        assert main(["sql", "--warehouse", spec, query]) == 2
        assert capsys.readouterr().err.startswith("Error: ")
    assert not (tmp_path / "out.csv").exists()
