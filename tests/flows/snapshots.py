"""Warehouse contents as frames, for comparing two builds of the same data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from warehouse.backend import open_reader
from warehouse.lake import Lake

COMPARED = ("responses", "answers", "crosstab", "trend", "claims", "quarantine", "files")


def snapshot(warehouse: Path | Lake, *, drop: tuple[str, ...] = ("run_id",)) -> dict[str, pl.DataFrame]:
    """The compared tables (without the dropped columns) in a canonical row order; of a file or a lake."""
    reader = open_reader(warehouse) if isinstance(warehouse, Lake) else duckdb.connect(str(warehouse), read_only=True)
    with reader as connection:
        frames = {name: connection.table(name).pl() for name in COMPARED}
    out = {}
    for name, frame in frames.items():
        frame = frame.drop([c for c in frame.columns if c in drop])
        frame = frame.with_columns(
            pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)
        )
        out[name] = frame.sort(frame.columns, nulls_last=True)
    return out


def same(actual: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> bool:
    return all(actual[name].equals(expected[name]) for name in COMPARED)


def assert_same(actual: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame], context: str) -> None:
    for name in COMPARED:
        try:
            assert_frame_equal(actual[name], expected[name])
        except AssertionError as error:
            raise AssertionError(f"{context}: table {name} differs: {error}") from None
