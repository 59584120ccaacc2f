"""The questionnaire as the project's codebook.

The questionnaire (``schemas/data/questionnaire.yaml``, the study's input contract) is
loaded once into frozen dataclasses. Answer codes become ``pl.Enum`` types whose
category order is the questionnaire order, which is also report order.

Nothing here reads anything but the packaged questionnaire file it was handed.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

import polars as pl
import yaml

LANGUAGES = ("en", "fr")


def normalize_label(text: str) -> str:
    """Fold a label for matching: Unicode NFKC, straight quotes, single spaces, lower case.

    Survey tools and Excel re-saves change typographic details (curly apostrophes,
    non-breaking spaces before French punctuation, doubled spaces); none of them
    changes which option a respondent chose.
    """
    text = unicodedata.normalize("NFKC", text)
    for curly, straight in (
        ("\u2019", "'"),
        ("\u2018", "'"),
        ("\u201c", '"'),
        ("\u201d", '"'),
        ("\u00ab", '"'),
        ("\u00bb", '"'),
    ):
        text = text.replace(curly, straight)
    return " ".join(text.split()).lower()


_Coded = TypeVar("_Coded", "Option", "Question", "DerivedSegment")


def _by_code(items: tuple[_Coded, ...], code: str, *, missing: str) -> _Coded:
    """The item of ``items`` whose ``code`` is ``code``; KeyError(``missing``) where none is."""
    found = next((item for item in items if item.code == code), None)
    if found is None:
        raise KeyError(missing)
    return found


@dataclass(frozen=True)
class Option:
    code: str
    position: int  # 1-based, as numeric exports code it
    labels: dict[str, str]  # language -> label
    exclusive: bool = False
    other_text: bool = False


@dataclass(frozen=True)
class Question:
    code: str
    type: str  # single | multi | text
    required: bool
    text: dict[str, str]
    options: tuple[Option, ...] = ()
    segment: bool = False
    ordered: bool = False
    grid: str | None = None
    expected: str | None = None  # quality check: the answer an attentive respondent gives
    nets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_closed(self) -> bool:
        return self.type in ("single", "multi")

    @property
    def option_codes(self) -> list[str]:
        return [option.code for option in self.options]

    @property
    def answer_codes(self) -> list[str]:
        """Option codes then NET names: every value the crosstab's `answer` takes."""
        return self.option_codes + list(self.nets)

    @property
    def dtype(self) -> pl.Enum:
        return pl.Enum(self.option_codes)

    def option(self, code: str) -> Option:
        return _by_code(self.options, code, missing=f"{self.code} has no option {code!r}")

    @property
    def exclusive_codes(self) -> list[str]:
        return [option.code for option in self.options if option.exclusive]

    @property
    def other_option(self) -> Option | None:
        return next((option for option in self.options if option.other_text), None)


@dataclass(frozen=True)
class DerivedSegment:
    code: str
    source: str  # the segment question it groups
    groups: dict[str, tuple[str, ...]]  # group -> option codes

    @property
    def dtype(self) -> pl.Enum:
        return pl.Enum(list(self.groups))


@dataclass(frozen=True)
class Codebook:
    study: str
    wave: int
    questions: tuple[Question, ...]
    grids: dict[str, dict[str, str]]
    derived_segments: tuple[DerivedSegment, ...]

    def question(self, code: str) -> Question:
        return _by_code(self.questions, code, missing=f"the questionnaire has no question {code!r}")

    @property
    def closed(self) -> list[Question]:
        return [question for question in self.questions if question.is_closed]

    @property
    def single(self) -> list[Question]:
        return [question for question in self.questions if question.type == "single"]

    @property
    def multi(self) -> list[Question]:
        return [question for question in self.questions if question.type == "multi"]

    @property
    def text(self) -> list[Question]:
        return [question for question in self.questions if question.type == "text"]

    @property
    def segment_questions(self) -> list[Question]:
        return [question for question in self.questions if question.segment]

    @property
    def segments(self) -> list[str]:
        """Every segment name of the crosstab, questions then derived groupings."""
        return [q.code for q in self.segment_questions] + [d.code for d in self.derived_segments]

    def derived(self, code: str) -> DerivedSegment:
        return _by_code(self.derived_segments, code, missing=f"the questionnaire has no derived segment {code!r}")

    @property
    def attention_check(self) -> Question | None:
        return next((q for q in self.questions if q.expected is not None), None)

    def grid_items(self, grid: str) -> list[Question]:
        return [question for question in self.questions if question.grid == grid]

    @property
    def answer_dtype(self) -> pl.Enum:
        """Every option code and NET name of every closed question, in questionnaire order."""
        seen: dict[str, None] = {}
        for question in self.closed:
            for code in question.answer_codes:
                seen.setdefault(code, None)
        return pl.Enum(list(seen))

    @property
    def question_dtype(self) -> pl.Enum:
        return pl.Enum([question.code for question in self.questions])

    @property
    def segment_dtype(self) -> pl.Enum:
        return pl.Enum(["all", *self.segments, "language", "source_tool"])

    def label_table(self) -> pl.DataFrame:
        """One row per closed question and accepted spelling of an option.

        Spellings: the label in each language, the code itself and the 1-based
        position (numeric exports), each folded with :func:`normalize_label`.
        `language` is null where the spelling does not tell the language (codes,
        positions, labels identical in both languages).
        """
        rows: list[tuple[str, str, str, str | None]] = []
        for question in self.closed:
            for option in question.options:
                languages: dict[str, set[str]] = {}
                for language, label in option.labels.items():
                    languages.setdefault(normalize_label(label), set()).add(language)
                for key in (normalize_label(option.code), str(option.position)):
                    languages.setdefault(key, set(LANGUAGES))
                spellings = {key: next(iter(langs)) if len(langs) == 1 else None for key, langs in languages.items()}
                rows.extend((question.code, key, option.code, language) for key, language in spellings.items())
        return pl.DataFrame(
            rows,
            schema={"question": pl.Utf8, "spelling": pl.Utf8, "answer": pl.Utf8, "spelling_language": pl.Utf8},
            orient="row",
        )


def _parse(raw: dict) -> Codebook:
    nets = raw.get("nets") or {}
    questions = tuple(_question(q, nets.get(q["code"]) or {}) for q in raw["questions"])
    derived = tuple(
        DerivedSegment(
            code=code, source=spec["from"], groups={g: tuple(map(str, m)) for g, m in spec["groups"].items()}
        )
        for code, spec in (raw.get("derived_segments") or {}).items()
    )
    return Codebook(
        study=raw["study"],
        wave=int(raw["wave"]),
        questions=questions,
        grids={name: dict(text) for name, text in (raw.get("grids") or {}).items()},
        derived_segments=derived,
    )


def _question(q: dict, nets: dict) -> Question:
    options = tuple(
        Option(
            code=str(o["code"]),
            position=i,
            labels={lang: o[lang] for lang in LANGUAGES},
            exclusive=bool(o.get("exclusive", False)),
            other_text=bool(o.get("other_text", False)),
        )
        for i, o in enumerate(q.get("options") or [], start=1)
    )
    return Question(
        code=q["code"],
        type=q["type"],
        required=bool(q.get("required", False)),
        text=dict(q["text"]),
        options=options,
        segment=bool(q.get("segment", False)),
        ordered=bool(q.get("ordered", False)),
        grid=q.get("grid"),
        expected=(q.get("quality_check") or {}).get("expected"),
        nets={name: tuple(map(str, members)) for name, members in nets.items()},
    )


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used: the message names the file, the line, what is wrong and the fix."""


QUESTION_TYPES = ("single", "multi", "text")
QUESTION_KEYS = ("code", "type", "required", "segment", "ordered", "grid", "quality_check", "text", "options")
OPTION_KEYS = ("code", *LANGUAGES, "exclusive", "other_text")
Path_ = tuple[str | int, ...]  # where a value sits in the file: keys and list positions


def _line_numbers(node: yaml.Node, path: Path_ = ()) -> dict[Path_, int]:
    """The 1-based line of every key and list item of a composed YAML document."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_line_numbers(value, (*path, key.value)))
            lines[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_line_numbers(item, (*path, index)))
    return lines


@dataclass(frozen=True)
class _Checker:
    """Raises the first mistake of a questionnaire, placed by file and line."""

    name: str
    lines: dict[Path_, int]

    def fail(self, path: Path_, problem: str, fix: str) -> QuestionnaireError:
        while path and path not in self.lines:
            path = path[:-1]
        line = self.lines.get(path)
        where = f"{self.name}, line {line}" if line else self.name
        return QuestionnaireError(f"{where}: {problem}; {fix}")

    def check(self, raw: object) -> None:
        if not isinstance(raw, dict):
            raise self.fail((), "the file is not a questionnaire", "start from schemas/data/questionnaire.yaml")
        for key in ("study", "wave", "questions"):
            if key not in raw:
                raise self.fail(
                    (),
                    f"`{key}:` is missing",
                    f"write `{key}:` at the top level, as in schemas/data/questionnaire.yaml",
                )
        if not isinstance(raw["questions"], list) or not raw["questions"]:
            raise self.fail(
                ("questions",), "`questions:` is not a list of questions", "write one `- code: ...` item per question"
            )
        codes: dict[str, int] = {}
        for index, question in enumerate(raw["questions"]):
            code = self.check_question(("questions", index), question)
            if code in codes:
                raise self.fail(
                    ("questions", index, "code"),
                    f"question {code} is defined twice (first at line {self.lines.get(('questions', codes[code], 'code'))})",
                    "give each question its own code, or remove one of them",
                )
            codes[code] = index
        questions = {q["code"]: q for q in raw["questions"]}
        self.check_grids_and_checks(raw["questions"], grids=list(raw.get("grids") or {}))
        self.check_nets(raw.get("nets") or {}, questions)
        self.check_derived(raw.get("derived_segments") or {}, questions)

    def check_question(self, path: Path_, question: object) -> str:
        if not isinstance(question, dict) or not isinstance(question.get("code"), str):
            raise self.fail(path, "a question has no `code:`", "write `- code: <question code>` first in each question")
        code = question["code"]
        self.check_keys(path, question, QUESTION_KEYS, f"question {code}")
        if question.get("type") not in QUESTION_TYPES:
            raise self.fail(
                (*path, "type"),
                f"question {code} has type {question.get('type')!r}",
                f"write `type:` {' or '.join(QUESTION_TYPES)}",
            )
        self.check_labels((*path, "text"), question.get("text"), f"question {code}'s `text:`")
        options = question.get("options")
        if question["type"] != "text" and (not isinstance(options, list) or not options):
            raise self.fail(
                path,
                f"question {code} is {question['type']} but has no options",
                "list its answers under `options:`, or make it `type: text`",
            )
        seen: set[str] = set()
        for index, option in enumerate(options or []):
            where = (*path, "options", index)
            if not isinstance(option, dict) or "code" not in option:
                raise self.fail(
                    where, f"question {code}: an option has no `code:`", "write `- {code: ..., en: ..., fr: ...}`"
                )
            option_code = str(option["code"])
            self.check_keys(where, option, OPTION_KEYS, f"question {code}, option {option_code}")
            if option_code in seen:
                raise self.fail(
                    (*where, "code"),
                    f"question {code} has option {option_code} twice",
                    "give each option of a question its own code",
                )
            seen.add(option_code)
            self.check_labels(where, option, f"question {code}, option {option_code}")
        return code

    def check_grids_and_checks(self, questions: list[dict], *, grids: list[str]) -> None:
        for index, question in enumerate(questions):
            code, grid = question["code"], question.get("grid")
            if grid is not None and grid not in grids:
                raise self.fail(
                    ("questions", index, "grid"),
                    f"question {code} is in grid {grid!r}, which `grids:` does not define",
                    f"add `{grid}: {{en: ..., fr: ...}}` under `grids:`, or use one of: {', '.join(grids) or 'none yet'}",
                )
            expected = (question.get("quality_check") or {}).get("expected")
            options = [str(o["code"]) for o in question.get("options") or []]
            if expected is not None and str(expected) not in options:
                raise self.fail(
                    ("questions", index, "quality_check"),
                    f"question {code}'s quality check expects {expected!r}, which is no option of {code}",
                    f"write `expected:` one of {', '.join(options)}",
                )

    def check_keys(self, path: Path_, mapping: dict, known: tuple[str, ...], what: str) -> None:
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise self.fail(
                    (*path, key), f"{what} has an unknown key `{key}`", f"{hint}the keys are {', '.join(known)}"
                )

    def check_labels(self, path: Path_, labels: object, what: str) -> None:
        for language in LANGUAGES:
            if (
                not isinstance(labels, dict)
                or not isinstance(labels.get(language), str)
                or not labels[language].strip()
            ):
                raise self.fail(
                    path, f"{what} has no `{language}` label", f"write `{language}: <the wording in {language}>` there"
                )

    def check_nets(self, nets: dict, questions: dict[str, dict]) -> None:
        for code, named in nets.items():
            if code not in questions or questions[code]["type"] == "text":
                raise self.fail(
                    ("nets", code),
                    f"NETs are given for {code}, which is no closed question",
                    f"use one of {', '.join(q for q, v in questions.items() if v['type'] != 'text')}",
                )
            options = [str(o["code"]) for o in questions[code]["options"]]
            for name, members in (named or {}).items():
                if name in options:
                    raise self.fail(
                        ("nets", code, name),
                        f"NET {code}.{name} reuses the name of an option",
                        "give the NET a name that is no option code",
                    )
                self.check_members(("nets", code, name), f"NET {code}.{name}", members, code, options)

    def check_derived(self, derived: dict, questions: dict[str, dict]) -> None:
        segments = [q for q, v in questions.items() if v.get("segment")]
        for code, spec in derived.items():
            source = (spec or {}).get("from")
            if source not in questions:
                raise self.fail(
                    ("derived_segments", code),
                    f"derived segment {code} groups {source!r}, which is no question",
                    f"write `from:` one of the segment questions: {', '.join(segments)}",
                )
            if not questions[source].get("segment"):
                raise self.fail(
                    ("derived_segments", code, "from"),
                    f"derived segment {code} groups {source}, which is not a segment",
                    f"add `segment: true` to question {source}, or group one of {', '.join(segments)}",
                )
            if code in questions:
                raise self.fail(
                    ("derived_segments", code),
                    f"derived segment {code} has the code of a question",
                    "give it a code no question has",
                )
            if not isinstance(spec.get("groups"), dict) or not spec["groups"]:
                raise self.fail(
                    ("derived_segments", code),
                    f"derived segment {code} has no groups",
                    "write `groups:` with `<group>: [<option codes>]` lines",
                )
            options = [str(o["code"]) for o in questions[source]["options"]]
            for group, members in spec["groups"].items():
                self.check_members(
                    ("derived_segments", code, "groups", group),
                    f"derived segment {code}, group {group}",
                    members,
                    source,
                    options,
                )

    def check_members(self, path: Path_, what: str, members: object, question: str, options: list[str]) -> None:
        if not isinstance(members, list) or not members:
            raise self.fail(path, f"{what} lists no options", "write its option codes as a list: [code, code]")
        for member in map(str, members):
            if member not in options:
                raise self.fail(
                    path,
                    f"{what} names {member}, which is no option of {question}",
                    f"use the option codes of {question}: {', '.join(options)}",
                )


def _parse_file(text: str, name: str) -> Codebook:
    """A questionnaire's text to its codebook; ``name`` is how messages name the file."""
    try:
        raw = yaml.safe_load(text)
        lines = _line_numbers(yaml.compose(text, Loader=yaml.SafeLoader)) if raw is not None else {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}, line {mark.line + 1}, column {mark.column + 1}" if mark else name
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise QuestionnaireError(
            f"{where}: not valid YAML ({problem}); fix the syntax there (indentation, quotes, colons)"
        ) from None
    _Checker(name, lines).check(raw)
    return _parse(raw)


def load_codebook(path: Path) -> Codebook:
    """Parse a questionnaire file into a codebook; a mistake raises ``QuestionnaireError``."""
    return _parse_file(path.read_text(encoding="utf-8"), str(path))


@cache
def codebook() -> Codebook:
    """The study's codebook, parsed once per process from the packaged questionnaire."""
    text = resources.files("schemas").joinpath("data/questionnaire.yaml").read_text(encoding="utf-8")
    return _parse_file(text, "schemas/data/questionnaire.yaml")
