"""The demo study's exports, one module per survey tool."""

from __future__ import annotations

from collections.abc import Iterator

from schemas.codebook import Codebook, Question


def numbered_questions(book: Codebook) -> Iterator[tuple[Question, int, int | None]]:
    """Each question with its number as the tools show it (``Q<n>``; a grid's items share
    their grid's number) and, for a grid item, its position in the grid (``Q<n>_<k>``)."""
    number, grid_numbers, grid_items = 0, {}, {}
    for question in book.questions:
        if question.grid and question.grid in grid_numbers:
            n = grid_numbers[question.grid]
        else:
            number += 1
            n = grid_numbers.setdefault(question.grid, number) if question.grid else number
        k = None
        if question.grid:
            k = grid_items[question.grid] = grid_items.get(question.grid, 0) + 1
        yield question, n, k
