"""The `surveyhouse` command line.

Prefect is imported only by the commands that run the flow: `sql` opens the
warehouse read-only and answers in well under a second.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from flows.lock import RunInProgress

COMMANDS = {
    "demo": "write the built-in demo study into the landing folder and run the nightly flow on it",
    "run": "run the nightly flow once: ingest new exports, validate, transform, publish the warehouse",
    "sql": "query the published warehouse read-only (table, CSV or JSON output)",
}


class UserError(Exception):
    """An error the user can fix; shown as `Error: ...` without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="surveyhouse", description="Survey exports in, a DuckDB warehouse of segmented tables out.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        sub.add_argument("--debug", action="store_true", help="show tracebacks")
        return sub

    for name in ("demo", "run"):
        sub = add(name)
        sub.add_argument("--inbox", help="landing folder of raw exports (default: landing, or $SURVEYHOUSE_INBOX)")
        sub.add_argument("--warehouse", help="warehouse file (default: surveyhouse.duckdb, or $SURVEYHOUSE_WAREHOUSE)")
    commands.choices["demo"].add_argument("--seed", type=int, default=2023, help="seed of the demo study's model")
    sql = add("sql")
    sql.add_argument("query", nargs="?", help="SQL query (read from stdin when absent)")
    sql.add_argument("--warehouse", help="warehouse file (default: surveyhouse.duckdb, or $SURVEYHOUSE_WAREHOUSE)")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    return parser


def _run_flow(settings):
    from flows.settings import configure_prefect

    configure_prefect(settings)
    from flows.nightly import run_nightly

    return run_nightly(settings)


def _print_summary(run, settings, elapsed: float) -> None:
    from warehouse.publish import connect_read_only

    with connect_read_only(settings.warehouse) as connection:
        files = connection.execute(
            "select count(*), count(*) filter (where status = 'failed'), sum(rows_read), sum(accepted), "
            "sum(quarantined), sum(superseded) from files"
        ).fetchone()
        flags = connection.execute(
            "select sum(is_excluded::int), sum(is_speeder::int), sum(is_straightliner::int), "
            "sum(is_attention_failed::int), sum(is_duplicate::int), sum(is_gibberish::int) from responses"
        ).fetchone()
        claims = connection.execute(
            "select id, question, answers, segment, published_pct, computed_pct, base_n, status from claims order by id"
        ).fetchall()
    print(f"\nRun {run.run_id}: {run.files_new} new file(s), {'published' if run.published else 'nothing new: warehouse unchanged'} "
          f"in {elapsed:.1f} s -> {settings.warehouse}")
    print(f"Files: {files[0]} ({files[1]} failed); rows read {files[2]}: accepted {files[3]}, quarantined {files[4]}, superseded {files[5]}")
    print(f"Responses flagged: excluded {flags[0]} (speeders {flags[1]}, attention failed {flags[3]}, duplicates {flags[4]}); "
          f"also flagged, kept in bases: straight-liners {flags[2]}, gibberish {flags[5]}")
    reproduced = sum(1 for c in claims if c[7] == "reproduced")
    print(f"\nPublished figures reproduced within {settings.claim_tolerance_pts:g} points: {reproduced} of {len(claims)}")
    print(f"{'id':<5} {'figure':<58} {'published':>9} {'computed':>9} {'base':>5}  status")
    for fid, question, answers, segment, published, computed, base, status in claims:
        label = f"{question}={answers}" + ("" if segment == "all" else f" | {segment}")
        computed_text = "-" if computed is None else f"{computed:.1f}"
        print(f"{fid:<5} {label[:58]:<58} {published:>9.0f} {computed_text:>9} {base or 0:>5}  {status}")


def cmd_run(args) -> int:
    from flows.settings import load_settings

    settings = load_settings(inbox=args.inbox, warehouse=args.warehouse)
    if not settings.inbox.is_dir():
        raise UserError(f"the landing folder {settings.inbox} does not exist (give --inbox or set SURVEYHOUSE_INBOX)")
    started = time.perf_counter()
    run = _run_flow(settings)
    _print_summary(run, settings, time.perf_counter() - started)
    return 0


def cmd_demo(args) -> int:
    from flows.demo.study import write_demo_study
    from flows.settings import load_settings

    settings = load_settings(inbox=args.inbox, warehouse=args.warehouse)
    started = time.perf_counter()
    written = write_demo_study(settings.inbox, seed=args.seed)
    print(f"Demo study written to {settings.inbox}:")
    for path in written:
        print(f"  {path.relative_to(settings.inbox)}")
    run = _run_flow(settings)
    _print_summary(run, settings, time.perf_counter() - started)
    return 0


def cmd_sql(args) -> int:
    import duckdb

    from flows.settings import load_settings
    from warehouse.publish import connect_read_only

    query = args.query if args.query is not None else sys.stdin.read()
    if not query.strip():
        raise UserError("no query given (pass it as an argument or on stdin)")
    settings = load_settings(warehouse=args.warehouse)
    try:
        connection = connect_read_only(settings.warehouse)
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
            raise UserError("the warehouse is read-only: `surveyhouse sql` only reads (the nightly run is the one writer)") from error
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
    handler = {"demo": cmd_demo, "run": cmd_run, "sql": cmd_sql}[args.command]
    try:
        return handler(args)
    except UserError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    except RunInProgress as error:
        print(f"Error: {error}", file=sys.stderr)
        return 3
    except Exception as error:  # a broken run: say what and where, not a traceback
        if args.debug:
            raise
        print(f"Error: {type(error).__name__}: {error}\nThe last published warehouse is unchanged. Run again with --debug for the traceback.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
