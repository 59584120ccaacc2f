"""The nightly job's steps, as plain functions (the Prefect flow wraps them as tasks).

discover -> stage each new file -> build every table from all staged files -> publish.
Keeping them free of Prefect lets tests and benchmarks call them directly.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from flows.ingest import (
    StagedFile,
    response_columns,
    stage_export,
    staged_files,
    staged_schema,
)
from flows.lake import publish_shared, pull_from_lake
from flows.lock import run_lock
from flows.read import EXPORT_SUFFIXES, file_sha256
from flows.settings import Settings
from schemas.codebook import Codebook, codebook
from schemas.figures import published_figures, published_figures_frame
from schemas.tables import warehouse_schemas
from transforms.claims import check_claims
from transforms.crosstab import build_crosstab_pair
from transforms.quarantine import QUARANTINE_SCHEMA
from transforms.responses import build_answers, build_responses, mark_superseded
from transforms.trend import build_trend
from transforms.weighting import weight_responses
from warehouse.backend import exists as warehouse_exists
from warehouse.backend import open_reader
from warehouse.ddl import duckdb_type
from warehouse.generated_views import generated_views
from warehouse.publish import publish_warehouse as publish_file
from warehouse.publish import view_sql

logger = logging.getLogger("surveyhouse.pipeline")

_WAVE_FOLDER = re.compile(r"^(?:wave[=_-]?)?(\d{4})$", re.IGNORECASE)


@dataclass(frozen=True)
class NewFile:
    path: Path
    sha256: str
    wave: int


@dataclass
class RunSummary:
    run_id: str
    started_at: datetime
    files_new: int = 0
    files_failed: int = 0
    rows_read: int = 0
    published: bool = False
    tables: dict[str, pl.DataFrame] | None = None
    flow_run_id: str | None = None  # the Prefect flow run, when the flow ran it
    problems: list[str] = field(default_factory=list)  # what went wrong with files, in plain language
    report: Path | None = None  # the report page this run wrote after its publish


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def wave_of(path: Path, inbox: Path, default: int) -> int:
    """The wave a file belongs to: a folder named for a year (2024, wave=2024) under the inbox."""
    for part in reversed(path.relative_to(inbox).parts[:-1]):
        match = _WAVE_FOLDER.match(part)
        if match:
            return int(match.group(1))
    return default


def discover_files(settings: Settings, *, book: Codebook) -> list[NewFile]:
    """Export files in the landing folder that no run has ingested yet (by content)."""
    if not settings.inbox.is_dir():
        raise FileNotFoundError(f"the landing folder {settings.inbox} does not exist")
    known = {staged.sha256 for staged in staged_files(settings.staged_dir)}
    hashes = _FileHashes(settings.state_dir / f"{settings.warehouse_name}.file-hashes.json")
    found: dict[str, NewFile] = {}
    for path in sorted(settings.inbox.rglob("*")):
        if not path.is_file() or path.name.startswith((".", "~$")) or path.suffix.lower() not in EXPORT_SUFFIXES:
            continue
        sha = hashes.sha256(path)
        if sha not in known and sha not in found:
            found[sha] = NewFile(path, sha, wave_of(path, settings.inbox, book.wave))
    hashes.save()
    return list(found.values())


class _FileHashes:
    """SHA-256 of the landing folder's files, remembered by what the file system says of them.

    A file whose path, size, inode, modification and change times are those of the last
    run is not read again: a night with nothing new costs a ``stat`` per file, not a read
    of the whole history (gigabytes at millions of responses). Any write to a file moves
    its change time (which no tool can set back), so a changed file is hashed again. The
    cache is a convenience: lost or unreadable, every file is simply hashed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.known: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.seen: dict[str, dict] = {}

    def sha256(self, path: Path) -> str:
        info = path.stat()
        identity = [info.st_size, info.st_ino, info.st_dev, info.st_mtime_ns, info.st_ctime_ns]
        entry = self.known.get(str(path))
        if not (isinstance(entry, dict) and entry.get("identity") == identity and isinstance(entry.get("sha256"), str)):
            entry = {"identity": identity, "sha256": file_sha256(path)}
        self.seen[str(path)] = entry
        return entry["sha256"]

    def save(self) -> None:
        if self.seen == self.known:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".part")
            partial.write_text(json.dumps(self.seen), encoding="utf-8")
            partial.replace(self.path)
        except OSError:
            pass


def stage_file(new: NewFile, *, settings: Settings, run_id: str, file_order: int, book: Codebook, staged_dir: Path | None = None) -> StagedFile:
    return stage_export(
        new.path,
        sha256=new.sha256,
        staged_dir=staged_dir or settings.staged_dir,
        archive_dir=settings.archive_dir,
        run_id=run_id,
        file_order=file_order,
        wave=new.wave,
        book=book,
        key=settings.hashing_key(),
        time_zones=settings.time_zones,
        max_quarantined_share=settings.max_quarantined_share,
    )


def next_file_order(settings: Settings) -> int:
    staged = staged_files(settings.staged_dir)
    return max((s.record["file_order"] for s in staged), default=0) + 1


def previous_runs(settings: Settings) -> list[dict]:
    """Every run in the run log (a last line cut short by a killed run is not one)."""
    if not settings.runs_log.exists():
        return []
    text = settings.runs_log.read_text(encoding="utf-8")
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    return [json.loads(line) for line in lines if line.strip()]


def repair_run_log(settings: Settings) -> None:
    """Make the run log agree with the live warehouse; call under the run lock, first.

    A run killed while appending leaves a line cut short: it is dropped. A run killed
    between its publish and its log line leaves a warehouse whose `runs` table names a
    run that the log lacks: the line is added from the warehouse, so the next run
    neither republishes for nothing nor forgets that run.
    """
    log = settings.runs_log
    if log.exists():
        text = log.read_bytes()
        if text and not text.endswith(b"\n"):
            with log.open("r+b") as handle:
                handle.truncate(text.rfind(b"\n") + 1)
    if not warehouse_exists(settings.store()):
        return
    known = {run["run_id"] for run in previous_runs(settings)}
    with open_reader(settings.store()) as connection:
        published = connection.table("runs").pl().sort("started_at")
    missing = published.filter(~pl.col("run_id").is_in(list(known)))
    if missing.is_empty():
        return
    missing = missing.with_columns(
        pl.col("started_at", "finished_at").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(run) + "\n" for run in missing.to_dicts())


def rebuild_dir(settings: Settings, run_id: str) -> Path:
    """Where a rebuild stages every archived file before it publishes (flows/rebuild.py)."""
    return settings.staged_dir.with_name(f".{settings.staged_dir.name}.rebuild-{run_id}")


def finish_rebuild(settings: Settings) -> None:
    """A rebuild killed after its publish gets its staged folder swapped in; one killed before is dropped."""
    published = {run["run_id"] for run in previous_runs(settings) if run.get("status") != "failed"}
    for leftover in sorted(settings.staged_dir.parent.glob(f".{settings.staged_dir.name}.rebuild-*")):
        run_id = leftover.name.rsplit(".rebuild-", 1)[1]
        if run_id in published:
            if settings.staged_dir.exists():
                settings.staged_dir.rename(settings.staged_dir.with_name(f".{settings.staged_dir.name}.old-{run_id}"))
            leftover.rename(settings.staged_dir)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    for old in settings.staged_dir.parent.glob(f".{settings.staged_dir.name}.old-*"):
        shutil.rmtree(old, ignore_errors=True)


def recover_state(settings: Settings) -> None:
    """Put the state folder right after a run or rebuild that was killed; call first, under the run lock."""
    if settings.is_lake:
        pull_from_lake(settings)  # what other writers staged and published
    repair_run_log(settings)
    finish_rebuild(settings)


def last_published_settings(settings: Settings) -> str | None:
    published = [run for run in previous_runs(settings) if run.get("status") != "failed"]
    return published[-1]["settings"] if published else None


def record_failed_run(settings: Settings, run: RunSummary, error: BaseException) -> None:
    """Keep a failed run in the run log: the next published warehouse lists it in `runs`."""
    record = {
        "run_id": run.run_id,
        "flow_run_id": run.flow_run_id,
        "started_at": run.started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "files_new": run.files_new,
        "files_failed": run.files_failed,
        "rows_read": run.rows_read,
        "status": "failed",
        "message": f"{type(error).__name__}: {error}. Nothing was published; the previous warehouse stayed live.",
        "settings": settings.recorded(),
    }
    settings.runs_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.runs_log.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def build_tables(settings: Settings, run: RunSummary, *, book: Codebook, staged_dir: Path | None = None) -> dict[str, pl.DataFrame]:
    """Every warehouse table, from every staged file, validated against its schema."""
    staged = staged_files(staged_dir or settings.staged_dir)
    loaded = [s for s in staged if s.record["status"] == "loaded"]
    columns = response_columns(book)
    if loaded:
        all_rows = pl.scan_parquet([s.responses for s in loaded]).select(columns)
    else:
        all_rows = pl.LazyFrame(schema=staged_schema(book))  # nothing loaded yet: an empty warehouse
    # Which versions are superseded is decided on their keys alone; the rows are then read
    # once, without the superseded ones (no sorted copy of every column).
    all_rows = all_rows.with_row_index("_row")
    versions = (
        mark_superseded(all_rows.select("_row", "wave", "source_tool", "response_id", "submitted_at", "file_order", "source_row"))
        .select("_row", "wave", "source_tool", "response_id", "file_order", "is_superseded")
        .collect()
    )
    superseded = versions.filter(pl.col("is_superseded"))["_row"]
    current = all_rows.filter(~pl.col("_row").is_in(superseded.implode())).drop("_row", "file_order")
    targets = settings.weighting_targets()
    responses = (
        build_responses(current, book=book, policy=settings.screening)
        .sort("wave", "source_tool", "submitted_at", "response_id")
        .collect()
        .pipe(weight_responses, targets=targets, key=["wave", "source_tool", "response_id"])
    )
    # Counted from the responses' own answer columns (the same choices as `answers`, without a join).
    # The unscreened crosstab (for the claims) is collected as a table too: held lazily inside
    # the claims' joins, its plan would be re-run branch by branch.
    crosstab, unscreened = pl.collect_all(
        build_crosstab_pair(responses.lazy(), book=book, settings=settings.crosstab, weighted=bool(targets))
    )
    waves = sorted(set(responses["wave"].to_list())) or [book.wave]
    figures_wave = book.wave if book.wave in waves else waves[0]
    claims = check_claims(
        crosstab.lazy(),
        published_figures(),
        book=book,
        wave=figures_wave,
        tolerance_pts=settings.claim_tolerance_pts,
        minimum_base=settings.crosstab.minimum_base,
        unscreened=unscreened.lazy(),
    ).collect()
    # The answers (some twenty rows a response: the build's biggest frame) come after the
    # crosstab, whose working memory is released by then. A response's answers depend on its
    # own answers alone: when the live warehouse was built from every staged file but this
    # run's, only the responses whose current version came in since get theirs built; the
    # publish keeps the live table's other rows.
    new_orders = None if staged_dir is not None else _answers_base(settings, staged, book=book)
    key = ["wave", "source_tool", "response_id"]
    if new_orders is None:
        answered = responses
        replaced = None
    else:
        is_new = pl.col("file_order").is_in(new_orders)
        added = versions.filter(~pl.col("is_superseded") & is_new).select(key)
        # The live answers to drop: those of responses a new file brings a newer version of.
        replaced = added.join(versions.filter(~is_new).select(key), on=key, how="semi")
        answered = responses.join(added, on=key, how="semi")
    answers = AnswerSlices(answered, book=book, check_unique=_repeats_an_option(responses, book=book))
    quarantine = (
        pl.concat([pl.read_parquet(s.quarantine) for s in staged], how="vertical")
        if staged
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    per_file = versions.group_by("file_order").agg(
        accepted=(~pl.col("is_superseded")).sum(), superseded=pl.col("is_superseded").sum()
    )
    files = (
        pl.DataFrame([s.record for s in staged], infer_schema_length=None)
        .join(per_file, on="file_order", how="left")
        .with_columns(pl.col("accepted", "superseded").fill_null(0).cast(pl.Int64))
        .with_columns(pl.col("rows_read", "quarantined", "file_order").cast(pl.Int64), pl.col("wave").cast(pl.Int32))
        .sort("file_order")
        if staged
        else pl.DataFrame(schema={c: column.dtype.type for c, column in warehouse_schemas(book)["files"].columns.items()})
    )
    finished = datetime.now(UTC)
    this_run = {
        "run_id": run.run_id,
        "flow_run_id": run.flow_run_id,
        "started_at": run.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "files_new": run.files_new,
        "files_failed": run.files_failed,
        "rows_read": run.rows_read,
        "responses": responses.height,
        "responses_excluded": int(responses["is_excluded"].sum()),
        "quarantined_rows": int(quarantine.filter(pl.col("source_row").is_not_null())["source_row"].len()),
        "status": "warning" if run.files_failed else "ok",
        "message": "; ".join(run.problems) or None,
        "claims_consistent": int((claims["status"] == "consistent").sum()),
        "claims_total": claims.height,
        "settings": settings.recorded(),
    }
    runs = pl.DataFrame(previous_runs(settings) + [this_run]).with_columns(
        pl.col("started_at", "finished_at").str.to_datetime(time_zone="UTC").dt.cast_time_unit("us")
    )
    trend = build_trend(crosstab.lazy(), alpha=settings.crosstab.alpha, adjust=settings.crosstab.adjust).collect()
    tables = {
        "responses": responses,
        "answers": answers,
        "crosstab": crosstab,
        "trend": trend,
        "claims": claims,
        "quarantine": quarantine,
        "files": files,
        "runs": runs,
    }
    schemas = warehouse_schemas(book)
    validated = {name: frame if name == "answers" else _validated(frame, schemas[name]) for name, frame in tables.items()}
    extra = {"_run": pl.DataFrame([this_run])}
    if replaced is not None:
        extra["_answers_replaced"] = replaced  # `answers` holds the rows of these responses only
    return validated | extra


def _answers_base(settings: Settings, staged: list[StagedFile], *, book: Codebook) -> list[int] | None:
    """The file orders of the loaded files that the live warehouse lacks, when its answers
    can be kept for the others; None when the answers must be built whole.

    Kept only for a warehouse file (not a lake) whose every file is staged, as it was then,
    and whose answers table has this codebook's column types.
    """
    if settings.is_lake or not warehouse_exists(settings.store()):
        return None
    try:
        with open_reader(settings.store()) as connection:
            live = connection.execute("select file_sha256, file_order, status from files").fetchall()
            described = [(row[0], row[1]) for row in connection.execute("describe answers").fetchall()]
    except (duckdb.Error, OSError):
        return None
    schema = warehouse_schemas(book)["answers"]
    expected = [(column, duckdb_type(spec.dtype.type)) for column, spec in schema.columns.items()]
    if [(c, t.replace(" ", "")) for c, t in described] != [(c, t.replace(" ", "")) for c, t in expected]:
        return None
    now = {s.sha256: (s.record["file_order"], s.record["status"]) for s in staged}
    if any(now.get(sha) != (order, status) for sha, order, status in live):
        return None
    published = {sha for sha, _, _ in live}
    return [order for sha, (order, status) in now.items() if sha not in published and status == "loaded"]


def _validated(frame: pl.DataFrame, schema) -> pl.DataFrame:
    """``frame`` validated against its schema (pandera, lazy: every failure at once)."""
    return schema.validate(_conform(frame, schema), lazy=True)


class AnswerSlices:
    """The ``answers`` table, built, validated and written a slice of responses at a time.

    Some twenty rows a response: at a million responses, 19 million rows and most of a
    gigabyte, the build's biggest frame by far. Held whole, it set the run's peak memory;
    here the publish takes one slice of ``SLICE_RESPONSES`` responses at a time (about
    two million rows), builds its answers (``build_answers``), validates them with the
    answers' pandera schema and writes them, so only one slice is ever in memory. The
    slices come out in key order, each response's rows in one slice: the table is the one
    ``build_answers`` gives for all of them at once, row for row.

    The answers' uniqueness (one row per response, question and option) holds by
    construction when the responses are unique (their own schema) and no response lists an
    option twice; ``check_unique`` (a repeated option was seen) checks it on every slice,
    which is the whole check, since a response's rows are never split across slices.
    """

    SLICE_RESPONSES = 100_000

    def __init__(self, responses: pl.DataFrame, *, book: Codebook, check_unique: bool) -> None:
        self.responses = responses
        # Key order, as positions: the slices are gathered in it (no sorted copy of the responses).
        self.order = responses.select(pl.arg_sort_by("wave", "source_tool", "response_id")).to_series()
        self.book = book
        self.schema = copy.copy(warehouse_schemas(book)["answers"])
        if not check_unique:
            self.schema.unique = None

    def __iter__(self):
        for offset in range(0, self.responses.height, self.SLICE_RESPONSES):
            part = self.responses[self.order.slice(offset, self.SLICE_RESPONSES)].lazy()
            yield _validated(build_answers(part, book=self.book).collect(), self.schema)

    def collect(self) -> pl.DataFrame:
        """The whole table as one frame (for tests and small studies)."""
        slices = list(self)
        return pl.concat(slices, how="vertical") if slices else _validated(build_answers(self.responses.lazy(), book=self.book).collect(), self.schema)


def _repeats_an_option(responses: pl.DataFrame, *, book: Codebook) -> bool:
    multi = [q.code for q in book.multi if q.code in responses.columns]
    if not multi:
        return False
    repeated = [(pl.col(c).list.n_unique() != pl.col(c).list.len()).fill_null(False).any() for c in multi]
    return bool(responses.select(pl.any_horizontal(repeated)).item())


def _conform(frame: pl.DataFrame, schema) -> pl.DataFrame:
    """The schema's columns in its order; all-null columns typed as the schema says."""
    frame = frame.select(list(schema.columns))
    return frame.with_columns(
        [pl.col(c).cast(schema.columns[c].dtype.type) for c, t in frame.schema.items() if t == pl.Null]
    )


def publish(settings: Settings, tables: dict[str, pl.DataFrame], *, book: Codebook) -> dict[str, pl.DataFrame]:
    """Swap the new warehouse in, then record the run in the state's run log; the tables published.

    Into a DuckLake, the tables are built again when other writers published meanwhile
    (flows/lake.py): the published ones are returned.
    """
    schemas = warehouse_schemas(book)
    views = view_sql() | generated_views(book, published_figures_frame(published_figures(), book=book))
    if settings.is_lake:
        tables = publish_shared(settings, tables, schemas, views, rebuild=lambda: build_tables(settings, run_of(tables), book=book))
    else:
        replaced = tables.get("_answers_replaced")
        incremental = {"answers": replaced} if replaced is not None else None
        publish_file(settings.store(), {name: tables[name] for name in schemas}, schemas, views, incremental=incremental)
    settings.runs_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.runs_log.open("a", encoding="utf-8") as log:
        log.write(json.dumps(tables["_run"].row(0, named=True), default=str) + "\n")
    if settings.is_lake:
        _trim_lake(settings)
    return tables


def _trim_lake(settings: Settings) -> None:
    """Old snapshots and unreferenced files out of the lake, after the publish (which stands
    whatever happens here: a failure is logged, and the next publish tries again)."""
    from warehouse.lake import trim

    try:
        trimmed = trim(settings.store(), keep_days=settings.lake_keep_days)
    except (duckdb.Error, OSError) as error:
        logger.warning("Published; trimming the lake's old snapshots failed (the next publish tries again): %s", error)
        return
    if any(trimmed.values()):
        logger.info(
            "Lake trimmed: %d snapshot(s) older than %g day(s) expired, %d unreferenced file(s) deleted.",
            trimmed["snapshots_expired"], settings.lake_keep_days, trimmed["files_deleted"],
        )  # fmt: skip


def run_of(tables: dict[str, pl.DataFrame]) -> RunSummary:
    """The run that built ``tables`` (from its `_run` row), to build them again."""
    row = tables["_run"].row(0, named=True)
    return RunSummary(
        run_id=row["run_id"], started_at=datetime.fromisoformat(row["started_at"]), files_new=row["files_new"],
        files_failed=row["files_failed"], rows_read=row["rows_read"], flow_run_id=row["flow_run_id"],
        problems=[row["message"]] if row["message"] else [],
    )  # fmt: skip


def run_once(settings: Settings, *, book: Codebook | None = None) -> RunSummary:
    """The whole nightly job without Prefect: what the flow does, step for step."""
    book = book or codebook()
    now = datetime.now(UTC)
    run = RunSummary(run_id=new_run_id(now), started_at=now)
    with run_lock(settings.lock_file):
        recover_state(settings)
        new_files = discover_files(settings, book=book)
        order = next_file_order(settings)
        for offset, new in enumerate(new_files):
            staged = stage_file(new, settings=settings, run_id=run.run_id, file_order=order + offset, book=book)
            account(run, staged)
        if needs_publish(settings, run):
            try:
                tables = build_tables(settings, run, book=book)
                tables = publish(settings, tables, book=book)
            except Exception as error:
                record_failed_run(settings, run, error)
                raise
            run.published, run.tables = True, tables
    return run


def account(run: RunSummary, staged: StagedFile) -> None:
    run.files_new += 1
    run.files_failed += staged.record["status"] != "loaded"
    if staged.record["status"] != "loaded":
        run.problems.append(staged.record["message"] or f"{staged.record['source_file']}: {staged.record['status']}")
    run.rows_read += staged.record["rows_read"]


def needs_publish(settings: Settings, run: RunSummary) -> bool:
    """Publish when something new arrived, the settings changed, there is no warehouse, or
    the warehouse lacks staged files (a run killed between staging and publishing)."""
    return (
        run.files_new > 0
        or not warehouse_exists(settings.store())
        or last_published_settings(settings) != settings.recorded()
        or published_files(settings) != {staged.sha256 for staged in staged_files(settings.staged_dir)}
    )


def published_files(settings: Settings) -> set[str]:
    """The files (by SHA-256) that the live warehouse was built from."""
    with open_reader(settings.store()) as connection:
        return set(connection.table("files").select("file_sha256").pl()["file_sha256"].to_list())
