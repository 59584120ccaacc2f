"""Wall time of each stage of the pipeline, by calling the stage functions directly.

Run in its own process: ``python -m bench.stages WAREHOUSE FILE [FILE...]`` prints one
JSON object: each stage's seconds, and its peak RSS (the process's high-water mark, reset
before the stage: which stage holds the most memory). The per-file stages repeat what ``surveyhouse.staging.process_export`` does, step
by step; the build stages repeat ``surveyhouse.build.build_tables`` on the files that a
``run_night`` of the same inbox staged beside WAREHOUSE, then time ``build_tables`` and
``publish`` themselves (into a scratch copy of the warehouse path). Production code has
no timers: the totals come from the whole runs (bench/run.py).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from bench.measure import peak_mib, reset_peak
from schemas.codebook import codebook
from schemas.figures import published_figures
from schemas.study import load_study
from schemas.tables import warehouse_schemas
from surveyhouse import build, night, runlog
from surveyhouse.night import state_for
from surveyhouse.read import read_export
from surveyhouse.settings import load_settings
from surveyhouse.staging import _validate, canonical_frame, response_columns
from transforms.claims import check_claims
from transforms.crosstab import build_crosstab_pair
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout
from transforms.privacy import hash_personal_data
from transforms.quarantine import quarantine_rows, typed_responses
from transforms.responses import FILE_RECENCY, build_responses, mark_superseded
from transforms.trend import build_trend
from transforms.weighting import weight_responses
from warehouse.backend import open_reader

TIMES: dict[str, float] = {}
#: Peak RSS (MiB) of this process during each stage (Linux: the high-water mark reset before it).
PEAKS: dict[str, float] = {}


@contextmanager
def timed(stage: str):
    reset_peak()
    start = time.perf_counter()
    yield
    TIMES[stage] = TIMES.get(stage, 0.0) + time.perf_counter() - start
    peak = peak_mib()
    if peak is not None:
        PEAKS[stage] = max(PEAKS.get(stage, 0.0), peak)


def file_stages(path: Path, *, book, key: bytes) -> None:
    """The per-file path of surveyhouse.staging.process_export, one timer per stage."""
    with timed("read"):
        raw = read_export(path)
    with timed("parse"):
        layout = detect_layout(raw.header, kind=raw.kind)
        parsed = layout.parse(raw.frame.lazy(), raw.header, time_zone="UTC")
        meta = parsed.meta.collect()
        resolved, _ = resolve_columns(parsed.columns, book=book)
    languages = [r.language for r in resolved if r.language]
    language = max(set(languages), key=languages.count) if languages else None
    with timed("map"):
        canonical = canonical_frame(parsed.wide, meta, resolved, book=book, layout=layout, header_language=language)
    with timed("validate"):
        quarantine = quarantine_rows(_validate(canonical, book), canonical, run_id="bench", source_file=path.name)
    with timed("type_hash_write"):
        accepted = canonical.filter(~pl.col("source_row").is_in(quarantine["source_row"].implode()))
        text_columns = [c for c in response_columns(book) if c.endswith("_other") or c in {q.code for q in book.text}]
        accepted = accepted.with_columns(
            [pl.lit(None, pl.Utf8).alias(c) for c in text_columns if c not in accepted.columns]
        )
        typed = (
            typed_responses(accepted.lazy(), book=book)
            .collect()
            .pipe(hash_personal_data, key=key, text_columns=text_columns)
        )
        typed.write_parquet(Path("/dev/null"))


def build_stages(settings, *, book) -> None:
    """surveyhouse.build.build_tables, one timer per stage, on the staged files of a run."""
    staged = [s for s in state_for(settings).staged() if s.record["status"] == "loaded"]
    with timed("screen"):
        rows = pl.scan_parquet([s.responses for s in staged]).select(response_columns(book))
        times = build.file_versions(staged).lazy().select("file_order", *FILE_RECENCY)
        versions = mark_superseded(rows.join(times, on="file_order", how="left")).collect()
        current = versions.filter(~pl.col("is_superseded")).drop("is_superseded", "file_order", *FILE_RECENCY).lazy()
        responses = (
            build_responses(current, book=book, policy=settings.screening)
            .sort("wave", "source_tool", "submitted_at", "response_id")
            .collect()
            .pipe(weight_responses, targets=None, key=["wave", "source_tool", "response_id"])
        )
    with timed("answers"):  # the choices table (one row a response: the `answers` view unnests it), validated
        build._validated(build.build_choices(responses.lazy(), book=book).collect(), warehouse_schemas(book)["choices"])
    with timed("crosstab"):  # with the unscreened crosstab the claims need, from the same pass (as the flow does)
        crosstab, unscreened = pl.collect_all(
            build_crosstab_pair(responses.lazy(), book=book, settings=settings.crosstab)
        )
    with timed("claims_trend"):
        check_claims(
            crosstab.lazy(), published_figures(), book=book, wave=book.wave, tolerance_pts=settings.claim_tolerance_pts,
            minimum_base=settings.crosstab.minimum_base, unscreened=unscreened.lazy(),
        ).collect()  # fmt: skip
        build_trend(crosstab.lazy(), alpha=settings.crosstab.alpha, adjust=settings.crosstab.adjust).collect()
    schemas = warehouse_schemas(book)
    with timed("validate_tables"):
        for name, frame in {"responses": responses, "crosstab": crosstab}.items():
            build._validated(frame, schemas[name])


def main(argv: list[str]) -> int:
    warehouse, files = Path(argv[0]), [Path(a) for a in argv[1:]]
    settings = load_settings(inbox=str(files[0].parent), warehouse=str(warehouse))
    book = codebook()
    for path in files:
        file_stages(path, book=book, key=b"bench-key")
    build_stages(settings, book=book)
    study = load_study()
    run = runlog.RunSummary.starting()
    with timed(
        "build_tables"
    ):  # from every staged file (a staged folder given: no answers kept from the live warehouse)
        staged = night.Night.of(study, settings)
        tables = night.build_night(staged, run, staged_dir=staged.state.staged_dir)
    scratch = dataclasses.replace(settings, warehouse=warehouse.with_name("scratch-" + warehouse.name))
    scratch.warehouse.unlink(missing_ok=True)
    with timed("publish"):
        night.publish(night.Night.of(study, scratch), run, tables)
    with timed("report_page"):  # what the flow does after its publish (flows/nightly.py)
        from report import write_report

        write_report(scratch.store(), scratch.report_file, lang=study.report_language(scratch.report_lang))
    with open_reader(scratch.store()) as connection:  # `answers`: the view over responses and choices, counted there
        rows = {
            name: connection.execute(f'select count(*) from "{name}"').fetchone()[0]
            for name in [*tables, "answers"]
            if not name.startswith("_")
        }
    print(json.dumps({"stages": TIMES, "peak_rss_mib": PEAKS, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
