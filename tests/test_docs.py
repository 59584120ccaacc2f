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


def _promised_tests() -> list[str]:
    """Every ``tests/...py::test_name`` the README's "What surveyhouse promises" cites."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What surveyhouse promises", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"(tests/[\w/]+\.py)::(test_\w+)", section)


def test_every_test_the_promises_cite_exists():
    cited = _promised_tests()
    assert len(cited) >= 25, "the promises cite the tests that hold them"
    missing = [
        f"{path}::{name}"
        for path, name in cited
        if not (ROOT / path).is_file() or f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8")
    ]
    assert not missing, f"the README promises tests that do not exist: {missing}"
