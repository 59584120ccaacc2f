"""The commands that read the published warehouse: claims, quality, dictionary, export, report."""

from __future__ import annotations

import time
from pathlib import Path

import click

from cli.errors import OK, UserError
from cli.options import load_study_of, study_option, warehouse_option


def _open(warehouse: str | None):
    from surveyhouse.settings import load_settings
    from warehouse.backend import open_reader

    settings = load_settings(warehouse=warehouse)
    try:
        return settings, open_reader(settings.store())
    except FileNotFoundError as error:
        raise UserError(str(error)) from error


@click.command("claims")
@warehouse_option
@click.option("--wave", type=int, metavar="N", help="only the published figures of this wave (default: every wave)")
def claims_command(warehouse: str | None, wave: int | None) -> int:
    """Print the report's published figures next to the recomputed ones, with intervals and status.

    \b
    Examples:
      surveyhouse claims
      surveyhouse claims --wave 2023 --warehouse /srv/surveyhouse.duckdb
    """
    from cli.night import print_claims

    settings, connection = _open(warehouse)
    connection.close()
    print_claims(settings.store(), tolerance=settings.claim_tolerance_pts, wave=wave)
    return OK


@click.command("quality")
@warehouse_option
def quality_command(warehouse: str | None) -> int:
    """Show the data-quality summary: files, failed checks with examples, screening, and its effect on the figures.

    \b
    Examples:
      surveyhouse quality
      surveyhouse quality --warehouse /srv/surveyhouse.duckdb | less -S
    """
    from cli.output import print_table
    from warehouse.queries import run_query

    settings, connection = _open(warehouse)
    sections = (
        ("Files", "quality_files"),
        ("\nFailed checks (rows quarantined, with examples)", "quality_failed_checks"),
        ("\nScreening (flagged responses; excluded ones are left out of every base)", "quality_screening"),
        (
            "\nHow the published figures would move if the excluded responses were counted (largest first)",
            "quality_screening_effect",
        ),
    )
    with connection:
        last = run_query(connection, "last_run").fetchone()
        if last is not None:
            print(f"Last run {last[0]} ({last[2]}), published {last[1]:%Y-%m-%d %H:%M} UTC")
            print(_nothing_new_since(settings, published=last[1]))
        for title, name in sections:
            print(title)
            result = run_query(connection, name)
            print_table([d[0] for d in result.description], result.fetchall())
    return OK


def _nothing_new_since(settings, *, published) -> str:
    """'Nothing new since <the publish>: N night(s) found nothing new, the last at <time>' (from the
    run log, where those nights wait for the next publish to be listed in `runs`), else ''."""
    from surveyhouse.runlog import RunLog

    quiet = RunLog(settings.state_dir / f"{settings.warehouse_name}.runs.jsonl").nights_since_publish()
    if not quiet:
        return ""
    last = quiet[-1]["started_at"][:16].replace("T", " ")
    return (
        f"Nothing new since {published:%Y-%m-%d %H:%M} UTC: {len(quiet)} night(s) since found nothing new, "
        f"the last at {last} UTC (listed in `runs` from the next publish on)\n"
    )


@click.command("dictionary")
@warehouse_option
@study_option
def dictionary_command(warehouse: str | None, study: str | None) -> int:
    """Print the data dictionary: every table's and view's columns, types and descriptions.

    From the warehouse's `dictionary` view, or from the schemas when there is no warehouse yet.

    \b
    Examples:
      surveyhouse dictionary > DICTIONARY.md
      surveyhouse dictionary --warehouse /srv/surveyhouse.duckdb
    """
    from surveyhouse.settings import load_settings
    from warehouse.backend import exists

    settings = load_settings(warehouse=warehouse, study=study)
    if exists(settings.store()):
        from warehouse.backend import open_reader
        from warehouse.dictionary import dictionary_from_warehouse

        with open_reader(settings.store()) as connection:
            print(f"# Data dictionary of {settings.store()}\n")
            print(dictionary_from_warehouse(connection), end="")
    else:
        from warehouse.dictionary import dictionary_markdown

        print(f"# Data dictionary (no warehouse at {settings.store()} yet: from the schemas)\n")
        print(dictionary_markdown(load_study_of(settings)), end="")
    return OK


@click.command("export")
@click.argument("folder", metavar="DIR")
@warehouse_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("parquet", "csv", "xlsx")),
    default="parquet",
    show_default=True,
    help="file format",
)
@click.option(
    "--lang",
    "--labels",
    "lang",
    metavar="LANG",
    help="label codes in this language of the study (xlsx: default the study's first language; csv: codes only without it)",
)
def export_command(folder: str, warehouse: str | None, fmt: str, lang: str | None) -> int:
    """Export the warehouse to a folder: every table and view as Parquet or CSV, or one XLSX workbook.

    Parquet and CSV: one file per table and view. XLSX: one workbook, surveyhouse.xlsx, with
    a banner sheet per wave and question (answers as rows; the whole sample and every
    segment's values as columns, with bases, percentages, significance marks and column
    letters: "77% B D"), then a sheet per table, labelled in LANG. In CSV and XLSX, text a
    spreadsheet would run as a formula gets a leading single quote.

    \b
    Examples:
      surveyhouse export out/
      surveyhouse export --format xlsx --lang fr out/ --warehouse /srv/surveyhouse.duckdb
      surveyhouse export --format csv --labels en out/
    """
    from surveyhouse.settings import load_settings
    from warehouse.backend import exists
    from warehouse.export import export_warehouse

    settings = load_settings(warehouse=warehouse)
    if not exists(settings.store()):
        raise UserError(f"no warehouse at {settings.store()}: run `surveyhouse run` (or `surveyhouse demo`) first")
    if lang and fmt == "parquet":
        raise UserError("--lang labels csv and xlsx exports; parquet keeps the codes: add --format csv or xlsx")
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} is a file, not a folder")
    try:
        written = export_warehouse(settings.store(), target, fmt=fmt, lang=lang)
    except ValueError as error:
        raise UserError(str(error)) from error
    if fmt == "xlsx":
        print(f"Exported {settings.store()} to {written[0]} (one workbook).")
    else:
        print(f"Exported {len(written)} tables and views from {settings.store()} to {target} ({fmt}).")
    return OK


@click.command("report")
@warehouse_option
@click.option(
    "--out",
    metavar="FILE",
    help="HTML file to write (default: <warehouse name>.report.html beside the warehouse, the page each publish rewrites)",
)
@click.option(
    "--lang",
    metavar="LANG",
    help="language of the page, one of the study's (default: $SURVEYHOUSE_REPORT_LANG, else the study's first)",
)
@click.option("--wave", type=int, metavar="N", help="survey wave (default: the latest wave in the warehouse)")
@study_option
def report_command(
    warehouse: str | None, out: str | None, lang: str | None, wave: int | None, study: str | None
) -> int:
    """Build the survey report as one self-contained HTML page (inline SVG charts) from the warehouse.

    \b
    Examples:
      surveyhouse report
      surveyhouse report --lang fr --wave 2023 --out rapport-2023.html

    The sections and question labels come from the study (its report.yaml, else its
    questionnaire); the page's own words are in English or French (English for another language).
    """
    from report import ReportError, write_report
    from schemas.study import StudyError
    from surveyhouse.settings import load_settings

    settings = load_settings(warehouse=warehouse, study=study)
    target = Path(out) if out else settings.report_file
    started = time.perf_counter()
    try:
        loaded = load_study_of(settings)
        lang = loaded.report_language(lang or settings.report_lang)
        written = write_report(settings.store(), target, lang=lang, wave=wave, study=loaded)
    except (FileNotFoundError, ReportError, StudyError) as error:
        raise UserError(str(error)) from error
    print(
        f"Report written to {written} ({written.stat().st_size:,} bytes, {lang}) in {time.perf_counter() - started:.1f} s."
    )
    return OK
