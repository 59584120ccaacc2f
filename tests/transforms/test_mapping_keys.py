"""A one-column question's combination keys (``transforms.mapping._value_keys``): the same keys
whether read from a table of the categorical's ids or looked up value by value."""

from __future__ import annotations

import polars as pl

from transforms.mapping import _value_keys


def _looked_up(values: pl.Series, found: pl.Series, keys: pl.Series) -> list:
    return values.replace_strict(found, keys, default=None, return_dtype=pl.Int64).to_list()


def test_each_answer_takes_its_combinations_key_and_an_unknown_or_empty_one_none():
    values = pl.Series("7", ["Manager", None, "Director", "typed in", "Manager", "Entry level"]).cast(pl.Categorical)
    found = pl.Series("7", ["Entry level", "Manager", "Director"]).cast(pl.Categorical)
    keys = pl.Series("_key", [40, 41, 42], dtype=pl.Int64)
    assert _value_keys(values, found, keys).to_list() == [41, None, 42, None, 41, 40]
    assert _value_keys(values, found, keys).to_list() == _looked_up(values, found, keys)


def test_keys_of_text_or_of_far_apart_category_ids_are_the_same_as_looked_up():
    keys = pl.Series("_key", [0, 1], dtype=pl.Int64)
    text = pl.Series("3", ["b", "a", None, "z"])
    assert _value_keys(text, pl.Series("3", ["a", "b"]), keys).to_list() == [1, 0, None, None]
    pl.Series([f"filler {i}" for i in range(50_000)]).cast(pl.Categorical)  # ids far past a few rows'
    far = pl.Series("3", ["b far", "a far", None]).cast(pl.Categorical)
    found = pl.Series("3", ["a far", "b far"]).cast(pl.Categorical)
    assert _value_keys(far, found, keys).to_list() == [1, 0, None] == _looked_up(far, found, keys)
