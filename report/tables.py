"""The report's tables: the published figures recomputed, and the data quality."""

from __future__ import annotations

from report.blocks import Block, Cell, Heading, Note, Row, Table
from report.data import ReportData
from report.strings import (
    answer_label,
    format_int,
    format_number,
    format_pct,
    question_text,
    segment_name,
    segment_value_label,
    ui,
)
from schemas.study import Study

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


def claims_blocks(data: ReportData, lang: str, *, study: Study) -> list[Block]:
    """The claims section: for every wave with published figures (latest first), how many hold and the table."""
    if data.claims.is_empty():
        return [Note(ui(lang, "no_figures"), cls="note")]
    blocks: list[Block] = []
    for (wave,), claims in data.claims.group_by("wave", maintain_order=True):
        blocks.append(Heading(ui(lang, "claims_wave", wave=wave)))
        blocks += _wave_claims(claims, lang, study=study)
    return blocks


def _wave_claims(claims, lang: str, *, study: Study) -> list[Block]:
    """One wave's published figures: a summary line and the table of every one, by question."""
    rows: list[Row] = []
    question = None
    for claim in claims.iter_rows(named=True):
        if claim["question"] != question:
            question = claim["question"]
            rows.append(Row(kind="group", text=question_text(question, lang, book=study.book)))
        rows.append(Row(cells=_claim_cells(claim, lang, study=study)))
        if claim["status"] == "contradicted" and claim["contradiction"]:
            rows.append(Row(kind="why", text=ui(lang, "contradiction", text=claim["contradiction"])))
    counts = dict(claims["status"].value_counts().iter_rows())
    summary = ui(
        lang,
        "claims_summary",
        reproduced=counts.get("reproduced", 0),
        within_tolerance=counts.get("within_tolerance", 0),
        total=claims.height,
    )
    table = Table(_headers(lang, CLAIM_COLUMNS), tuple(rows), numeric=frozenset({2, 3, 4, 5}), cls="claims")
    return [Note(summary, cls="note"), table]


def _claim_cells(claim: dict, lang: str, *, study: Study) -> tuple[str | Cell, ...]:
    """One published figure: id, what it counts, published, recomputed, interval, base, status."""
    book, outline = study.book, study.outline
    figure = answer_label(claim["question"], claim["answer"], lang, book=book, outline=outline)
    if claim["segment_name"] != "all":
        segment = segment_name(claim["segment_name"], lang, outline=outline)
        value = segment_value_label(claim["segment_name"], claim["segment_value"], lang, book=book, outline=outline)
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
