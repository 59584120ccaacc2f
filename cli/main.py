"""The `surveyhouse` command line.

Prefect is imported only by the commands that run the flow: `sql` opens the
warehouse read-only and answers in well under a second.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import time
from pathlib import Path

from surveyhouse.lock import RunInProgress

COMMANDS = {
    "demo": "write the built-in demo study into the landing folder and run the nightly flow on it",
    "run": "run the nightly flow once: ingest new exports, validate, transform, publish the warehouse",
    "sql": "query the published warehouse read-only (table, CSV or JSON output)",
    "claims": "print the report's published figures next to the recomputed ones, with intervals and status",
    "quality": "show the data-quality summary: files, failed checks with examples, screening, and its effect on the figures",
    "serve": "serve the nightly flow on a cron schedule (a Prefect deployment; starts a local Prefect server unless PREFECT_API_URL is set)",
    "rebuild": "rebuild the whole warehouse from the archive of raw files (re-stage every ingested file in its original order, then publish)",
    "export": "export every table and view of the warehouse to a folder as Parquet, CSV or XLSX (spreadsheet formulas neutralised)",
    "dictionary": "print the data dictionary: every table's and view's columns, types and descriptions",
    "report": "build the survey report as one self-contained HTML page (inline SVG charts) from the warehouse",
}


class UserError(Exception):
    """An error the user can fix; shown as `Error: ...` without a traceback."""


WAREHOUSE_HELP = (
    "warehouse file (default: surveyhouse.duckdb, or $SURVEYHOUSE_WAREHOUSE), or a DuckLake: "
    "'ducklake:postgres:dbname=... host=... user=...'"
)
LAKE_DATA_HELP = "a DuckLake warehouse's data folder, where its Parquet files go (or $SURVEYHOUSE_LAKE_DATA)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surveyhouse", description="Survey exports in, a DuckDB warehouse of segmented tables out."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        sub.add_argument("--debug", action="store_true", help="show tracebacks")
        return sub

    for name in ("demo", "run"):
        sub = add(name)
        sub.add_argument("--inbox", help="landing folder of raw exports (default: landing, or $SURVEYHOUSE_INBOX)")
        sub.add_argument("--warehouse", help=WAREHOUSE_HELP)
        sub.add_argument("--lake-data", help=LAKE_DATA_HELP)
    commands.choices["demo"].add_argument("--seed", type=int, default=2023, help="seed of the demo study's model")
    for name in ("claims", "quality"):
        add(name).add_argument("--warehouse", help=WAREHOUSE_HELP)
    sql = add("sql")
    sql.add_argument("query", nargs="?", help="SQL query (read from stdin when absent)")
    sql.add_argument("--warehouse", help=WAREHOUSE_HELP)
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    serve = add("serve")
    serve.add_argument("--inbox", help="landing folder of raw exports (default: landing, or $SURVEYHOUSE_INBOX)")
    serve.add_argument("--warehouse", help=WAREHOUSE_HELP)
    serve.add_argument("--cron", help="when to run, cron syntax (default: '0 2 * * *', or $SURVEYHOUSE_CRON)")
    serve.add_argument("--timezone", help="time zone of the cron, IANA name (default: UTC, or $SURVEYHOUSE_TIMEZONE)")
    add("rebuild").add_argument("--warehouse", help=WAREHOUSE_HELP)
    export = add("export")
    export.add_argument("folder", metavar="DIR", help="folder to write into (one file per table and view)")
    export.add_argument("--warehouse", help=WAREHOUSE_HELP)
    export.add_argument(
        "--format", choices=("parquet", "csv", "xlsx"), default="parquet", help="file format (default: parquet)"
    )
    add("dictionary").add_argument("--warehouse", help=WAREHOUSE_HELP)
    report = add("report")
    report.add_argument("--warehouse", help=WAREHOUSE_HELP)
    report.add_argument(
        "--out",
        help="HTML file to write (default: <warehouse name>.report.html beside the warehouse, the page each publish rewrites)",
    )
    report.add_argument(
        "--lang", choices=("en", "fr"), help="language of the page (default: $SURVEYHOUSE_REPORT_LANG, else en)"
    )
    report.add_argument("--wave", type=int, help="survey wave (default: the latest wave in the warehouse)")
    return parser


def _run_flow(settings, ready=lambda: None):
    """Run the nightly flow in this process; ``ready()`` waits for the run's Prefect server
    (``_prefect_server``), called once the flow's modules are imported."""
    import os

    from surveyhouse.settings import configure_prefect

    configure_prefect(settings)
    if settings.dask_address and not os.environ.get("PREFECT_API_URL"):
        # Dask workers are other processes: they report their task runs to a real
        # server, not to this process's temporary one (each would start its own).
        from flows.serve import prefect_api

        with prefect_api(settings):
            from flows.nightly import run_nightly

            return run_nightly(settings)
    from flows.nightly import run_nightly

    ready()
    return run_nightly(settings)


@contextlib.contextmanager
def _prefect_server(settings):
    """The run's temporary Prefect server, started now so that it starts while the flow's
    modules are imported (flows/prefect_server.py); not for Dask runs (they use a real one)."""
    import os

    if settings.dask_address and not os.environ.get("PREFECT_API_URL"):
        yield lambda: None
        return
    from flows.prefect_server import PrefectServerError, early_prefect_server

    try:
        with early_prefect_server(settings) as ready:
            yield ready
    except PrefectServerError as error:
        raise UserError(str(error)) from error


def _print_summary(run, settings, elapsed: float) -> None:
    from warehouse.backend import open_reader

    with open_reader(settings.store()) as connection:
        files = connection.execute(
            "select count(*), count(*) filter (where status <> 'loaded'), sum(rows_read), sum(accepted), "
            "sum(quarantined), sum(superseded) from files"
        ).fetchone()
        flags = connection.execute(
            "select sum(is_excluded::int), sum(is_speeder::int), sum(is_straightliner::int), "
            "sum(is_attention_failed::int), sum(is_duplicate::int), sum(is_gibberish::int) from responses"
        ).fetchone()
    print(
        f"\nRun {run.run_id}: {run.files_new} new file(s), {'published' if run.published else 'nothing new: warehouse unchanged'} "
        f"in {elapsed:.1f} s -> {settings.store()}"
    )
    print(
        f"Files: {files[0]} ({files[1]} not loaded); rows read {files[2]}: accepted {files[3]}, quarantined {files[4]}, superseded {files[5]}"
    )
    print(
        f"Responses flagged: excluded {flags[0]} (speeders {flags[1]}, attention failed {flags[3]}, duplicates {flags[4]}); "
        f"also flagged, kept in bases: straight-liners {flags[2]}, gibberish {flags[5]}"
    )
    if run.report:
        print(f"Report page: {run.report}")
    print()
    print_claims(settings.store(), tolerance=settings.claim_tolerance_pts)


def print_claims(warehouse, *, tolerance: float) -> None:
    """The published figures next to the recomputed ones, with their status."""
    from warehouse.backend import open_reader

    with open_reader(warehouse) as connection:
        claims = connection.execute(
            "select id, question, answers, segment, published_pct, computed_pct, ci_low, ci_high, base_n, status, contradiction "
            "from claims order by id"
        ).fetchall()
    consistent = sum(1 for c in claims if c[9] == "consistent")
    print(
        f"Published figures consistent with the data (within {tolerance:g} points or inside the 95% interval): "
        f"{consistent} of {len(claims)}"
    )
    print(f"{'id':<5} {'figure':<52} {'published':>9} {'computed':>9} {'95% interval':>13} {'base':>5}  status")
    for fid, question, answers, segment, published, computed, low, high, base, status, _ in claims:
        label = f"{question}={answers}" + ("" if segment == "all" else f" | {segment}")
        computed_text = "-" if computed is None else f"{computed:.1f}"
        interval = "-" if low is None else f"{low:.1f}-{high:.1f}"
        print(f"{fid:<5} {label[:52]:<52} {published:>9.0f} {computed_text:>9} {interval:>13} {base or 0:>5}  {status}")
    for _fid, *_, status, contradiction in claims:
        if contradiction and status == "contradicted":
            print(f"The report contradicts itself: {contradiction}; the data side with the other figure.")


def _verdict(run) -> int:
    """Exit status of a run: 0 when every file loaded, 4 when a file was rejected or failed."""
    if not run.problems:
        return 0
    print(f"\nWarning: {len(run.problems)} file(s) were not loaded; the other files were published.", file=sys.stderr)
    for problem in run.problems:
        print(f"  - {problem}", file=sys.stderr)
    print("See `surveyhouse quality` for the rows and checks.", file=sys.stderr)
    return 4


def cmd_run(args) -> int:
    from surveyhouse.settings import load_settings

    settings = load_settings(inbox=args.inbox, warehouse=args.warehouse, lake_data=args.lake_data)
    if not settings.inbox.is_dir():
        raise UserError(f"the landing folder {settings.inbox} does not exist (give --inbox or set SURVEYHOUSE_INBOX)")
    from surveyhouse.night import state_for

    started = time.perf_counter()
    # The run lock first: a second run stops here at once, before any Prefect server starts
    # (the flow takes the same lock again, in this process, without waiting on itself).
    with state_for(settings).lock(), _prefect_server(settings) as ready:
        run = _run_flow(settings, ready)
        _print_summary(run, settings, time.perf_counter() - started)
    return _verdict(run)


def _open(warehouse: str | None):
    from surveyhouse.settings import load_settings
    from warehouse.backend import open_reader

    settings = load_settings(warehouse=warehouse)
    try:
        return settings, open_reader(settings.store())
    except FileNotFoundError as error:
        raise UserError(str(error)) from error


def cmd_claims(args) -> int:
    settings, connection = _open(args.warehouse)
    connection.close()
    print_claims(settings.store(), tolerance=settings.claim_tolerance_pts)
    return 0


def cmd_quality(args) -> int:
    _, connection = _open(args.warehouse)
    with connection:
        last = connection.execute(
            "select run_id, finished_at, status from runs order by finished_at desc limit 1"
        ).fetchone()
        print(f"Last run {last[0]} ({last[2]}), published {last[1]:%Y-%m-%d %H:%M} UTC\n")
        print("Files")
        _print_relation(
            connection,
            "select source_file, source_tool, layout, status, rows_read, accepted, quarantined, superseded, message from files order by file_order",
        )
        print("\nFailed checks (rows quarantined, with examples)")
        _print_relation(connection, "select * from quality_examples")
        print("\nScreening (flagged responses; excluded ones are left out of every base)")
        _print_relation(connection, "select * from screening")
        print("\nHow the published figures would move if the excluded responses were counted (largest first)")
        _print_relation(
            connection,
            "select id, question, answers, segment, computed_pct, unscreened_pct, screening_effect_pts from screening_effect limit 10",
        )
    return 0


def _print_relation(connection, sql: str) -> None:
    relation = connection.sql(sql)
    _print_table(relation.columns, relation.fetchall())


def cmd_demo(args) -> int:
    checkout = Path(__file__).resolve().parents[1]  # demo/ is not in the wheel: it sits beside cli/ in a clone
    if (checkout / "demo" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    try:
        from demo.study import write_demo_study
    except ModuleNotFoundError as error:
        if error.name != "demo":
            raise
        raise UserError(
            "the demo generator ships with the source checkout, not the installed package: "
            "run `python3 make.py demo` from a clone of the repository"
        ) from error
    from surveyhouse.settings import load_settings

    settings = load_settings(inbox=args.inbox, warehouse=args.warehouse, lake_data=args.lake_data)
    started = time.perf_counter()
    with _prefect_server(settings) as ready:
        written = write_demo_study(settings.inbox, seed=args.seed)
        print(f"Demo study written to {settings.inbox}:")
        for path in written:
            print(f"  {path.relative_to(settings.inbox)}")
        run = _run_flow(settings, ready)
        _print_summary(run, settings, time.perf_counter() - started)
    return _verdict(run)


def cmd_sql(args) -> int:
    import duckdb

    from surveyhouse.settings import load_settings
    from warehouse.backend import open_reader

    query = args.query if args.query is not None else sys.stdin.read()
    if not query.strip():
        raise UserError("no query given (pass it as an argument or on stdin)")
    settings = load_settings(warehouse=args.warehouse)
    try:
        connection = open_reader(settings.store())
    except FileNotFoundError as error:
        raise UserError(str(error)) from error
    try:
        relation = connection.sql(query)
        if relation is None:
            return 0
        columns = relation.columns
        rows = relation.fetchall()
    except duckdb.Error as error:
        if "read-only" in str(error).lower():
            raise UserError(
                "the warehouse is read-only: `surveyhouse sql` only reads (the nightly run is the one writer)"
            ) from error
        raise UserError(f"query failed: {error}") from error
    finally:
        connection.close()
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif args.format == "json":
        json.dump([dict(zip(columns, row)) for row in rows], sys.stdout, default=str, ensure_ascii=False, indent=1)
        print()
    else:
        _print_table(columns, rows)
    return 0


def cmd_serve(args) -> int:
    from flows.serve import ServeError, serve_nightly
    from surveyhouse.settings import load_settings

    settings = load_settings(inbox=args.inbox, warehouse=args.warehouse, cron=args.cron, timezone=args.timezone)
    if not settings.inbox.is_dir():
        raise UserError(f"the landing folder {settings.inbox} does not exist (give --inbox or set SURVEYHOUSE_INBOX)")
    try:
        serve_nightly(settings, say=lambda line: print(line, flush=True))
    except ServeError as error:
        raise UserError(str(error)) from error
    print("Stopped serving.", flush=True)
    return 0


def cmd_rebuild(args) -> int:
    from schemas.study import load_study
    from surveyhouse.rebuild import RebuildError, rebuild_warehouse
    from surveyhouse.settings import load_settings

    settings = load_settings(warehouse=args.warehouse)
    started = time.perf_counter()
    try:
        run = rebuild_warehouse(load_study(), settings)
    except RebuildError as error:
        raise UserError(str(error)) from error
    files = run.tables["files"]
    print(
        f"Rebuilt {settings.warehouse} from the archive in {time.perf_counter() - started:.1f} s: "
        f"{files.height} file(s) re-staged in their original order, {run.rows_read} rows read, "
        f"{run.tables['responses'].height} responses (run {run.run_id})."
    )
    return _verdict(run)


def cmd_export(args) -> int:
    from surveyhouse.settings import load_settings
    from warehouse.backend import exists
    from warehouse.export import export_warehouse

    settings = load_settings(warehouse=args.warehouse)
    if not exists(settings.store()):
        raise UserError(f"no warehouse at {settings.store()}: run `surveyhouse run` (or `surveyhouse demo`) first")
    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder")
    try:
        written = export_warehouse(settings.store(), folder, fmt=args.format)
    except ValueError as error:
        raise UserError(str(error)) from error
    print(f"Exported {len(written)} tables and views from {settings.store()} to {folder} ({args.format}).")
    return 0


def cmd_dictionary(args) -> int:
    from surveyhouse.settings import load_settings
    from warehouse.backend import exists

    settings = load_settings(warehouse=args.warehouse)
    if exists(settings.store()):
        from warehouse.backend import open_reader
        from warehouse.dictionary import dictionary_from_warehouse

        with open_reader(settings.store()) as connection:
            print(f"# Data dictionary of {settings.store()}\n")
            print(dictionary_from_warehouse(connection), end="")
    else:
        from warehouse.dictionary import dictionary_markdown

        print(f"# Data dictionary (no warehouse at {settings.store()} yet: from the schemas)\n")
        print(dictionary_markdown(), end="")
    return 0


def cmd_report(args) -> int:
    from report import ReportError, write_report
    from surveyhouse.settings import load_settings

    settings = load_settings(warehouse=args.warehouse)
    out = Path(args.out) if args.out else settings.report_file
    started = time.perf_counter()
    try:
        lang = args.lang or settings.report_lang
        written = write_report(settings.store(), out, lang=lang, wave=args.wave)
    except (FileNotFoundError, ReportError) as error:
        raise UserError(str(error)) from error
    print(
        f"Report written to {written} ({written.stat().st_size:,} bytes, {lang}) in {time.perf_counter() - started:.1f} s."
    )
    return 0


def _print_table(columns: list[str], rows: list[tuple]) -> None:
    cells = [[("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = globals()["cmd_" + args.command]  # every command `x` has its handler `cmd_x`
    try:
        return handler(args)
    except UserError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error
        sys.stderr.close()
        return 0
    except RunInProgress as error:
        print(f"Error: {error}", file=sys.stderr)
        return 3
    except Exception as error:  # a broken run: say what and where, not a traceback
        if args.debug:
            raise
        print(
            f"Error: {type(error).__name__}: {error}\nThe last published warehouse is unchanged. Run again with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
