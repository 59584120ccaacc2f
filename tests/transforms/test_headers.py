import pytest

from transforms.headers import resolve_columns
from transforms.layouts import SourceColumn as Col


@pytest.mark.parametrize(
    ("column", "question", "option", "role", "language"),
    [
        (Col(0, "What is your current role level?"), "role", None, "answer", "en"),
        (Col(0, "Quel est votre niveau de poste actuel ?"), "role", None, "answer", "fr"),
        (
            Col(0, "How much do you agree with each statement? - AI tools are a threat to my job."),
            "ai_threat",
            None,
            "answer",
            "en",
        ),
        (
            Col(0, "How much do you agree with each statement? [AI tools are a threat to my job.]"),
            "ai_threat",
            None,
            "answer",
            "en",
        ),
        (
            Col(0, "How much do you agree with each statement?", "AI tools are a threat to my job."),
            "ai_threat",
            None,
            "answer",
            "en",
        ),
        (Col(0, "AI tools are a threat to my job."), "ai_threat", None, "answer", "en"),
        (Col(0, "Which industry does your company work in? - Selected Choice"), "industry", None, "answer", "en"),
        (
            Col(0, "Which industry does your company work in? - Other (please specify) - Text"),
            "industry",
            "other",
            "other_text",
            "en",
        ),
        (
            Col(0, "How many followers does your company have across social networks?", "10,000 - 49,999"),
            "followers",
            "f10k_50k",
            "answer",
            "en",
        ),
        (
            Col(0, "Anything else you would like to share about AI in social media?", "Open-Ended Response"),
            "comment",
            None,
            "text",
            "en",
        ),
        # Qualtrics 2017 ("Insights"): the layout names the text box of QIDn-TEXT "Text".
        (Col(0, "Which industry does your company work in?", "Text"), "industry", "other", "other_text", "en"),
        (
            Col(0, "Anything else you would like to share about AI in social media?", "Text"),
            "comment",
            None,
            "text",
            "en",
        ),
        # Qualtrics legacy: question and sub-label joined by a bare "-".
        (Col(0, "Dans quel secteur votre entreprise travaille-t-elle ?-TEXT"), "industry", "other", "other_text", "fr"),
        (
            Col(0, "How much do you agree with each statement?-AI tools are a threat to my job."),
            "ai_threat",
            None,
            "answer",
            "en",
        ),
        (
            Col(
                0,
                "What do you use AI for in your social media work? (select all that apply)-Other (please specify)-TEXT",
            ),
            "ai_uses",
            "other",
            "other_text",
            "en",
        ),
        # Both: a wording past 100 characters cut to 97 and "...".
        (
            Col(
                0,
                "Quels sont les principaux obstacles à l'utilisation de l'IA dans votre travail sur les réseaux so...-Coût",
            ),
            "barriers",
            "cost",
            "answer",
            "fr",
        ),
        (
            Col(
                0,
                "En 2024, votre entreprise prévoit-elle d'augmenter ou de réduire son utilisation de l'IA pour les...",
            ),
            "plans_2024",
            None,
            "answer",
            "fr",
        ),
    ],
)
def test_every_tool_header_convention_resolves(book, column, question, option, role, language):
    resolved, ignored = resolve_columns((column,), book=book)
    assert not ignored
    assert (resolved[0].question, resolved[0].option, resolved[0].role, resolved[0].language) == (
        question,
        option,
        role,
        language,
    )


def test_bare_option_labels_follow_their_run_and_move_to_the_next_question(book):
    labels = ["Creating visuals", "Post ideas", "Scheduling", "Other", "Creating visuals", "Research", "Cost"]
    resolved, _ = resolve_columns(tuple(Col(i, label) for i, label in enumerate(labels)), book=book)
    assert [(r.question, r.option) for r in resolved] == [
        ("ai_uses", "visuals"),
        ("ai_uses", "post_ideas"),
        ("ai_uses", "scheduling"),
        ("ai_uses", "other"),
        ("uses_2025", "visuals"),
        ("uses_2025", "research"),
        ("barriers", "cost"),
    ]


def test_columns_outside_the_questionnaire_are_reported_not_guessed(book):
    resolved, ignored = resolve_columns((Col(0, "Network ID"), Col(1, "Favourite colour?")), book=book)
    assert resolved == [] and [c.header for c in ignored] == ["Network ID", "Favourite colour?"]


def test_a_wording_cut_short_is_found_only_when_what_is_left_starts_one_wording(book):
    columns = (
        Col(0, "Pour quoi ...-Rédaction"),  # too little left to tell
        Col(1, "What is your current...-Manager"),  # too little left
        Col(2, "How much do you agree with each statement?-Not a statement of this grid"),
        Col(3, "Which industry does your company work in?-Text"),
    )
    resolved, ignored = resolve_columns(columns, book=book)
    assert [(r.index, r.question, r.role) for r in resolved] == [(3, "industry", "other_text")]
    assert [c.index for c in ignored] == [0, 1, 2]


def test_a_run_of_option_labels_goes_to_the_one_multi_select_holding_them_all_wherever_it_stands(book):
    # uses_2025's options before ai_uses's, barriers' right before them: the order of the
    # questionnaire says nothing here, the labels of each run do.
    labels = ["No obstacles", "Cost", "Creating visuals", "Research", "I don't want to use AI in 2025",
              "Creating visuals", "Scheduling", "I don't use AI", "Other"]  # fmt: skip
    resolved, _ = resolve_columns(tuple(Col(i, label) for i, label in enumerate(labels)), book=book)
    assert [(r.question, r.option, r.role) for r in resolved] == [
        ("barriers", "none", "answer"), ("barriers", "cost", "answer"),
        ("uses_2025", "visuals", "answer"), ("uses_2025", "research", "answer"), ("uses_2025", "none", "answer"),
        ("ai_uses", "visuals", "answer"), ("ai_uses", "scheduling", "answer"), ("ai_uses", "none", "answer"),
        ("ai_uses", "other", "other_text"),
    ]  # fmt: skip
