"""The flags a response's own answers decide, by the cheaper expression a frame of known types gets:
the same flags as the recorded rules' expressions."""

import numpy as np
import polars as pl

from transforms.screening import row_flags

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


def test_row_flags_of_known_types_are_the_recorded_rules_flags(book):
    frame = answered(book, 3000, seed=5)
    recorded = frame.select(**row_flags(book))
    cheaper = frame.lazy().select(**row_flags(book, types=frame.schema)).collect(engine="streaming")
    assert recorded.equals(cheaper)
    assert 0 < recorded["is_straightliner"].sum() < frame.height
    assert 0 < recorded["is_gibberish"].sum() < frame.height
    as_text = frame.with_columns(pl.col(q.code).cast(pl.Utf8) for q in book.single)
    assert as_text.select(**row_flags(book, types=as_text.schema)).equals(recorded)
