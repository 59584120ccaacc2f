import pytest

from transforms.headers import resolve_columns
from transforms.layouts import SourceColumn as Col


@pytest.mark.parametrize(
    ("column", "question", "option", "role", "language"),
    [
        (Col(0, "What is your current role level?"), "role", None, "answer", "en"),
        (Col(0, "Quel est votre niveau de poste actuel ?"), "role", None, "answer", "fr"),
        (Col(0, "How much do you agree with each statement? - AI tools are a threat to my job."), "ai_threat", None, "answer", "en"),
        (Col(0, "How much do you agree with each statement? [AI tools are a threat to my job.]"), "ai_threat", None, "answer", "en"),
        (Col(0, "How much do you agree with each statement?", "AI tools are a threat to my job."), "ai_threat", None, "answer", "en"),
        (Col(0, "AI tools are a threat to my job."), "ai_threat", None, "answer", "en"),
        (Col(0, "Which industry does your company work in? - Selected Choice"), "industry", None, "answer", "en"),
        (Col(0, "Which industry does your company work in? - Other (please specify) - Text"), "industry", "other", "other_text", "en"),
        (Col(0, "How many followers does your company have across social networks?", "10,000 - 49,999"), "followers", "f10k_50k", "answer", "en"),
        (Col(0, "Anything else you would like to share about AI in social media?", "Open-Ended Response"), "comment", None, "text", "en"),
    ],
)
def test_every_tool_header_convention_resolves(book, column, question, option, role, language):
    resolved, ignored = resolve_columns((column,), book=book)
    assert not ignored
    assert (resolved[0].question, resolved[0].option, resolved[0].role, resolved[0].language) == (question, option, role, language)


def test_bare_option_labels_follow_their_run_and_move_to_the_next_question(book):
    labels = ["Creating visuals", "Post ideas", "Scheduling", "Other", "Creating visuals", "Research", "Cost"]
    resolved, _ = resolve_columns(tuple(Col(i, label) for i, label in enumerate(labels)), book=book)
    assert [(r.question, r.option) for r in resolved] == [
        ("ai_uses", "visuals"), ("ai_uses", "post_ideas"), ("ai_uses", "scheduling"), ("ai_uses", "other"),
        ("uses_2025", "visuals"), ("uses_2025", "research"), ("barriers", "cost"),
    ]


def test_columns_outside_the_questionnaire_are_reported_not_guessed(book):
    resolved, ignored = resolve_columns((Col(0, "Network ID"), Col(1, "Favourite colour?")), book=book)
    assert resolved == [] and [c.header for c in ignored] == ["Network ID", "Favourite colour?"]
