"""The operations commands' fast paths: dictionary, and serve's refusals before it starts anything."""

from __future__ import annotations

import polars as pl
import pytest

from cli.main import main
from surveyhouse.settings import check_cron
from tests.warehouse.test_export import SCHEMA, VIEWS
from warehouse.dictionary import dictionary_markdown
from warehouse.publish import publish_warehouse, view_sql


def test_dictionary_without_a_warehouse_prints_the_generated_one(tmp_path, capsys):
    assert main(["dictionary", "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "no warehouse at" in out.splitlines()[0]
    assert out.endswith(dictionary_markdown())


def test_dictionary_of_a_warehouse_comes_from_its_dictionary_view(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    frame = pl.DataFrame(
        {"k": [1], "delta": [0.5], "text": ["x"], "level": ["high"]},
        schema={"k": pl.Int64, "delta": pl.Float64, "text": pl.Utf8, "level": pl.Enum(["=low", "high"])},
    )
    publish_warehouse(path, {"notes": frame}, SCHEMA, VIEWS | {"dictionary": view_sql()["dictionary"]})
    assert main(["dictionary", "--warehouse", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"# Data dictionary of {path}" in out
    assert "### `notes`\n\nOne row per note.\n" in out
    assert "| `delta` | DOUBLE | A signed number, points. |" in out and "| `level` | ENUM | Level. |" in out
    assert "### `long_notes` (view)" in out
    assert out.index("### `notes`") < out.index("### `long_notes` (view)"), "tables first, then views"


@pytest.mark.parametrize(
    ("cron", "timezone", "message"),
    [
        ("0 2 * * *", "Mars/Olympus", "--timezone=Mars/Olympus is not valid: an IANA time zone"),
        ("every night", "UTC", "--cron='every night' is not valid: a cron schedule of five fields"),
        ("99 99 * * *", "UTC", "--cron='99 99 * * *' is not valid: a cron schedule of five fields"),
    ],
)
def test_serve_refuses_a_bad_schedule_before_starting_a_server(tmp_path, capsys, cron, timezone, message):
    (tmp_path / "landing").mkdir()
    argv = ["serve", "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]
    assert main([*argv, "--cron", cron, "--timezone", timezone]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {message}") and "Traceback" not in err
    assert not (tmp_path / ".surveyhouse").exists(), "nothing was started or written"


@pytest.mark.parametrize("cron", ["0 2 * * *", "30 3 * * 1-5", "*/15 * * * *", "@daily", "0 2 1 JAN *"])
def test_ordinary_cron_schedules_pass(cron):
    check_cron(cron)


@pytest.mark.parametrize("cron", ["0 0 2 * * *", "99 99 * * *", "H 2 * * *", "every night"])
def test_a_cron_prefect_would_refuse_or_with_six_fields_is_refused(cron):
    with pytest.raises(ValueError, match="five fields"):
        check_cron(cron)
