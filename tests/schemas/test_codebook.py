"""A questionnaire with a mistake is refused with one line naming the file, the line and
the question, what is wrong and what to write instead; the packaged one loads as it is."""

from __future__ import annotations

from importlib import resources

import pytest

from schemas.codebook import QuestionnaireError, codebook, load_codebook

PACKAGED = resources.files("schemas").joinpath("data/questionnaire.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    """The 1-based line of the only occurrence of ``needle``."""
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def _refused(tmp_path, old: str, new: str, *, count: int = 1) -> tuple[str, str, str]:
    """(message, path, text) of the packaged questionnaire with ``old`` written ``new``."""
    assert PACKAGED.count(old) >= count, old
    text = PACKAGED.replace(old, new, count)
    path = tmp_path / "questionnaire.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_codebook(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, line ")
    return message, str(path), text


def test_the_packaged_questionnaire_loads_as_the_codebook(tmp_path):
    path = tmp_path / "questionnaire.yaml"
    path.write_text(PACKAGED, encoding="utf-8")
    assert load_codebook(path) == codebook()
    assert [q.code for q in codebook().segment_questions] == [
        "role",
        "industry",
        "team_size",
        "followers",
        "ai_frequency",
    ]


def test_a_derived_segment_over_an_unknown_question_names_the_segment_questions(tmp_path):
    message, path, text = _refused(tmp_path, "from: followers", "from: follower_count")
    line = _line_of(text, "  account_size:")
    assert message == (
        f"{path}, line {line}: derived segment account_size groups 'follower_count', which is no question; "
        "write `from:` one of the segment questions: role, industry, team_size, followers, ai_frequency"
    )


def test_a_derived_segment_over_a_question_that_is_not_a_segment_says_how_to_make_it_one(tmp_path):
    message, path, text = _refused(tmp_path, "from: ai_frequency", "from: ai_interest")
    line = _line_of(text, "from: ai_interest")
    assert message == (
        f"{path}, line {line}: derived segment usage_band groups ai_interest, which is not a segment; "
        "add `segment: true` to question ai_interest, or group one of role, industry, team_size, followers, ai_frequency"
    )


def test_a_derived_segment_group_naming_a_missing_option_lists_the_options(tmp_path):
    message, path, text = _refused(tmp_path, "light: [rarely]", "light: [seldom]")
    assert message.startswith(f"{path}, line {_line_of(text, 'light: [seldom]')}: ")
    assert "derived segment usage_band, group light names seldom, which is no option of ai_frequency" in message
    assert "use the option codes of ai_frequency: daily, few_per_week" in message


def test_a_net_naming_a_missing_option_lists_the_options_of_its_question(tmp_path):
    message, path, text = _refused(tmp_path, "interested: [very, somewhat]", "interested: [very, extremely]")
    line = _line_of(text, "interested: [very, extremely]")
    assert message == (
        f"{path}, line {line}: NET ai_interest.interested names extremely, which is no option of ai_interest; "
        "use the option codes of ai_interest: very, somewhat, neutral, not_very, dont_care"
    )


def test_a_net_reusing_an_option_code_is_refused(tmp_path):
    message, _, _ = _refused(tmp_path, "interested: [very, somewhat]", "neutral: [very, somewhat]")
    assert "NET ai_interest.neutral reuses the name of an option; give the NET a name that is no option code" in message


def test_a_question_defined_twice_names_both_lines(tmp_path):
    message, path, text = _refused(tmp_path, "  - code: ai_threat\n", "  - code: ai_useful\n")
    first = _line_of(PACKAGED, "  - code: ai_useful\n")
    second = _line_of(PACKAGED, "  - code: ai_threat\n")
    assert message == (
        f"{path}, line {second}: question ai_useful is defined twice (first at line {first}); "
        "give each question its own code, or remove one of them"
    )


def test_an_option_defined_twice_in_a_question_is_refused_at_its_line(tmp_path):
    message, path, text = _refused(tmp_path, "{code: t11_50,", "{code: t2_10, ")
    line = _line_of(text, '{code: t2_10,    en: "11-50"')
    assert message == (
        f"{path}, line {line}: question team_size has option t2_10 twice; give each option of a question its own code"
    )


def test_an_option_without_a_label_in_one_language_says_which_to_write(tmp_path):
    message, path, text = _refused(
        tmp_path,
        '{code: manufacturing, en: "Manufacturing",           fr: "Fabrication"}',
        '{code: manufacturing, en: "Manufacturing"}',
    )
    line = _line_of(text, "{code: manufacturing,")
    assert message == (
        f"{path}, line {line}: question industry, option manufacturing has no `fr` label; "
        "write `fr: <the wording in fr>` there"
    )


def test_a_closed_question_without_options_says_to_list_them_or_make_it_text(tmp_path):
    extra = '  - code: budget\n    type: single\n    required: true\n    text: {en: "Budget?", fr: "Budget ?"}\n\n'
    message, path, text = _refused(tmp_path, "  - code: comment\n", extra + "  - code: comment\n")
    line = _line_of(text, "  - code: budget")
    assert message == (
        f"{path}, line {line}: question budget is single but has no options; "
        "list its answers under `options:`, or make it `type: text`"
    )


def test_a_question_of_an_unknown_type_lists_the_types(tmp_path):
    message, path, text = _refused(tmp_path, "type: multi", "type: multiple")
    line = _line_of(text, "type: multiple")
    assert (
        message == f"{path}, line {line}: question ai_uses has type 'multiple'; write `type:` single or multi or text"
    )


def test_bad_yaml_syntax_names_the_line_and_column(tmp_path):
    message, path, text = _refused(tmp_path, 'en: "Retail",', 'en: "Retail,')
    assert message.startswith(f"{path}, line ")
    assert "not valid YAML" in message
    assert message.endswith("fix the syntax there (indentation, quotes, colons)")
    line = int(message.split("line ")[1].split(",")[0])
    assert line >= _line_of(text, 'en: "Retail,')


def test_a_file_that_is_not_a_questionnaire_is_refused(tmp_path):
    path = tmp_path / "notes.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="notes.yaml, line 1: the file is not a questionnaire"):
        load_codebook(path)


def test_looking_up_a_code_the_questionnaire_lacks_names_it(book):
    with pytest.raises(KeyError, match="the questionnaire has no question 'age'"):
        book.question("age")
    with pytest.raises(KeyError, match="role has no option 'ceo'"):
        book.question("role").option("ceo")
    with pytest.raises(KeyError, match="the questionnaire has no derived segment 'region'"):
        book.derived("region")
    assert book.derived("usage_band").groups["light"] == ("rarely",)


def test_a_misspelt_key_of_a_question_is_refused_with_the_key_it_likely_means(tmp_path):
    message, path, text = _refused(
        tmp_path, "    segment: true\n    ordered: true\n", "    segmnet: true\n    ordered: true\n"
    )
    line = _line_of(text, "segmnet: true")
    assert message == (
        f"{path}, line {line}: question team_size has an unknown key `segmnet`; did you mean `segment`? "
        "the keys are code, type, required, segment, ordered, grid, quality_check, text, options, section, waves, wording"
    )


def test_a_misspelt_key_of_an_option_is_refused(tmp_path):
    message, _, _ = _refused(tmp_path, "other_text: true}", "other: true}")
    assert "question industry, option other has an unknown key `other`; did you mean `other_text`?" in message


def test_a_question_in_an_undefined_grid_is_refused(tmp_path):
    message, path, text = _refused(tmp_path, "grid: opinions\n", "grid: opinion\n")
    assert message == (
        f"{path}, line {_line_of(text, 'grid: opinion' + chr(10))}: question ai_useful is in grid 'opinion', which "
        "`grids:` does not define; add `opinion: {en: ..., fr: ...}` under `grids:`, or use one of: opinions"
    )


def test_a_quality_check_expecting_no_option_is_refused(tmp_path):
    message, _, _ = _refused(tmp_path, "expected: disagree}", "expected: disagrees}")
    assert (
        "question attention_check's quality check expects 'disagrees', which is no option of attention_check" in message
    )
