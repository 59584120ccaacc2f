"""The report's published figures, kept in the project as data (schemas/data/published_figures.csv)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

from schemas.codebook import Codebook


@cache
def published_figures() -> pl.DataFrame:
    """One row per figure the 2023 report prints (id, question, answers, segment, published_pct, note)."""
    text = resources.files("schemas").joinpath("data/published_figures.csv").read_text(encoding="utf-8")
    return pl.read_csv(text.encode("utf-8"), schema_overrides={"published_pct": pl.Float64, "note": pl.Utf8})


def figure_address(question: str, answers: str, segment: str, *, book: Codebook) -> tuple[str, str, str]:
    """(answer, segment, segment_value) of a published figure in crosstab terms.

    `answers` is an option code, or codes joined by "|" naming the NET with exactly
    those members; `segment` is "all", "question=code", or "question=code|code" naming
    the derived segment group with exactly those members.
    """
    q = book.question(question)
    members = answers.split("|")
    if len(members) == 1:
        answer = members[0]
        q.option(answer)
    else:
        answer = next((name for name, codes in q.nets.items() if set(codes) == set(members)), None)
        if answer is None:
            raise ValueError(f"{question}: no NET of the questionnaire has exactly {members}")
    if segment == "all":
        return answer, "all", "all"
    source, _, values = segment.partition("=")
    codes = values.split("|")
    if len(codes) == 1:
        book.question(source).option(codes[0])
        return answer, source, codes[0]
    for derived in book.derived_segments:
        for group, group_members in derived.groups.items():
            if derived.source == source and set(group_members) == set(codes):
                return answer, derived.code, group
    raise ValueError(f"segment {segment!r} is no derived segment group of the questionnaire")


def published_figures_frame(figures: pl.DataFrame, *, book: Codebook) -> pl.DataFrame:
    """The published figures with their crosstab address (answer, segment, segment_value)."""
    addresses = [
        figure_address(row["question"], row["answers"], row["segment"], book=book)
        for row in figures.iter_rows(named=True)
    ]
    return figures.with_columns(
        # Typed, so that a study with no published figures joins the crosstab too.
        answer=pl.Series([a[0] for a in addresses], dtype=pl.Utf8),
        segment_name=pl.Series([a[1] for a in addresses], dtype=pl.Utf8),
        segment_value=pl.Series([a[2] for a in addresses], dtype=pl.Utf8),
        published_pct=pl.col("published_pct").cast(pl.Float64),
    )
