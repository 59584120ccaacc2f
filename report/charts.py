"""Horizontal bar charts as inline SVG strings (matplotlib, Agg canvas, no pyplot).

A chart is one or more panels of bars. Each bar is a recomputed percentage with its 95%
interval as an error bar; a diamond marks the published figure where the report printed
one; ▲/▼ beside the value marks a significant difference from the rest of the sample; a
suppressed value (base under the minimum) is a grey hatched band with a note, never a bar.

The SVG keeps its text as text (`svg.fonttype = none`), carries no date or other
metadata, and is byte-for-byte reproducible: the id salt is the chart's own id, which
also keeps ids unique when many charts share one HTML page.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib
from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

# Inches: figure width, label column, gaps; rows grow with the number of bars.
WIDTH_IN = 8.4  # 806 px at 96 dpi: the page's text column, so 9 pt text shows at 12 px
LABEL_IN = 2.9
RIGHT_IN = 0.15
ROW_IN = 0.27
WRAPPED_ROW_IN = 0.36
TITLE_LINE_IN = 0.17
PANEL_GAP_IN = 0.45
COLUMN_GAP_IN = 0.35
AXIS_IN = 0.42
LEGEND_ROW_IN = 0.21
VALUE_ROOM_IN = 0.55  # room right of the longest bar for its value label
CHANGE_ROOM_IN = 0.75  # and for its change since the previous wave
LABEL_WIDTH = 40  # characters per line of a bar label

COLORS = {"option": "#5b8db8", "net": "#1f4e79", "reference": "#9aa5b1"}
INK = "#222222"
MUTED = "#555555"
PUBLISHED = "#d1495b"
SUPPRESSED_FILL = "#f1f1f1"
SUPPRESSED_HATCH = "#b5b5b5"

STYLE = {
    "svg.fonttype": "none",  # text stays text: searchable, selectable, small
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "xtick.color": MUTED,
    "ytick.color": INK,
    "hatch.linewidth": 0.6,
}
SMALL = 8.5  # points: the smallest text, 11.3 px at the chart's natural width (NATURAL_PX)
NATURAL_PX = round(WIDTH_IN * 96)  # the page never draws a chart narrower (report/templates/page.css)
LOW_BASE_MARK = "†"  # after the percentage of a bar whose base is low
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


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
    """One chart as an SVG element (no XML prolog), markup ready to inline in HTML."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"surveyhouse-{chart_id}"}):
        figure = _draw(panels, text=text, columns=columns)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    return _inline(buffer.getvalue(), chart_id=chart_id, label=label)


@dataclass(frozen=True)
class _Layout:
    """Where a chart's panels go: a grid of `columns`, sizes in inches."""

    columns: int
    rows: int
    panel_in: float
    row_in: float
    labels: list[list[str]]  # wrapped bar labels, per panel
    titles: list[str]  # wrapped panel titles
    bars_per_row: list[int]
    title_in: list[float]
    height: float


def _layout(panels: Sequence[Panel], *, columns: int, legend_entries: int) -> _Layout:
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    panel_in = (WIDTH_IN - LABEL_IN - RIGHT_IN - (columns - 1) * COLUMN_GAP_IN) / columns
    labels = [[_wrap(bar.label, LABEL_WIDTH) for bar in panel.bars] for panel in panels]
    titles = [_wrap(panel.title, int(panel_in * 13.5) if columns > 1 else 200) for panel in panels]
    row_in = WRAPPED_ROW_IN if any("\n" in lab for panel in labels for lab in panel) else ROW_IN
    bars_per_row = [max(len(p.bars) for p in panels[r * columns : (r + 1) * columns]) for r in range(rows)]
    title_in = [
        0.15 + TITLE_LINE_IN * max(t.count("\n") + 1 for t in titles[r * columns : (r + 1) * columns])
        for r in range(rows)
    ]
    height = sum(n * row_in for n in bars_per_row) + sum(title_in) + (rows - 1) * PANEL_GAP_IN
    height += AXIS_IN + math.ceil(legend_entries / 2) * LEGEND_ROW_IN + 0.08
    return _Layout(columns, rows, panel_in, row_in, labels, titles, bars_per_row, title_in, height)


def _draw(panels: Sequence[Panel], *, text: ChartText, columns: int) -> Figure:
    legend = _legend_handles(panels, text)
    layout = _layout(panels, columns=columns, legend_entries=len(legend))
    columns, height = layout.columns, layout.height
    figure = Figure(figsize=(WIDTH_IN, height))
    FigureCanvasAgg(figure)
    extent = max((_extent(bar) for panel in panels for bar in panel.bars), default=0.0)
    room = VALUE_ROOM_IN + (CHANGE_ROOM_IN if any(b.change_pts is not None for p in panels for b in p.bars) else 0)
    xmax = max(extent, 5.0) / (1 - min(room / layout.panel_in, 0.6))

    top = height
    for r in range(layout.rows):
        top -= layout.title_in[r]
        span = layout.bars_per_row[r] * layout.row_in
        for c in range(columns):
            index = r * columns + c
            if index >= len(panels):
                break
            left = LABEL_IN + c * (layout.panel_in + COLUMN_GAP_IN)
            axes = figure.add_axes((left / WIDTH_IN, (top - span) / height, layout.panel_in / WIDTH_IN, span / height))
            _draw_panel(
                axes,
                panels[index],
                layout.titles[index],
                layout.labels[index] if c == 0 else None,
                xmax=xmax,
                slots=layout.bars_per_row[r],
                text=text,
            )
            axes.set_xlabel(text.axis if r == layout.rows - 1 else "", fontsize=SMALL, color=MUTED)
        top -= span + PANEL_GAP_IN
    if legend:
        _add_legend(figure, legend)
    return figure


def _add_legend(figure: Figure, legend: list[tuple[object, str]]) -> None:
    figure.legend(
        handles=[h for h, _ in legend],
        labels=[t for _, t in legend],
        loc="lower left",
        bbox_to_anchor=(0.01, 0.0),
        ncols=2,
        frameon=False,
        fontsize=SMALL,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0.6)},
        handletextpad=0.5,
        columnspacing=1.6,
    )


def _draw_panel(
    axes, panel: Panel, title: str, labels: list[str] | None, *, xmax: float, slots: int, text: ChartText
) -> None:
    axes.set_title(title, loc="left", fontsize=SMALL, color=MUTED, pad=5, linespacing=1.25)
    axes.set_xlim(0, xmax)
    axes.set_ylim(slots - 0.5, -0.5)
    step = next(s for limit, s in ((12, 2), (30, 5), (70, 10), (10**6, 20)) if xmax <= limit)
    axes.set_xticks(range(0, int(min(100, xmax)) + 1, step))
    axes.tick_params(axis="x", labelsize=SMALL, length=3)
    axes.tick_params(axis="y", length=0, labelsize=SMALL)
    axes.grid(axis="x", color="#e6e6e6", linewidth=0.6)
    axes.set_axisbelow(True)
    positions = list(range(len(panel.bars)))
    axes.set_yticks(positions, labels if labels is not None else [""] * len(positions))
    if labels is not None:
        for tick, bar in zip(axes.get_yticklabels(), panel.bars):
            if bar.style != "option":
                tick.set_fontweight("bold")
    for y, bar in enumerate(panel.bars):
        if y and bar.style != panel.bars[y - 1].style:
            axes.axhline(y - 0.5, color="#999999", linewidth=0.7, linestyle=(0, (3, 3)))
        if bar.is_suppressed or bar.pct is None:
            axes.barh(y, xmax, height=0.7, color=SUPPRESSED_FILL, edgecolor=SUPPRESSED_HATCH, hatch="////", linewidth=0)
            axes.text(
                xmax * 0.015, y, text.suppressed_note(bar.base_n), va="center", ha="left", fontsize=SMALL, color=MUTED
            )
            continue
        axes.barh(y, bar.pct, height=0.62, color=COLORS[bar.style], linewidth=0)
        if bar.ci_low is not None and bar.ci_high is not None:
            error = [[max(bar.pct - bar.ci_low, 0)], [max(bar.ci_high - bar.pct, 0)]]
            axes.errorbar(bar.pct, y, xerr=error, fmt="none", ecolor=INK, elinewidth=0.9, capsize=2.5, capthick=0.9)
        if bar.published is not None:
            axes.scatter(
                [bar.published], [y], marker="D", s=30, color=PUBLISHED, edgecolors="white", linewidths=0.7, zorder=4
            )
        mark = {1: " ▲", -1: " ▼"}.get(bar.direction, "") + (f" {LOW_BASE_MARK}" if bar.is_low_base else "")
        if bar.change_pts is not None:
            mark += "  " + text.change(bar.change_pts, bar.is_change_significant)
        axes.text(
            _extent(bar) + xmax * 0.015, y, text.pct(bar.pct) + mark, va="center", ha="left", fontsize=SMALL, color=INK
        )


def _extent(bar: Bar) -> float:
    """How far right a bar reaches with its whisker and published marker."""
    if bar.is_suppressed or bar.pct is None:
        return 0.0
    return max(bar.pct, bar.ci_high or 0.0, bar.published or 0.0)


def _legend_handles(panels: Sequence[Panel], text: ChartText) -> list[tuple[object, str]]:
    bars = [bar for panel in panels for bar in panel.bars]
    shown = [bar for bar in bars if not (bar.is_suppressed or bar.pct is None)]
    handles: list[tuple[object, str]] = []
    if shown:
        bar = Patch(color=COLORS["option"])
        whisker = Line2D([], [], color=INK, linewidth=0.9, marker="|", markersize=6)
        handles.append(((bar, whisker), text.legend_bar))
    if any(bar.published is not None for bar in shown):
        diamond = Line2D([], [], linestyle="", marker="D", markersize=5, color=PUBLISHED, markeredgecolor="white")
        handles.append((diamond, text.legend_published))
    if any(bar.direction for bar in shown):
        up = Line2D([], [], linestyle="", marker="^", markersize=5, color=INK)
        down = Line2D([], [], linestyle="", marker="v", markersize=5, color=INK)
        handles.append(((up, down), text.legend_significant))
    if any(bar.is_low_base for bar in shown) and text.legend_low_base:
        dagger = Line2D([], [], linestyle="", marker=f"${LOW_BASE_MARK}$", markersize=6, color=INK)
        handles.append((dagger, text.legend_low_base))
    if any(bar.change_pts is not None for bar in shown) and text.legend_change:
        handles.append((Line2D([], [], linestyle="", marker="$±$", markersize=7, color=INK), text.legend_change))
    if len(shown) < len(bars):
        handles.append(
            (
                Patch(facecolor=SUPPRESSED_FILL, edgecolor=SUPPRESSED_HATCH, hatch="////", linewidth=0),
                text.legend_suppressed,
            )
        )
    return handles


def _wrap(label: str, width: int) -> str:
    """At most two lines (spaces inside "n=2 252" are non-breaking, so a base never splits)."""
    lines = textwrap.wrap(label, width, break_on_hyphens=False)
    if len(lines) > 2:
        rest = " ".join(lines[1:])
        lines = [lines[0], rest[: width - 1] + "…"]
    return "\n".join(lines) or label


_REFERENCE = re.compile(r"(?:url\(#|xlink:href=\"#|href=\"#)([^)\"]+)")
_ID = re.compile(r' id="([^"]+)"')
_FONT = re.compile(r"font-family: [^;\"]+;? ?")
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [^)"]*\)"')
_LONG_DECIMAL = re.compile(r"(\d\.\d\d)\d+")  # coordinates to 1/100 pt
_GROUP = re.compile(r"<g>|<g |</g>")


def _inline(svg: str, *, chart_id: str, label: str) -> Markup:
    """The <svg> element alone, lighter: no prolog, no unreferenced ids, one font declaration.

    Only what does not change the drawing goes: ids nothing points to, identity rotations,
    digits below 1/100 pt, wrapper groups without attributes, repeated whitespace; the
    font list moves from every text element to the root (text inherits it).
    """
    svg = svg[svg.index("<svg") :]
    referenced = set(_REFERENCE.findall(svg))
    svg = _ID.sub(lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    font = _FONT.search(svg)
    svg = _FONT.sub("", svg)
    svg = _NO_ROTATION.sub("", svg)
    svg = _LONG_DECIMAL.sub(r"\1", svg)
    svg = re.sub(r">[ \n\t]+<", "><", svg)
    svg = re.sub(r"[ \n\t]+", " ", svg).strip()
    svg = _unwrap_groups(svg.replace("<g/>", ""))
    family = font.group(0).removeprefix("font-family: ").rstrip("; ").replace("'", "") if font else "sans-serif"
    attributes = Markup(
        '<svg class="chart-svg" role="img" aria-label="{}" data-chart="{}" font-family="{}" style="min-width:{}px" '
    )
    # matplotlib escaped the SVG's own text; Markup.format escapes the values. Never drawn narrower than its
    # natural width (a phone scrolls the chart sideways): its smallest text stays SMALL points, 11 px or more.
    return Markup(svg.replace("<svg ", attributes.format(label, chart_id, family, NATURAL_PX), 1))


def _unwrap_groups(svg: str) -> str:
    """Drop every <g> without attributes and its matching </g>; keep groups that carry any."""
    out, kept, position = [], [], 0
    for match in _GROUP.finditer(svg):
        out.append(svg[position : match.start()])
        position = match.end()
        if match.group(0) == "<g>":
            kept.append(False)
        elif match.group(0) == "<g ":
            kept.append(True)
            out.append("<g ")
        elif kept.pop():
            out.append("</g>")
    out.append(svg[position:])
    return "".join(out)
