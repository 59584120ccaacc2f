"""The version keys of a questionnaire that changes between waves (schemas/versions.py):
the codebook of one wave, and every mistake of those keys refused at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.codebook import QuestionnaireError, load_codebook
from schemas.study import load_study

STUDY = Path(__file__).resolve().parents[1] / "cases" / "studies" / "versions"
TEXT = (STUDY / "questionnaire.yaml").read_text(encoding="utf-8")


def test_the_codebook_of_a_wave_holds_what_it_asked_in_its_wording_numbered_in_its_list():
    study = load_study(STUDY)
    before, after = study.book_for(2023), study.book_for(2024)
    assert [q.code for q in before.questions] == ["role", "ai_tools", "budget"]
    assert [q.code for q in after.questions] == ["role", "ai_tools", "agents"]
    tools = before.question("ai_tools")
    assert [(o.code, o.position) for o in tools.options] == [
        ("chatgpt", 1), ("bard", 2), ("copilot", 3), ("dalle", 4), ("midjourney", 5)
    ]  # fmt: skip
    assert [(o.code, o.position) for o in after.question("ai_tools").options] == [
        ("chatgpt", 1), ("gemini", 2), ("copilot", 3), ("images", 4)
    ]  # fmt: skip
    assert tools.option("copilot").labels == {"en": "Bing Chat", "fr": "Bing Chat"}
    assert tools.text["en"] == "Which AI tools do you use for work?"
    assert before.question("budget").required and after.question("agents").required
    assert study.book_for(2023) is before  # cached


def test_the_study_book_is_the_union_of_the_waves_in_questionnaire_order():
    book = load_study(STUDY).book
    assert book.question("ai_tools").option_codes == [
        "chatgpt", "gemini", "bard", "copilot", "dalle", "midjourney", "images"
    ]  # fmt: skip
    assert [q.code for q in book.questions] == ["role", "ai_tools", "budget", "agents"]
    # asked in some waves only: a response of another wave has no answer to it
    assert not book.question("budget").required and not book.question("agents").required


def test_a_questionnaire_without_version_keys_is_the_same_codebook_in_every_wave():
    study = load_study()
    assert study.versions.is_empty
    assert study.book_for(2023) is study.book and study.book_for(2024) is study.book


def _refused(tmp_path, old: str, new: str) -> tuple[str, str, int]:
    assert TEXT.count(old) == 1, old
    text = TEXT.replace(old, new)
    path = tmp_path / "questionnaire.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_codebook(path)
    return str(caught.value), str(path), text


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_a_merged_option_naming_no_option_of_the_question_is_refused_with_the_codes_it_may_use(tmp_path):
    message, path, text = _refused(tmp_path, "replaces: [dalle, midjourney]", "replaces: [dalle, stable_diffusion]")
    assert message == (
        f"{path}, line {_line_of(text, '{code: images')}: question ai_tools, option images replaces stable_diffusion, "
        "which is no other option of the question; list the older options it stands for (with `waves:` of the waves "
        "that offered them): chatgpt, gemini, bard, copilot, dalle, midjourney"
    )


def test_a_merged_option_offered_in_the_same_wave_as_an_older_one_is_refused(tmp_path):
    message, _, _ = _refused(tmp_path, 'fr: "Midjourney", waves: [2023]', 'fr: "Midjourney", waves: [2023, 2024]')
    assert "option images replaces midjourney, but a wave offers both" in message
    assert message.endswith(
        "give midjourney and images `waves:` lists with no wave in common, e.g. midjourney: [2023], images: [2024]"
    )


def test_an_older_wording_missing_a_language_is_refused_with_what_to_write(tmp_path):
    message, path, text = _refused(tmp_path, '{2023: {en: "Bing Chat", fr: "Bing Chat"}}', '{2023: {en: "Bing Chat"}}')
    assert message == (
        f"{path}, line {_line_of(text, 'wording: {2023: {en')}: question ai_tools, option copilot: the 2023 wording "
        "does not give every language; write `2023: {en: ..., fr: ...}`"
    )


def test_waves_that_are_not_a_list_of_wave_numbers_are_refused(tmp_path):
    message, path, text = _refused(tmp_path, "    waves: [2023]\n", "    waves: 2023\n")
    assert message == (
        f"{path}, line {_line_of(text, '    waves: 2023')}: question budget has `waves: 2023`; "
        "write the wave numbers, as [2023, 2024]"
    )


def test_an_option_offered_in_a_wave_its_question_was_not_asked_is_refused(tmp_path):
    message, _, _ = _refused(
        tmp_path,
        '- {code: often,  en: "Often",  fr: "Souvent"}',
        '- {code: often,  en: "Often",  fr: "Souvent", waves: [2023]}',
    )
    assert message.endswith(
        "question agents, option often is offered in waves [2023], but the question is asked in [2024] only; "
        "write waves among [2024]"
    )


def test_a_quality_check_asked_in_some_waves_only_is_refused(tmp_path):
    # Screening fails every response that does not give the expected answer: the responses
    # of a wave that did not ask the check would all be excluded.
    message, path, text = _refused(
        tmp_path, "    waves: [2024]\n", "    waves: [2024]\n    quality_check: {expected: often}\n"
    )
    assert message == (
        f"{path}, line {_line_of(text, '    waves: [2024]')}: question agents is a quality check asked in some waves "
        "only; ask it in every wave (remove `waves:`), or move `quality_check:` to a question every wave asks"
    )
