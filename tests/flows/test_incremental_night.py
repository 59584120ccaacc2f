"""A night with a few new files on a published warehouse writes the `responses` rows that
changed (surveyhouse/incremental.py) and publishes what a full build of the same staged files
publishes: every table and view, row for row and in the same order.

Each scenario starts from the demo (both waves published) and lands one file: a cumulative
re-export that supersedes old responses, earlier duplicates of old respondents (which makes
the old ones duplicates), long responses that move the wave's median duration (old responses
become speeders), a file whose every row is quarantined; and a weighted study, which rakes
every weight again and so is published whole, its crosstab counted from every response.
The crosstab of an unweighted night is counted from the live crosstab's sums (kept in the
warehouse, schema ``_build``) and those of the rows that come in and go out, its flags from
the kept screening inputs (``_build.screening``) and the new files' rows: the sums and inputs
kept after the night are those a full build keeps.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from demo.exports.qualtrics import write_qualtrics
from demo.exports.typeform import write_typeform
from demo.study import demo_respondents
from schemas.study import load_study
from surveyhouse.incremental import ChangedResponses
from surveyhouse.night import run_night

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"


def qualtrics_en(wave: int) -> pl.DataFrame:
    """The demo's English Qualtrics respondents of a wave, in the order the demo exports them."""
    seed, n = {2023: (2023, 2334), 2024: (2024, 2412)}[wave]
    frame, _ = demo_respondents(seed=seed, n=n, wave=wave)
    return frame.filter(pl.col("channel") == "qualtrics_en").sort("submitted_at")


def cumulative_reexport(landing: Path) -> None:
    """The 2024 English Qualtrics export again (same ResponseIds), five responses edited since."""
    frame = qualtrics_en(2024)
    edited = pl.int_range(pl.len()) < 5
    frame = frame.with_columns(
        ai_frequency=pl.when(edited).then(pl.lit("daily")).otherwise(pl.col("ai_frequency")),
        submitted_at=pl.when(edited).then(pl.col("submitted_at") + timedelta(hours=1)).otherwise("submitted_at"),
    )
    write_qualtrics(frame, landing / "2024" / "AI+in+social+media+2024_December+1,+2024.csv", seed=2123)


def earlier_duplicates(landing: Path) -> None:
    """Twenty 2023 respondents again, submitted an hour before their first response (other ids)."""
    frame = qualtrics_en(2023).head(20)
    frame = frame.with_columns(pl.col("started_at", "submitted_at") - timedelta(hours=1))
    write_qualtrics(frame, landing / "AI+in+social+media+2023_resubmitted.csv", seed=99)


def long_responses(landing: Path) -> None:
    """1,500 new 2023 responses of two hours each: the wave's median duration moves up."""
    frame, _ = demo_respondents(seed=77, n=1500, wave=2023)
    frame = frame.with_columns(started_at=pl.col("submitted_at") - timedelta(hours=2))
    write_qualtrics(frame, landing / "AI+in+social+media+2023_late.csv", seed=77)


def quarantined_only(landing: Path) -> None:
    """A file too broken to load: every row quarantined."""
    shutil.copyfile(CASES / "typeform_en.csv", landing / "responses-typeform-broken.csv")


def published(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every table and view of a warehouse but `runs` (each night adds its own), rows as stored;
    and the crosstab's sums it keeps for the next night (as ``_build.crosstab_sums``: the
    combinations that count someone, in a fixed order)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        names = [
            name
            for (name,) in connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' union all "
                "select view_name from duckdb_views() where not internal order by 1"
            ).fetchall()
            if name != "runs"
        ]
        tables = {name: connection.table(name).pl() for name in names}
        kept = connection.execute("select count(*) from duckdb_tables() where schema_name = '_build'").fetchone()[0]
        if not kept:  # a weighted study's crosstab is counted from every response: no sums kept
            return tables
        sums = connection.table("_build.crosstab_sums").pl()
        screening = connection.table("_build.screening").pl().sort("_row")
    counts = [column for column in sums.columns if ":" in column]
    counting = sums.filter(pl.any_horizontal(pl.col(counts) > 0))
    return tables | {
        "_build.crosstab_sums": counting.sort(counting.columns, nulls_last=True),
        "_build.screening": screening,
    }


def rebuilt(settings, folder: Path, study=None) -> dict[str, pl.DataFrame]:
    """What a full build of the same staged files publishes (a copy without its warehouse)."""
    shutil.copytree(settings.warehouse.parent, folder)
    copy = dataclasses.replace(settings, inbox=folder / "landing", warehouse=folder / settings.warehouse.name)
    copy.warehouse.unlink()
    run = run_night(study or load_study(), copy, report=False)
    assert not isinstance(run.tables["responses"], ChangedResponses)
    return published(copy.warehouse)


def assert_published_alike(actual: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert sorted(actual) == sorted(expected)
    differ = []
    for name in expected:
        try:
            assert_frame_equal(actual[name], expected[name])
        except AssertionError as error:
            differ.append(f"{name}: {str(error).splitlines()[0]}")
    assert not differ, f"differs from a full build: {differ}"


def night_on_demo(demo_night, folder: Path, land, study=None, **changes):
    """A copy of the demo night's folder, ``land`` writing a file into its landing folder, and
    the night run on it (of ``study``, default the demo's; ``changes``: to the settings):
    (the run, the settings, old flags)."""
    shutil.copytree(demo_night.warehouse.parent, folder)
    settings = dataclasses.replace(
        demo_night, inbox=folder / "landing", warehouse=folder / demo_night.warehouse.name, **changes
    )
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        before = connection.execute(
            "select wave, source_tool, response_id, is_speeder, is_duplicate from responses"
        ).pl()
    land(settings.inbox)
    return run_night(study or load_study(), settings, report=False), settings, before


@pytest.mark.parametrize(
    "land", [cumulative_reexport, earlier_duplicates, long_responses, quarantined_only], ids=lambda f: f.__name__
)
def test_a_night_writes_the_responses_that_changed_and_publishes_what_a_full_build_does(
    demo_night, tmp_path, land, caplog
):
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        run, settings, before = night_on_demo(demo_night, tmp_path / "night", land)
    assert "built whole" not in caplog.text  # the responses and the crosstab from the live ones
    changed = run.tables["responses"]
    assert isinstance(changed, ChangedResponses) and changed.rows.height < changed.height
    if land is not quarantined_only:
        assert changed.rows.height > 0
    else:
        assert run.files_failed == 1 and changed.rows.height == 0
    after = published(settings.warehouse)
    flipped = before.join(after["responses"], on=["wave", "source_tool", "response_id"], suffix="_now").filter(
        (pl.col("is_speeder") != pl.col("is_speeder_now")) | (pl.col("is_duplicate") != pl.col("is_duplicate_now"))
    )
    if land in (earlier_duplicates, long_responses):  # flags of responses no new file brings moved
        assert flipped.height > 0
    if land is not cumulative_reexport:  # the run's new failures: the new file's (the live quarantine read first)
        (landed,) = (f for f in after["files"]["source_file"] if f not in before_files(demo_night))
        failed = after["quarantine"].filter(pl.col("source_file") == landed, pl.col("source_row").is_not_null())
        assert run.tables["runs"]["quarantined_rows"][-1] == failed.height
    assert_published_alike(after, rebuilt(settings, tmp_path / "full"))


def before_files(night) -> set[str]:
    with duckdb.connect(str(night.warehouse), read_only=True) as connection:
        return {name for (name,) in connection.execute("select source_file from files").fetchall()}


def test_a_weighted_study_publishes_its_responses_whole(demo_night, tmp_path, caplog):
    targets = tmp_path / "weights.yaml"
    targets.write_text("role: {vp: 0.1, senior_director: 0.3, manager: 0.4, entry: 0.2}\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        run, settings, _ = night_on_demo(demo_night, tmp_path / "night", long_responses, weights_file=targets)
    assert not isinstance(run.tables["responses"], ChangedResponses) and run.tables["_internal"] == {}
    assert "responses and crosstab built whole: the study is weighted" in caplog.text
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full"))


def test_a_night_whose_nets_changed_counts_the_crosstab_from_every_response(demo_night, tmp_path, caplog):
    study = load_study()
    book = study.book
    question = book.question("ai_threat")  # the NET `top2` now counts the neutral answer too
    members = (*question.nets["top2"], "neutral")
    assert set(members) <= set(question.option_codes)
    renetted = dataclasses.replace(question, nets=question.nets | {"top2": members})
    questions = tuple(renetted if q.code == question.code else q for q in book.questions)
    study = dataclasses.replace(study, book=dataclasses.replace(book, questions=questions))
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        run, settings, _ = night_on_demo(demo_night, tmp_path / "night", long_responses, study=study)
    assert not isinstance(run.tables["responses"], ChangedResponses)
    assert "responses and crosstab built whole: the live warehouse keeps no" in caplog.text
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full", study))


def test_an_incremental_night_reads_the_live_tables_it_keeps_whole_once(demo_night, tmp_path, monkeypatch):
    import warehouse.publish

    checked: list[list[str] | None] = []
    real = warehouse.publish.unreadable_tables
    monkeypatch.setattr(
        warehouse.publish,
        "unreadable_tables",
        lambda connection, tables=None: checked.append(tables) or real(connection, tables),
    )
    run, _, _ = night_on_demo(demo_night, tmp_path / "night", long_responses)
    assert isinstance(run.tables["responses"], ChangedResponses)
    # run_night read the live warehouse whole first: the copy the publish starts from is not read again
    assert checked == [[]]


def test_an_incremental_night_reads_what_its_build_needs_of_the_live_file_once_while_it_stages(
    demo_night, tmp_path, monkeypatch
):
    import threading

    from warehouse.store import FileWarehouse

    opened: list[str] = []
    real = FileWarehouse.reader
    monkeypatch.setattr(
        FileWarehouse, "reader", lambda warehouse: opened.append(threading.current_thread().name) or real(warehouse)
    )
    run, settings, _ = night_on_demo(demo_night, tmp_path / "night", long_responses)
    assert isinstance(run.tables["responses"], ChangedResponses)
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full"))
    night = threading.main_thread().name
    # the live files, the kept screening inputs and sums, the quarantine: one connection, on the thread
    # that read the file whole
    assert len([name for name in opened if name != night]) == 1
    # the night's own thread: the runs it lists (recovering the state), before the live file is read whole
    assert opened.count(night) == 1


def test_the_nights_report_page_is_drawn_from_the_new_file_before_its_swap_and_is_the_live_warehouses(
    demo_night, tmp_path, monkeypatch
):
    import report
    from report import build_report

    folder = tmp_path / "night"
    shutil.copytree(demo_night.warehouse.parent, folder)
    settings = dataclasses.replace(demo_night, inbox=folder / "landing", warehouse=folder / demo_night.warehouse.name)
    long_responses(settings.inbox)
    drawn: list[str] = []
    monkeypatch.setattr(
        report, "build_report", lambda where, **kw: drawn.append(str(where)) or build_report(where, **kw)
    )
    run = run_night(load_study(), settings)
    assert run.published and run.report == settings.report_file
    # drawn once, from the new file while it was read back whole (not from the live file after the swap)
    assert len(drawn) == 1 and ".building-" in drawn[0]
    live = build_report(settings.warehouse, study=load_study(), name=str(settings.warehouse))
    assert settings.report_file.read_text(encoding="utf-8") == live
    assert settings.report_file.stat().st_mtime >= settings.warehouse.stat().st_mtime  # not stale


def late_responses(landing: Path) -> None:
    """Thirty new 2024 Typeform responses submitted after every other (within the wave's field
    period): their rows come last in the table (the last wave, the last tool, the latest times)."""
    frame, _ = demo_respondents(seed=78, n=30, wave=2024)
    late = datetime(2024, 12, 1, tzinfo=UTC) + pl.duration(minutes=pl.int_range(pl.len()))
    frame = frame.with_columns(submitted_at=late, started_at=late - timedelta(minutes=12))
    write_typeform(frame, landing / "2024" / "responses-typeform-late.csv", seed=78)


@pytest.mark.parametrize(
    ("land", "resorted"), [(earlier_duplicates, True), (late_responses, False)], ids=["before", "after"]
)
def test_the_table_is_put_back_in_order_only_when_a_new_file_sorts_before_old_rows(
    demo_night, tmp_path, caplog, land, resorted
):
    with caplog.at_level(logging.INFO, logger="surveyhouse"):
        run, settings, _ = night_on_demo(demo_night, tmp_path / "night", land)
    assert isinstance(run.tables["responses"], ChangedResponses)
    assert ("responses put back in order" in caplog.text) is resorted
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full"))


def altered_copy(night, folder: Path, *statements: str):
    """The settings of a copy of ``night``'s folder (landing, state, warehouse) into ``folder``,
    its warehouse changed by the SQL ``statements``."""
    shutil.copytree(night.warehouse.parent, folder)
    with duckdb.connect(str(folder / night.warehouse.name)) as connection:
        for statement in statements:
            connection.execute(statement)
    return dataclasses.replace(night, inbox=folder / "landing", warehouse=folder / night.warehouse.name)


def test_a_warehouse_without_kept_screening_inputs_is_built_whole_once_then_incrementally(demo_night, tmp_path, caplog):
    # a warehouse published before `_build.screening` was kept
    older_night = altered_copy(
        demo_night, tmp_path / "older", "DROP TABLE _build.screening", "DROP TABLE _build.screening_rules"
    )
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        first, settings, _ = night_on_demo(older_night, tmp_path / "first", long_responses)
    assert not isinstance(first.tables["responses"], ChangedResponses)
    assert "built whole: the live warehouse keeps no screening inputs" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        second, settings, _ = night_on_demo(settings, tmp_path / "second", earlier_duplicates)
    assert isinstance(second.tables["responses"], ChangedResponses) and "built whole" not in caplog.text
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full"))


def test_the_live_file_copied_while_the_night_builds_is_the_one_published(demo_night, tmp_path, monkeypatch):
    from warehouse.publish import LiveCopy

    taken: list[Path | None] = []
    take = LiveCopy.take
    monkeypatch.setattr(LiveCopy, "take", lambda copy: taken.append(take(copy)) or taken[-1])  # the real copy, noted
    run, settings, _ = night_on_demo(demo_night, tmp_path / "night", long_responses)
    assert isinstance(run.tables["responses"], ChangedResponses)
    assert taken[0] is not None and not taken[0].exists()  # the copy made ahead became the live file
    assert not list(settings.warehouse.parent.glob(f".{settings.warehouse.name}.building-*"))


def test_kept_screening_inputs_of_other_rows_than_the_staged_ones_make_the_night_build_whole(
    demo_night, tmp_path, caplog
):
    # one response's kept inputs lost: the kept flags are not the staged files'
    other_night = altered_copy(demo_night, tmp_path / "other", "DELETE FROM _build.screening WHERE _row = 7")
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        run, settings, _ = night_on_demo(other_night, tmp_path / "night", earlier_duplicates)
    assert not isinstance(run.tables["responses"], ChangedResponses)
    assert "built whole: the live warehouse's screening inputs are not those of the staged files" in caplog.text
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full"))


def test_kept_screening_inputs_stored_in_any_order_are_read_in_staged_row_order(demo_night, tmp_path, caplog):
    # the kept inputs stored last row first (the table as a night's deletes and inserts can leave it)
    reversed_night = altered_copy(
        demo_night,
        tmp_path / "reversed",
        "CREATE TABLE _build.reversed AS SELECT * FROM _build.screening ORDER BY _row DESC",
        "DELETE FROM _build.screening",
        "INSERT INTO _build.screening SELECT * FROM _build.reversed",
        "DROP TABLE _build.reversed",
    )
    with caplog.at_level(logging.INFO, logger="surveyhouse.incremental"):
        run, settings, _ = night_on_demo(reversed_night, tmp_path / "night", earlier_duplicates)
    assert isinstance(run.tables["responses"], ChangedResponses) and "built whole" not in caplog.text
    assert_published_alike(published(settings.warehouse), rebuilt(settings, tmp_path / "full"))
