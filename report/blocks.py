"""The parts of a report section, as data for the page's templates (templates/blocks.html.j2).

Nothing here is HTML: the templates write the markup and escape every value; the one
piece of markup is a chart's SVG, drawn by charts.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup


@dataclass(frozen=True)
class Cell:
    """A table cell shown as `code`, in `strong` type, or in a span of the given class ("file", "status ok")."""

    text: str
    wrap: str


@dataclass(frozen=True)
class Row:
    """A table row: its cells (plain text or Cell), or one full-width "group" heading or "why" note."""

    cells: tuple[str | Cell, ...] = ()
    kind: str = ""
    text: str = ""


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    numeric: frozenset[int] = field(default_factory=frozenset)  # right-aligned columns
    cls: str = ""
    kind: str = "table"


@dataclass(frozen=True)
class Note:
    """A paragraph; `code` spans in the text are shown as code."""

    text: str
    cls: str = ""
    kind: str = "note"


@dataclass(frozen=True)
class Heading:
    text: str
    kind: str = "heading"


@dataclass(frozen=True)
class Figure:
    """One chart: the question as heading, what it shows as subtitle, the SVG (None: the note instead)."""

    chart_id: str
    heading: str
    subtitle: str
    svg: Markup | None
    note: str = ""
    suppressed: int = 0
    significant: int = 0
    published: int = 0
    changes: int = 0  # bars that show their change since the previous wave
    changes_significant: int = 0  # of those, significant changes
    kind: str = "figure"


Block = Figure | Table | Note | Heading


@dataclass(frozen=True)
class SectionView:
    """A section of the page: its anchor, title, caption and blocks."""

    key: str
    title: str
    caption: str
    blocks: tuple[Block, ...]


def code_parts(text: str) -> list[tuple[str, bool]]:
    """The text cut at its `backticks`: (part, is_code) pairs, the backticks dropped."""
    parts = re.split(r"`([^`]+)`", text)
    return [(part, index % 2 == 1) for index, part in enumerate(parts) if part]
