"""`surveyhouse rebuild`: the whole warehouse again from the archive of raw files."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from cli.main import main
from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse import rebuild
from surveyhouse.night import Night, run_night, state_for
from surveyhouse.settings import load_settings
from tests.flows.snapshots import assert_same, snapshot


@pytest.fixture(scope="module")
def incremental(tmp_path_factory):
    """A warehouse built in two runs: the 2023 exports, then the 2024 ones."""
    root = tmp_path_factory.mktemp("rebuild")
    full = root / "landing"
    write_demo_study(full, waves=((2023, 300), (2024, 300)))
    first = root / "landing_2023"
    first.mkdir()
    for path in full.glob("*.csv"):
        shutil.copy(path, first / path.name)
    state = root / "built"
    run_night(load_study(), load_settings(inbox=str(first), warehouse=str(state / "w.duckdb")))
    run_night(load_study(), load_settings(inbox=str(full), warehouse=str(state / "w.duckdb")))
    return state


@pytest.fixture()
def built(incremental, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(incremental, folder)
    return folder / "w.duckdb"


def leftovers(warehouse):
    staged = state_for(load_settings(warehouse=str(warehouse))).staged_dir
    return sorted(p.name for p in staged.parent.iterdir() if p.name != staged.name)


def test_a_rebuild_from_the_archive_equals_the_incremental_build(built, capsys):
    before = snapshot(built, drop=())  # run ids included: a rebuild keeps the run that ingested each file
    assert main(["rebuild", "--warehouse", str(built)]) == 0  # the landing folders play no part
    assert "10 file(s) re-staged in their original order" in capsys.readouterr().out
    assert_same(snapshot(built, drop=()), before, "rebuilt")
    with duckdb.connect(str(built), read_only=True) as connection:
        assert connection.execute("select count(*), count(*) filter (where status = 'ok') from runs").fetchone() == (
            3,
            3,
        )
    assert leftovers(built) == []


def test_without_staged_results_the_published_files_table_says_what_was_ingested(built):
    settings = load_settings(warehouse=str(built))
    from_staged = rebuild.ingested_files(Night.of(load_study(), settings))
    shutil.rmtree(state_for(settings).staged_dir)
    from_warehouse = rebuild.ingested_files(Night.of(load_study(), settings))
    keys = ("file_sha256", "source_file", "wave", "file_order", "run_id", "archived_as")
    assert [{k: r[k] for k in keys} for r in from_warehouse] == [{k: r[k] for k in keys} for r in from_staged]
    assert len(from_staged) == 10


def test_a_rebuild_killed_after_its_publish_is_finished_by_the_next_run(built, monkeypatch):
    settings = load_settings(warehouse=str(built))
    marker = state_for(settings).staged_dir / "old-staged-folder"
    marker.write_text("x")
    before = snapshot(built, drop=())
    real, calls = rebuild.recover_state, []
    monkeypatch.setattr(
        rebuild, "recover_state", lambda s, **kw: calls.append(s) or (real(s, **kw) if len(calls) == 1 else None)
    )
    rebuild.rebuild_warehouse(load_study(), settings)  # "killed" before its staged folder is swapped in
    assert marker.exists() and any(".rebuild-" in name for name in leftovers(built))
    empty_landing = built.parent / "nothing-new"
    empty_landing.mkdir()
    run = run_night(load_study(), load_settings(inbox=str(empty_landing), warehouse=str(built)))
    assert not run.published, "nothing new: the rebuilt warehouse stays"
    assert not marker.exists() and leftovers(built) == []
    assert len(state_for(settings).staged()) == 10
    assert_same(snapshot(built, drop=()), before, "rebuilt, then finished")


def test_a_rebuild_without_the_archived_file_says_so_and_changes_nothing(built, capsys):
    settings = load_settings(warehouse=str(built))
    published = built.read_bytes()
    victim = next(state_for(settings).archive_dir.iterdir())
    victim.unlink()
    assert main(["rebuild", "--warehouse", str(built)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("Error: the archive")
        and "lacks 1 ingested file(s)" in err
        and "published warehouse is unchanged" in err
    )
    assert built.read_bytes() == published
