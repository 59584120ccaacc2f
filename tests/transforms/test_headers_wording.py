"""Questions are matched on their wording, forgiving of what tools do to it; a file of
another questionnaire gets its closest wordings."""

import pytest

from transforms.headers import (
    closest_questions,
    column_text,
    header_key,
    resolve_columns,
)
from transforms.layouts import SourceColumn as Col


@pytest.mark.parametrize(
    "header",
    [
        "What is your current role level?",
        "<strong>What is your current role level?</strong>",
        "What is your <em>current</em> role level?<br>",
        "What is your<br/>current role level?",
        "What is your current role level?&nbsp;",
        "  What   is your current\nrole level? ",
        "WHAT IS YOUR CURRENT ROLE LEVEL?",
        "Q1. What is your current role level?",
        "1) What is your current role level?",
        "<p>Q1: What is your current role level?</p>",
    ],
)
def test_a_question_is_found_whatever_html_spacing_case_or_numbering_wraps_it(book, header):
    resolved, ignored = resolve_columns((Col(0, header),), book=book)
    assert not ignored and (resolved[0].question, resolved[0].language) == ("role", "en")


def test_curly_quotes_and_french_spacing_do_not_matter(book):
    header = "Pour montrer que vous lisez, sélectionnez \u00ab\u00a0Pas d\u2019accord\u00a0\u00bb sur cette ligne."
    resolved, _ = resolve_columns((Col(0, header),), book=book)
    assert (resolved[0].question, resolved[0].language) == ("attention_check", "fr")


def test_a_grid_item_is_found_under_a_prompt_worded_otherwise(book):
    columns = (Col(0, "Opinions - AI is a useful tool for social media management."),
               Col(1, "Your views", "<b>AI tools are a threat to my job.</b>"))  # fmt: skip
    resolved, ignored = resolve_columns(columns, book=book)
    assert not ignored and [r.question for r in resolved] == ["ai_useful", "ai_threat"]


def test_a_split_option_column_with_html_in_its_sub_label_is_found(book):
    column = Col(
        0, "What do you use AI for in your social media work? (select all that apply)<br>", "<span>Post ideas</span>"
    )
    resolved, _ = resolve_columns((column,), book=book)
    assert (resolved[0].question, resolved[0].option) == ("ai_uses", "post_ideas")


def test_numbers_inside_labels_are_not_taken_for_question_numbers():
    assert header_key("10,000 - 49,999") == "10,000 - 49,999"
    assert header_key("In 2024, does your company plan to increase?") == "in 2024, does your company plan to increase?"


def test_the_closest_wordings_come_best_first_once_per_question(book):
    columns = (
        Col(1, "What is your current job title?"),
        Col(2, "Which states are in the Midwest? (select all that apply)", "Ohio"),
        Col(3, "Which states are in the Midwest? (select all that apply)", "Iowa"),
        Col(4, "Favourite colour"),
    )
    closest = closest_questions(columns, book=book, limit=3)
    assert [header for header, _, _ in closest][:2] == [
        "What is your current job title?",
        "Which states are in the Midwest? (select all that apply)",
    ]
    assert closest[0][1] == "What is your current role level?" and 0.75 < closest[0][2] < 0.85
    assert [ratio for _, _, ratio in closest] == sorted((ratio for _, _, ratio in closest), reverse=True)


def test_a_column_is_shown_as_a_person_reads_it():
    assert (
        column_text(Col(0, "Which industry?<br>", "Other (please specify)"))
        == "Which industry? - Other (please specify)"
    )
