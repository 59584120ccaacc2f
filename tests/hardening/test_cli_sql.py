"""`surveyhouse sql` reads the warehouse and nothing else: it writes no file, reads no other
file (but folders named with --allow-read), and cannot undo that; wide cells stay short in
a table, CSV is spreadsheet-safe."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from cli.main import main
from tests.warehouse.test_publish import SCHEMA
from warehouse.publish import publish_warehouse


@pytest.fixture()
def warehouse(tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    frame = pl.DataFrame({"k": [1, 2], "v": ["low", "high"]}, schema={"k": pl.Int64, "v": pl.Enum(["low", "high"])})
    publish_warehouse(path, {"numbers": frame}, SCHEMA)
    (tmp_path / "w.report.html").write_text("<html>the report</html>")
    (tmp_path / ".surveyhouse").mkdir()
    (tmp_path / ".surveyhouse" / "secret.key").write_text("s3cret")
    return path


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


STATEMENTS = {
    "copy_to_the_warehouse": "COPY (select 'x' as a) TO '{warehouse}' (FORMAT csv)",
    "copy_to_the_report_page": "COPY (select '<p>owned</p>' as a) TO '{folder}/w.report.html' (FORMAT csv, HEADER false)",
    "export_database": "EXPORT DATABASE '{folder}/dump'",
    "read_csv_of_etc_passwd": "select * from read_csv('/etc/passwd')",
    "read_text_of_the_secret_key": "select * from read_text('{folder}/.surveyhouse/secret.key')",
    "glob_of_the_home_folder": "select * from glob('{home}/*')",
    "set_external_access_back_on": "SET enable_external_access = true",
    "attach_another_file": "ATTACH '{folder}/other.duckdb' AS other",
    "install_an_extension": "INSTALL httpfs",
    "load_an_extension": "LOAD httpfs",
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_sql_cannot_write_any_file_nor_read_one_but_the_warehouse(warehouse, capsys, name):
    folder = warehouse.parent
    query = STATEMENTS[name].format(warehouse=warehouse, folder=folder, home=Path.home())
    before = _snapshot(folder)
    assert main(["sql", "--warehouse", str(warehouse), query]) != 0
    captured = capsys.readouterr()
    assert captured.err.startswith("Error: ") and "Traceback" not in captured.err
    assert "s3cret" not in captured.out and "root:" not in captured.out
    assert _snapshot(folder) == before, "the query touched a file"


def test_sql_refuses_to_turn_file_access_back_on_even_after_a_query(warehouse, capsys):
    query = "select 1; SET enable_external_access = true; select * from read_csv('/etc/passwd')"
    assert main(["sql", "--warehouse", str(warehouse), query]) == 2
    assert "root:" not in capsys.readouterr().out


def test_sql_joins_a_csv_in_a_folder_named_with_allow_read(warehouse, tmp_path, capsys):
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "labels.csv").write_text("k,label\n1,one\n2,two\n")
    query = f"select n.k, l.label from numbers n join read_csv('{lists}/labels.csv') l using (k) order by n.k"
    assert main(["sql", "--warehouse", str(warehouse), "--format", "csv", "--allow-read", str(lists), query]) == 0
    assert capsys.readouterr().out == "k,label\n1,one\n2,two\n"
    assert main(["sql", "--warehouse", str(warehouse), query]) == 2, "without --allow-read the CSV is out of reach"
    assert "--allow-read" in capsys.readouterr().err
    copy = f"COPY (select 1) TO '{lists}/out.csv'"
    assert main(["sql", "--warehouse", str(warehouse), "--allow-read", str(lists), copy]) == 2
    assert sorted(p.name for p in lists.iterdir()) == ["labels.csv"], "an allowed folder is read, never written"


def test_sql_table_cuts_a_wide_cell_csv_and_json_keep_it_whole(warehouse, capsys):
    query = "select repeat('x', 5000000) as wide"
    assert main(["sql", "--warehouse", str(warehouse), query]) == 0
    out = capsys.readouterr().out
    assert len(out) < 1000 and "more characters" in out
    assert main(["sql", "--warehouse", str(warehouse), "--format", "csv", query]) == 0
    assert len(capsys.readouterr().out) > 5_000_000
    assert main(["sql", "--warehouse", str(warehouse), "--format", "json", query]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["wide"]) == 5_000_000


def test_sql_csv_neutralises_spreadsheet_formulas_like_export(warehouse, capsys):
    query = "select '=HYPERLINK(\"http://x\")' as a, '-2' as b, -2 as c, 'plain' as d"
    assert main(["sql", "--warehouse", str(warehouse), "--format", "csv", query]) == 0
    assert capsys.readouterr().out.splitlines()[1] == '"\'=HYPERLINK(""http://x"")",\'-2,-2,plain'
