"""Every warehouse table, built from every staged file and validated against its schema."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from schemas.codebook import Codebook
from schemas.figures import published_figures
from schemas.tables import warehouse_schemas
from surveyhouse.runlog import RunSummary, previous_runs
from surveyhouse.settings import Settings
from surveyhouse.staging import (
    StagedFile,
    response_columns,
    staged_files,
    staged_schema,
)
from transforms.claims import check_claims
from transforms.crosstab import build_crosstab_pair
from transforms.quarantine import QUARANTINE_SCHEMA
from transforms.responses import build_answers, build_responses, mark_superseded
from transforms.trend import build_trend
from transforms.weighting import weight_responses
from warehouse.backend import exists as warehouse_exists
from warehouse.backend import open_reader
from warehouse.ddl import duckdb_type


def build_tables(
    settings: Settings, run: RunSummary, *, book: Codebook, staged_dir: Path | None = None
) -> dict[str, pl.DataFrame]:
    """Every warehouse table, from every staged file, validated against its schema."""
    staged = staged_files(staged_dir or settings.staged_dir)
    loaded = [s for s in staged if s.record["status"] == "loaded"]
    columns = response_columns(book)
    if loaded:
        all_rows = pl.scan_parquet([s.responses for s in loaded], glob=False).select(columns)
    else:
        all_rows = pl.LazyFrame(schema=staged_schema(book))  # nothing loaded yet: an empty warehouse
    # Which versions are superseded is decided on their keys alone; the rows are then read
    # once, without the superseded ones (no sorted copy of every column).
    all_rows = all_rows.with_row_index("_row")
    versions = (
        mark_superseded(
            all_rows.select("_row", "wave", "source_tool", "response_id", "submitted_at", "file_order", "source_row")
        )
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
        pl.concat([pl.read_parquet(s.quarantine, glob=False) for s in staged], how="vertical")
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
        else pl.DataFrame(
            schema={c: column.dtype.type for c, column in warehouse_schemas(book)["files"].columns.items()}
        )
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
    validated = {
        name: frame if name == "answers" else _validated(frame, schemas[name]) for name, frame in tables.items()
    }
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
        return (
            pl.concat(slices, how="vertical")
            if slices
            else _validated(build_answers(self.responses.lazy(), book=self.book).collect(), self.schema)
        )


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
