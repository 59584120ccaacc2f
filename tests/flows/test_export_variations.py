"""What people and tools do to an export file does not change what it says.

Every text case export of ``tests/cases/exports`` (the dozen respondents in every layout
and language) is changed the way files are changed on their way to the landing folder,
and must give the same canonical responses and the same failed checks as the file as it
was exported (compared as ``test_cases_exports`` compares them):

reordered        column groups shuffled, metadata and questions alike (a group: a column
                 and those whose meaning hangs on it: SurveyMonkey's columns under a blank
                 row-1 cell, Typeform's option columns after their question and its hidden
                 fields before Response Type, Alchemer's write-in after its tick, which is
                 how their readers tell them)
extra_columns    unknown columns inserted between groups (reported in columns_ignored)
blank_lines      empty lines and a line of delimiters alone after the last row
trailing_column  an empty last column (a delimiter ending every line)
bom              a UTF-8 byte-order mark in front (taken away where there was one)
line_endings     CRLF records turned LF, LF turned CRLF (newlines inside cells kept)
excel_fr         re-saved by a French Excel: ``;`` and Windows-1252
comment_lines    a comment typed over several lines, with quotes and delimiters in it
header_spacing   question headers re-typed: case, doubled, leading, trailing and
                 non-breaking spaces, curly apostrophes
header_html      question text wrapped in HTML tags and entities, as tools paste it
all_at_once      every change above but the Windows-1252 re-save, in one file

Each change of the columns and cells runs on one file of each layout, both languages among
them (``SAMPLE``), each change of the bytes alone on files of each delimiter, encoding
and line ending (``BYTES_SAMPLE``); ``all_at_once`` runs on every text case file. The changes are seeded by the change's and
the file's names: a failure reproduces.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import re
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pytest

from schemas.codebook import codebook
from surveyhouse.read import decode_export, read_export, sniff_delimiter
from tests.flows.test_cases_exports import CASES, CODE_HEADINGS, EXPORTS, run, with_respondents
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout

#: Header rows of each layout, and the row that holds the question text.
HEADER_ROWS = {
    "qualtrics": 3,
    "qualtrics_insights": 3,
    "qualtrics_legacy": 2,
    "surveymonkey": 2,
    "google_forms": 1,
    "typeform": 1,
    "limesurvey": 1,
    "alchemer": 1,
}
TEXT_ROW = {
    "qualtrics": 1,
    "qualtrics_insights": 1,
    "qualtrics_legacy": 1,
    "surveymonkey": 0,
    "google_forms": 0,
    "typeform": 0,
    "limesurvey": 0,
    "alchemer": 0,
}
#: Headed with question codes, not wordings: nothing a person re-types or wraps in HTML.
TEXT_FILES = [name for name in EXPORTS if name.endswith(".csv") and name not in CODE_HEADINGS]
#: One file per layout, both languages, labels and numbers, joined and split multi-selects.
SAMPLE = [
    "qualtrics_en_labels_joined.csv", "qualtrics_fr_numeric_split.csv", "qualtrics_en_2017_numeric.csv",
    "qualtrics_fr_legacy_numeric.csv", "surveymonkey_fr.csv", "google_forms_en.csv", "typeform_fr.csv",
]  # fmt: skip
#: LF with a BOM, CRLF, LF, and an Excel re-save (";", Windows-1252).
BYTES_SAMPLE = [
    "qualtrics_fr_legacy_numeric.csv",
    "surveymonkey_fr.csv",
    "typeform_fr.csv",
    "excel_fr_qualtrics_fr_labels_split.csv",
]
MULTILINE_COMMENT = 'First line; with a comma, and "quotes".\nSecond line.\n\nAfter a blank line.'


@dataclass(frozen=True)
class Table:
    """An export as a person sees it: rows of cells, and how the file was written."""

    name: str
    layout: str
    rows: tuple[tuple[str, ...], ...]
    delimiter: str
    encoding: str  # a Python codec: utf-8, utf-8-sig, cp1252
    line_end: str
    bom: bool = False
    tail: str = ""  # what follows the last record
    #: column index -> (question code, role) of the columns the resolver recognised
    questions: tuple[tuple[int, str, str], ...] = ()
    #: expected canonical values that the change itself made: (respondent, column, value)
    changed: tuple[tuple[int, str, str], ...] = ()
    inserted: tuple[str, ...] = ()

    @property
    def header_rows(self) -> int:
        return HEADER_ROWS[self.layout]

    def write(self, path: Path) -> Path:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=self.delimiter, lineterminator=self.line_end, quoting=csv.QUOTE_MINIMAL).writerows(
            self.rows
        )
        data = (buffer.getvalue() + self.tail).encode(self.encoding)
        path.write_bytes((b"\xef\xbb\xbf" if self.bom and not data.startswith(b"\xef\xbb\xbf") else b"") + data)
        return path


@functools.cache
def load(name: str) -> Table:
    path = CASES / name
    text, encoding = decode_export(path.read_bytes())
    delimiter = sniff_delimiter(text)
    # A blank line is no row of the table (LimeSurvey ends its files with one).
    rows = tuple(tuple(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row)
    raw = read_export(path)
    layout = detect_layout(raw.header, kind=raw.kind)
    resolved, _ = resolve_columns(layout.parse(raw.frame.lazy(), raw.header).columns, book=codebook())
    questions = tuple((r.index, r.question, r.role) for r in resolved)
    first_end = text.find("\n")
    line_end = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
    codec = {"utf-8-sig": "utf-8-sig", "cp1252": "cp1252"}.get(encoding, "utf-8")
    return Table(name, layout.name, rows, delimiter, codec, line_end, questions=questions)


@functools.cache
def baseline(name: str):
    """(record, canonical responses, failed checks) of the file as exported."""
    record, accepted, quarantine = run(CASES / name, max_quarantined_share=1.0)
    assert record["status"] == "loaded", record["message"]
    return record, *with_respondents(accepted, quarantine)


# The changes: each takes a table and a seeded random generator and gives the changed table.


def _groups(table: Table) -> list[list[int]]:
    """Columns that move together: a column and those whose meaning hangs on it."""
    question_of = {index: question for index, question, _ in table.questions}
    top = table.rows[0]

    def hidden_field(index: int) -> bool:  # Typeform's: lower-case identifiers before Response Type
        return index >= 0 and index not in question_of and bool(re.fullmatch(r"[a-z][a-z0-9_]*", top[index].strip()))

    groups: list[list[int]] = []
    for index in range(len(top)):
        continues = groups and (
            (table.layout == "surveymonkey" and not top[index].strip())
            or (
                table.layout == "typeform" and index in question_of and question_of.get(index - 1) == question_of[index]
            )
            # Alchemer's write-in: the column after its tick, under the same heading.
            or (table.layout == "alchemer" and top[index].strip() and top[index] == top[index - 1])
            or (
                table.layout == "typeform"
                and hidden_field(index - 1)
                and (hidden_field(index) or top[index].strip() == "Response Type")
            )
        )
        if continues:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _columns(table: Table, order: list[int | tuple[str, ...]], **changes) -> Table:
    """The table with its columns in ``order``: an index takes that column, a tuple of cells
    (one per header row, then the data) is a new column."""
    moved_to = {item: position for position, item in enumerate(order) if isinstance(item, int)}
    questions = tuple((moved_to[index], question, role) for index, question, role in table.questions)
    rows = []
    for r, row in enumerate(table.rows):
        cells = []
        for item in order:
            if isinstance(item, int):
                cells.append(row[item] if item < len(row) else "")
            else:
                cells.append(item[min(r, len(item) - 1)])
        rows.append(tuple(cells))
    return replace(table, rows=tuple(rows), questions=questions, **changes)


def reordered(table: Table, rng: random.Random) -> Table:
    groups = _groups(table)
    shuffled = groups[:]
    while len(groups) > 1 and shuffled == groups:
        rng.shuffle(shuffled)
    order = [index for group in shuffled for index in group]
    return _columns(table, order)


def _unknown_column(table: Table, name: str, rng: random.Random) -> tuple[str, ...]:
    header = {
        "qualtrics": (name, name, '{"ImportId":"' + name + '"}'),
        "qualtrics_insights": (name, name, "{'ImportId': '" + name + "'}"),
        "qualtrics_legacy": (name, name),
        "surveymonkey": (name, ""),
    }.get(table.layout, (name,))
    values = ["", "north", "Manager", "Oui", "1", "2023-10-02 14:03:04", "n/a"]
    data = tuple(rng.choice(values) for _ in range(len(table.rows) - table.header_rows))
    return header + data


def extra_columns(table: Table, rng: random.Random) -> Table:
    groups: list[list] = _groups(table)
    names = ("Region", "Internal note (do not share)")
    for name in names:
        groups.insert(rng.randrange(len(groups) + 1), [_unknown_column(table, name, rng)])
    return _columns(table, [item for group in groups for item in group], inserted=names)


def blank_lines(table: Table, rng: random.Random) -> Table:
    width = len(table.rows[0])
    return replace(table, tail=table.line_end * 2 + table.delimiter * (width - 1) + table.line_end)


def trailing_column(table: Table, rng: random.Random) -> Table:
    return replace(table, rows=tuple(row + ("",) for row in table.rows))


def bom(table: Table, rng: random.Random) -> Table:
    """A BOM in front; taken away where the file had one (the legacy Qualtrics export)."""
    if table.encoding == "utf-8-sig":
        return replace(table, encoding="utf-8", bom=False)
    return replace(table, bom=True, encoding="utf-8")


def line_endings(table: Table, rng: random.Random) -> Table:
    return replace(table, line_end="\n" if table.line_end == "\r\n" else "\r\n")


def excel_fr(table: Table, rng: random.Random) -> Table:
    return replace(table, delimiter=";", encoding="cp1252", line_end="\r\n", bom=False)


def comment_lines(table: Table, rng: random.Random) -> Table:
    comment = next(index for index, question, role in table.questions if question == "comment")
    rows = [list(row) for row in table.rows]
    changed = []
    for respondent in (1, 2):
        rows[table.header_rows + respondent - 1][comment] = MULTILINE_COMMENT
        changed.append((respondent, "comment", MULTILINE_COMMENT))
    return replace(table, rows=tuple(tuple(row) for row in rows), changed=tuple(changed))


def _retyped(cell: str, rng: random.Random) -> str:
    """A header as a person re-types it: other case, other spaces, curly apostrophes."""
    words = cell.replace("'", "\u2019").split(" ")
    spaced = "".join(word + rng.choice([" ", " ", "  ", "\u00a0"]) for word in words).rstrip()
    spaced = spaced.replace(" ?", "\u00a0?")
    case = rng.choice([str.upper, str.lower, str.title, lambda text: text])
    return rng.choice(["", " ", "  "]) + case(spaced) + rng.choice(["", " ", "\t"])


def _edit_headers(table: Table, edit) -> Table:
    rows = [list(row) for row in table.rows]
    header_rows = range(TEXT_ROW[table.layout], 2 if table.layout == "surveymonkey" else TEXT_ROW[table.layout] + 1)
    for index, _, _ in table.questions:
        for r in header_rows:
            if rows[r][index].strip():
                rows[r][index] = edit(rows[r][index])
    return replace(table, rows=tuple(tuple(row) for row in rows))


def header_spacing(table: Table, rng: random.Random) -> Table:
    return _edit_headers(table, lambda cell: _retyped(cell, rng))


@functools.cache
def _wordings() -> tuple[str, ...]:
    """Question texts and grid prompts in both languages, and as the older Qualtrics exports
    cut them, longest first."""
    book = codebook()
    texts = [text for q in book.questions for text in q.text.values()]
    texts += [text for grid in book.grids.values() for text in grid.values()]
    texts += [text[:97].rstrip() + "..." for text in texts if len(text) > 100]
    return tuple(sorted(set(texts), key=len, reverse=True))


_STYLES = (
    "<p>{}</p>",
    "<strong>{}</strong>",
    '<span style="font-size:16px; color: rgb(0, 0, 0);">{}</span>',
    "<div><em>{}</em></div>",
)


def _html(cell: str) -> str:
    """The question text in the cell wrapped in tags (the same ones wherever the same
    question appears), its apostrophes as entities, a line break before a parenthesis."""
    wording = next((w for w in _wordings() if w in cell), None)
    if wording is None:  # an option label alone (Typeform): tagged as a tool does
        return f"<strong>{cell}</strong>"
    style = _STYLES[zlib.crc32(wording.encode()) % len(_STYLES)]
    marked = wording.replace("'", "&#39;").replace(" (", "<br>(")
    return cell.replace(wording, style.format(marked), 1)


def header_html(table: Table, rng: random.Random) -> Table:
    return _edit_headers(table, _html)


def all_at_once(table: Table, rng: random.Random) -> Table:
    table = replace(table, delimiter=";")
    for change in (
        reordered,
        extra_columns,
        trailing_column,
        comment_lines,
        header_spacing,
        header_html,
        line_endings,
        bom,
        blank_lines,
    ):
        table = change(table, rng)
    return table


CHANGES = {
    change.__name__: change
    for change in (reordered, extra_columns, excel_fr, comment_lines, header_spacing, header_html)
}
BYTE_CHANGES = {change.__name__: change for change in (blank_lines, trailing_column, bom, line_endings)}


def check(tmp_path: Path, name: str, change) -> None:
    table = load(name)
    changed = change(table, random.Random(f"{change.__name__}:{name}"))
    path = changed.write(tmp_path / name)
    assert path.read_bytes() != (CASES / name).read_bytes()
    base_record, base_canonical, base_failed = baseline(name)
    record, accepted, quarantine = run(path, max_quarantined_share=1.0)
    assert (record["status"], record["layout"], record["language"]) == (
        "loaded",
        base_record["layout"],
        base_record["language"],
    ), record["message"]
    assert record["rows_read"] == base_record["rows_read"]
    ignored = set((record["columns_ignored"] or "").split(", ")) - {""}
    assert ignored <= set(changed.inserted), ignored
    canonical, failed = with_respondents(accepted, quarantine)
    expected = base_canonical
    for respondent, column, value in changed.changed:
        expected = expected.with_columns(
            pl.when(pl.col("respondent") == respondent).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
        )
    assert failed == base_failed
    for column in expected.columns:
        assert canonical[column].to_list() == expected[column].to_list(), column


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("name", SAMPLE)
def test_a_changed_export_gives_the_canonical_responses_of_the_export(tmp_path, name, change):
    check(tmp_path, name, CHANGES[change])


@pytest.mark.parametrize("change", sorted(BYTE_CHANGES))
@pytest.mark.parametrize("name", BYTES_SAMPLE)
def test_an_export_written_otherwise_gives_the_canonical_responses_of_the_export(tmp_path, name, change):
    check(tmp_path, name, BYTE_CHANGES[change])


@pytest.mark.parametrize("name", TEXT_FILES)
def test_every_change_at_once_gives_the_canonical_responses_of_the_export(tmp_path, name):
    check(tmp_path, name, all_at_once)
