"""What a questionnaire file must hold, checked before it becomes a codebook.

Every mistake is one line naming the file, the line, the question, what is wrong and
what to write instead. The checker collects every mistake (``questionnaire_problems``,
for ``surveyhouse study check``); loading a file raises ``QuestionnaireError`` with the
first one, the others in its ``problems``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from schemas.names import RESERVED_CODES
from schemas.waves import check_waves

#: ISO 639-1 language codes (two lower-case letters), the values `languages:` accepts.
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el "
    "en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu "
    "ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na "
    "nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so "
    "sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used: the message names the file, the line, what is wrong and the fix;
    ``problems`` holds every mistake of the file, one line each (the message is the first)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


QUESTION_TYPES = ("single", "multi", "text")
#: The keys of a questionnaire's top level (`waves`: s16-waves; `sections`: the report's section titles).
TOP_KEYS = (
    "study",
    "wave",
    "languages",
    "waves",
    "sections",
    "grids",
    "metadata",
    "questions",
    "nets",
    "derived_segments",
)
#: The keys of a question (`section`: the report; `waves`, `wording`: a questionnaire that changes between waves).
QUESTION_KEYS = (
    "code", "type", "required", "segment", "ordered", "grid", "quality_check", "text", "options", "section", "waves",
    "wording",
)  # fmt: skip
#: The keys of an option besides its label in each of the study's languages.
OPTION_KEYS = ("code", "exclusive", "other_text", "waves", "wording", "replaces")
#: Why a bare yes, no, on or off is not the word written (YAML 1.1, which PyYAML reads).
_YAML_BOOLEAN = ", not as the word written: YAML reads a bare yes, no, on, off, true or false as true or false"
#: What a question's or derived segment's code may be: a column name analysts type unquoted.
_COLUMN_NAME = re.compile(r"[^\W\d]\w*")


def _column_name(code: str) -> str:
    """``code`` made a column name, for the fix a message suggests."""
    name = re.sub(r"\W+", "_", code).strip("_")
    return name if _COLUMN_NAME.fullmatch(name) else f"q_{name}"


Where = tuple[str | int, ...]  # where a value sits in the file: keys and list positions
#: Records one mistake: (where, what is wrong, what to write instead).
Report = Callable[[Where, str, str], None]


def line_numbers(node: yaml.Node, path: Where = ()) -> dict[Where, int]:
    """The 1-based line of every key and list item of a composed YAML document."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(line_numbers(value, (*path, key.value)))
            lines[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(line_numbers(item, (*path, index)))
    return lines


def _option_codes(question: object) -> list[str]:
    """The option codes a question's mapping lists (skipping malformed options)."""
    options = question.get("options") if isinstance(question, dict) else None
    return (
        [str(o["code"]) for o in options or [] if isinstance(o, dict) and "code" in o]
        if isinstance(options, list)
        else []
    )


def _is_closed(question: object) -> bool:
    return isinstance(question, dict) and question.get("type") in ("single", "multi")


@dataclass
class _Checker:
    """Collects every mistake of a questionnaire, each placed by file and line."""

    name: str
    lines: dict[Where, int]
    problems: list[str] = field(default_factory=list)

    def report(self, path: Where, problem: str, fix: str) -> None:
        while path and path not in self.lines:
            path = path[:-1]
        line = self.lines.get(path)
        where = f"{self.name}, line {line}" if line else self.name
        self.problems.append(f"{where}: {problem}; {fix}")

    def check(self, raw: object) -> None:
        if not isinstance(raw, dict):
            self.report((), "the file is not a questionnaire", "start from schemas/data/questionnaire.yaml")
            return
        self.check_keys((), raw, TOP_KEYS, "the questionnaire")
        for key in ("study", "wave", "questions"):
            if key not in raw:
                self.report(
                    (),
                    f"`{key}:` is missing",
                    f"write `{key}:` at the top level, as in schemas/data/questionnaire.yaml",
                )
        if "wave" in raw and (not isinstance(raw["wave"], int) or isinstance(raw["wave"], bool)):
            self.report(
                ("wave",), f"`wave:` is {raw['wave']!r}", "write the wave as a whole number (e.g. `wave: 2024`)"
            )
        if not isinstance(raw.get("questions"), list) or not raw["questions"]:
            if "questions" in raw:
                self.report(
                    ("questions",),
                    "`questions:` is not a list of questions",
                    "write one `- code: ...` item per question",
                )
            return
        languages = self.check_languages(raw)
        questions = self.check_questions(raw["questions"], languages)
        self.check_grids_and_checks(raw["questions"], grids=list(raw.get("grids") or {}), languages=languages)
        for key, what in (("grids", "grid"), ("sections", "section")):
            for name, labels in (raw.get(key) or {}).items() if isinstance(raw.get(key), dict) else ():
                self.check_labels((key, name), labels, f"{what} {name}", languages)
        self.check_nets(raw.get("nets") or {}, questions)
        self.check_derived(raw.get("derived_segments") or {}, questions)
        for path, problem, fix in check_waves(raw):  # schemas/waves.py: the `waves:` key
            self.report(path, problem, fix)
        from schemas.versions import version_problems  # here: it needs polars, which `sql` never imports

        for path, problem, fix in version_problems(raw, languages=languages):  # schemas/versions.py
            self.report(path, problem, fix)

    def check_languages(self, raw: dict) -> tuple[str, ...]:
        """The questionnaire's languages (each an ISO 639-1 code), every wrong one reported."""
        languages = raw.get("languages")
        if languages is None:
            self.report(
                (),
                "`languages:` is missing",
                "write `languages: [en]` at the top level: the ISO 639-1 codes of the languages of every text and label",
            )
            first = raw["questions"][0] if isinstance(raw["questions"][0], dict) else {}
            return tuple(k for k in first.get("text") or {} if isinstance(k, str))
        if not isinstance(languages, list) or not languages:
            self.report(
                ("languages",), "`languages:` is not a list of language codes", "write them as a list: [en, es]"
            )
            return ()
        known: list[str] = []
        for index, language in enumerate(languages):
            if not isinstance(language, str) or language not in ISO_639_1:
                shown = "no" if language is False else language  # YAML reads a bare `no` as false
                self.report(
                    ("languages", index),
                    f"{shown!r} is not an ISO 639-1 language code",
                    "write each language as its two lower-case letters (en, es, de, ...), quoted if it is `no`",
                )
            elif language in known:
                self.report(("languages", index), f"language {language} is listed twice", "list each language once")
            else:
                known.append(language)
        return tuple(known)

    def check_questions(self, items: list, languages: tuple[str, ...]) -> dict[str, dict]:
        """Every question checked; the questions by code (the first of a duplicated code)."""
        questions: dict[str, dict] = {}
        first: dict[str, int] = {}
        for index, question in enumerate(items):
            code = self.check_question(("questions", index), question, languages)
            if code is None:
                continue
            if code in first:
                self.report(
                    ("questions", index, "code"),
                    f"question {code} is defined twice (first at line {self.lines.get(('questions', first[code], 'code'))})",
                    "give each question its own code, or remove one of them",
                )
                continue
            first[code], questions[code] = index, question
        return questions

    def check_reserved(self, path: Where, code: str, what: str) -> None:
        """A code that is no column name (letters of any script, digits and ``_``, a letter first)
        or that names a column the warehouse keeps for itself (``RESERVED_CODES``)."""
        if not _COLUMN_NAME.fullmatch(code):
            self.report(
                path,
                f"{what} code {code!r} is not a column name: it becomes one in the warehouse, where analysts type it",
                f"write it with letters, digits and _, a letter first (e.g. {_column_name(code)})",
            )
        elif code in RESERVED_CODES:
            self.report(
                path,
                f"{what} code {code} is a name the warehouse keeps for itself",
                f"give the {what} another code (e.g. {code}_q)",
            )

    def check_question(self, path: Where, question: object, languages: tuple[str, ...]) -> str | None:
        if isinstance(question, dict) and isinstance(question.get("code"), bool):
            self.report(
                (*path, "code"),
                f"a question's code is read as {str(question['code']).lower()}{_YAML_BOOLEAN}",
                "write the code in quotes (e.g. `code: 'no'`)",
            )
            return None
        if not isinstance(question, dict) or not isinstance(question.get("code"), str):
            self.report(path, "a question has no `code:`", "write `- code: <question code>` first in each question")
            return None
        code = question["code"]
        self.check_reserved((*path, "code"), code, "question")
        self.check_keys(path, question, QUESTION_KEYS, f"question {code}")
        if question.get("type") not in QUESTION_TYPES:
            self.report(
                (*path, "type"),
                f"question {code} has type {question.get('type')!r}",
                f"write `type:` {' or '.join(QUESTION_TYPES)}",
            )
        self.check_labels((*path, "text"), question.get("text"), f"question {code}'s `text:`", languages)
        options = question.get("options")
        if question.get("type") in ("single", "multi") and (not isinstance(options, list) or not options):
            self.report(
                path,
                f"question {code} is {question['type']} but has no options",
                "list its answers under `options:`, or make it `type: text`",
            )
        self.check_options(path, code, options if isinstance(options, list) else [], languages)
        self.check_labels_apart(path, code, options if isinstance(options, list) else [], languages)
        return code

    def check_options(self, path: Where, code: str, options: list, languages: tuple[str, ...]) -> None:
        seen: set[str] = set()
        for index, option in enumerate(options):
            where = (*path, "options", index)
            if not isinstance(option, dict) or "code" not in option:
                example = ", ".join(f"{language}: ..." for language in languages)
                self.report(where, f"question {code}: an option has no `code:`", f"write `- {{code: ..., {example}}}`")
                continue
            option_code = str(option["code"])
            if isinstance(option["code"], bool):
                self.report(
                    (*where, "code"),
                    f"question {code}: an option's code is read as {option_code.lower()}{_YAML_BOOLEAN}",
                    "write the code in quotes (e.g. `code: 'no'`)",
                )
            if "|" in option_code:
                self.report(
                    (*where, "code"),
                    f"question {code}: option code {option_code} holds a `|`, which joins option codes in "
                    "published_figures.csv and in segment groups",
                    f"write the code without it (e.g. `code: {option_code.replace('|', '_or_')}`)",
                )
            self.check_keys(
                where,
                option,
                (*OPTION_KEYS[:1], *languages, *OPTION_KEYS[1:]),
                f"question {code}, option {option_code}",
            )
            if option_code in seen:
                self.report(
                    (*where, "code"),
                    f"question {code} has option {option_code} twice",
                    "give each option of a question its own code",
                )
            seen.add(option_code)
            self.check_labels(where, option, f"question {code}, option {option_code}", languages)

    def check_labels_apart(self, path: Where, code: str, options: list, languages: tuple[str, ...]) -> None:
        """Two options of a question (asked in the same waves) with one label in a language: an
        export's answer is matched on its label, so neither could be told from the other."""
        from schemas.codebook import normalize_label  # here: it needs polars, which `sql` never imports

        for language in languages:
            first: dict[tuple[str, str], str] = {}
            for index, option in enumerate(options):
                label = option.get(language) if isinstance(option, dict) else None
                if not isinstance(label, str) or not label.strip():
                    continue
                key = (str(option.get("waves")), normalize_label(label))
                if key in first:
                    self.report(
                        (*path, "options", index),
                        f"question {code}: options {first[key]} and {option.get('code')} have the same `{language}` "
                        f"label {label!r}, so an export's answer cannot tell them apart",
                        f"give each option its own `{language}` label",
                    )
                first.setdefault(key, str(option.get("code")))

    def check_grids_and_checks(self, questions: list, *, grids: list[str], languages: tuple[str, ...]) -> None:
        labels = ", ".join(f"{language}: ..." for language in languages)
        for index, question in enumerate(questions):
            if not isinstance(question, dict):
                continue
            code, grid = question.get("code"), question.get("grid")
            if grid is not None and grid not in grids:
                self.report(
                    ("questions", index, "grid"),
                    f"question {code} is in grid {grid!r}, which `grids:` does not define",
                    f"add `{grid}: {{{labels}}}` under `grids:`, or use one of: {', '.join(grids) or 'none yet'}",
                )
            expected = (question.get("quality_check") or {}).get("expected")
            options = _option_codes(question)
            if expected is not None and str(expected) not in options:
                self.report(
                    ("questions", index, "quality_check"),
                    f"question {code}'s quality check expects {expected!r}, which is no option of {code}",
                    f"write `expected:` one of {', '.join(options)}",
                )

    def check_keys(self, path: Where, mapping: dict, known: tuple[str, ...], what: str) -> None:
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                self.report(
                    (*path, key), f"{what} has an unknown key `{key}`", f"{hint}the keys are {', '.join(known)}"
                )

    def check_labels(self, path: Where, labels: object, what: str, languages: tuple[str, ...]) -> None:
        for language in languages:
            if isinstance(labels, dict) and isinstance(labels.get(language), bool):
                self.report(
                    path,
                    f"{what}'s `{language}` label is read as {str(labels[language]).lower()}{_YAML_BOOLEAN}",
                    f"write the label in quotes (e.g. `{language}: 'No'`)",
                )
            elif (
                not isinstance(labels, dict)
                or not isinstance(labels.get(language), str)
                or not labels[language].strip()
            ):
                self.report(
                    path, f"{what} has no `{language}` label", f"write `{language}: <the wording in {language}>` there"
                )

    def check_nets(self, nets: object, questions: dict[str, dict]) -> None:
        closed = [q for q, v in questions.items() if _is_closed(v)]
        for code, named in nets.items() if isinstance(nets, dict) else ():
            if code not in closed:
                self.report(
                    ("nets", code),
                    f"NETs are given for {code}, which is no closed question",
                    f"use one of {', '.join(closed)}",
                )
                continue
            options = _option_codes(questions[code])
            for name, members in (named or {}).items() if isinstance(named, dict) else ():
                if name in options:
                    self.report(
                        ("nets", code, name),
                        f"NET {code}.{name} reuses the name of an option",
                        "give the NET a name that is no option code",
                    )
                self.check_members(("nets", code, name), f"NET {code}.{name}", members, code, options)

    def check_derived(self, derived: object, questions: dict[str, dict]) -> None:
        segments = [q for q, v in questions.items() if v.get("segment")]
        for code, spec in derived.items() if isinstance(derived, dict) else ():
            spec = spec if isinstance(spec, dict) else {}
            source = spec.get("from")
            self.check_reserved(("derived_segments", code), str(code), "derived segment")
            if code in questions:
                self.report(
                    ("derived_segments", code),
                    f"derived segment {code} has the code of a question",
                    "give it a code no question has",
                )
            if source not in questions:
                self.report(
                    ("derived_segments", code),
                    f"derived segment {code} groups {source!r}, which is no question",
                    f"write `from:` one of the segment questions: {', '.join(segments)}",
                )
                continue
            if not questions[source].get("segment"):
                self.report(
                    ("derived_segments", code, "from"),
                    f"derived segment {code} groups {source}, which is not a segment",
                    f"add `segment: true` to question {source}, or group one of {', '.join(segments)}",
                )
            if not isinstance(spec.get("groups"), dict) or not spec["groups"]:
                self.report(
                    ("derived_segments", code),
                    f"derived segment {code} has no groups",
                    "write `groups:` with `<group>: [<option codes>]` lines",
                )
                continue
            options = _option_codes(questions[source])
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
            self.report(path, f"{what} lists no options", "write its option codes as a list: [code, code]")
            return
        for member in map(str, members):
            if member not in options:
                self.report(
                    path,
                    f"{what} names {member}, which is no option of {question}",
                    f"use the option codes of {question}: {', '.join(options)}",
                )


def questionnaire_problems(text: str, *, name: str) -> list[str]:
    """Every mistake of a questionnaire's ``text``, one line each (file, line, problem; fix);
    empty when it is fine. ``name`` is how the lines name the file."""
    try:
        raw = yaml.safe_load(text)
        lines = line_numbers(yaml.compose(text, Loader=yaml.SafeLoader)) if raw is not None else {}
    except yaml.YAMLError as error:
        return [str(yaml_error(error, name=name))]
    checker = _Checker(name, lines)
    checker.check(raw)
    return checker.problems


def check_questionnaire(raw: object, *, text: str, name: str) -> None:
    """Raise ``QuestionnaireError`` when ``raw`` (``text`` parsed) has a mistake: its message is
    the first, its ``problems`` all of them; ``name`` is how the messages name the file."""
    lines = line_numbers(yaml.compose(text, Loader=yaml.SafeLoader)) if raw is not None else {}
    checker = _Checker(name, lines)
    checker.check(raw)
    if checker.problems:
        raise QuestionnaireError(checker.problems[0], checker.problems)


def yaml_error(error: yaml.YAMLError, *, name: str) -> QuestionnaireError:
    """The one-line error of a file that is not valid YAML, at its line and column."""
    mark = getattr(error, "problem_mark", None)
    where = f"{name}, line {mark.line + 1}, column {mark.column + 1}" if mark else name
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return QuestionnaireError(
        f"{where}: not valid YAML ({problem}); fix the syntax there (indentation, quotes, colons)"
    )


def is_language_code(text: str) -> bool:
    """Whether ``text`` is an ISO 639-1 code (two lower-case letters of the standard's list)."""
    return bool(re.fullmatch(r"[a-z]{2}", text)) and text in ISO_639_1
