"""The report's tables: the published figures recomputed, and the data quality."""

from __future__ import annotations

from report.blocks import Block, Cell, Heading, Note, Row, Table
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

STATUS_CLASS = {
    "reproduced": "ok",
    "within_tolerance": "ok",
    "not_reproduced": "warn",
    "contradicted": "bad",
    "below_minimum_base": "muted",
    "not_computable": "muted",
}
CLAIM_COLUMNS = ("col_id", "col_figure", "col_published", "col_recomputed", "col_interval", "col_base", "col_status")
FILE_COLUMNS = (
    "col_file",
    "col_tool",
    "col_language",
    "col_rows_read",
    "col_accepted",
    "col_quarantined",
    "col_superseded",
    "col_status",
)


def _headers(lang: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(ui(lang, key) for key in keys)


def claims_blocks(data: ReportData, lang: str, *, book: Codebook) -> list[Block]:
    """The claims section: how many published figures hold, and the table of every one."""
    if data.claims.is_empty():
        waves = ", ".join(map(str, data.claim_waves)) or "-"
        first = data.claim_waves[0] if data.claim_waves else data.wave
        return [Note(ui(lang, "no_claims", wave=data.wave, waves=waves, first=first), cls="note")]
    rows: list[Row] = []
    question = None
    for claim in data.claims.iter_rows(named=True):
        if claim["question"] != question:
            question = claim["question"]
            rows.append(Row(kind="group", text=book.question(question).text[lang]))
        rows.append(Row(cells=_claim_cells(claim, lang, book=book)))
        if claim["status"] == "contradicted" and claim["contradiction"]:
            rows.append(Row(kind="why", text=ui(lang, "contradiction", text=claim["contradiction"])))
    counts = dict(data.claims["status"].value_counts().iter_rows())
    summary = ui(
        lang,
        "claims_summary",
        reproduced=counts.get("reproduced", 0),
        within_tolerance=counts.get("within_tolerance", 0),
        total=data.claims.height,
    )
    table = Table(_headers(lang, CLAIM_COLUMNS), tuple(rows), numeric=frozenset({2, 3, 4, 5}), cls="claims")
    return [Note(summary, cls="note"), table]


def _claim_cells(claim: dict, lang: str, *, book: Codebook) -> tuple[str | Cell, ...]:
    """One published figure: id, what it counts, published, recomputed, interval, base, status."""
    figure = answer_label(claim["question"], claim["answer"], lang, book=book)
    if claim["segment_name"] != "all":
        segment = SEGMENTS[lang].get(claim["segment_name"], claim["segment_name"])
        value = segment_value_label(claim["segment_name"], claim["segment_value"], lang, book=book)
        figure += " · " + ui(lang, "segment_value", segment=segment, value=value)
    interval = (
        "–"
        if claim["ci_low"] is None
        else f"{format_number(claim['ci_low'], lang)} – {format_number(claim['ci_high'], lang)}"
    )
    status = Cell(ui(lang, "status_" + claim["status"]), f"status {STATUS_CLASS.get(claim['status'], 'muted')}")
    return (
        claim["id"],
        figure,
        format_pct(claim["published_pct"], lang),
        "–" if claim["computed_pct"] is None else format_pct(claim["computed_pct"], lang, 1),
        interval,
        format_int(claim["base_n"] or 0, lang),
        status,
    )


def quality_blocks(data: ReportData, lang: str) -> list[Block]:
    """The quality section's tables: files read, rows quarantined by check, responses flagged."""
    blocks: list[Block] = [Heading(ui(lang, "quality_files")), _files_table(data, lang)]
    blocks.append(Heading(ui(lang, "quality_checks")))
    if data.checks.is_empty():
        blocks.append(Note(ui(lang, "none_quarantined")))
    else:
        checks = tuple(
            Row(cells=(Cell(r["check"], "code"), format_int(r["rows"], lang), format_int(r["files"], lang)))
            for r in data.checks.iter_rows(named=True)
        )
        blocks.append(Table(_headers(lang, ("col_check", "col_rows", "col_files")), checks, frozenset({1, 2})))
    flags = [
        Row(cells=(ui(lang, "flag_" + r["flag"]), format_int(r["flagged"], lang), format_int(r["excluded"], lang)))
        for r in data.flags.iter_rows(named=True)
    ]
    total = (Cell(ui(lang, "flag_is_excluded"), "strong"), "", Cell(format_int(data.excluded, lang), "strong"))
    flags.append(Row(cells=total))
    blocks.append(Heading(ui(lang, "quality_flags")))
    blocks.append(Table(_headers(lang, ("col_flag", "col_flagged", "col_excluded")), tuple(flags), frozenset({1, 2})))
    return blocks


def _files_table(data: ReportData, lang: str) -> Table:
    """One row per file read for the wave, and the reason under a file that was rejected."""
    rows: list[Row] = []
    for f in data.files.iter_rows(named=True):
        tool = f["source_tool"] or "–"
        if f["layout"] and f["layout"] != f["source_tool"]:
            tool += f" / {f['layout']}"
        status = ui(lang, "file_" + f["status"]) if f["status"] in ("loaded", "failed") else f["status"]
        counts = [format_int(f[k] or 0, lang) for k in ("rows_read", "accepted", "quarantined", "superseded")]
        rows.append(Row(cells=(Cell(f["source_file"], "file"), tool, f["language"] or "–", *counts, status)))
        if f["message"]:
            rows.append(Row(kind="why", text=f["message"]))
    return Table(_headers(lang, FILE_COLUMNS), tuple(rows), numeric=frozenset({3, 4, 5, 6}), cls="files")
