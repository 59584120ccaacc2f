import json
import subprocess
import sys

import polars as pl
import pytest

from cli.main import main
from tests.warehouse.test_publish import SCHEMA
from warehouse.publish import publish_warehouse


@pytest.fixture()
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    frame = pl.DataFrame({"k": [1, 2], "v": ["low", "high"]}, schema={"k": pl.Int64, "v": pl.Enum(["low", "high"])})
    publish_warehouse(path, {"numbers": frame}, SCHEMA)
    return path


def test_sql_prints_a_table_csv_or_json(warehouse, capsys):
    assert main(["sql", "--warehouse", str(warehouse), "select k, v from numbers order by k"]) == 0
    assert "k  v" in capsys.readouterr().out
    main(["sql", "--warehouse", str(warehouse), "--format", "csv", "select k, v from numbers order by k"])
    assert capsys.readouterr().out == "k,v\n1,low\n2,high\n"
    main(["sql", "--warehouse", str(warehouse), "--format", "json", "select k from numbers order by k"])
    assert json.loads(capsys.readouterr().out) == [{"k": 1}, {"k": 2}]


def test_sql_refuses_to_write_with_a_clear_message(warehouse, capsys):
    assert main(["sql", "--warehouse", str(warehouse), "delete from numbers"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: the warehouse is read-only") and "Traceback" not in err


def test_sql_on_a_missing_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["sql", "--warehouse", str(tmp_path / "none.duckdb"), "select 1"]) == 2
    assert "Error: no warehouse at" in capsys.readouterr().err


def test_a_bad_query_is_an_error_line_not_a_traceback(warehouse, capsys):
    assert main(["sql", "--warehouse", str(warehouse), "select nope from numbers"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: query failed") and "Traceback" not in err


def test_sql_reads_the_query_from_stdin(warehouse):
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "sql", "--warehouse", str(warehouse), "--format", "csv"],
        input="select count(*) as n from numbers",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "n\n2\n"


def test_run_on_a_missing_landing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["run", "--inbox", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "Error: the landing folder" in capsys.readouterr().err
