"""What is derived from a codebook alone is built once per codebook, never served to another."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import resources

from schemas.canonical import canonical_schema
from schemas.study import load_study
from schemas.tables import warehouse_schemas


def test_a_codebooks_schemas_and_label_table_are_built_once_for_every_file_of_a_night():
    book = load_study().book
    with ThreadPoolExecutor(4) as pool:  # the night stages its files in threads
        schemas = list(pool.map(lambda _: canonical_schema(book), range(8)))
    assert all(schema is canonical_schema(book) for schema in schemas)
    assert book.label_table() is book.label_table()
    assert warehouse_schemas(book)["responses"] is warehouse_schemas(book)["responses"]
    assert warehouse_schemas(book) is not warehouse_schemas(book), "each caller gets its own dict"


def test_a_second_study_in_the_same_process_gets_its_own_schemas():
    book = load_study().book
    other = replace(book, questions=tuple(q for q in book.questions if q.code != "role"))
    assert "role" in canonical_schema(book).columns and "role" not in canonical_schema(other).columns
    assert "role" in warehouse_schemas(book)["responses"].columns
    assert "role" not in warehouse_schemas(other)["responses"].columns
    assert "role" not in set(other.label_table()["question"]) and "role" in set(book.label_table()["question"])


def test_a_study_changed_between_two_readings_is_read_anew_not_served_stale(tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(str(resources.files("schemas").joinpath("data")), folder)
    before = load_study(folder).book
    assert "vice president or above" in set(before.label_table()["spelling"])
    questionnaire = folder / "questionnaire.yaml"
    questionnaire.write_text(
        questionnaire.read_text(encoding="utf-8").replace('"Vice President or above"', '"Vice President or higher"'),
        encoding="utf-8",
    )
    after = load_study(folder).book
    spellings = set(after.label_table()["spelling"])
    assert "vice president or higher" in spellings and "vice president or above" not in spellings
    assert canonical_schema(after) is not canonical_schema(before)
