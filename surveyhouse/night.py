"""One night, as a plain function: ``run_night(study, settings, warehouse, runner)``.

    recover the state folder -> discover new files -> stage each (through the runner)
    -> build every table from all staged files -> publish -> write the report page

A night that finds nothing new builds and publishes nothing: it is a line of the run log
(status ``nothing_new``), which the next publish lists in `runs`.

The night knows nothing of Prefect. The runner decides how its steps run: in this
process (``InProcess``, what tests, benchmarks and `rebuild` use), or as Prefect tasks
with retries on I/O errors and the per-file steps fanned out to threads or a Dask
cluster (flows/nightly.py). Whatever kills a night, the next one finishes its work: the
state folder is repaired first, under the warehouse's run lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

import duckdb
import polars as pl

from schemas.figures import published_figures_frame
from schemas.study import Study
from schemas.tables import warehouse_schemas
from surveyhouse.build import build_dir, build_tables, live_reader
from surveyhouse.discover import Discovery, FileWaves, NewFile, discover_files, held_entry, record_held
from surveyhouse.diskspace import record_failure
from surveyhouse.incremental import ChangedResponses, LiveRead
from surveyhouse.lake import StateShare
from surveyhouse.landing import FileNotTaken, NotTaken, shown
from surveyhouse.read import ReadLimits
from surveyhouse.runlog import RunSummary, quiet_night_record
from surveyhouse.settings import SecretChanged, Settings
from surveyhouse.slots import StagingSlots
from surveyhouse.staging import (
    STAGING_THREADS,
    FileHeld,
    StagedFile,
    expire_archive,
    keyed_staged_ids,
    stage_export,
    unkeyed_staged_ids,
)
from surveyhouse.state import StateFolder
from surveyhouse.study_change import check_staged_with_this_questionnaire
from transforms.display import display_name, excerpt
from warehouse.generated_views import generated_views
from warehouse.health import LiveWarehouseUnreadable, one_line
from warehouse.publish import KeptRows, LiveCopy, view_sql
from warehouse.queries import run_query
from warehouse.store import Warehouse, warehouse_at

logger = logging.getLogger("surveyhouse.night")
T = TypeVar("T")
X = TypeVar("X")


class Runner(Protocol):
    """How a night's steps run: one step, or one function mapped over files."""

    def step(self, name: str, function: Callable[[], T], *, io: bool = False) -> T:
        """Run ``function`` as the step ``name`` (``io``: it reads or writes files, a retry may help)."""

    def map(self, name: str, function: Callable[[X], T], items: Sequence[X], *, label: Callable[[X], str]) -> list[T]:
        """``function`` over ``items``, results in the items' order."""


class InProcess:
    """Every step in this process, one after the other."""

    def step(self, name: str, function: Callable[[], T], *, io: bool = False) -> T:
        return function()

    def map(self, name: str, function: Callable[[X], T], items: Sequence[X], *, label: Callable[[X], str]) -> list[T]:
        return [function(item) for item in items]


@dataclass(frozen=True)
class Night:
    """What one night works with: the study, the settings, the warehouse and the writer's state."""

    study: Study
    settings: Settings
    warehouse: Warehouse
    state: StateFolder

    @classmethod
    def of(cls, study: Study, settings: Settings, warehouse: Warehouse | None = None) -> Night:
        warehouse = warehouse or warehouse_of(settings)
        return cls(study, settings, warehouse, state_of(settings, warehouse))


def warehouse_of(settings: Settings) -> Warehouse:
    """The warehouse the settings name (a file, or a DuckLake with its data folder)."""
    return warehouse_at(
        settings.warehouse,
        lake_data=settings.lake_data,
        state_dir=lambda warehouse: settings.state or warehouse.default_state_dir(),
        keep_days=settings.lake_keep_days,
    )


def state_for(settings: Settings) -> StateFolder:
    """The state folder of the warehouse the settings name."""
    return state_of(settings, warehouse_of(settings))


def state_of(settings: Settings, warehouse: Warehouse) -> StateFolder:
    """The writer's state folder: ``$SURVEYHOUSE_STATE``, else beside the warehouse."""
    return StateFolder(settings.state or warehouse.default_state_dir(), warehouse.name)


def run_night(
    study: Study,
    settings: Settings,
    warehouse: Warehouse | None = None,
    *,
    runner: Runner | None = None,
    run: RunSummary | None = None,
    report: bool = True,
) -> RunSummary:
    """Ingest every new export of the landing folder, publish the warehouse, write the report page
    (``report``: also when a killed run published without writing it)."""
    night = Night.of(study, settings, warehouse)
    runner = runner or InProcess()
    run = run or RunSummary.starting()
    page = PageDraft(night) if report else None
    with night.state.lock(), live_ahead(night) as live:
        runner.step("recover", lambda: recover_state(night, warehouse_readable=None), io=True)
        check_secret_unchanged(night)
        check_study_unchanged(night)
        with failures_recorded(night, run):
            rekeyed = keyed_ids_staged_before(night, run)
            found = runner.step(
                "discover",
                lambda: discover_files(
                    settings.inbox,
                    state=night.state,
                    default_wave=study.book.wave,
                    settle_s=settings.settle_s,
                    waves=study.waves,
                ),
                io=True,
            )
            for problem in found.problems:
                logger.warning(problem)
            run.problems += found.problems
            run.files_failed += found.files_failed
            for note in found.notes:  # copies of files already in: not read, nothing counted twice
                logger.warning(note)
            run.notes += found.notes
            with copied_ahead(night, bool(found.new) and not rekeyed) as ahead:
                if ahead is not None:
                    live.read_for_build()
                results = stage_files(night, run, found.new, runner=runner)
                unreadable = live.unreadable()  # a corrupt live warehouse is not consulted, but rebuilt
                account_files(night, run, found, results)
                if unreadable is not None or rekeyed or needs_publish(night, run):
                    publish_night(
                        night,
                        run,
                        runner=runner,
                        unreadable=unreadable,
                        whole=rekeyed,
                        ahead=ahead,
                        live=live,
                        page=page,
                    )
                else:
                    record_quiet_night(night, run)
    if report and (run.published or report_is_stale(night)):
        run.report = runner.step("report", lambda: write_report_page(night, page if run.published else None))
    return run


class LiveAhead:
    """The live warehouse read on a thread while the night recovers, discovers and stages: whole
    first (``unreadable``: ``Warehouse.unreadable``, every block of every table, 0.4 s of CPU at 1M
    responses; a file holding the bytes last verified is hashed instead, 0.08 s), then, when asked
    (``read_for_build``: a night with new files), what its build reads of it (``build.live_reader``:
    the live files, the kept screening inputs and sums; 0.2-0.3 s at 1M, in one connection). Wait
    for the check (``unreadable``) before anything is built from the live file or published over it:
    the run lock keeps the file as it was checked (the copy made ahead is of the same bytes). Until
    then, a read of it fails on a corrupt block, and what reads it says so (``recover_state``)."""

    def __init__(self, night: Night, pool: ThreadPoolExecutor) -> None:
        self._night, self._pool = night, pool
        self._checked = pool.submit(night.warehouse.unreadable)
        self._read: Future[LiveRead | None] | None = None

    def unreadable(self) -> str | None:
        """Why the live warehouse cannot be read whole, or None (waits for the check)."""
        return self._checked.result()

    def read_for_build(self) -> None:
        """What the build reads of the live file, read after the check (on the same thread)."""
        night = self._night
        self._read = self._pool.submit(live_reader(night.warehouse, night.study, night.settings))

    def read_ahead(self) -> Callable[[], LiveRead | None] | None:
        """What gives the build's read of the live file (waits for it); None when not asked."""
        return None if self._read is None else self._read.result


@contextmanager
def live_ahead(night: Night) -> Iterator[LiveAhead]:
    """``LiveAhead`` of the night's warehouse; on the way out, its thread finished."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-ahead") as pool:
        yield LiveAhead(night, pool)


@contextmanager
def copied_ahead(night: Night, wanted: bool) -> Iterator[LiveCopy | None]:
    """The live warehouse's copy for the publish, made while the night stages and builds
    (``Warehouse.copy_ahead``: 0.4 s of a night with a 200 MB warehouse), when ``wanted`` (new
    files, a readable warehouse); removed on the way out unless the publish took it."""
    ahead = night.warehouse.copy_ahead() if wanted else None
    try:
        yield ahead
    finally:
        if ahead is not None:
            ahead.discard()


def keyed_ids_staged_before(night: Night, run: RunSummary) -> bool:
    """Whether staged files held response ids made from personal data unkeyed (staged by an
    earlier version) and have them keyed now (``keyed_staged_ids``): the night then builds
    every table whole, the live warehouse holding the old ids."""
    rekeyed = keyed_staged_ids(night.state.staged_dir, key=night.settings.hashing_key())
    if rekeyed:
        run.notes.append(
            f"the response ids of {len(rekeyed)} staged Google Forms file(s), made from the respondent's email, are keyed "
            f"now (gfk-...: HMAC under SURVEYHOUSE_SECRET, as email_hash is): every table is built again with them"
        )
        logger.warning(run.notes[-1])
    return bool(rekeyed)


def record_quiet_night(night: Night, run: RunSummary) -> None:
    """A night that found nothing new, in the run log with the status ``nothing_new`` (the next
    publish lists it in `runs`); the warehouse is neither built nor rewritten."""
    published = night.state.runs.published_runs()
    last = published[-1] if published else None
    night.state.runs.append(quiet_night_record(run, last, settings=night.settings.recorded()))
    run.unchanged_since = datetime.fromisoformat(last["finished_at"]) if last else None
    since = f" since {run.unchanged_since:%Y-%m-%d %H:%M} UTC" if run.unchanged_since else ""
    logger.info("Nothing new in %s%s; the warehouse %s is unchanged.", night.settings.inbox, since, night.warehouse)


def night_is_quiet(study: Study, settings: Settings) -> bool:
    """Whether a night would find nothing to do: no new file in the landing folder, and a readable
    warehouse that holds every staged file, was published with today's settings, and whose report
    page is up to date. Such a night needs no Prefect server and no build (cli/night.py runs it in
    this process); any doubt (an error here included) says no, and the night runs in full."""
    night = Night.of(study, settings)
    try:
        with night.state.lock():
            if not night.warehouse.exists() or night.warehouse.unreadable() is not None:
                return False
            found = discover_files(
                settings.inbox,
                state=night.state,
                default_wave=study.book.wave,
                settle_s=settings.settle_s,
                waves=study.waves,  # a file held back for its folder stays held, unless its wave is now declared
            )
            waiting = [new for new in found.new if not is_still_held(night, new)]
            unkeyed = unkeyed_staged_ids(night.state.staged_dir)
            return (
                not waiting
                and not unkeyed
                and not needs_publish(night, RunSummary.starting())
                and not report_is_stale(night)
            )
    except Exception as error:  # the full night meets the same error, and says it as it should
        logger.debug("Not a quiet night: %s", error)
        return False


def held_under(night: Night) -> str:
    """What decides whether a file's submission dates fit a wave: the study's waves, its default
    wave and the time zones (a file held back for its dates is held again while they stay)."""
    decides = (night.study.waves, night.study.book.wave, sorted(night.settings.time_zones.items()))
    return hashlib.sha256(repr(decides).encode()).hexdigest()[:16]


def is_still_held(night: Night, new: NewFile) -> bool:
    """Whether a new file is one staging held back for its dates, at the same place and under the
    same waves: the night would hold it again, so it is not work. Moved, assigned a wave, or
    under other waves (declared since), it could now be taken."""
    decisions = FileWaves.of(night.state)
    entry = decisions.held.get(new.sha256)
    return (
        entry is not None
        and new.sha256 not in decisions.assigned
        and entry.get("held_under") == held_under(night)
        and entry.get("path") == shown(new.path, new.inbox)
    )


def stage_files(
    night: Night, run: RunSummary, files: Sequence[NewFile], *, runner: Runner, staged_dir: Path | None = None
) -> list[StagedFile]:
    """Each file staged (in the runner), numbered after the files already staged, in file order."""
    first = night.state.next_file_order() if staged_dir is None else 1
    numbered = [(new, first + offset) for offset, new in enumerate(files)]
    slots = StagingSlots(night.settings.threads)  # small files side by side, a big one alone

    def stage(item: tuple[NewFile, int]) -> StagedFile | NotTaken:
        new, order = item
        with slots.taken(new.path):
            return stage_file(night, new, run_id=run.run_id, file_order=order, staged_dir=staged_dir)

    return runner.map("ingest", stage, numbered, label=lambda item: item[0].shown_name)


def stage_file(
    night: Night, new: NewFile, *, run_id: str, file_order: int, staged_dir: Path | None = None
) -> StagedFile | NotTaken:
    """One export file read, mapped, validated and staged (surveyhouse/staging.py), or why it was
    not taken this night (it changed since discovery, it became a link, its dates fit no wave...)."""
    try:
        return _staged(night, new, run_id=run_id, file_order=file_order, staged_dir=staged_dir)
    except FileHeld as held:
        logger.warning(str(held))
        entry = held_entry(
            new.path, new.sha256, inbox=new.inbox, message=str(held), record=held.record | {"wave": new.wave}
        )
        return NotTaken.of(held, entry | {"held_under": held_under(night)})
    except FileNotTaken as problem:
        logger.warning(str(problem))
        return NotTaken.of(problem)


def _staged(night: Night, new: NewFile, *, run_id: str, file_order: int, staged_dir: Path | None) -> StagedFile:
    settings = night.settings
    return stage_export(
        new.path,
        sha256=new.sha256,
        hashed_identity=new.identity,
        inbox=new.inbox,
        times=new.times,
        limits=ReadLimits(max_bytes=settings.max_file_bytes, max_cell_chars=settings.max_cell_chars),
        staged_dir=staged_dir or night.state.staged_dir,
        archive_dir=night.state.archive_dir,
        run_id=run_id,
        file_order=file_order,
        wave=new.wave,
        checked=new.checked,
        waves=night.study.waves,
        book=night.study.book,
        # matched against its wave's questionnaire (schemas/versions.py); a file placed by its dates
        # (wave None until read) against the union of the waves' questionnaires
        wave_book=None if new.wave is None else night.study.book_for(new.wave),
        key=settings.hashing_key(),
        time_zones=settings.time_zones,
        max_quarantined_share=settings.max_quarantined_share,
        threads=min(STAGING_THREADS, settings.threads),  # its batches checked side by side (a big file is alone)
    )


@contextmanager
def failures_recorded(night: Night, run: RunSummary) -> Iterator[None]:
    """A failure inside is recorded in the run log, then raised (a full disk as one NoSpaceLeft line)."""
    try:
        yield
    except Exception as error:
        full = record_failure(night, run, error)
        if full is None:
            raise
        raise full from error


def publish_night(
    night: Night,
    run: RunSummary,
    *,
    runner: Runner,
    staged_dir: Path | None = None,
    unreadable: str | None = None,
    whole: bool = False,
    ahead: LiveCopy | None = None,
    live: LiveAhead | None = None,
    page: PageDraft | None = None,
) -> None:
    """Build every table and publish them.

    When the live warehouse cannot be read whole (``unreadable``, its reason, or the publish
    finds the rows it would keep unreadable), no row of it is kept: every table is built
    whole from the staged files, and the run says so. ``whole``: keep no row of it either
    (its rows are out of date; the caller said why). ``ahead``: the live file's copy (``copied_ahead``);
    ``live``: what the build reads of the live file, read ahead (``LiveAhead``); ``page``: the report
    page, drawn while the new file is read back (``PageDraft``).
    """
    if whole:
        tables = runner.step("build", lambda: build_night(night, run, staged_dir=staged_dir or night.state.staged_dir))
        tables = runner.step("publish", lambda: publish(night, run, tables, staged_dir=staged_dir, page=page), io=True)
    elif unreadable is None:
        read_ahead = live.read_ahead() if live is not None else None
        try:
            tables = runner.step("build", lambda: build_night(night, run, staged_dir=staged_dir, read_ahead=read_ahead))
            tables = runner.step(
                "publish", lambda: publish(night, run, tables, staged_dir=staged_dir, ahead=ahead, page=page), io=True
            )
        except LiveWarehouseUnreadable as error:
            unreadable = error.reason
    if unreadable is not None:
        run.notes.append(
            rebuilt_message(night, unreadable, "the staged files" if staged_dir is None else "the archive")
        )
        logger.warning(run.notes[-1])
        every = staged_dir or night.state.staged_dir  # given the staged folder, the build keeps nothing of the live one
        tables = runner.step("build", lambda: build_night(night, run, staged_dir=every))
        tables = runner.step("publish", lambda: publish(night, run, tables, staged_dir=staged_dir, page=page), io=True)
    run.published, run.tables = True, tables
    logger.info("Published %s (%d responses).", night.warehouse, tables["responses"].height)


def rebuilt_message(night: Night, reason: str, source: str) -> str:
    """The one line saying that the live warehouse was corrupt and the new one built without it."""
    return f"the live warehouse {display_name(str(night.warehouse))} could not be read whole ({excerpt(reason)}): rebuilt from {source}"


def build_night(
    night: Night,
    run: RunSummary,
    *,
    staged_dir: Path | None = None,
    read_ahead: Callable[[], LiveRead | None] | None = None,
) -> dict[str, pl.DataFrame]:
    return build_tables(
        night.study,
        night.settings,
        run,
        state=night.state,
        warehouse=night.warehouse,
        staged_dir=staged_dir,
        read_ahead=read_ahead,
    )


def publish(
    night: Night,
    run: RunSummary,
    tables: dict[str, pl.DataFrame],
    *,
    staged_dir: Path | None = None,
    ahead: LiveCopy | None = None,
    page: PageDraft | None = None,
) -> dict[str, pl.DataFrame]:
    """Make the tables the warehouse, then record the run in the run log; the tables published
    (``page``: drawn from the new file while it is read back, ``PageDraft``).

    Into a DuckLake, the tables are built again when other writers published meanwhile
    (their files come into the staged folder first): the published ones are returned.
    Called by ``publish_night`` only, after the run read the live warehouse whole.
    """
    book = night.study.book
    schemas = warehouse_schemas(book)
    views = view_sql() | generated_views(book, published_figures_frame(night.study.figures, book=book))
    share = StateShare(
        night.state, rebuild=lambda: build_night(night, run, staged_dir=staged_dir), staged_dir=staged_dir
    )
    written, incremental = written_tables(tables)
    published = night.warehouse.publish(
        written,
        schemas,
        views,
        share=share,
        incremental=incremental or None,
        ahead=ahead,
        beside_check=None if page is None else page.draw,
    )
    tables = published if published is not written else tables  # a lake may have built them again
    shutil.rmtree(build_dir(night.state), ignore_errors=True)  # the big tables' files: loaded
    night.state.runs.append(tables["_run"].row(0, named=True))
    trim(night.warehouse)
    return tables


def written_tables(tables: dict) -> tuple[dict, dict]:
    """(the tables the publish writes, what it keeps of the live tables: ``incremental``).

    ``_choices_replaced``: `choices` holds the new responses' rows, the live ones of the others
    kept, in the order of `responses` (as a full build writes it); `responses` as
    ``ChangedResponses``: written as the rows that changed, the live table keeping the others
    (surveyhouse/incremental.py). The live tables are read whole at the start of the night
    (``run_night``: ``Warehouse.unreadable``, under the run lock), not again in the copy."""
    incremental = {}
    if tables.get("_choices_replaced") is not None:
        incremental["choices"] = KeptRows(tables["_choices_replaced"], follows="responses", read_whole=True)
    changed = tables["responses"]
    if not isinstance(changed, ChangedResponses):
        return tables, incremental
    kept = dataclasses.replace(changed.kept_rows(), read_whole=True)
    return tables | {"responses": changed.rows}, incremental | {"responses": kept}


def trim(warehouse: Warehouse) -> None:
    """What readers no longer need, out of the warehouse after a publish (which stands
    whatever happens here: a failure is logged, and the next publish tries again)."""
    try:
        trimmed = warehouse.trim()
    except Exception as error:  # the publish is done and live: a failed trim must not undo it
        logger.warning("Published; trimming %s failed (the next publish tries again): %s", warehouse, error)
        return
    if trimmed:
        logger.info(trimmed)


def recover_state(night: Night, *, warehouse_readable: bool | None = True) -> None:
    """Put the state folder right after a run or rebuild that was killed; call first, under the run lock.

    Raw files archived longer than ``archive_days`` ago are deleted here (surveyhouse/staging.py).
    ``warehouse_readable``: whether the live warehouse reads whole (False: its runs are not read;
    None: not known yet, and a runs table that cannot be read is left unread).
    """
    archive, days = night.state.archive_dir, night.settings.archive_days
    expired = expire_archive(archive, archive_days=days)
    if expired:
        logger.info(
            "%d raw file(s) archived over %g day(s) ago deleted from %s (their staged results stay).",
            len(expired),
            days,
            archive,
        )
    night.warehouse.absorb_shared(StateShare(night.state))  # what other writers staged and published
    night.state.runs.repair()
    if warehouse_readable is not False and night.warehouse.exists():
        try:
            with night.warehouse.reader() as connection:
                published = run_query(connection, "published_runs").pl()
        except duckdb.Error as error:  # a corrupt block of `runs` (not read whole yet: ``warehouse_readable`` None)
            if warehouse_readable:
                raise
            logger.info("The runs the live warehouse lists were not read (%s).", excerpt(one_line(error)))
        else:
            night.state.runs.add_missing(published)
    night.state.finish_rebuild()


def check_secret_unchanged(night: Night) -> None:
    """SecretChanged when the hashing key is not the one the live warehouse's hashes were made with."""
    last = night.state.runs.last_published_settings()
    previous = json.loads(last).get("key_fingerprint") if last else None
    now = night.settings.key_fingerprint()
    if previous and previous != now:
        raise SecretChanged(
            f"SURVEYHOUSE_SECRET is not the key the warehouse {display_name(str(night.warehouse))} was hashed with "
            f"(key fingerprint {previous}, now {now}): emails and IP addresses would hash differently and duplicates "
            "across runs would go unseen. Nothing was done. Set SURVEYHOUSE_SECRET back to the previous key, or re-key: "
            "`surveyhouse rebuild` hashes every archived file again with the new key"
        )


def account_files(night: Night, run: RunSummary, found: Discovery, results: Sequence[StagedFile | NotTaken]) -> None:
    """The night's staged files counted in the run, and those held back recorded (``record_held``)."""
    for staged in results:
        account(run, staged)
    record_held(
        night.state,
        found,
        [r.held for r in results if isinstance(r, NotTaken) and r.held],
        staged={r.sha256 for r in results if isinstance(r, StagedFile)},
    )


def check_study_unchanged(night: Night) -> None:
    """StudyChanged when files were staged with another version of the study's questionnaire."""
    check_staged_with_this_questionnaire(night.state.staged(), night.study.book, study=night.settings.study)


def account(run: RunSummary, staged: StagedFile | NotTaken) -> None:
    if isinstance(staged, NotTaken):
        run.problems.append(staged.message)
        run.files_failed += staged.failed
        return
    run.files_new += 1
    run.files_failed += staged.record["status"] != "loaded"
    if staged.record["status"] != "loaded":
        run.problems.append(problem_of(staged.record))
    elif staged.record["message"]:  # loaded, with what of it could not be read (times no format reads)
        run.notes.append(staged.record["message"])
        logger.warning(staged.record["message"])
    run.rows_read += staged.record["rows_read"]


def problem_of(record: dict) -> str:
    """What went wrong with a staged file that was not loaded, in one line."""
    return record["message"] or f"{display_name(record['source_file'])}: {record['status']}"


def needs_publish(night: Night, run: RunSummary) -> bool:
    """Publish when something new arrived, a command asked (``run.trigger``), the settings
    changed, there is no warehouse, or the warehouse lacks staged files or has them in
    other waves (a run killed between staging and publishing)."""
    return (
        run.files_new > 0
        or run.trigger is not None  # `surveyhouse assign` or `forget`: republish
        or not night.warehouse.exists()
        or night.state.runs.last_published_settings() != night.settings.recorded()
        or published_files(night.warehouse) != {s.sha256: s.record["wave"] for s in night.state.staged()}
    )


def published_files(warehouse: Warehouse) -> dict[str, int]:
    """The files (by SHA-256) that the live warehouse was built from, and their waves (an
    assignment staged but not published yet differs)."""
    with warehouse.reader() as connection:
        return dict(run_query(connection, "live_file_waves").fetchall())


@dataclass
class PageDraft:
    """The report page drawn from the new warehouse file while the publish reads it back whole
    (``draw``, ``publish_warehouse``'s ``beside_check``), written once that file is live
    (``write_report_page``): the same bytes as a page drawn from the live file after the swap
    (the page carries no build time), without reading the published warehouse again."""

    night: Night
    page: str | None = None

    def draw(self, building: Path) -> None:
        """The page of the new file at ``building``; none when it cannot be drawn (drawn again from
        the live file, which says why)."""
        from report import build_report

        night, self.page = self.night, None
        try:
            lang = night.study.report_language(night.settings.report_lang)
            self.page = build_report(building, lang=lang, study=night.study, name=str(night.warehouse))
        except Exception as error:
            logger.debug("The report page was not drawn beside the publish: %s", error)


def write_report_page(night: Night, draft: PageDraft | None = None) -> Path | None:
    """The report page from the warehouse just published (``draft``: drawn from the new file before
    its swap, when it was); a page that fails is logged, the publish stands."""
    from report import ReportError, write_page, write_report

    try:
        if draft is not None and draft.page is not None:
            written = write_page(draft.page, report_file(night))
        else:
            written = write_report(
                night.warehouse,
                report_file(night),
                lang=night.study.report_language(night.settings.report_lang),
                study=night.study,
            )
    except ReportError as why:  # a normal state (nothing loaded yet), not an error
        logger.info("No report page yet: %s.", why)
        return None
    except Exception as error:  # the warehouse is published and live: a broken page must not undo that
        logger.error(
            "The report page was not written (%s: %s); the warehouse %s is published.",
            type(error).__name__,
            error,
            night.warehouse,
        )
        return None
    logger.info("Report page written to %s.", written)
    return written


def report_is_stale(night: Night) -> bool:
    """Whether the report page is missing or older than the live warehouse (a run killed in between)."""
    page = report_file(night)
    try:
        published = night.warehouse.published_at()
    except OSError:
        return False
    if published is None:
        return False
    return not page.exists() or page.stat().st_mtime < published.timestamp()


def report_file(night: Night) -> Path:
    return night.settings.report_file
