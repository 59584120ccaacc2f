"""Documentation never drifts from code (sqlite-utils' test_docs pattern)."""

from pathlib import Path

import pytest

from cli.main import COMMANDS, surveyhouse
from warehouse.dictionary import with_dictionary
from warehouse.publish import view_sql

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_dictionary_matches_the_schemas():
    assert README == with_dictionary(README), "run: python -m warehouse.dictionary --write README.md"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_cli_command_is_documented_in_the_readme(command):
    assert f"`surveyhouse {command}" in README


def test_the_cli_has_exactly_the_documented_commands():
    assert set(surveyhouse.commands) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(view_sql()))
def test_every_view_states_its_grain_and_ends_with_final(name):
    sql = view_sql()[name]
    assert sql.startswith(f"-- {name}: one row per"), "header comment: '-- name: one row per ...'"
    assert "from final" in sql.replace("\n", " ")
