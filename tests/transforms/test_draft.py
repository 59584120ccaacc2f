"""The drafting rules of ``transforms.draft`` on small frames: codes, language, types and
options as a person reads the export."""

from __future__ import annotations

import polars as pl

from transforms.draft import draft_questionnaire, export_language, slug
from transforms.layouts import SourceColumn


def draft(columns: dict[str, list[str | None]], headers: list[tuple[str, str | None]] | None = None) -> dict:
    headers = headers or [(name, None) for name in columns]
    wide = pl.DataFrame(
        {str(i): values for i, values in enumerate(columns.values())},
        schema={str(i): pl.Utf8 for i in range(len(columns))},
    )
    sources = tuple(SourceColumn(i, header, sub) for i, (header, sub) in enumerate(headers))
    questionnaire, _ = draft_questionnaire(wide, sources, study="Mon étude 2024", wave=2024, language="en")
    return questionnaire


def test_codes_are_ascii_lower_snake_and_start_with_a_letter():
    assert slug("Quel est votre niveau de poste actuel ?") == "quel_est_votre_niveau_de_poste"
    assert slug("2-10", prefix="o") == "o_2_10"
    assert slug("Ça coûte trop cher!", words=5, prefix="o") == "ca_coute_trop_cher"
    assert slug("!!!", prefix="o") == "o"


def test_the_language_is_the_one_respondents_answered_in_else_the_one_its_words_use():
    assert export_language(["What is your role?"], ["fr", "fr", "en", None]) == "fr"
    assert export_language(["Quel est votre poste ?", "Dans quel secteur travaillez-vous ?"]) == "fr"
    assert export_language(["Wie oft nutzen Sie die KI und was ist Ihre Rolle?"]) == "de"
    assert export_language(["Why?"]) == "en"


def test_options_keep_the_order_first_seen_and_one_spelling_per_label():
    questionnaire = draft({"Which plan?": ["Pro", "Free", "pro ", None, "Team", "Free"]})
    (question,) = questionnaire["questions"]
    assert question["type"] == "single" and question["code"] == "which_plan"
    assert [(o["code"], o["en"]) for o in question["options"]] == [("pro", "Pro"), ("free", "Free"), ("team", "Team")]
    assert questionnaire["study"] == "mon_etude_2024" and questionnaire["languages"] == ["en"]


def test_numbers_alone_are_options_one_to_the_largest_and_typed_numbers_are_text():
    questionnaire = draft({"Rate us": ["3", "1", "5", "3"], "Your age?": ["34", "61", "27", "45"]})
    rate, age = questionnaire["questions"]
    assert [o["en"] for o in rate["options"]] == ["1", "2", "3", "4", "5"]
    assert age["type"] == "text"


def test_a_cell_joining_labels_is_a_multi_select_and_a_comment_with_commas_is_text():
    questionnaire = draft(
        {
            "Tools you use": ["Excel;R;", "R;", "Excel;Python;", None],
            "Uses": ["Reports, Dashboards", "Reports", "Reports, Dashboards", "Dashboards"],
            "Anything else?": [
                "Well, it is slow on big files, sadly.",
                "Nothing, thanks a lot for asking me.",
                "The charts, mostly, could be prettier.",
                None,
            ],
        }
    )
    tools, uses, comment = questionnaire["questions"]
    assert (tools["type"], [o["en"] for o in tools["options"]]) == ("multi", ["Excel", "R", "Python"])
    assert (uses["type"], [o["en"] for o in uses["options"]]) == ("multi", ["Reports", "Dashboards"])
    assert comment["type"] == "text" and "options" not in comment


def test_split_columns_of_one_question_are_a_multi_select_or_a_grid():
    questionnaire = draft(
        {
            "a": ["Excel", None, "Excel"],
            "b": [None, "R", "R"],
            "c": [None, None, "typed"],
            "d": ["Agree", "Disagree", "Agree"],
            "e": ["Disagree", "Agree", None],
        },
        [
            ("Tools - Excel", None),
            ("Tools - R", None),
            ("Tools - Other (please specify) - Text", None),
            ("Opinions [Fast]", None),
            ("Opinions [Cheap]", None),
        ],
    )
    tools, fast, cheap = questionnaire["questions"]
    assert tools["type"] == "multi"
    assert [(o["en"], o.get("other_text", False)) for o in tools["options"]] == [
        ("Excel", False), ("R", False), ("Other (please specify)", True),
    ]  # fmt: skip
    assert (fast["grid"], fast["text"]["en"], cheap["grid"]) == ("opinions", "Fast", "opinions")
    assert questionnaire["grids"] == {"opinions": {"en": "Opinions"}}


def test_personal_data_columns_are_left_out():
    wide = pl.DataFrame({"0": ["ada@example.com", "bob@example.org"], "1": ["Yes", "No"]})
    columns = (SourceColumn(0, "Contact"), SourceColumn(1, "Subscribed?"))
    questionnaire, left_out = draft_questionnaire(wide, columns, study="s", wave=2024, language="en")
    assert left_out == ["Contact"] and [q["text"]["en"] for q in questionnaire["questions"]] == ["Subscribed?"]


def test_one_column_per_option_is_a_single_choice_when_no_response_chose_two():
    questionnaire = draft(
        {"a": ["A lot", None, None], "b": [None, "Some", None], "c": [None, None, "Not at all"]},
        [("How much do you identify?", "A lot"), ("How much do you identify?", "Some"),
         ("How much do you identify?", "Not at all")],
    )  # fmt: skip
    (question,) = questionnaire["questions"]
    assert question["type"] == "single" and [o["en"] for o in question["options"]] == ["A lot", "Some", "Not at all"]
