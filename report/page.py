"""The report page: one self-contained HTML file built from the warehouse alone.

Reads the warehouse read-only (`data.py`), draws the charts of `sections.SECTIONS` as
inline SVG (`charts.py`), adds the claims and data-quality tables (`tables.py`), and
writes one HTML file that opens offline in any browser: no script, no external
resource, a Content-Security-Policy that forbids loading any. The page carries no build
time: the same warehouse gives the same bytes.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from string import Template

import polars as pl

from report import charts
from report.data import ReportData, ReportError, read_report_data
from report.sections import (
    SECTIONS,
    BySegment,
    Chart,
    Distribution,
    Panels,
    chart_id,
)
from report.strings import (
    LANGUAGES,
    SEGMENTS,
    answer_label,
    format_int,
    format_number,
    format_pct,
    segment_value_label,
    segment_values,
    ui,
)
from report.tables import code_html, render_claims, render_quality
from schemas.codebook import Codebook, codebook
from warehouse.backend import Warehouse, open_reader

__all__ = ["ReportError", "build_report", "render_page", "write_report"]


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
        direction=direction,
        published=row["published_pct"],
        style=style,
    )


def _rows(crosstab: pl.DataFrame, question: str, segment: str) -> dict[tuple[str, str], dict]:
    frame = crosstab.filter(pl.col("question") == question, pl.col("segment") == segment)
    return {(r["answer"], r["segment_value"]): r for r in frame.iter_rows(named=True)}


def _base_note(bars: list[charts.Bar], lang: str) -> str:
    bases = [bar.base_n for bar in bars]
    if min(bases) == max(bases):
        return ui(lang, "base_all", n=format_int(bases[0], lang))
    return ui(lang, "base_varies", low=format_int(min(bases), lang), high=format_int(max(bases), lang))


def chart_panels(chart: Chart, data: ReportData, lang: str, *, book: Codebook) -> tuple[list[charts.Panel], str]:
    """The panels of one chart, and its subtitle (what answer, by what segment)."""
    q = book.question(chart.question)
    whole = _rows(data.crosstab, chart.question, "all")
    by = SEGMENTS[lang].get(getattr(chart, "segment", ""), getattr(chart, "segment", ""))

    def n_label(text: str, base: int) -> str:
        return f"{text} (n={format_int(base, lang)})"

    if isinstance(chart, Distribution):
        bars = [
            _bar(whole[(c, "all")], answer_label(q.code, c, lang, book=book))
            for c in q.option_codes
            if (c, "all") in whole
        ]
        bars += [
            _bar(whole[(c, "all")], answer_label(q.code, c, lang, book=book), style="net")
            for c in chart.nets
            if (c, "all") in whole
        ]
        return ([charts.Panel(_base_note(bars, lang), tuple(bars))] if bars else []), ""
    rows = _rows(data.crosstab, chart.question, chart.segment)
    values = [v for v in segment_values(chart.segment, book=book) if any(key[1] == v for key in rows)]
    if isinstance(chart, BySegment):
        if (chart.answer, "all") not in whole:
            return [], ""
        reference = whole[(chart.answer, "all")]
        bars = [_bar(reference, n_label(ui(lang, "all_respondents"), reference["base_n"]), style="reference")]
        for value in values:
            if (chart.answer, value) in rows:
                row = rows[(chart.answer, value)]
                label = n_label(segment_value_label(chart.segment, value, lang, book=book), row["base_n"])
                bars.append(_bar(row, label, overall=reference["pct"]))
        subtitle = (
            ui(lang, "answer", answer=answer_label(q.code, chart.answer, lang, book=book))
            + " · "
            + ui(lang, "by", segment=by)
        )
        return [charts.Panel(_base_note(bars, lang), tuple(bars))], subtitle
    panels = []
    for value in values:
        bars = [
            _bar(
                rows[(c, value)], answer_label(q.code, c, lang, book=book), overall=whole.get((c, "all"), {}).get("pct")
            )
            for c in q.option_codes
            if (c, value) in rows
        ]
        if bars:
            panels.append(
                charts.Panel(
                    n_label(segment_value_label(chart.segment, value, lang, book=book), bars[0].base_n), tuple(bars)
                )
            )
    return panels, ui(lang, "by", segment=by)


def _chart_text(lang: str, minimum: int) -> charts.ChartText:
    return charts.ChartText(
        axis=ui(lang, "axis"),
        legend_bar=ui(lang, "legend_bar"),
        legend_published=ui(lang, "legend_published"),
        legend_significant=ui(lang, "legend_significant"),
        legend_suppressed=ui(lang, "legend_suppressed", minimum=minimum),
        suppressed_note=lambda n: ui(lang, "suppressed_note", n=format_int(n, lang), minimum=minimum),
        pct=lambda value: format_pct(value, lang),
    )


def render_chart(chart: Chart, data: ReportData, lang: str, *, book: Codebook) -> str:
    """One <figure>: the question as heading, the chart as inline SVG."""
    q = book.question(chart.question)
    panels, subtitle = chart_panels(chart, data, lang, book=book)
    cid = chart_id(chart)
    heading = f"<h3>{escape(q.text[lang])}</h3>" + (f'<p class="sub">{escape(subtitle)}</p>' if subtitle else "")
    if not panels:
        return f'<figure class="chart empty" id="chart-{cid}">{heading}<p>{escape(ui(lang, "no_data", wave=data.wave))}</p></figure>'
    bars = [bar for panel in panels for bar in panel.bars]
    svg = charts.chart_svg(
        panels,
        chart_id=cid,
        text=_chart_text(lang, data.minimum_base),
        label=f"{q.text[lang]} {subtitle}".strip(),
        columns=2 if isinstance(chart, Panels) else 1,
    )
    counts = (
        f'data-suppressed="{sum(b.is_suppressed for b in bars)}" data-significant="{sum(b.direction != 0 for b in bars)}" '
        f'data-published="{sum(b.published is not None for b in bars)}"'
    )
    return f'<figure class="chart" id="chart-{cid}" {counts}>{heading}{svg}</figure>'


# ---------------------------------------------------------------- page

PAGE = Template(
    """<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>$title</title>
<link rel="icon" href="data:,">
<style>$css</style>
</head>
<body>
<header>
<h1>$title <span class="wave">$wave</span></h1>
<p class="intro">$intro</p>
<p class="asof">$as_of</p>
<ul class="keys">$keys</ul>
</header>
<div class="top">
<nav><h2>$contents_title</h2><ol>$contents</ol></nav>
<aside class="legend"><h2>$read_title</h2><ul>$read</ul></aside>
</div>
<main>
$sections
</main>
<footer>$footer</footer>
</body>
</html>
"""
)

CSS = """
:root{--ink:#222;--muted:#555;--line:#ddd;--accent:#1f4e79}
*{box-sizing:border-box}
body{margin:0 auto;max-width:860px;padding:18px 20px 48px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--ink);background:#fff}
h1{font-size:1.6em;line-height:1.2;margin:0 0 6px;color:var(--accent)}
h1 .wave{font-size:.62em;font-weight:600;color:var(--muted);white-space:nowrap;margin-left:.4em}
h2{font-size:1.3em;margin:36px 0 4px;padding-bottom:3px;border-bottom:2px solid var(--accent)}
.top h2{font-size:.95em;margin:0 0 4px;border:0;padding:0}
h3{font-size:1em;margin:0 0 2px}
p{margin:0 0 8px}
.asof,.note,.sub,.cap{color:var(--muted)}
.asof{font-size:.9em}
.sub{margin:0 0 2px;font-size:.92em}
.keys{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:10px 0}
.keys li{flex:1 1 150px;border:1px solid var(--line);border-radius:6px;padding:4px 10px;font-size:.9em;color:var(--muted)}
.keys b{font-size:1.35em;color:var(--accent);margin-right:6px}
.top{display:grid;grid-template-columns:1fr 1.5fr;gap:10px;margin:8px 0}
nav,aside{border:1px solid var(--line);border-radius:6px;padding:8px 12px;font-size:.86em}
nav ol{margin:0;padding-left:1.5em}
aside ul{margin:0;padding-left:1.1em}
@media (max-width:720px){.top{grid-template-columns:1fr}}
figure.chart{margin:18px 0;padding:10px 0 0;border-top:1px solid #eee;break-inside:avoid}
svg.chart-svg{display:block;width:100%;height:auto;margin-top:4px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.84em;margin:6px 0 16px}
th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f6f7f9;font-weight:600}
tr.group th{padding-top:10px;font-weight:600;color:var(--accent);border-bottom:1px solid #bbb}
.num{text-align:right;white-space:nowrap}
.file{overflow-wrap:anywhere}
table.files td:first-child{min-width:14em}
.status{display:inline-block;padding:0 6px;border-radius:8px;font-size:.92em;white-space:nowrap}
.ok{background:#e3f2e6;color:#1d5c2c}.warn{background:#fff3d6;color:#7a5200}
.bad{background:#fbe0e2;color:#8a1c25}.muted{background:#eee;color:#555}
.why{font-size:.92em;color:#8a1c25}
tr.why td{padding-left:3.2em}
code{font-size:.9em;background:#f3f3f3;padding:0 3px;border-radius:3px}
footer{margin-top:40px;color:var(--muted);font-size:.85em}
@media print{h2{break-after:avoid}}
"""


def render_page(data: ReportData, *, lang: str, warehouse_name: str, book: Codebook | None = None) -> str:
    """The whole HTML page of one wave in `lang`."""
    if lang not in LANGUAGES:
        raise ReportError(f"unknown language {lang!r} (choose one of {', '.join(LANGUAGES)})")
    book = book or codebook()
    sections = []
    for section in SECTIONS:
        figures = "".join(render_chart(chart, data, lang, book=book) for chart in section.charts)
        sections.append(_section(section.key, lang, figures))
    claims_caption = ui(lang, "cap_claims", tolerance=format_number(data.tolerance_pts, lang, 0))
    sections.append(_section("claims", lang, render_claims(data, lang, book=book), caption=claims_caption))
    as_of = _as_of(data, lang, warehouse_name)
    sections.append(_section("quality", lang, f'<p class="asof">{escape(as_of)}</p>' + render_quality(data, lang)))
    keys = [
        (format_int(data.responses, lang), ui(lang, "responses")),
        (format_int(data.excluded, lang), ui(lang, "excluded")),
        (format_int(data.responses - data.excluded, lang), ui(lang, "in_bases")),
    ]
    if not data.claims.is_empty():
        consistent = data.claims.filter(pl.col("status") == "consistent").height
        keys.append((f"{consistent} / {data.claims.height}", ui(lang, "claims_consistent")))
    keys_html = "".join(f"<li><b>{escape(value)}</b>{escape(label)}</li>" for value, label in keys)
    order = [s.key for s in SECTIONS] + ["claims", "quality"]
    contents = "".join(f'<li><a href="#{key}">{escape(ui(lang, "sec_" + key))}</a></li>' for key in order)
    read = [
        ui(lang, "read_bar"),
        ui(lang, "read_published"),
        ui(lang, "read_significant"),
        ui(lang, "read_suppressed", minimum=data.minimum_base),
        ui(lang, "read_net"),
    ]
    return PAGE.substitute(
        lang=lang,
        title=escape(ui(lang, "title")),
        css=CSS.strip(),
        wave=escape(ui(lang, "wave", wave=data.wave)),
        intro=escape(ui(lang, "intro")),
        as_of=escape(as_of),
        keys=keys_html,
        contents_title=escape(ui(lang, "contents")),
        contents=contents,
        read_title=escape(ui(lang, "how_to_read")),
        read="".join(f"<li>{escape(line)}</li>" for line in read),
        sections="\n".join(sections),
        footer=code_html(ui(lang, "footer")),
    )


def _section(key: str, lang: str, body: str, *, caption: str | None = None) -> str:
    caption = caption if caption is not None else ui(lang, "cap_" + key)
    return f'<section id="{key}"><h2>{escape(ui(lang, "sec_" + key))}</h2><p class="cap">{escape(caption)}</p>{body}</section>'


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


def build_report(warehouse: Warehouse, *, lang: str = "en", wave: int | None = None) -> str:
    """The report page of `warehouse` (read-only) as an HTML string."""
    if lang not in LANGUAGES:
        raise ReportError(f"unknown language {lang!r} (choose one of {', '.join(LANGUAGES)})")
    with open_reader(warehouse) as connection:
        data = read_report_data(connection, wave=wave)
    return render_page(
        data, lang=lang, warehouse_name=warehouse.name if isinstance(warehouse, Path) else str(warehouse)
    )


def write_report(warehouse: Warehouse, out: Path, *, lang: str = "en", wave: int | None = None) -> Path:
    """Build the report page and write it to `out` atomically (a reader never sees half a page)."""
    page = build_report(warehouse, lang=lang, wave=wave)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
