"""The README's example SQL runs on a demo warehouse, and every query says which wave it shows."""

from __future__ import annotations

import re
from pathlib import Path

from cli.main import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def example_queries() -> list[str]:
    """The queries of the README's "Example SQL" section (surveyhouse sql and duckdb)."""
    section = README.split("## Example SQL", 1)[1].split("\n## ", 1)[0]
    return [
        " ".join(q.split())
        for q in re.findall(r'(?:surveyhouse sql(?: --format csv)?|\.duckdb) "(.*?)"', section, re.S)
    ]


def test_the_readme_sql_examples_run_and_filter_or_show_the_wave(demo_warehouse, capsys):
    queries = example_queries()
    assert len(queries) >= 5
    for query in queries:
        assert re.search(r"\bwave\b", query) or query == "select * from headline", query
        assert main(["sql", "--warehouse", str(demo_warehouse), query]) == 0, query
    out = capsys.readouterr().out
    assert "check_name" in out and "value_label" in out
