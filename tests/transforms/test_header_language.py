"""The language of a file's headers is a vote among any of the questionnaire's languages;
a tie goes to the language of the first header that tells, whatever the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from transforms.headers import ResolvedColumn
from transforms.verdicts import header_language

ROOT = Path(__file__).resolve().parents[2]


def _column(index: int, language: str | None) -> ResolvedColumn:
    return ResolvedColumn(index, f"q{index}", None, "answer", language)


def test_the_header_language_is_the_most_used_of_any_languages():
    assert header_language([_column(0, "es"), _column(1, "de"), _column(2, "de"), _column(3, None)]) == "de"
    assert header_language([_column(0, None)]) is None


def test_a_header_language_tie_goes_to_the_first_header_in_every_process():
    code = (
        "from transforms.headers import ResolvedColumn as R\n"
        "from transforms.verdicts import header_language\n"
        "print(header_language([R(0, 'a', None, 'answer', 'es'), R(1, 'b', None, 'answer', 'pt')]))"
    )
    seen = set()
    for seed in range(8):
        env = os.environ | {"PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        seen.add(out.stdout.strip())
    assert seen == {"es"}
