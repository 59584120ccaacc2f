"""The report outline: which questions the report page shows, in which sections, with which words.

From the study folder's optional ``report.yaml``; without one, every closed question of
the questionnaire (but its attention check), in questionnaire order, grouped by the
questions' ``section:`` key (titles from the questionnaire's ``sections:`` map), else by
grid (titles from ``grids:``), else one section per question. The format::

    title: {en: "Team survey 2024", es: "Encuesta 2024"}       # optional: the page's title
    sections:
      - key: habits                                            # optional anchor (default: section-N)
        title: {en: "Habits", es: "Hábitos"}
        caption: {en: "How often people commute."}             # optional
        questions:
          - commute                                            # its options, then every NET
          - {question: commute, nets: [weekly_plus]}            # only these NETs (nets: [] for none)
          - {question: commute, answer: weekly_plus, by: age}   # one answer across a segment
          - {question: modes, by: age}                          # every option, one panel per segment value
          - {question: modes, chart: distribution}              # chart: distribution | by_segment | panels
    segments: {age: {en: "age group", es: "grupo de edad"}}    # optional: segment names ("by age group")
    nets: {commute: {weekly_plus: {en: "Weekly or more"}}}       # optional: NET labels
    groups: {age_band: {young: {en: "Under 35"}}}                # optional: derived segment group labels

A text missing in a language falls back to English, else to the first text given. A mistake raises
``OutlineError``: one line naming the file, the line, and what to write instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from schemas.codebook import Codebook, Question
from schemas.questionnaire_checks import QuestionnaireError, line_numbers

OUTLINE = "report.yaml"
CHART_KINDS = ("distribution", "by_segment", "panels")
TOP_KEYS = ("title", "sections", "segments", "nets", "groups")
SECTION_KEYS = ("key", "title", "caption", "questions")
CHART_KEYS = ("question", "chart", "answer", "by", "nets")
PAGE_SECTIONS = ("claims", "quality")  # the page's own sections, after the outline's
Texts = dict[str, str]  # language -> text


class OutlineError(QuestionnaireError):
    """A report outline that cannot be used: file, line, what is wrong and the fix."""


@dataclass(frozen=True)
class OutlineChart:
    """One chart: a question's distribution, one answer by a segment, or its options in panels by a segment."""

    question: str
    kind: str = "distribution"  # one of CHART_KINDS
    answer: str | None = None  # by_segment: the option or NET shown
    segment: str | None = None  # by_segment, panels
    nets: tuple[str, ...] | None = None  # distribution: the NETs after the options (None: every NET)


@dataclass(frozen=True)
class OutlineSection:
    key: str
    title: Texts
    charts: tuple[OutlineChart, ...]
    caption: Texts = field(default_factory=dict)


@dataclass(frozen=True)
class Outline:
    """The report's sections, and the study's words the questionnaire does not hold."""

    sections: tuple[OutlineSection, ...]
    title: Texts = field(default_factory=dict)
    segments: dict[str, Texts] = field(default_factory=dict)
    nets: dict[str, dict[str, Texts]] = field(default_factory=dict)
    groups: dict[str, dict[str, Texts]] = field(default_factory=dict)

    @property
    def questions(self) -> list[str]:
        """Every question the page shows, once, in page order."""
        seen: dict[str, None] = {}
        for section in self.sections:
            for chart in section.charts:
                seen.setdefault(chart.question, None)
        return list(seen)


def default_outline(book: Codebook, raw: dict | None = None) -> Outline:
    """Every closed question but the attention check, grouped by `section:`, else by grid, else one by one."""
    raw = raw or {}
    titles = raw.get("sections") or {}
    sections_of = {q.get("code"): q.get("section") for q in raw.get("questions") or [] if isinstance(q, dict)}
    groups: dict[str, tuple[Texts, list[Question]]] = {}
    for question in book.closed:
        if question.expected is not None:
            continue
        section = sections_of.get(question.code)
        if section is not None:
            key, title = str(section), dict(titles.get(section) or {}) or {"en": str(section)}
        elif question.grid is not None:
            key, title = question.grid, dict(book.grids.get(question.grid) or {}) or {"en": question.grid}
        else:
            key, title = question.code, dict(question.text)
        key = f"{key}-questions" if key in PAGE_SECTIONS else key
        groups.setdefault(key, (title, []))[1].append(question)
    return Outline(
        tuple(
            OutlineSection(key, title, tuple(OutlineChart(q.code) for q in questions))
            for key, (title, questions) in groups.items()
        )
    )


def parse_outline(text: str, *, name: str, book: Codebook) -> Outline:
    """A report.yaml's text to its outline; ``name`` is how messages name the file."""
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}, line {mark.line + 1}" if mark else name
        raise OutlineError(
            f"{where}: not valid YAML ({getattr(error, 'problem', error)}); fix the indentation or quotes"
        ) from None
    return _OutlineReader(name, line_numbers(node) if node is not None else {}, book).outline(raw)


@dataclass(frozen=True)
class _OutlineReader:
    name: str
    lines: dict[tuple, int]
    book: Codebook

    def fail(self, path: tuple, problem: str, fix: str) -> OutlineError:
        while path and path not in self.lines:
            path = path[:-1]
        line = self.lines.get(path)
        return OutlineError(f"{self.name}, line {line}: {problem}; {fix}" if line else f"{self.name}: {problem}; {fix}")

    def keys(self, path: tuple, mapping: object, known: tuple[str, ...], what: str) -> dict:
        if not isinstance(mapping, dict):
            raise self.fail(path, f"{what} is not a mapping", f"write `key: value` lines ({', '.join(known)})")
        for key in mapping:
            if key not in known:
                raise self.fail((*path, key), f"{what} has an unknown key `{key}`", f"the keys are {', '.join(known)}")
        return mapping

    def outline(self, raw: object) -> Outline:
        raw = self.keys((), raw if raw is not None else {}, TOP_KEYS, "the outline")
        sections = raw.get("sections")
        if not isinstance(sections, list) or not sections:
            raise self.fail(("sections",), "`sections:` is missing or empty", "list the sections: `- title: {en: ...}`")
        parsed = tuple(self.section(("sections", i), s, i) for i, s in enumerate(sections))
        keys = [s.key for s in parsed]
        for index, key in enumerate(keys):
            if key in keys[:index] or key in PAGE_SECTIONS:
                raise self.fail(
                    ("sections", index, "key"),
                    f"section key {key!r} is taken",
                    f"give each section its own key ({' and '.join(PAGE_SECTIONS)} are the page's own)",
                )
        return Outline(
            parsed,
            title=self.texts(("title",), raw.get("title") or {}),
            segments={s: self.texts(("segments", s), t) for s, t in (raw.get("segments") or {}).items()},
            nets=self.nested(("nets",), raw.get("nets") or {}),
            groups=self.nested(("groups",), raw.get("groups") or {}),
        )

    def section(self, path: tuple, raw: object, index: int) -> OutlineSection:
        raw = self.keys(path, raw, SECTION_KEYS, "a section")
        if "title" not in raw:
            raise self.fail(path, "a section has no `title:`", "write `title: {en: ...}` (one text per language)")
        questions = raw.get("questions")
        if not isinstance(questions, list) or not questions:
            raise self.fail(path, "a section lists no `questions:`", "list its question codes under `questions:`")
        charts = tuple(self.chart((*path, "questions", i), q) for i, q in enumerate(questions))
        caption = self.texts((*path, "caption"), raw.get("caption") or {})
        return OutlineSection(
            str(raw.get("key", f"section-{index + 1}")), self.texts((*path, "title"), raw["title"]), charts, caption
        )

    def chart(self, path: tuple, raw: object) -> OutlineChart:
        raw = {"question": raw} if isinstance(raw, str) else self.keys(path, raw, CHART_KEYS, "a chart")
        code = raw.get("question")
        if code not in [q.code for q in self.book.closed]:
            closed = ", ".join(q.code for q in self.book.closed)
            raise self.fail(path, f"{code!r} is no closed question of the questionnaire", f"use one of {closed}")
        question = self.book.question(code)
        answer, segment = raw.get("answer"), raw.get("by")
        if isinstance(answer, bool):  # YAML 1.1 reads an unquoted yes/no as a boolean
            answer = "yes" if answer else "no"
        kind = raw.get("chart") or ("by_segment" if answer else "panels" if segment else "distribution")
        if kind not in CHART_KINDS:
            raise self.fail((*path, "chart"), f"unknown chart {kind!r}", f"write one of {', '.join(CHART_KINDS)}")
        if kind != "distribution" and segment not in self.book.segments:
            raise self.fail(
                path, f"a {kind} chart needs `by:` a segment", f"use one of {', '.join(self.book.segments)}"
            )
        if kind == "by_segment" and answer not in question.answer_codes:
            raise self.fail(path, f"{code} has no answer {answer!r}", f"use one of {', '.join(question.answer_codes)}")
        nets = raw.get("nets")
        for net in nets or ():
            if net not in question.nets:
                raise self.fail(
                    (*path, "nets"), f"{code} has no NET {net!r}", f"its NETs: {', '.join(question.nets) or 'none'}"
                )
        return OutlineChart(code, kind, answer, segment, None if nets is None else tuple(nets))

    def texts(self, path: tuple, raw: object) -> Texts:
        if isinstance(raw, str):
            return {"en": raw}
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise self.fail(path, "a text is not `{language: text}`", 'write e.g. `{en: "Habits", es: "Hábitos"}`')
        return {str(lang): text for lang, text in raw.items()}

    def nested(self, path: tuple, raw: object) -> dict[str, dict[str, Texts]]:
        if not isinstance(raw, dict):
            raise self.fail(path, "expected `code: {code: {language: text}}`", "see the README's report outline")
        return {
            str(outer): {str(inner): self.texts((*path, outer, inner), t) for inner, t in (value or {}).items()}
            for outer, value in raw.items()
        }


def in_language(texts: Texts, lang: str, *, fallback: str = "") -> str:
    """The text in `lang`, else in English, else the first one given, else `fallback`."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), fallback)
