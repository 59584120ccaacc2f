"""What a questionnaire file must hold, checked before it becomes a codebook.

Every mistake is one ``QuestionnaireError`` whose message names the file, the line,
the question, what is wrong and what to write instead.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import yaml

from schemas.waves import check_waves

#: The languages every label is written in (``schemas.codebook`` takes them from here).
LANGUAGES = ("en", "fr")


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used: the message names the file, the line, what is wrong and the fix."""


QUESTION_TYPES = ("single", "multi", "text")
QUESTION_KEYS = ("code", "type", "required", "segment", "ordered", "grid", "quality_check", "text", "options")
OPTION_KEYS = ("code", *LANGUAGES, "exclusive", "other_text")
Where = tuple[str | int, ...]  # where a value sits in the file: keys and list positions


def _line_numbers(node: yaml.Node, path: Where = ()) -> dict[Where, int]:
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
    lines: dict[Where, int]

    def fail(self, path: Where, problem: str, fix: str) -> QuestionnaireError:
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
        for path, problem, fix in check_waves(raw):  # schemas/waves.py: the `waves:` key
            raise self.fail(path, problem, fix)

    def check_question(self, path: Where, question: object) -> str:
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

    def check_keys(self, path: Where, mapping: dict, known: tuple[str, ...], what: str) -> None:
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise self.fail(
                    (*path, key), f"{what} has an unknown key `{key}`", f"{hint}the keys are {', '.join(known)}"
                )

    def check_labels(self, path: Where, labels: object, what: str) -> None:
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

    def check_members(self, path: Where, what: str, members: object, question: str, options: list[str]) -> None:
        if not isinstance(members, list) or not members:
            raise self.fail(path, f"{what} lists no options", "write its option codes as a list: [code, code]")
        for member in map(str, members):
            if member not in options:
                raise self.fail(
                    path,
                    f"{what} names {member}, which is no option of {question}",
                    f"use the option codes of {question}: {', '.join(options)}",
                )


def check_questionnaire(raw: object, *, text: str, name: str) -> None:
    """Raise ``QuestionnaireError`` at the first mistake of ``raw`` (``text`` parsed),
    ``name`` being how the message names the file."""
    lines = _line_numbers(yaml.compose(text, Loader=yaml.SafeLoader)) if raw is not None else {}
    _Checker(name, lines).check(raw)


def yaml_error(error: yaml.YAMLError, *, name: str) -> QuestionnaireError:
    """The one-line error of a file that is not valid YAML, at its line and column."""
    mark = getattr(error, "problem_mark", None)
    where = f"{name}, line {mark.line + 1}, column {mark.column + 1}" if mark else name
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return QuestionnaireError(
        f"{where}: not valid YAML ({problem}); fix the syntax there (indentation, quotes, colons)"
    )
