"""A questionnaire that changes between waves: what each wave asked, in its own wording.

Optional keys of questionnaire.yaml (none of them: every wave asks the same questionnaire):

- a question's ``waves: [2024]``: asked only in those waves (default: every wave);
- a question's ``wording: {2023: {en: ..., fr: ...}}``: its text in an older wave;
- an option's ``waves: [2023]``: offered only in those waves (an option added or dropped);
- an option's ``wording: {2023: {en: "Bing Chat", ...}}``: renamed (same code, the older wave's label);
- an option's ``replaces: [dalle, midjourney]``: merged; the older options (of the same
  question, offered in other waves) it stands for when the trend compares waves.

``book_for`` gives the codebook of one wave (only what that wave asked, in its wording,
options numbered by their place in that wave's list, as numeric exports code them);
``version_problems`` lists the mistakes of these keys, for ``schemas.questionnaire_checks``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # schemas.questionnaire_checks (imported by schemas.codebook) calls version_problems
    from schemas.codebook import Codebook, Question

QUESTION_KEYS = ("waves", "wording")
OPTION_KEYS = ("waves", "wording", "replaces")
Where = tuple[str | int, ...]
Problem = tuple[Where, str, str]  # (where in the file, what is wrong, what to write instead)


@dataclass(frozen=True)
class Versions:
    """The version keys of one questionnaire, by question code and (question, option) code."""

    question_waves: dict[str, tuple[int, ...]] = field(default_factory=dict)
    question_wording: dict[str, dict[int, dict[str, str]]] = field(default_factory=dict)
    option_waves: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    option_wording: dict[tuple[str, str], dict[int, dict[str, str]]] = field(default_factory=dict)
    replaces: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    required_when_asked: set[str] = field(default_factory=set)  # required questions some waves did not ask
    _books: dict[int, Codebook] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def is_empty(self) -> bool:
        """True when every wave asks the same questionnaire in the same words."""
        return not (
            self.question_waves or self.question_wording or self.option_waves or self.option_wording or self.replaces
        )

    def asks(self, wave: int, question: str, option: str | None = None) -> bool:
        """Whether ``wave`` asked ``question`` (and offered ``option`` of it, when given)."""
        waves = self.question_waves.get(question)
        if waves is not None and wave not in waves:
            return False
        if option is None:
            return True
        waves = self.option_waves.get((question, option))
        return waves is None or wave in waves


def versions_of(raw: dict) -> Versions:
    """The version keys of a checked questionnaire (``raw``, the parsed YAML)."""
    versions = Versions()
    for question in raw.get("questions") or []:
        code = question["code"]
        if "waves" in question:
            versions.question_waves[code] = tuple(int(w) for w in question["waves"])
            if question.get("required"):
                versions.required_when_asked.add(code)
        if "wording" in question:
            versions.question_wording[code] = _wording(question["wording"])
        for option in question.get("options") or []:
            key = (code, str(option["code"]))
            if "waves" in option:
                versions.option_waves[key] = tuple(int(w) for w in option["waves"])
            if "wording" in option:
                versions.option_wording[key] = _wording(option["wording"])
            if "replaces" in option:
                versions.replaces[key] = tuple(map(str, option["replaces"]))
    return versions


def _wording(raw: dict) -> dict[int, dict[str, str]]:
    return {int(wave): {str(lang): str(text) for lang, text in texts.items()} for wave, texts in raw.items()}


def every_wave_book(book: Codebook, versions: Versions) -> Codebook:
    """The union of the waves (``Study.book``): a required question that some wave did not
    ask is not required of every response (its column is null in that wave's)."""
    if not versions.required_when_asked:
        return book
    questions = tuple(
        dataclasses.replace(q, required=False) if q.code in versions.required_when_asked else q for q in book.questions
    )
    return dataclasses.replace(book, questions=questions)


def book_for(book: Codebook, versions: Versions, wave: int) -> Codebook:
    """The codebook of one wave (cached per ``versions``): the union ``book`` without what
    ``wave`` did not ask, in that wave's wording, options numbered 1.. in that wave's list."""
    if versions.is_empty:
        return book
    if wave not in versions._books:
        questions = tuple(
            _question_in(question, versions, wave) for question in book.questions if versions.asks(wave, question.code)
        )
        asked = {question.code: question for question in questions}
        derived = tuple(
            dataclasses.replace(
                d, groups={g: tuple(m for m in ms if m in asked[d.source].option_codes) for g, ms in d.groups.items()}
            )
            for d in book.derived_segments
            if d.source in asked
        )
        versions._books[wave] = dataclasses.replace(book, wave=wave, questions=questions, derived_segments=derived)
    return versions._books[wave]


def _question_in(question: Question, versions: Versions, wave: int) -> Question:
    options = tuple(
        dataclasses.replace(
            option,
            position=position,
            labels=option.labels | versions.option_wording.get((question.code, option.code), {}).get(wave, {}),
        )
        for position, option in enumerate(
            (o for o in question.options if versions.asks(wave, question.code, o.code)), start=1
        )
    )
    offered = {option.code for option in options}
    nets = {
        name: kept for name, members in question.nets.items() if (kept := tuple(m for m in members if m in offered))
    }
    return dataclasses.replace(
        question,
        required=question.required or question.code in versions.required_when_asked,
        text=question.text | versions.question_wording.get(question.code, {}).get(wave, {}),
        options=options,
        nets=nets,
    )


def questionnaire_waves(raw: dict) -> tuple[int, ...]:
    """The study's waves, ascending: those declared under the top-level ``waves:`` when it
    lists them, else the questionnaire's ``wave:`` and every wave a ``waves:`` list names.

    (A stand-in for ``schemas.waves``, the declared waves, until it is merged.)
    """
    declared = raw.get("waves")
    if isinstance(declared, list) and declared and all(isinstance(w, dict) for w in declared):
        return tuple(sorted({int(w["wave"]) for w in declared if isinstance(w.get("wave"), int)}))
    named: set[int] = {raw["wave"]} if isinstance(raw.get("wave"), int) else set()
    for question in raw.get("questions") or []:
        items = [question, *(question.get("options") or [])] if isinstance(question, dict) else []
        for item in items:
            if isinstance(item, dict) and _is_wave_list(item.get("waves")):
                named.update(item["waves"])
    return tuple(sorted(named))


def _is_wave_list(value: object) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(w, int) and not isinstance(w, bool) for w in value)
    )


def version_problems(raw: dict, *, languages: tuple[str, ...]) -> list[Problem]:
    """Every mistake of the version keys of ``raw`` (a questionnaire whose questions and
    options are otherwise checked): (where, problem, fix), in file order."""
    waves = questionnaire_waves(raw)
    problems: list[Problem] = []
    for index, question in enumerate(raw.get("questions") or []):
        if isinstance(question, dict) and isinstance(question.get("code"), str):
            problems += _question_problems(("questions", index), question, waves=waves, languages=languages)
    return problems


def _question_problems(path: Where, question: dict, *, waves: tuple[int, ...], languages: tuple[str, ...]) -> list:
    code = question["code"]
    problems = _item_problems(path, question, f"question {code}", waves=waves, languages=languages)
    if "waves" in question and question.get("quality_check"):  # screening fails a response without its answer
        problems.append(((*path, "waves"), f"question {code} is a quality check asked in some waves only",
                         "ask it in every wave (remove `waves:`), or move `quality_check:` to a question every wave asks"))  # fmt: skip
    asked = question.get("waves") if _is_wave_list(question.get("waves")) else None
    options = [o for o in question.get("options") or [] if isinstance(o, dict) and "code" in o]
    codes = [str(o["code"]) for o in options]
    replaced_by: dict[str, str] = {}
    for index, option in enumerate(question.get("options") or []):
        if not isinstance(option, dict) or "code" not in option:
            continue
        where, what = (*path, "options", index), f"question {code}, option {option['code']}"
        problems += _item_problems(where, option, what, waves=waves, languages=languages)
        offered = option.get("waves")
        if asked is not None and _is_wave_list(offered) and not set(offered) <= set(asked):
            problems.append(
                (
                    (*where, "waves"),
                    f"{what} is offered in waves {offered}, but the question is asked in {asked} only",
                    f"write waves among {asked}",
                )
            )
        for old in _replaced(option.get("replaces")) if "replaces" in option else []:
            problems += _replace_problems((*where, "replaces"), what, option, old, options, codes, replaced_by)
        if "replaces" in option and not _replaced(option.get("replaces")):
            problems.append(
                (
                    (*where, "replaces"),
                    f"{what}: `replaces:` lists no option codes",
                    "write the older codes: [code, code]",
                )
            )
    return problems


def _replaced(value: object) -> list[str]:
    return [str(code) for code in value] if isinstance(value, list) else []


def _replace_problems(
    where: Where, what: str, option: dict, old: str, options: list[dict], codes: list[str], replaced_by: dict
) -> list[Problem]:
    new = str(option["code"])
    if old == new or old not in codes:
        listed = ", ".join(c for c in codes if c != new)
        return [(where, f"{what} replaces {old}, which is no other option of the question",
                 f"list the older options it stands for (with `waves:` of the waves that offered them): {listed}")]  # fmt: skip
    if old in replaced_by:
        return [(where, f"{what} replaces {old}, which option {replaced_by[old]} replaces already",
                 "let one option stand for each older option")]  # fmt: skip
    replaced_by[old] = new
    older = options[codes.index(old)].get("waves")
    newer = option.get("waves")
    if not (_is_wave_list(older) and _is_wave_list(newer)) or set(older) & set(newer):
        return [(where, f"{what} replaces {old}, but a wave offers both (or one has no `waves:`)",
                 f"give {old} and {new} `waves:` lists with no wave in common, e.g. {old}: [2023], {new}: [2024]")]  # fmt: skip
    return []


def _item_problems(path: Where, item: dict, what: str, *, waves: tuple[int, ...], languages: tuple[str, ...]) -> list:
    problems: list[Problem] = []
    if "waves" in item:
        listed = item["waves"]
        if not _is_wave_list(listed):
            problems.append(
                ((*path, "waves"), f"{what} has `waves: {listed!r}`", "write the wave numbers, as [2023, 2024]")
            )
        elif unknown := sorted(set(listed) - set(waves)):
            problems.append(
                ((*path, "waves"), f"{what} names waves {unknown} the study does not have", f"use {list(waves)}")
            )
    if "wording" in item:
        problems += _wording_problems((*path, "wording"), item["wording"], what, waves=waves, languages=languages)
    return problems


def _wording_problems(path: Where, wording: object, what: str, *, waves: tuple[int, ...], languages) -> list:
    example = "{2023: {" + ", ".join(f"{lang}: ..." for lang in languages) + "}}"
    if not isinstance(wording, dict) or not wording:
        return [(path, f"{what} has a `wording:` that is no wave -> wording list", f"write `wording: {example}`")]
    problems: list[Problem] = []
    for wave, texts in wording.items():
        if not isinstance(wave, int) or wave not in waves:
            problems.append((path, f"{what}: `wording:` names wave {wave!r}, which the study does not have",
                             f"use one of {list(waves)}"))  # fmt: skip
        elif not isinstance(texts, dict) or any(
            not isinstance(texts.get(lang), str) or not texts[lang].strip() for lang in languages
        ):
            problems.append(((*path, wave), f"{what}: the {wave} wording does not give every language",
                             f"write `{wave}: {{{', '.join(f'{lang}: ...' for lang in languages)}}}`"))  # fmt: skip
    return problems


def offered_answers(book: Codebook, versions: Versions, waves: list[int]) -> pl.DataFrame:
    """One row per wave, closed question and answer (option or NET) that wave asked."""
    rows = [
        (wave, question.code, answer)
        for wave in waves
        for question in book_for(book, versions, wave).closed
        for answer in question.answer_codes
    ]
    return pl.DataFrame(rows, schema={"wave": pl.Int32, "question": pl.Utf8, "answer": pl.Utf8}, orient="row")


#: The columns of ``trend_changes``.
CHANGE_SCHEMA = {
    "wave": pl.Int32,
    "previous_wave": pl.Int32,
    "question": pl.Utf8,
    "answer": pl.Utf8,
    "side": pl.Utf8,  # both (compared) | current (this wave only) | previous (the previous wave only)
    "reason": pl.Utf8,  # why the row is not compared; null where it is
    "note": pl.Utf8,  # how a compared row differs between the waves (merged, wording changed); else null
}


def trend_changes(book: Codebook, versions: Versions, pairs: list[tuple[int, int]]) -> pl.DataFrame:
    """One row per wave pair (wave, previous_wave) and answer that either wave asked: how
    the trend compares it (``CHANGE_SCHEMA``)."""
    rows = []
    for wave, previous in pairs:
        now, before = book_for(book, versions, wave), book_for(book, versions, previous)
        asked_now, asked_before = {q.code: q for q in now.closed}, {q.code: q for q in before.closed}
        for question in book.closed:
            code = question.code
            if code not in asked_before and code in asked_now:
                reason = f"question not asked in {previous}"
                rows += [(wave, previous, code, a, "current", reason, None) for a in asked_now[code].answer_codes]
            elif code in asked_before and code not in asked_now:
                reason = f"question not asked in {wave}"
                rows += [(wave, previous, code, a, "previous", reason, None) for a in asked_before[code].answer_codes]
            elif code in asked_now:
                rows += _answer_changes(versions, asked_now[code], asked_before[code], wave, previous)
    return pl.DataFrame(rows, schema=CHANGE_SCHEMA, orient="row")


def _answer_changes(versions: Versions, now: Question, before: Question, wave: int, previous: int) -> list[tuple]:
    """How each answer of a question both waves asked is compared."""
    stands_for = _stands_for(versions, now, before)
    merged_into = {old: new for new, olds in stands_for.items() for old in olds}
    reworded = [f"question wording changed since {previous}"] if now.text != before.text else []

    def row(answer: str, side: str, reason: str | None = None, *notes: str) -> tuple:
        note = "; ".join([*reworded, *notes]) if side == "both" else None
        return (wave, previous, now.code, answer, side, reason, note or None)

    rows = []
    for answer in dict.fromkeys(now.answer_codes + before.answer_codes):
        if answer in now.answer_codes and answer in before.answer_codes:
            renamed = answer in now.option_codes and now.option(answer).labels != before.option(answer).labels
            rows.append(row(answer, "both", None, *([f"answer wording changed since {previous}"] if renamed else [])))
        elif answer in stands_for:
            rows.append(row(answer, "both", None, f"compared with {'|'.join(stands_for[answer])} in {previous}"))
        elif answer in now.answer_codes:
            rows.append(row(answer, "current", f"answer added in {wave}"))
        elif answer in merged_into:
            rows.append(row(answer, "previous", f"answer merged into {merged_into[answer]} in {wave}"))
        else:
            rows.append(row(answer, "previous", f"answer dropped after {previous}"))
    return rows


def _stands_for(versions: Versions, now: Question, before: Question) -> dict[str, tuple[str, ...]]:
    """The options of ``now`` that merge options of ``before``: new code -> the older codes ``before`` offered."""
    merged = {}
    for option in now.option_codes:
        if option in before.option_codes:
            continue
        olds = tuple(old for old in versions.replaces.get((now.code, option), ()) if old in before.option_codes)
        if olds:
            merged[option] = olds
    return merged


def merged_book(
    book: Codebook, versions: Versions, wave: int, previous: int
) -> tuple[Codebook, list[tuple[str, str]]] | None:
    """(the codebook of ``previous`` where each option of ``wave`` that merges older options
    is a NET of them, named by its code, so that a crosstab of ``previous`` counts each
    respondent once; those (question, option) pairs), or None when ``wave`` merges nothing."""
    now, before = book_for(book, versions, wave), book_for(book, versions, previous)
    asked_now = {q.code: q for q in now.closed}
    questions, merges = [], []
    for question in before.questions:
        stands_for = _stands_for(versions, asked_now[question.code], question) if question.code in asked_now else {}
        merges += [(question.code, option) for option in stands_for]
        questions.append(dataclasses.replace(question, nets=dict(question.nets) | stands_for))
    return (dataclasses.replace(before, questions=tuple(questions)), merges) if merges else None
