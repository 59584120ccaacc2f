"""`answers` is a view over the columnar answers (the single-choice columns of `responses`,
the lists of `choices`): on a generated 20k-response export it gives the rows and types of
the `answers` table that main at 80f575d built (its checksum pinned below), and every row of
``build_answers``, the Polars transform that table was built with."""

from __future__ import annotations

import dataclasses
import os
import shutil

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from bench.generate import export
from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.test_incremental_answers import keep_rows
from tests.flows.test_nights import respondents
from tests.golden.checksums import table_checksums
from transforms.responses import build_answers
from warehouse.ddl import duckdb_type

COLUMNS = ["wave", "source_tool", "response_id", "question", "answer"]

#: `answers` of the warehouse main at 80f575d (answers a table) built from bench.generate's
#: 20,000-response Qualtrics export (seed 1): rows and the order-free checksum of every row.
BEFORE = {"rows": 383_950, "checksum": "3541682777296963132620022"}


def test_the_answers_view_has_the_rows_and_types_of_the_answers_table_it_replaces(tmp_path):
    """Every row of `answers` as before, its types, and its description in the `dictionary` view."""
    inbox = tmp_path / "landing"
    inbox.mkdir()
    path = export(tmp_path / "cache", "qualtrics_en", 20_000)
    shutil.copy(path, inbox / path.name)
    os.utime(inbox / path.name, (1.7e9, 1.7e9))
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    study = load_study()
    run_night(study, dataclasses.replace(settings, secret="k", settle_s=0), report=False)

    checksum = table_checksums(str(tmp_path / "w.duckdb"), {"answers": COLUMNS})["answers"]
    assert {"rows": checksum["rows"], "checksum": checksum["checksum"]} == BEFORE

    book = study.book
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        viewed = connection.sql("select * from answers").pl()
        stored = connection.sql("select * from responses join choices using (wave, source_tool, response_id)").pl()
        types = connection.sql("select column_name, column_type from (describe answers)").fetchall()
        (responses,) = connection.sql("select count(*) from responses").fetchone()
        described = connection.sql(
            "select column_name, description, table_description from dictionary where table_name = 'answers'"
        ).fetchall()
    assert stored.height == responses > 19_000  # every accepted response has its one choices row
    expected = build_answers(stored.lazy(), book=book).collect()
    viewed = viewed.with_columns(pl.col("question").cast(book.question_dtype), pl.col("answer").cast(book.answer_dtype))
    assert_frame_equal(viewed.sort(COLUMNS), expected.sort(COLUMNS))
    assert [column for column, _, _ in described] == COLUMNS  # the view is in the dictionary, described
    assert all(text and purpose.startswith("One row per response") for _, text, purpose in described)
    assert types == [
        ("wave", "INTEGER"),
        ("source_tool", "VARCHAR"),
        ("response_id", "VARCHAR"),
        ("question", duckdb_type(book.question_dtype)),
        ("answer", duckdb_type(book.answer_dtype)),
    ]


def test_a_warehouse_whose_answers_are_a_table_gets_choices_built_whole_and_the_view(tmp_path):
    """A warehouse published before `choices` (answers a table, no choices) is not kept from:
    the next night builds every response's choices, and `answers` becomes the view."""
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    write_qualtrics(respondents(10), inbox / "night1.csv", seed=9)
    run_night(load_study(), settings)
    with duckdb.connect(str(settings.warehouse)) as connection:  # as the code before issue 18 left it
        connection.execute("create table answers_table as select * from answers")
        connection.execute("drop view answers")
        connection.execute("drop table choices")
        connection.execute("alter table answers_table rename to answers")

    write_qualtrics(respondents(14), inbox / "night2_new.csv", seed=9)
    keep_rows(inbox / "night2_new.csv", [10, 11, 12, 13])  # four new responses
    assert run_night(load_study(), settings).published
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        kinds = dict(connection.execute("select table_name, table_type from information_schema.tables").fetchall())
        answered = connection.execute("select count(distinct response_id) from answers").fetchone()[0]
        (choices,) = connection.execute("select count(*) from choices").fetchone()
    assert kinds["answers"] == "VIEW" and kinds["choices"] == "BASE TABLE" and answered == 14 and choices == 14
