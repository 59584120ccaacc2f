"""The study's labels as a table: every code of the warehouse with its text in each language.

Question texts, option labels, NETs and derived segment values, in every language of the
study (``languages``, in the questionnaire's order; none is named here). A NET and a
derived segment value have no text of their own in the questionnaire: their label is
their members' labels joined with " + " ("Very + Somewhat"), in each language.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from schemas.codebook import Codebook, Question

#: What a label names (labels.kind).
LABEL_KINDS = ("question", "option", "net", "segment_value")

LABELS_COLUMNS = {
    "question": pl.Utf8,
    "code": pl.Utf8,
    "language": pl.Utf8,
    "label": pl.Utf8,
    "position": pl.Int32,
    "kind": pl.Utf8,
}


def build_labels(book: Codebook, *, languages: Sequence[str]) -> pl.DataFrame:
    """One row per question (or derived segment), code, kind and language: its label."""
    rows: list[tuple] = []
    for position, question in enumerate(book.questions, start=1):
        rows.extend(_question_labels(question, position=position, languages=languages))
    for order, derived in enumerate(book.derived_segments, start=len(book.questions) + 1):
        source = book.question(derived.source)
        rows.extend(
            (derived.code, derived.code, lang, text, order, "question") for lang, text in _texts(source, languages)
        )
        for position, (group, members) in enumerate(derived.groups.items(), start=1):
            rows.extend(
                (derived.code, group, lang, label, position, "segment_value")
                for lang, label in _joined(source, members, languages)
            )
    return pl.DataFrame(rows, schema=LABELS_COLUMNS, orient="row")


def _question_labels(question: Question, *, position: int, languages: Sequence[str]) -> list[tuple]:
    code = question.code
    rows = [(code, code, lang, text, position, "question") for lang, text in _texts(question, languages)]
    for option in question.options:
        rows.extend(
            (code, option.code, lang, option.labels[lang], option.position, "option")
            for lang in languages
            if option.labels.get(lang)
        )
    for order, (net, members) in enumerate(question.nets.items(), start=len(question.options) + 1):
        rows.extend((code, net, lang, label, order, "net") for lang, label in _joined(question, members, languages))
    return rows


def _texts(question: Question, languages: Sequence[str]) -> list[tuple[str, str]]:
    return [(lang, question.text[lang]) for lang in languages if question.text.get(lang)]


def _joined(question: Question, members: Sequence[str], languages: Sequence[str]) -> list[tuple[str, str]]:
    """The members' labels joined with " + ", per language that labels every member."""
    options = [question.option(code) for code in members]
    return [
        (lang, " + ".join(option.labels[lang] for option in options))
        for lang in languages
        if all(option.labels.get(lang) for option in options)
    ]
