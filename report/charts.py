"""Horizontal bar charts as inline SVG strings, written directly from the figures (svg.py).

A chart is one or more panels of bars. Each bar is a recomputed percentage with its 95%
interval as an error bar; a diamond marks the published figure where the report printed
one; ▲/▼ beside the value marks a significant difference from the rest of the sample; † a
low base; the change since the previous wave follows the value; a suppressed value (base
under the minimum) is a grey hatched band with a note, never a bar.

The SVG keeps its text as text, carries a <title> and an aria-label, no date or other
metadata, and is byte-for-byte reproducible. Its one id (the hatch pattern) comes from
the chart's own id, which keeps ids unique when many charts share one HTML page.
Coordinates are CSS pixels at the chart's natural width (WIDTH_PX): the page never draws a
chart narrower (a phone scrolls it sideways), so FONT_PX is the smallest text anyone sees.
"""

from __future__ import annotations

import math
import re
import textwrap
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from report.svg import element, group, lines_text, number

# Pixels: chart width (the page's text column), label column, gaps; rows grow with the number of bars.
WIDTH_PX = 806
LABEL_PX = 278
RIGHT_PX = 14
ROW_PX = 26
WRAPPED_ROW_PX = 35
TITLE_LINE_PX = 16
PANEL_GAP_PX = 43
COLUMN_GAP_PX = 34
AXIS_PX = 40
LEGEND_ROW_PX = 20
VALUE_ROOM_PX = 53  # room right of the longest bar for its value label
CHANGE_ROOM_PX = 72  # and for its change since the previous wave
LABEL_WIDTH = 40  # characters per line of a bar label
FONT_PX = 11.5  # every text of the chart: 11 px or more wherever the page shows it
LINE_PX = FONT_PX * 1.25
FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
NATURAL_PX = WIDTH_PX  # the page never draws a chart narrower (report/templates/page.css)

COLORS = {"option": "#5b8db8", "net": "#1f4e79", "reference": "#9aa5b1"}
INK = "#222222"
MUTED = "#555555"
AXIS_COLOR = "#888888"
GRID = "#e6e6e6"
PUBLISHED = "#d1495b"
SUPPRESSED_FILL = "#f1f1f1"
SUPPRESSED_HATCH = "#b5b5b5"
LOW_BASE_MARK = "†"  # after the percentage of a bar whose base is low


@dataclass(frozen=True)
class Bar:
    """One bar: a percentage (0-100) with its interval, base and marks."""

    label: str
    pct: float | None
    ci_low: float | None
    ci_high: float | None
    base_n: int
    is_suppressed: bool = False
    direction: int = 0  # +1 significantly higher than the rest, -1 lower, 0 not significant
    published: float | None = None
    style: str = "option"  # option | net | reference (the whole sample beside segment values)
    is_low_base: bool = False  # shown, with a caution mark (base under the low base)
    change_pts: float | None = None  # change since the previous wave, percentage points (None: no earlier row)
    is_change_significant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class ChartText:
    """The chart's words, in the page's language."""

    axis: str
    legend_bar: str
    legend_published: str
    legend_significant: str
    legend_suppressed: str
    suppressed_note: Callable[[int], str]  # base -> "n = 12: base < 30, not shown"
    pct: Callable[[float], str]  # 47.2 -> "47%"
    legend_low_base: str = ""  # "Base under 100: read with caution"
    change: Callable[[float, bool], str] = lambda pts, significant: ""  # 5.2, True -> "+5 pts*"
    legend_change: str = ""  # "Change since wave 2023 (* significant)"


def chart_svg(panels: Sequence[Panel], *, chart_id: str, text: ChartText, label: str, columns: int = 1) -> Markup:
    """One chart as an SVG element (no XML prolog), markup ready to inline in HTML; every text escaped."""
    legend = _legend_entries(panels, text)
    legend_columns = _legend_columns(legend)
    layout = _layout(panels, columns=columns, legend_rows=math.ceil(len(legend) / legend_columns))
    hatch = _hatch_id(chart_id)
    body = [element("title", label)]
    if any(_is_hidden(bar) for panel in panels for bar in panel.bars):
        body.append(_hatch_pattern(hatch))
    body += _panels(panels, layout, text=text, hatch=hatch)
    body += _legend(
        legend, top=layout.height - 8 - layout.legend_rows * LEGEND_ROW_PX, columns=legend_columns, hatch=hatch
    )
    svg = group(
        body,
        tag_="svg",
        class_="chart-svg",
        role="img",
        aria_label=label,
        data_chart=chart_id,
        font_family=FONT_FAMILY,
        font_size=FONT_PX,
        style=f"min-width:{NATURAL_PX}px",
        width=WIDTH_PX,
        height=layout.height,
        viewBox=f"0 0 {WIDTH_PX} {number(layout.height)}",
        xmlns="http://www.w3.org/2000/svg",
    )
    return Markup(svg)  # noqa: S704 - built by report.svg, which escapes every value


@dataclass(frozen=True)
class _Layout:
    """Where a chart's panels go: a grid of `columns`, sizes in pixels."""

    columns: int
    rows: int
    panel_px: float
    row_px: float
    labels: list[list[list[str]]]  # wrapped bar labels (lines), per panel
    titles: list[list[str]]  # wrapped panel titles (lines)
    bars_per_row: list[int]
    title_px: list[float]
    legend_rows: int
    height: float
    xmax: float  # the percentage at a panel's right edge


def _layout(panels: Sequence[Panel], *, columns: int, legend_rows: int) -> _Layout:
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    panel_px = (WIDTH_PX - LABEL_PX - RIGHT_PX - (columns - 1) * COLUMN_GAP_PX) / columns
    labels = [[_wrap(bar.label, LABEL_WIDTH) for bar in panel.bars] for panel in panels]
    titles = [_wrap(panel.title, int(panel_px / 7.1) if columns > 1 else 200) for panel in panels]
    row_px = WRAPPED_ROW_PX if any(len(lines) > 1 for panel in labels for lines in panel) else ROW_PX
    bars_per_row = [max(len(p.bars) for p in panels[r * columns : (r + 1) * columns]) for r in range(rows)]
    title_px = [14 + TITLE_LINE_PX * max(len(t) for t in titles[r * columns : (r + 1) * columns]) for r in range(rows)]
    height = sum(n * row_px for n in bars_per_row) + sum(title_px) + (rows - 1) * PANEL_GAP_PX
    height += AXIS_PX + legend_rows * LEGEND_ROW_PX + 8
    extent = max((_extent(bar) for panel in panels for bar in panel.bars), default=0.0)
    room = VALUE_ROOM_PX + (CHANGE_ROOM_PX if any(b.change_pts is not None for p in panels for b in p.bars) else 0)
    xmax = max(extent, 5.0) / (1 - min(room / panel_px, 0.6))
    return _Layout(columns, rows, panel_px, row_px, labels, titles, bars_per_row, title_px, legend_rows, height, xmax)


@dataclass(frozen=True)
class _Box:
    """One panel's plotting area: percentages 0..xmax left to right, one slot per bar top to bottom."""

    left: float
    top: float
    width: float
    row_px: float
    slots: int
    xmax: float

    @property
    def bottom(self) -> float:
        return self.top + self.slots * self.row_px

    def x(self, pct: float) -> float:
        return self.left + self.width * min(max(pct, 0.0), self.xmax) / self.xmax

    def y(self, slot: float) -> float:
        """The middle of a slot (slot + 0.5 is the line between two)."""
        return self.top + (slot + 0.5) * self.row_px


def _panels(panels: Sequence[Panel], layout: _Layout, *, text: ChartText, hatch: str) -> list[str]:
    out: list[str] = []
    top = 0.0
    for r in range(layout.rows):
        top += layout.title_px[r]
        for c in range(layout.columns):
            index = r * layout.columns + c
            if index >= len(panels):
                break
            left = LABEL_PX + c * (layout.panel_px + COLUMN_GAP_PX)
            box = _Box(left, top, layout.panel_px, layout.row_px, layout.bars_per_row[r], layout.xmax)
            out += _axes(box, layout.titles[index], axis=text.axis if r == layout.rows - 1 else "")
            if c == 0:
                out += _bar_labels(box, panels[index].bars, layout.labels[index])
            out += _bars(box, panels[index].bars, text=text, hatch=hatch)
        top += layout.bars_per_row[r] * layout.row_px + PANEL_GAP_PX
    return out


def _ticks(xmax: float) -> range:
    step = next(s for limit, s in ((12, 2), (30, 5), (70, 10), (10**6, 20)) if xmax <= limit)
    return range(0, int(min(100, xmax)) + 1, step)


def _axes(box: _Box, title: list[str], *, axis: str) -> list[str]:
    """The panel's title above it, its grid, left and bottom axis lines, ticks, tick labels and axis label."""
    first_baseline = box.top - 6 - (len(title) - 1) * LINE_PX
    out = [lines_text(title, x=box.left, y=first_baseline, line_px=LINE_PX, fill=MUTED)]
    grid, ticks, labels = [], [], []
    for tick in _ticks(box.xmax):
        x = box.x(tick)
        grid.append(element("line", x1=x, y1=box.top, x2=x, y2=box.bottom))
        ticks.append(element("line", x1=x, y1=box.bottom, x2=x, y2=box.bottom + 4))
        labels.append(element("text", str(tick), x=x, y=box.bottom + 17))
    out.append(group(grid, stroke=GRID, stroke_width=0.8))
    spines = [
        element("line", x1=box.left, y1=box.top, x2=box.left, y2=box.bottom),
        element("line", x1=box.left, y1=box.bottom, x2=box.left + box.width, y2=box.bottom),
    ]
    out.append(group(spines + ticks, stroke=AXIS_COLOR, stroke_width=1.0))
    out.append(group(labels, fill=MUTED, text_anchor="middle"))
    if axis:
        out.append(
            element("text", axis, x=box.left + box.width / 2, y=box.bottom + 33, fill=MUTED, text_anchor="middle")
        )
    return out


def _bar_labels(box: _Box, bars: Sequence[Bar], labels: list[list[str]]) -> list[str]:
    """The bars' labels, right-aligned left of the panel; NETs and the whole sample in bold."""
    out = []
    for slot, (bar, lines) in enumerate(zip(bars, labels, strict=True)):
        first = box.y(slot) + 0.35 * FONT_PX - (len(lines) - 1) * LINE_PX / 2
        weight = "bold" if bar.style != "option" else None
        out.append(lines_text(lines, x=box.left - 6, y=first, line_px=LINE_PX, font_weight=weight))
    return [group(out, fill=INK, text_anchor="end")]


def _bars(box: _Box, bars: Sequence[Bar], *, text: ChartText, hatch: str) -> list[str]:
    out = []
    for slot, bar in enumerate(bars):
        middle = box.y(slot)
        if slot and bar.style != bars[slot - 1].style:
            line = box.y(slot - 0.5)
            out.append(
                element(
                    "line",
                    x1=box.left,
                    y1=line,
                    x2=box.left + box.width,
                    y2=line,
                    stroke="#999999",
                    stroke_dasharray="4 4",
                )
            )
        if _is_hidden(bar):
            height = 0.7 * box.row_px
            out.append(
                element(
                    "rect", x=box.left, y=middle - height / 2, width=box.width, height=height, fill=f"url(#{hatch})"
                )
            )
            note = text.suppressed_note(bar.base_n)
            out.append(element("text", note, x=box.x(box.xmax * 0.015), y=middle + 0.35 * FONT_PX, fill=MUTED))
            continue
        out += _shown_bar(box, bar, middle, text=text)
    return out


def _shown_bar(box: _Box, bar: Bar, middle: float, *, text: ChartText) -> list[str]:
    """A bar, its interval's whisker, the published figure's diamond and the value with its marks."""
    height = 0.62 * box.row_px
    width = box.x(bar.pct) - box.left
    out = [element("rect", x=box.left, y=middle - height / 2, width=width, height=height, fill=COLORS[bar.style])]
    if bar.ci_low is not None and bar.ci_high is not None:
        low, high = box.x(min(bar.ci_low, bar.pct)), box.x(max(bar.ci_high, bar.pct))
        out.append(_whisker(low, high, middle))
    if bar.published is not None:
        out.append(
            element("polygon", points=_diamond(box.x(bar.published), middle, 5.5), fill=PUBLISHED, stroke="white")
        )
    mark = {1: " ▲", -1: " ▼"}.get(bar.direction, "") + (f" {LOW_BASE_MARK}" if bar.is_low_base else "")
    if bar.change_pts is not None:
        mark += "  " + text.change(bar.change_pts, bar.is_change_significant)
    value = text.pct(bar.pct) + mark
    x = box.x(_extent(bar) + box.xmax * 0.015)
    out.append(element("text", value, x=x, y=middle + 0.35 * FONT_PX, fill=INK))
    return out


def _whisker(low: float, high: float, middle: float) -> str:
    """A 95% interval: a line from low to high with a cap at each end."""
    paths = f"M{number(low)} {number(middle)}H{number(high)}"
    for x in (low, high):
        paths += f"M{number(x)} {number(middle - 3.5)}V{number(middle + 3.5)}"
    return element("path", d=paths, stroke=INK, stroke_width=1.2, fill="none")


def _diamond(x: float, y: float, radius: float) -> str:
    points = ((x, y - radius), (x + radius, y), (x, y + radius), (x - radius, y))
    return " ".join(f"{number(px)},{number(py)}" for px, py in points)


def _triangle(x: float, y: float, *, up: bool) -> str:
    sign = -1 if up else 1
    points = ((x, y + sign * 4.5), (x + 4.5, y - sign * 3.5), (x - 4.5, y - sign * 3.5))
    return " ".join(f"{number(px)},{number(py)}" for px, py in points)


def _extent(bar: Bar) -> float:
    """How far right a bar reaches with its whisker and published marker."""
    if _is_hidden(bar):
        return 0.0
    return max(bar.pct, bar.ci_high or 0.0, bar.published or 0.0)


def _is_hidden(bar: Bar) -> bool:
    return bar.is_suppressed or bar.pct is None


def _hatch_id(chart_id: str) -> str:
    """An id safe in url(#...), unique per chart id."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", chart_id)
    suffix = "" if safe == chart_id else f"-{zlib.crc32(chart_id.encode()):08x}"
    return f"hatch-{safe}{suffix}"


def _hatch_pattern(hatch: str) -> str:
    """The grey diagonal hatching of suppressed values (fills by url(#hatch))."""
    tile = [
        element("rect", width=6, height=6, fill=SUPPRESSED_FILL),
        element("line", x1=0, y1=0, x2=0, y2=6, stroke=SUPPRESSED_HATCH, stroke_width=1.6),
    ]
    pattern = group(
        tile, tag_="pattern", id=hatch, width=6, height=6, patternUnits="userSpaceOnUse", patternTransform="rotate(45)"
    )
    return group([pattern], tag_="defs")


# ---------------------------------------------------------------- legend


def _legend_entries(panels: Sequence[Panel], text: ChartText) -> list[tuple[str, str]]:
    """(kind of mark, words) for each mark the chart uses, in a fixed order."""
    bars = [bar for panel in panels for bar in panel.bars]
    shown = [bar for bar in bars if not _is_hidden(bar)]
    wanted = [
        ("bar", bool(shown), text.legend_bar),
        ("published", any(bar.published is not None for bar in shown), text.legend_published),
        ("significant", any(bar.direction for bar in shown), text.legend_significant),
        ("low_base", any(bar.is_low_base for bar in shown), text.legend_low_base),
        ("change", any(bar.change_pts is not None for bar in shown), text.legend_change),
        ("suppressed", len(shown) < len(bars), text.legend_suppressed),
    ]
    return [(kind, words) for kind, used, words in wanted if used and words]


def _words_px(entries: Sequence[tuple[str, str]]) -> float:
    """A generous estimate of the widest entry's words in pixels (0.62 em a character)."""
    return max((len(words) for _, words in entries), default=0) * FONT_PX * 0.62


def _legend_columns(entries: list[tuple[str, str]]) -> int:
    """Two columns, unless an entry would not fit in half the width."""
    return 2 if _words_px(entries) <= WIDTH_PX / 2 - 44 else 1


def _legend(entries: list[tuple[str, str]], *, top: float, columns: int, hatch: str) -> list[str]:
    """The marks the chart uses, each with its words, row by row; the second column just clears the first."""
    second = min(WIDTH_PX / 2, 8 + 36 + _words_px(entries[::columns]) + 28)
    out = []
    for index, (kind, words) in enumerate(entries):
        row, column = divmod(index, columns)
        x, middle = 8 + column * (second - 8), top + (row + 0.5) * LEGEND_ROW_PX
        out += _legend_mark(kind, x, middle, hatch=hatch)
        out.append(element("text", words, x=x + 36, y=middle + 0.35 * FONT_PX, fill=INK))
    return out


def _legend_mark(kind: str, x: float, middle: float, *, hatch: str) -> list[str]:
    """The mark a legend entry explains, drawn in a box 30 px wide."""
    glyph = {"low_base": LOW_BASE_MARK, "change": "±"}
    if kind == "bar":
        bar = element("rect", x=x, y=middle - 5, width=13, height=10, fill=COLORS["option"])
        return [bar, _whisker(x + 17, x + 30, middle)]
    if kind == "published":
        return [element("polygon", points=_diamond(x + 15, middle, 5.5), fill=PUBLISHED, stroke="white")]
    if kind == "significant":
        return [
            element("polygon", points=_triangle(x + 8, middle, up=True), fill=INK),
            element("polygon", points=_triangle(x + 22, middle, up=False), fill=INK),
        ]
    if kind in glyph:
        return [element("text", glyph[kind], x=x + 15, y=middle + 0.35 * FONT_PX, fill=INK, text_anchor="middle")]
    return [element("rect", x=x, y=middle - 6, width=30, height=12, fill=f"url(#{hatch})")]


def _wrap(label: str, width: int) -> list[str]:
    """At most two lines (spaces inside "n=2 252" are non-breaking, so a base never splits)."""
    lines = textwrap.wrap(label, width, break_on_hyphens=False)
    if len(lines) > 2:
        rest = " ".join(lines[1:])
        lines = [lines[0], rest[: width - 1] + "…"]
    return lines or [label]
