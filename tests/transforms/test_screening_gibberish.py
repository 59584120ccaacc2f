"""The gibberish flag: each distinct comment judged once, the same flag as judging every row."""

import time

import polars as pl

from transforms.screening import gibberish, is_noise

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


def test_gibberish_flags_each_row_as_judging_it_alone():
    frame = pl.DataFrame({"comment": COMMENTS})
    expected = [bool(flag) for flag in frame.select(is_noise(pl.col("comment"))).to_series()]
    assert frame.select(gibberish(pl.col("comment"))).to_series().to_list() == expected
    assert expected.count(True) == 5  # the keyboard runs and the letters without vowels
    shuffled = frame.with_row_index("at").sample(fraction=1.0, shuffle=True, seed=3)
    flags = shuffled.lazy().select("at", flag=gibberish(pl.col("comment"))).collect(engine="streaming").sort("at")
    assert flags["flag"].to_list() == expected
    assert frame.head(0).select(gibberish(pl.col("comment"))).height == 0
    assert frame.filter(pl.col("comment").is_null()).select(gibberish(pl.col("comment"))).to_series().to_list() == [
        False,
        False,
    ]


def test_gibberish_judges_a_repeated_comment_once_not_once_a_row():
    frame = pl.DataFrame({"comment": [c for c in COMMENTS if c] * 30_000})

    def cpu_s(expr: pl.Expr) -> tuple[float, pl.Series]:
        started = time.process_time()
        flags = frame.select(expr).to_series()
        return time.process_time() - started, flags

    every_row, expected = min((cpu_s(is_noise(pl.col("comment"))) for _ in range(2)), key=lambda t: t[0])
    distinct, flags = min((cpu_s(gibberish(pl.col("comment"))) for _ in range(2)), key=lambda t: t[0])
    assert flags.to_list() == expected.fill_null(False).to_list()
    assert distinct < every_row / 5
