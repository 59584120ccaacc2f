"""`choices` stores each response's multi-select answers once: a list that names an option
twice would give `answers` two equal rows, so the table's schema refuses it."""

from __future__ import annotations

import pandera.errors
import polars as pl
import pytest

from schemas.codebook import codebook
from schemas.tables import choices_schema


def choices_row(book, chosen: list[str]) -> pl.DataFrame:
    question = book.multi[0]
    lists = {q.code: pl.Series([None], dtype=pl.List(q.dtype)) for q in book.multi}
    lists[question.code] = pl.Series([chosen], dtype=pl.List(question.dtype))
    key = {"wave": pl.Series([2024], dtype=pl.Int32), "source_tool": ["qualtrics"], "response_id": ["R_1"]}
    return pl.DataFrame(key | lists)


def test_a_multi_select_list_that_names_an_option_twice_fails_the_choices_schema():
    book = codebook()
    options = book.multi[0].option_codes
    choices_schema(book).validate(choices_row(book, options[:2]))  # each option once: valid
    with pytest.raises(pandera.errors.SchemaErrors, match="no_repeated_option"):
        choices_schema(book).validate(choices_row(book, [options[0], options[1], options[0]]), lazy=True)
