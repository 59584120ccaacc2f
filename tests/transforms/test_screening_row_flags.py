"""The flags a response's own answers decide, by the cheaper expressions a frame of known types gets:
the same flags as the recorded rules' expressions, for a fraction of the CPU."""

import time

import numpy as np
import polars as pl

from transforms.screening import gibberish, gibberish_by_distinct, row_flags

COMMENTS = [
    "asdfgh",
    None,
    "Great for brainstorming post ideas.",
    "XZQWRTP",
    "asdfgh",
    "bcdfgh k",
    "",
    "Notre équipe arrive enfin à tenir le calendrier.",
    "qsdfjklm",
    None,
    "Great for brainstorming post ideas.",
]


def answered(book, n: int, seed: int) -> pl.DataFrame:
    """``n`` responses: every closed single question answered at random (a tenth left unanswered),
    a grid answered all alike by a third, the comments drawn from ``COMMENTS``."""
    rng = np.random.default_rng(seed)
    data = {}
    for q in book.single:
        values = rng.choice(q.option_codes, n).astype(object)
        values[rng.random(n) < 0.1] = None
        data[q.code] = pl.Series(q.code, values.tolist(), dtype=pl.Utf8).cast(q.dtype)
    frame = pl.DataFrame(data)
    grid = [q.code for g in book.grids for q in book.grid_items(g)]
    alike = pl.Series(rng.random(n) < 0.33)
    frame = frame.with_columns(pl.when(alike).then(pl.col(grid[0])).otherwise(pl.col(c)).alias(c) for c in grid)
    comments = [COMMENTS[i] for i in rng.integers(0, len(COMMENTS), n)]
    return frame.with_columns(**{q.code: pl.Series(comments, dtype=pl.Utf8) for q in book.text})


def test_gibberish_by_distinct_flags_each_row_as_judging_it_alone():
    frame = pl.DataFrame({"comment": COMMENTS})
    expected = frame.select(gibberish(pl.col("comment"))).to_series().to_list()
    assert frame.select(gibberish_by_distinct(pl.col("comment"))).to_series().to_list() == expected
    assert expected.count(True) == 5  # the keyboard runs and the letters without vowels
    shuffled = frame.with_row_index("at").sample(fraction=1.0, shuffle=True, seed=3)
    flags = shuffled.lazy().select("at", flag=gibberish_by_distinct(pl.col("comment")))
    assert flags.collect(engine="streaming").sort("at")["flag"].to_list() == expected
    assert frame.head(0).select(gibberish_by_distinct(pl.col("comment"))).height == 0
    nulls = frame.filter(pl.col("comment").is_null())
    assert nulls.select(gibberish_by_distinct(pl.col("comment"))).to_series().to_list() == [False, False]


def test_row_flags_of_known_types_are_the_recorded_rules_flags(book):
    frame = answered(book, 3000, seed=5)
    recorded = frame.select(**row_flags(book))
    cheaper = frame.lazy().select(**row_flags(book, types=frame.schema)).collect(engine="streaming")
    assert recorded.equals(cheaper)
    assert 0 < recorded["is_straightliner"].sum() < frame.height
    assert 0 < recorded["is_gibberish"].sum() < frame.height
    as_text = frame.with_columns(pl.col(q.code).cast(pl.Utf8) for q in book.single)
    assert as_text.select(**row_flags(book, types=as_text.schema)).equals(recorded)


def test_row_flags_of_known_types_make_no_text_of_each_row(book):
    frame = answered(book, 200_000, seed=7)

    def cpu_s(types) -> tuple[float, pl.DataFrame]:
        started = time.process_time()
        flags = frame.select(**row_flags(book, types=types))
        return time.process_time() - started, flags

    recorded, expected = min((cpu_s(None) for _ in range(2)), key=lambda t: t[0])
    cheaper, flags = min((cpu_s(frame.schema) for _ in range(2)), key=lambda t: t[0])
    assert flags.equals(expected)
    assert cheaper < recorded / 4
