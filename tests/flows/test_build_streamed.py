"""The build writes `responses` and `choices` as files, never whole in memory (issue 18): the
tables equal those of the whole-frame computation in plain Polars on the staged Parquet
(``transforms.responses.build_responses``, sorted, then ``weight_responses``: what the build
did before), flags, weights, row order and the `answers` view included."""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat

import duckdb
import pandera.polars as pa
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from demo.study import write_demo_study
from schemas.study import load_study
from schemas.tables import warehouse_schemas
from surveyhouse import build, responses_file
from surveyhouse.night import Night, build_dir, publish, run_night
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import load_settings
from tests.flows.builds import full_build
from transforms.responses import (
    FILE_RECENCY,
    RANKED_RECENCY,
    build_answers,
    build_responses,
    mark_superseded,
    rank_files,
)
from transforms.weighting import weight_responses
from warehouse.publish import ParquetTable

TARGETS = {
    "role": {"vp": 0.1, "senior_director": 0.3, "manager": 0.4, "entry": 0.2},
    "language": {"en": 0.7, "fr": 0.3},
}


@pytest.fixture(scope="module")
def weighted_demo(tmp_path_factory):
    """The demo (both waves, re-exports and duplicates) staged and published, raked on role and language."""
    root = tmp_path_factory.mktemp("streamed")
    write_demo_study(root / "landing")
    targets = root / "weights.yaml"
    targets.write_text("".join(f"{v}: {shares}\n" for v, shares in TARGETS.items()).replace("'", ""), encoding="utf-8")
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "w.duckdb"))
    settings = dataclasses.replace(settings, weights_file=targets)
    assert run_night(load_study(), settings, report=False).published
    return Night.of(load_study(), settings)


def _whole_frame_responses(night: Night) -> pl.DataFrame:
    """The responses as the build computed them before issue 18: one frame, in memory."""
    book, settings = night.study.book, night.settings
    staged = night.state.staged()
    current, _ = build._current_versions(staged, build.file_versions(staged), book=book)
    return (
        build_responses(current.drop("_row"), book=book, policy=settings.screening)
        .sort("wave", "source_tool", "submitted_at", "response_id")
        .collect()
        .pipe(weight_responses, targets=settings.weighting_targets(), key=build.KEY)
    )


def test_streamed_responses_equal_the_whole_frame_screening_and_weighting(weighted_demo):
    night = weighted_demo
    expected = _whole_frame_responses(night)
    assert expected["is_duplicate"].sum() > 0 and expected["is_speeder"].sum() > 0  # the flags are exercised
    assert expected["weight"].null_count() < expected.height
    tables = full_build(night)
    built = tables["responses"].lazy().collect()
    assert_frame_equal(built, expected.select(built.columns), check_exact=True)
    choices = tables["choices"].lazy().collect()
    assert choices.height == expected.height  # a warehouse built whole: every response's choices
    assert_frame_equal(choices, expected.select(choices.columns), check_exact=True, check_dtypes=False)
    assert tables["responses"].paths[0].parent == build_dir(night.state)


def test_published_answers_view_equals_the_whole_frame_answers(weighted_demo):
    night = weighted_demo
    expected = build_answers(_whole_frame_responses(night).lazy(), book=night.study.book).collect()
    with duckdb.connect(str(night.settings.warehouse), read_only=True) as connection:
        published = connection.execute("select * from answers").pl()
        responses = connection.execute("select * from responses").pl()
    assert_frame_equal(
        published.select(pl.all().cast(pl.String)).sort(pl.all()),
        expected.select(published.columns).select(pl.all().cast(pl.String)).sort(pl.all()),
    )
    whole = _whole_frame_responses(night)
    assert_frame_equal(
        responses.select(pl.all().cast(pl.String)),
        whole.select(responses.columns).select(pl.all().cast(pl.String)),
    )


def test_the_build_folder_is_gone_after_the_publish(weighted_demo, tmp_path):
    night = weighted_demo
    tables = full_build(night)
    assert tables["responses"].paths[0].is_file()
    publish(night, RunSummary.starting(), tables)
    assert not build_dir(night.state).exists()


def test_the_build_folder_is_0700_and_its_files_0600_whatever_the_umask(weighted_demo):
    night = weighted_demo
    previous = os.umask(0o022)  # a service account's usual umask: files 0644, folders 0755
    try:
        build.build_tables(
            night.study, night.settings, RunSummary.starting(), state=night.state, warehouse=night.warehouse
        )
    finally:
        os.umask(previous)
    folder = build_dir(night.state)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.rglob("*")}
    assert modes and set(modes.values()) == {0o600} and stat.S_IMODE(folder.stat().st_mode) == 0o700, modes


def _whole_frame_current(night: Night) -> pl.DataFrame:
    """The responses screened and weighted as one frame, the versions decided on every row's exact key."""
    book, settings = night.study.book, night.settings
    staged = night.state.staged()
    ranks = rank_files(build.file_versions(staged).lazy().select("file_order", *FILE_RECENCY))
    current = (
        mark_superseded(build.staged_rows(staged, book=book).join(ranks, on="file_order"), recency=RANKED_RECENCY)
        .filter(~pl.col("is_superseded"))
        .drop("_row", "file_recency", "is_superseded", "file_order")
    )
    return (
        build_responses(current, book=book, policy=settings.screening)
        .sort("wave", "source_tool", "submitted_at", "response_id")
        .collect()
        .pipe(weight_responses, targets=settings.weighting_targets(), key=build.KEY)
    )


def test_responses_stay_exact_where_every_hash_collides_and_the_build_goes_a_sliver_at_a_time(
    weighted_demo, monkeypatch
):
    """Versions, duplicates and the table order are decided on 64-bit hashes, with exact values
    where hashes are shared: with every hash made equal (every row a collision), the duplicates
    compared a share of the emails at a time and the table written in several parts, the table
    is still the whole-frame one."""
    night = weighted_demo
    expected = _whole_frame_current(night)
    # Hashes that many different values share: a key's first character (and one for all versions, all answers).
    first = lambda column: pl.when(pl.col(column).is_not_null()).then(pl.col(column).str.slice(0, 1).hash())  # noqa: E731
    monkeypatch.setattr(build, "version_key", lambda: pl.lit(7, pl.UInt64))
    monkeypatch.setattr(
        responses_file,
        "hashed_keys",
        lambda book: {
            "email_hash": first("email_hash"),
            "ip_hash": first("ip_hash"),
            "_answers_key": pl.lit(7, pl.UInt64),
        },
    )
    monkeypatch.setattr(responses_file, "_SAMPLE_ROWS", 500)  # parts of about a thousand rows
    monkeypatch.setattr(responses_file, "_CANDIDATE_BYTES", 2**20 // 1000)  # a thousand candidates at a time
    settings = dataclasses.replace(night.settings, build_memory_mb=1)
    tables = full_build(night, settings)
    assert len(tables["responses"].paths) > 2
    built = tables["responses"].lazy().collect()
    assert_frame_equal(built, expected.select(built.columns), check_exact=True)


def test_a_response_key_written_twice_fails_the_validation_of_the_big_tables(weighted_demo):
    """The unique key of `responses` and `choices` is checked on the rows whose key's hash
    another row shares: a key written twice is still a failure, with its rows named."""
    night = weighted_demo
    tables = full_build(night)
    schemas = warehouse_schemas(night.study.book)
    for name in ("responses", "choices"):
        table = tables[name]
        assert build._validated(table, schemas[name]) is table
        twice = ParquetTable(table.paths + table.paths[:1], table.height * 2, table.schema)
        with pytest.raises(pa.errors.SchemaErrors, match="response_id"):
            build._validated(twice, schemas[name])


def test_a_full_build_writes_each_responses_multi_select_answers_once(weighted_demo):
    """`choices` of a whole build is read from the responses' own files (which hold the
    multi-select answers, in the table's order): no second file of them."""
    tables = full_build(weighted_demo)
    try:
        responses, choices = tables["responses"], tables["choices"]
        assert choices.paths == responses.paths and choices.height == responses.height
        assert list(choices.lazy().collect_schema()) == list(
            warehouse_schemas(weighted_demo.study.book)["choices"].columns
        )
        assert sorted(path.name for path in build_dir(weighted_demo.state).iterdir()) == [
            p.name for p in responses.paths
        ]
    finally:
        shutil.rmtree(build_dir(weighted_demo.state), ignore_errors=True)


def test_the_exact_values_of_every_duplicate_candidate_are_read_in_one_pass_of_the_rows(weighted_demo, monkeypatch):
    """A person's and a machine's candidates (mostly the same rows) have their exact values read in
    one pass of the staged rows when they fit in the build's memory: the same flags as when they are
    read a kind (and a share of the emails) at a time."""
    book = weighted_demo.study.book
    staged = weighted_demo.state.staged()
    current, _ = build._current_versions(staged, build.file_versions(staged), book=book)
    narrow = responses_file.screening_inputs(current, book=book).collect()
    reads = []

    def read(at: pl.Series) -> pl.LazyFrame:
        reads.append(at.len())
        return current.filter(pl.col("_row").is_in(at.implode()))

    once = responses_file._duplicates(None, narrow, book=book, memory_mb=256, read=read)
    assert len(reads) == 1 and once["is_duplicate"].sum() > 0
    monkeypatch.setattr(responses_file, "_CANDIDATE_BYTES", 2**20 // 4)  # four candidates a share
    reads.clear()
    in_shares = responses_file._duplicates(None, narrow, book=book, memory_mb=1, read=read)
    assert len(reads) >= 3  # two shares of the emails at least, then the machines
    assert_frame_equal(once.sort("_row"), in_shares.sort("_row"))
