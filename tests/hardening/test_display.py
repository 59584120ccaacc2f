"""Item 16 and 15 of the hardening: names and cells are printed short and without control characters."""

from transforms.display import display_name, excerpt


def test_control_characters_in_a_file_name_are_escaped():
    assert display_name("export\n\x1b[31mred.csv") == "export\\n\\x1b[31mred.csv"


def test_an_excerpt_of_a_huge_cell_is_at_most_200_characters_and_says_how_much_was_cut():
    shown = excerpt("x" * 50_000_000)
    assert shown.startswith("x" * 200) and shown.endswith("... (49,999,800 more characters)")
    assert len(shown) < 240


def test_plain_text_and_accents_pass_unchanged():
    assert excerpt("José García, 06 12") == "José García, 06 12"
