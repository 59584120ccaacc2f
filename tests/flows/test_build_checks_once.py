"""The build checks what it must, once (issue 18): the unique key of `responses` and of a whole
build's `choices`, read from the same files, is checked once; a key written twice still fails."""

from __future__ import annotations

import pandera.polars as pa
import pytest

from schemas.study import load_study
from schemas.tables import warehouse_schemas
from surveyhouse import build
from tests.flows.builds import full_build, published_demo_night
from warehouse.publish import ParquetTable


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Every table of a full build of the demo (not published: its file loaded ahead discarded)."""
    root = tmp_path_factory.mktemp("checks")
    night = published_demo_night(root)
    built = full_build(night)
    built.pop("_loaded").discard()
    return built


def test_the_key_of_responses_and_choices_in_the_same_files_is_checked_once(tables, monkeypatch):
    schemas = warehouse_schemas(load_study().book)
    assert tables["choices"].paths == tables["responses"].paths
    reads = []
    sharing = build._sharing_hashes
    monkeypatch.setattr(build, "_sharing_hashes", lambda keys: reads.append(keys) or sharing(keys))
    big = {name: tables[name] for name in ("responses", "choices")}
    assert build._validated_tables(big, schemas) == big
    assert len(reads) == 1


def test_a_key_written_twice_in_the_shared_files_fails_the_first_table_checked(tables):
    schemas = warehouse_schemas(load_study().book)
    twice = {
        name: ParquetTable(tables[name].paths + tables[name].paths[:1], tables[name].height * 2, tables[name].schema)
        for name in ("responses", "choices")
    }
    with pytest.raises(pa.errors.SchemaErrors, match="response_id"):
        build._validated_tables(twice, schemas)
    with pytest.raises(pa.errors.SchemaErrors, match="response_id"):
        build._validated_tables({"choices": twice["choices"]}, schemas)
