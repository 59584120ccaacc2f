"""Options several commands share, declared once."""

from __future__ import annotations

import click

WAREHOUSE_HELP = (
    "warehouse file (default: surveyhouse.duckdb, or $SURVEYHOUSE_WAREHOUSE), or a DuckLake: "
    "'ducklake:postgres:dbname=... host=... user=...'"
)
warehouse_option = click.option("--warehouse", metavar="FILE", help=WAREHOUSE_HELP)
inbox_option = click.option(
    "--inbox", metavar="DIR", help="landing folder of raw exports (default: landing, or $SURVEYHOUSE_INBOX)"
)
lake_data_option = click.option(
    "--lake-data",
    metavar="DIR",
    help="a DuckLake warehouse's data folder, where its Parquet files go (or $SURVEYHOUSE_LAKE_DATA)",
)
study_option = click.option(
    "--study",
    metavar="DIR",
    help="study folder: questionnaire.yaml [, published_figures.csv, weights.yaml] "
    "(default: $SURVEYHOUSE_STUDY, else the built-in study)",
)


def load_study_of(settings):
    """The study of ``settings.study`` (None: the built-in study), loaded once for the command;
    a mistake in the folder is a one-line ``UserError`` (file, line, fix)."""
    from cli.errors import UserError
    from schemas.study import StudyError, load_study

    try:
        return load_study(settings.study)
    except StudyError as error:
        raise UserError(str(error)) from error
