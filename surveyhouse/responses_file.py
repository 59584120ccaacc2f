"""The responses table written to Parquet, screened, weighted and sorted, never whole in memory.

What needs the whole population (each response's place in the table and in its wave, the
wave's median duration, duplicates across files, raking) is decided on narrow frames of the
few columns it needs: personal-data hashes and the answers' text are carried as 64-bit hashes,
their exact values read again only for the rows whose hashes are shared, so every flag is
the one ``transforms.screening.flag_responses`` gives on the whole frame. The rows then
stream from the staged Parquet, with their flags and weight, into Parquet parts of as many
rows as the build's memory setting holds, each a range of the table's sorted order.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from schemas.codebook import Codebook
from surveyhouse.private import FILE_MODE, private_folder
from transforms.responses import with_derived_segments
from transforms.screening import (
    FLAGS,
    ScreeningPolicy,
    answers_key,
    duplicate_flag,
    excluded_flag,
    order_in_wave,
    row_flags,
    speeder_flag,
)
from transforms.weighting import weight_responses
from warehouse.publish import ParquetTable

#: The order of the responses table's rows.
TABLE_ORDER = ["wave", "source_tool", "submitted_at", "response_id"]
#: The columns whose equal values make two responses one respondent's, hashed in the narrow frames.
_HASHED = ("email_hash", "ip_hash", "_answers_key")


def build_folder(root: Path) -> Path:
    """A new, empty folder for the build's files (a killed build's leftovers removed), 0700
    (its files are made 0600: ``written_privately``)."""
    shutil.rmtree(root, ignore_errors=True)
    return private_folder(root)


def written_privately(path: Path) -> Path:
    """``path``, a file the build just wrote, made 0600 (the state folder's files are, whatever the umask)."""
    os.chmod(path, FILE_MODE)
    return path


def write_responses(
    current: pl.LazyFrame,
    columns: Mapping[str, pl.DataType],
    *,
    book: Codebook,
    policy: ScreeningPolicy,
    targets: Mapping[str, Mapping[str, float]] | None,
    folder: Path,
    memory_mb: int,
) -> tuple[ParquetTable, pl.DataFrame]:
    """(the responses table, in ``columns`` order and types, as sorted Parquet parts in
    ``folder``; one row per response: ``_row``, ``_pos``, ``wave``, the flags, ``is_excluded``, ``weight``).

    ``current``: the current version of every response, with ``_row`` (its row in the staged
    files). Each part holds the rows of a range of table positions, gathered from the staged
    files in one streaming pass and sorted in memory: as many rows as ``memory_mb`` holds twice.
    """
    current = current.pipe(with_derived_segments, book=book)
    decided = screened_rows(current, book=book, policy=policy, targets=targets)
    per_part = rows_per_part(current, memory_mb=memory_mb)
    rows = decided.select("_row", "_pos", *FLAGS, "is_excluded", "weight")
    paths = []
    for number, start in enumerate(range(0, max(decided.height, 1), per_part)):
        chosen = rows.slice(start, per_part)
        part = (
            current.filter(pl.col("_row").is_in(chosen["_row"].implode()))
            .join(chosen.lazy(), on="_row")
            .select(*columns, "_pos")
            .collect(engine="streaming")
            .sort("_pos")
            .drop("_pos")
        )
        paths.append(folder / f"responses-{number:05d}.parquet")
        part.write_parquet(paths[-1])
        written_privately(paths[-1])
        del part
    return ParquetTable(tuple(paths), decided.height, pl.Schema(columns)), decided


#: Rows measured to estimate a response's size in memory.
_SAMPLE_ROWS = 10_000


def rows_per_part(current: pl.LazyFrame, *, memory_mb: int) -> int:
    """How many responses half of ``memory_mb`` holds (a part and its sorted copy), from the
    size of the first ``_SAMPLE_ROWS``."""
    sample = current.head(_SAMPLE_ROWS).collect()
    row_bytes = max(sample.estimated_size() / max(sample.height, 1), 1.0)
    return max(_SAMPLE_ROWS, int(memory_mb * 2**20 / 2 / row_bytes))


def screened_rows(
    current: pl.LazyFrame,
    *,
    book: Codebook,
    policy: ScreeningPolicy,
    targets: Mapping[str, Mapping[str, float]] | None,
) -> pl.DataFrame:
    """One row per current response, in table order: ``_row``, ``_pos`` (its row in the table),
    ``wave``, the screening flags, ``is_excluded`` and ``weight`` (``transforms.weighting``)."""
    margins = list(targets or ())
    placed = (
        current.select("_row", *TABLE_ORDER)
        .collect(engine="streaming")
        .with_columns(_order=order_in_wave())
        .sort(TABLE_ORDER)
        .select("_row", "_order", _pos=pl.int_range(pl.len(), dtype=pl.UInt32))
    )
    hashed = {
        name: pl.when(expr.is_not_null()).then(expr.hash())
        for name, expr in zip(_HASHED, [pl.col("email_hash"), pl.col("ip_hash"), answers_key(book)], strict=True)
    }
    narrow = (
        current.select("_row", "wave", "duration_s", *margins, **hashed, **row_flags(book))
        .collect(engine="streaming")
        .join(placed, on="_row")
        .sort("_pos")
    )
    exact = _shared_values(current, narrow, book=book)
    flagged = (
        narrow.join(exact, on="_row", how="left", maintain_order="left")
        .with_columns(
            is_speeder=speeder_flag(policy),
            is_duplicate=duplicate_flag(
                person=("email_hash", "_email_exact"),
                machine=("ip_hash", "_ip_exact", "_answers_key", "_answers_exact"),
            ),
        )
        .with_columns(is_excluded=excluded_flag(policy))
    )
    weighted = weight_responses(flagged.select("_row", "wave", "is_excluded", *margins), targets=targets, key=["_row"])
    return flagged.select("_row", "_pos", "wave", *FLAGS, "is_excluded").with_columns(weight=weighted["weight"])


def _shared_values(current: pl.LazyFrame, narrow: pl.DataFrame, *, book: Codebook) -> pl.DataFrame:
    """The exact email hash, IP hash and answers' text (``_email_exact``, ``_ip_exact``,
    ``_answers_exact``) of the responses whose hashed values another response of their wave
    shares: the only ones a duplicate can be among (two equal values have equal hashes)."""
    shared = lambda *keys: pl.col(keys[0]).is_not_null() & (pl.len().over("wave", *keys) > 1)  # noqa: E731
    rows = narrow.filter(shared("email_hash") | shared("ip_hash", "_answers_key"))["_row"]
    return (
        current.filter(pl.col("_row").is_in(rows.implode()))
        .select("_row", _email_exact="email_hash", _ip_exact="ip_hash", _answers_exact=answers_key(book))
        .collect(engine="streaming")
    )
