"""An incremental night keeps the live file's views when they are made of what it would make them
of (``warehouse.publish.views_digest``, kept in the file): not dropped and made again (0.07-0.1 s
of a night); made again when anything they are made of differs, or the file keeps no digest."""

from __future__ import annotations

from pathlib import Path

import duckdb

from surveyhouse.incremental import ChangedResponses
from tests.flows.test_incremental_night import altered_copy, long_responses, night_on_demo
from warehouse.publish import INTERNAL_SCHEMA, VIEWS_DIGEST, view_sql
from warehouse.view_columns import view_purpose


def view_comment(warehouse: Path, view: str) -> str | None:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("select comment from duckdb_views() where view_name = ?", [view]).fetchone()[0]


def test_an_incremental_night_keeps_the_live_views_when_they_are_made_of_the_same(demo_night, tmp_path):
    marked = altered_copy(demo_night, tmp_path / "marked", "COMMENT ON VIEW headline IS 'the live view'")
    run, settings, _ = night_on_demo(marked, tmp_path / "night", long_responses)
    assert isinstance(run.tables["responses"], ChangedResponses)
    assert view_comment(settings.warehouse, "headline") == "the live view"  # not dropped and made again


def incremental_night_after(demo_night, tmp_path, statement: str):
    """An incremental night on a copy of the demo's warehouse whose `headline` view is marked and
    altered by ``statement``; returns the night's settings, once its views are checked made again."""
    older = altered_copy(demo_night, tmp_path / "older", "COMMENT ON VIEW headline IS 'the live view'", statement)
    run, settings, _ = night_on_demo(older, tmp_path / "night", long_responses)
    assert isinstance(run.tables["responses"], ChangedResponses)
    assert view_comment(settings.warehouse, "headline") == view_purpose(view_sql()["headline"])
    return settings


def test_an_incremental_night_makes_the_views_again_when_they_are_made_of_other_sql_or_tables(demo_night, tmp_path):
    statement = f'UPDATE "{INTERNAL_SCHEMA}"."{VIEWS_DIGEST}" SET digest = \'of other views\''
    settings = incremental_night_after(demo_night, tmp_path, statement)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        (digest,) = connection.execute(f'select digest from "{INTERNAL_SCHEMA}"."{VIEWS_DIGEST}"').fetchone()
    with duckdb.connect(str(demo_night.warehouse), read_only=True) as connection:
        assert connection.execute(f'select digest from "{INTERNAL_SCHEMA}"."{VIEWS_DIGEST}"').fetchone() == (digest,)


def test_a_night_on_a_warehouse_published_without_a_views_digest_makes_the_views_again(demo_night, tmp_path):
    incremental_night_after(demo_night, tmp_path, f'DROP TABLE "{INTERNAL_SCHEMA}"."{VIEWS_DIGEST}"')
