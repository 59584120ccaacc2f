"""`surveyhouse files`, `assign` and `forget`: the files seen, and a misfiled one put right."""

from __future__ import annotations

import click

from cli.errors import UserError
from cli.night import verdict
from cli.options import inbox_option, load_study_of, study_option, warehouse_option
from cli.query import FORMATS


@click.command("files")
@warehouse_option
@click.option(
    "--format", "fmt", type=click.Choice(tuple(FORMATS)), default="table", show_default=True, help="output format"
)
@study_option
def files_command(warehouse: str | None, fmt: str, study: str | None) -> int:
    """Every export file seen: its wave, layout, language, rows, status and when.

    Status: accepted (its responses are in), rejected or failed (see message and
    `surveyhouse quality`), held (not taken: its submissions fit no wave, or it sits in a
    folder that is no wave's; see message), forgotten (`surveyhouse forget`).

    \b
    Examples:
      surveyhouse files
      surveyhouse files --format csv > files.csv
    """
    from surveyhouse.night import Night
    from surveyhouse.refile import FILES_COLUMNS, files_seen
    from surveyhouse.settings import load_settings

    settings = load_settings(warehouse=warehouse, study=study)
    night = Night.of(load_study_of(settings), settings)
    rows = files_seen(night)
    FORMATS[fmt](FILES_COLUMNS, [tuple(row[column] for column in FILES_COLUMNS) for row in rows])
    return 0


@click.command("assign")
@click.argument("file")
@click.option("--wave", type=int, required=True, help="the wave the file belongs to (one of the study's waves)")
@inbox_option
@warehouse_option
@study_option
def assign_command(file: str, wave: int, inbox: str | None, warehouse: str | None, study: str | None) -> int:
    """Put an export file in a wave, whatever its folder or dates say, and republish the warehouse.

    FILE is a path to the file, or its name as `surveyhouse files` shows it. A held file
    is taken; a file already in is staged again from its archived copy in that wave. The
    assignment is kept (a `rebuild` keeps it) and the run is recorded in `runs`.

    \b
    Examples:
      surveyhouse assign typeform-2024.csv --wave 2024
      surveyhouse assign landing/typeform-2024.csv --wave 2024
    """
    from surveyhouse.refile import assign_file

    row, run = _refile(lambda study, settings: assign_file(study, settings, file, wave), inbox, warehouse, study)
    print(f"Assigned {row['file']} to wave {wave}; {_published(run)}")
    return verdict(run)


@click.command("forget")
@click.argument("file")
@inbox_option
@warehouse_option
@study_option
def forget_command(file: str, inbox: str | None, warehouse: str | None, study: str | None) -> int:
    """Take an export file's rows out of every table and republish; the file is not taken again.

    FILE is a path to the file, or its name as `surveyhouse files` shows it. Its raw copy
    stays in the archive until the retention (SURVEYHOUSE_ARCHIVE_DAYS) deletes it;
    `surveyhouse assign FILE --wave W` takes it again. The run is recorded in `runs`.

    \b
    Examples:
      surveyhouse forget "AI in social media 2023 (Responses) - Form Responses 1.csv"
    """
    from surveyhouse.refile import forget_file

    row, run = _refile(lambda study, settings: forget_file(study, settings, file), inbox, warehouse, study)
    print(f"Forgot {row['file']} (wave {row['wave']}, {row['rows'] or 0} rows read); {_published(run)}")
    return verdict(run)


def _refile(change, inbox: str | None, warehouse: str | None, study: str | None):
    from surveyhouse.refile import FileNotKnown
    from surveyhouse.settings import load_settings

    settings = load_settings(inbox=inbox, warehouse=warehouse, study=study)
    if not settings.inbox.is_dir():
        raise UserError(f"the landing folder {settings.inbox} does not exist (give --inbox or set SURVEYHOUSE_INBOX)")
    try:
        return change(load_study_of(settings), settings)
    except FileNotKnown as error:
        raise UserError(str(error)) from error


def _published(run) -> str:
    responses = run.tables["responses"].height if run.tables else 0
    return f"the warehouse was republished (run {run.run_id}, {responses} responses)."
