"""The report page: one self-contained HTML file built from the warehouse alone.

Reads the warehouse read-only (`data.py`), draws the charts of the study's report outline
(`sections.py`, schemas/outline.py) as inline SVG (`charts.py`), adds the claims and data-quality tables (`tables.py`), and
renders the Jinja2 templates of `templates/` (every value escaped) into one HTML file that opens offline in any browser: no script, no external
resource, a Content-Security-Policy that forbids loading any. The page carries no build
time: the same warehouse gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cache
from pathlib import Path

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined

from report import charts
from report.blocks import Block, Figure, Note, SectionView, code_parts
from report.data import ReportData, ReportError, read_report_data
from report.sections import BySegment, Chart, Distribution, Panels, Section, chart_id, report_sections
from report.strings import (
    answer_label,
    format_change,
    format_int,
    format_number,
    format_pct,
    question_text,
    segment_name,
    segment_value_label,
    segment_values,
    ui,
)
from report.tables import claims_blocks, quality_blocks
from schemas.outline import in_language
from schemas.study import Study, load_study
from warehouse.backend import Warehouse, open_reader

__all__ = ["ReportError", "build_report", "render_page", "write_page", "write_report"]


# ---------------------------------------------------------------- charts


def _bar(row: dict, label: str, *, style: str = "option", overall: float | None = None) -> charts.Bar:
    direction = 0
    if row["is_significant"] and overall is not None and row["pct"] is not None:
        direction = 1 if row["pct"] > overall else -1 if row["pct"] < overall else 0
    return charts.Bar(
        label=label,
        pct=row["pct"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        base_n=row["base_n"],
        is_suppressed=bool(row["is_suppressed"]),
        is_low_base=bool(row.get("is_low_base")),
        direction=direction,
        published=row["published_pct"],
        style=style,
        change_pts=row.get("change_pts"),
        is_change_significant=bool(row.get("is_change_significant")),
    )


def _rows(crosstab: pl.DataFrame, question: str, segment: str) -> dict[tuple[str, str], dict]:
    frame = crosstab.filter(pl.col("question") == question, pl.col("segment") == segment)
    return {(r["answer"], r["segment_value"]): r for r in frame.iter_rows(named=True)}


def _base_note(bars: list[charts.Bar], lang: str) -> str:
    bases = [bar.base_n for bar in bars]
    if min(bases) == max(bases):
        return ui(lang, "base_all", n=format_int(bases[0], lang))
    return ui(lang, "base_varies", low=format_int(min(bases), lang), high=format_int(max(bases), lang))


def chart_panels(chart: Chart, data: ReportData, lang: str, *, study: Study) -> tuple[list[charts.Panel], str]:
    """The panels of one chart, and its subtitle (what answer, by what segment)."""
    if isinstance(chart, Distribution):
        return _distribution_panels(chart, data, lang, study=study), ""
    by = ui(lang, "by", segment=segment_name(chart.segment, lang, outline=study.outline))
    if isinstance(chart, BySegment):
        label = answer_label(chart.question, chart.answer, lang, book=study.book, outline=study.outline)
        panels = _by_segment_panels(chart, data, lang, study=study)
        return panels, (ui(lang, "answer", answer=label) + " · " + by) if panels else ""
    return _segment_value_panels(chart, data, lang, study=study), by


def _n_label(text: str, base: int, lang: str) -> str:
    return f"{text} (n={format_int(base, lang)})"


def _segment_values(chart: BySegment | Panels, rows: dict[tuple[str, str], dict], *, study: Study) -> list[str]:
    """The chart segment's values that have rows, in questionnaire order."""
    return [v for v in segment_values(chart.segment, book=study.book) if any(key[1] == v for key in rows)]


def _distribution_panels(chart: Distribution, data: ReportData, lang: str, *, study: Study) -> list[charts.Panel]:
    """One panel: every option of the question over the whole sample, then the chart's NETs."""
    q = study.book.question(chart.question)
    whole = _rows(data.crosstab, chart.question, "all")

    def label(code: str) -> str:
        return answer_label(q.code, code, lang, book=study.book, outline=study.outline)

    bars = [_bar(whole[(c, "all")], label(c)) for c in q.option_codes if (c, "all") in whole]
    bars += [_bar(whole[(c, "all")], label(c), style="net") for c in chart.nets if (c, "all") in whole]
    return [charts.Panel(_base_note(bars, lang), tuple(bars))] if bars else []


def _by_segment_panels(chart: BySegment, data: ReportData, lang: str, *, study: Study) -> list[charts.Panel]:
    """One panel: the answer over the whole sample, then in each value of the segment."""
    whole = _rows(data.crosstab, chart.question, "all")
    if (chart.answer, "all") not in whole:
        return []
    rows = _rows(data.crosstab, chart.question, chart.segment)
    reference = whole[(chart.answer, "all")]
    bars = [_bar(reference, _n_label(ui(lang, "all_respondents"), reference["base_n"], lang), style="reference")]
    for value in _segment_values(chart, rows, study=study):
        if (chart.answer, value) in rows:
            row = rows[(chart.answer, value)]
            name = segment_value_label(chart.segment, value, lang, book=study.book, outline=study.outline)
            bars.append(_bar(row, _n_label(name, row["base_n"], lang), overall=reference["pct"]))
    return [charts.Panel(_base_note(bars, lang), tuple(bars))]


def _segment_value_panels(chart: Panels, data: ReportData, lang: str, *, study: Study) -> list[charts.Panel]:
    """One panel per value of the segment: every option of the question in that value."""
    q = study.book.question(chart.question)
    whole = _rows(data.crosstab, chart.question, "all")
    rows = _rows(data.crosstab, chart.question, chart.segment)
    panels = []
    for value in _segment_values(chart, rows, study=study):
        bars = [
            _bar(
                rows[(c, value)],
                answer_label(q.code, c, lang, book=study.book, outline=study.outline),
                overall=whole.get((c, "all"), {}).get("pct"),
            )
            for c in q.option_codes
            if (c, value) in rows
        ]
        if bars:
            name = segment_value_label(chart.segment, value, lang, book=study.book, outline=study.outline)
            panels.append(charts.Panel(_n_label(name, bars[0].base_n, lang), tuple(bars)))
    return panels


def _chart_text(data: ReportData, lang: str) -> charts.ChartText:
    minimum = data.minimum_base
    return charts.ChartText(
        axis=ui(lang, "axis"),
        legend_bar=ui(lang, "legend_bar"),
        legend_published=ui(lang, "legend_published"),
        legend_significant=ui(lang, "legend_significant"),
        legend_suppressed=ui(lang, "legend_suppressed", minimum=minimum),
        suppressed_note=lambda n: ui(lang, "suppressed_note", n=format_int(n, lang), minimum=minimum),
        pct=lambda value: format_pct(value, lang),
        legend_low_base=ui(lang, "legend_low_base", low=data.low_base),
        change=lambda pts, significant: format_change(pts, lang) + ("*" if significant else ""),
        legend_change=ui(lang, "legend_change", previous=data.previous_wave),
    )


def chart_figure(chart: Chart, data: ReportData, lang: str, *, study: Study, cid: str | None = None) -> Figure:
    """One chart's figure: the question as heading, the chart as inline SVG (or why there is none)."""
    heading = question_text(chart.question, lang, book=study.book)
    panels, subtitle = chart_panels(chart, data, lang, study=study)
    cid = cid or chart_id(chart)
    if not panels:
        return Figure(cid, heading, subtitle, svg=None, note=ui(lang, "no_data", wave=data.wave))
    bars = [bar for panel in panels for bar in panel.bars]
    svg = charts.chart_svg(
        panels,
        chart_id=cid,
        text=_chart_text(data, lang),
        label=f"{heading} {subtitle}".strip(),
        columns=2 if isinstance(chart, Panels) else 1,
    )
    shown = [b for b in bars if not b.is_suppressed and b.pct is not None]
    return Figure(
        cid,
        heading,
        subtitle,
        svg=svg,
        suppressed=sum(b.is_suppressed for b in bars),
        significant=sum(b.direction != 0 for b in bars),
        published=sum(b.published is not None for b in bars),
        changes=sum(b.change_pts is not None for b in shown),
        changes_significant=sum(b.change_pts is not None and b.is_change_significant for b in shown),
    )


# ---------------------------------------------------------------- page


@cache
def _templates() -> Environment:
    """The page's templates (report/templates), every value escaped."""
    environment = Environment(
        loader=PackageLoader("report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,  # the page ends with a newline
    )
    environment.filters["code_parts"] = code_parts
    return environment


def _checked_language(lang: str, study: Study) -> str:
    """`lang` when the study has labels in it; else a ReportError naming the study's languages."""
    if lang not in study.languages:
        raise ReportError(f"unknown language {lang!r} (the study's languages: {', '.join(study.languages)})")
    return lang


def render_page(data: ReportData, *, lang: str, warehouse_name: str, study: Study | None = None) -> str:
    """The whole HTML page of one wave in `lang` (labels from the study, the page's own words in `lang` or English)."""
    study = study or load_study()
    lang = _checked_language(lang, study)
    as_of = _as_of(data, lang, warehouse_name)
    sections = _sections(data, lang, as_of, study=study)
    return (
        _templates()
        .get_template("page.html.j2")
        .render(
            lang=lang,
            title=in_language(study.outline.title, lang) or ui(lang, "title", study=study.name),
            wave=ui(lang, "wave", wave=data.wave),
            intro=ui(lang, "intro"),
            as_of=as_of,
            keys=_key_figures(data, lang),
            contents_title=ui(lang, "contents"),
            contents=[(section.key, section.title) for section in sections],
            read_title=ui(lang, "how_to_read"),
            read=_how_to_read(data, lang),
            sections=sections,
            footer=ui(lang, "footer"),
        )
    )


def _how_to_read(data: ReportData, lang: str) -> list[str]:
    """The legend's lines: the marks the charts use, the changes, and whether the figures are weighted."""
    published = data.crosstab["published_pct"].is_not_null().any()
    lines = [
        ui(lang, "read_bar"),
        *([ui(lang, "read_published")] if published else []),
        ui(lang, "read_significant"),
        ui(lang, "read_suppressed", minimum=data.minimum_base),
        ui(lang, "read_net"),
    ]
    if data.previous_wave is not None:
        lines.append(ui(lang, "read_change", previous=data.previous_wave))
    if data.is_weighted:
        lines.append(ui(lang, "read_weighted"))
        if data.previous_wave is not None:
            lines.append(ui(lang, "read_changes_weighted" if data.is_trend_weighted else "read_changes_unweighted"))
    return lines


def _chart_figures(section: Section, data: ReportData, lang: str, *, study: Study, seen: set[str]) -> list[Block]:
    """A section's figures; a chart shown twice on the page gets its own id (-2, -3...)."""
    figures: list[Block] = []
    for chart in section.charts:
        cid, number = chart_id(chart), 1
        while cid in seen:
            number += 1
            cid = f"{chart_id(chart)}-{number}"
        seen.add(cid)
        figures.append(chart_figure(chart, data, lang, study=study, cid=cid))
    return figures


def _without_repeated_heading(title: str, blocks: list[Block]) -> list[Block]:
    """A section of one chart titled by its question: the chart's heading would say it again."""
    if len(blocks) == 1 and isinstance(blocks[0], Figure) and blocks[0].heading == title:
        return [dataclasses.replace(blocks[0], heading="")]
    return blocks


def _sections(data: ReportData, lang: str, as_of: str, *, study: Study) -> list[SectionView]:
    """The outline's sections in order, then the claims and the data quality."""
    seen: set[str] = set()
    sections = []
    for section in report_sections(study.outline, book=study.book):
        title = in_language(section.title, lang, fallback=section.key)
        figures = _chart_figures(section, data, lang, study=study, seen=seen)
        blocks = tuple(_without_repeated_heading(title, figures))
        sections.append(SectionView(section.key, title, in_language(section.caption, lang), blocks))
    claims_caption = ui(lang, "cap_claims", tolerance=format_number(data.tolerance_pts, lang, 0))
    sections.append(_section("claims", lang, claims_blocks(data, lang, study=study), caption=claims_caption))
    sections.append(_section("quality", lang, [Note(as_of, cls="asof"), *quality_blocks(data, lang)]))
    return sections


def _key_figures(data: ReportData, lang: str) -> list[tuple[str, str]]:
    """The header's key figures: (value, what it counts)."""
    keys = [
        (format_int(data.responses, lang), ui(lang, "responses")),
        (format_int(data.excluded, lang), ui(lang, "excluded")),
        (format_int(data.responses - data.excluded, lang), ui(lang, "in_bases")),
    ]
    if not data.claims.is_empty():
        reproduced = data.claims.filter(pl.col("status") == "reproduced").height
        keys.append((f"{reproduced} / {data.claims.height}", ui(lang, "claims_reproduced")))
    if data.is_weighted:
        keys.append(("⚖", ui(lang, "weighted_key")))
    return keys


def _section(key: str, lang: str, blocks: list[Block], *, caption: str | None = None) -> SectionView:
    caption = caption if caption is not None else ui(lang, "cap_" + key)
    return SectionView(key, ui(lang, "sec_" + key), caption, tuple(blocks))


def _as_of(data: ReportData, lang: str, warehouse_name: str) -> str:
    if data.run is None:
        return ui(lang, "no_run")
    return ui(
        lang,
        "as_of",
        date=f"{data.run['finished_at']:%Y-%m-%d %H:%M}",
        run_id=data.run["run_id"],
        warehouse=warehouse_name,
    )


def build_report(
    warehouse: Warehouse,
    *,
    lang: str = "en",
    wave: int | None = None,
    study: Study | None = None,
    name: str | None = None,
) -> str:
    """The report page of `warehouse` (read-only) as an HTML string; `study` gives the outline and
    labels (default: the built-in study); `name`: the warehouse's name on the page (default: a
    file's name, else what `str` gives)."""
    study = study or load_study()
    _checked_language(lang, study)
    with open_reader(warehouse) as connection:
        data = read_report_data(connection, wave=wave)
    if name is None:
        name = warehouse.name if isinstance(warehouse, Path) else str(warehouse)
    return render_page(data, lang=lang, warehouse_name=name, study=study)


def write_report(
    warehouse: Warehouse, out: Path, *, lang: str = "en", wave: int | None = None, study: Study | None = None
) -> Path:
    """Build the report page and write it to `out` atomically (a reader never sees half a page)."""
    return write_page(build_report(warehouse, lang=lang, wave=wave, study=study), out)


def write_page(page: str, out: Path) -> Path:
    """The page (``build_report``'s) written to `out` atomically (a reader never sees half a page)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
