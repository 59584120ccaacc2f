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
