"""The report's tables: the published figures recomputed, and the data quality."""

from __future__ import annotations

import re
from html import escape

import polars as pl

from report.data import ReportData
from report.strings import (
    SEGMENTS,
    answer_label,
    format_int,
    format_number,
    format_pct,
    segment_value_label,
    ui,
)
from schemas.codebook import Codebook

STATUS_CLASS = {"consistent": "ok", "outside_interval": "warn", "contradicted": "bad", "not_computable": "muted"}

Row = list[str] | tuple[str, str]  # cells, or (kind, html) for a full-width "group" heading or "why" note


def _table(headers: list[str], rows: list[Row], *, numeric: set[int] = frozenset(), cls: str = "") -> str:
    """An HTML table; cells are already escaped HTML."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(headers))

    def row_html(row: Row) -> str:
        if isinstance(row, tuple):
            kind, html = row
            cell = "th" if kind == "group" else "td"
            return f'<tr class="{kind}"><{cell} colspan="{len(headers)}">{html}</{cell}></tr>'
        return (
            "<tr>"
            + "".join(f"<td{' class=num' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row))
            + "</tr>"
        )

    body = "".join(row_html(row) for row in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def code_html(text: str) -> str:
    """Escaped text with `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def render_claims(data: ReportData, lang: str, *, book: Codebook) -> str:
    if data.claims.is_empty():
        waves = ", ".join(map(str, data.claim_waves)) or "-"
        first = data.claim_waves[0] if data.claim_waves else data.wave
        return f'<p class="note">{code_html(ui(lang, "no_claims", wave=data.wave, waves=waves, first=first))}</p>'
    rows: list[Row] = []
    question = None
    for c in data.claims.iter_rows(named=True):
        if c["question"] != question:
            question = c["question"]
            rows.append(("group", escape(book.question(question).text[lang])))
        figure = answer_label(c["question"], c["answer"], lang, book=book)
        if c["segment_name"] != "all":
            segment = SEGMENTS[lang].get(c["segment_name"], c["segment_name"])
            value = segment_value_label(c["segment_name"], c["segment_value"], lang, book=book)
            figure += " · " + ui(lang, "segment_value", segment=segment, value=value)
        interval = (
            "–" if c["ci_low"] is None else f"{format_number(c['ci_low'], lang)} – {format_number(c['ci_high'], lang)}"
        )
        status = f'<span class="status {STATUS_CLASS.get(c["status"], "muted")}">{escape(ui(lang, "status_" + c["status"]))}</span>'
        rows.append(
            [
                escape(c["id"]),
                escape(figure),
                format_pct(c["published_pct"], lang),
                "–" if c["computed_pct"] is None else format_pct(c["computed_pct"], lang, 1),
                interval,
                format_int(c["base_n"] or 0, lang),
                status,
            ]
        )
        if c["status"] == "contradicted" and c["contradiction"]:
            rows.append(("why", escape(ui(lang, "contradiction", text=c["contradiction"]))))
    consistent = data.claims.filter(pl.col("status") == "consistent").height
    summary = ui(lang, "claims_summary", consistent=consistent, total=data.claims.height)
    headers = [
        ui(lang, k)
        for k in ("col_id", "col_figure", "col_published", "col_recomputed", "col_interval", "col_base", "col_status")
    ]
    return f'<p class="note">{escape(summary)}</p>' + _table(headers, rows, numeric={2, 3, 4, 5}, cls="claims")


def render_quality(data: ReportData, lang: str) -> str:
    files: list[Row] = []
    for f in data.files.iter_rows(named=True):
        tool = escape(f["source_tool"] or "–")
        if f["layout"] and f["layout"] != f["source_tool"]:
            tool += f" / {escape(f['layout'])}"
        status = ui(lang, "file_" + f["status"]) if f["status"] in ("loaded", "failed") else f["status"]
        counts = [format_int(f[k] or 0, lang) for k in ("rows_read", "accepted", "quarantined", "superseded")]
        files.append(
            [
                f'<span class="file">{escape(f["source_file"])}</span>',
                tool,
                escape(f["language"] or "–"),
                *counts,
                escape(status),
            ]
        )
        if f["message"]:
            files.append(("why", escape(f["message"])))
    keys = (
        "col_file",
        "col_tool",
        "col_language",
        "col_rows_read",
        "col_accepted",
        "col_quarantined",
        "col_superseded",
        "col_status",
    )
    files_table = _table([ui(lang, k) for k in keys], files, numeric={3, 4, 5, 6}, cls="files")
    parts = [f"<h3>{escape(ui(lang, 'quality_files'))}</h3>", files_table]
    parts.append(f"<h3>{escape(ui(lang, 'quality_checks'))}</h3>")
    if data.checks.is_empty():
        parts.append(f"<p>{escape(ui(lang, 'none_quarantined'))}</p>")
    else:
        checks = [
            [f"<code>{escape(r['check'])}</code>", format_int(r["rows"], lang), format_int(r["files"], lang)]
            for r in data.checks.iter_rows(named=True)
        ]
        parts.append(_table([ui(lang, k) for k in ("col_check", "col_rows", "col_files")], checks, numeric={1, 2}))
    flags = [
        [escape(ui(lang, "flag_" + r["flag"])), format_int(r["flagged"], lang), format_int(r["excluded"], lang)]
        for r in data.flags.iter_rows(named=True)
    ]
    flags.append(
        [
            f"<strong>{escape(ui(lang, 'flag_is_excluded'))}</strong>",
            "",
            f"<strong>{format_int(data.excluded, lang)}</strong>",
        ]
    )
    parts.append(f"<h3>{escape(ui(lang, 'quality_flags'))}</h3>")
    parts.append(_table([ui(lang, k) for k in ("col_flag", "col_flagged", "col_excluded")], flags, numeric={1, 2}))
    return "".join(parts)
