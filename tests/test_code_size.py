"""No function of the product over 60 lines of code.

Lines of code: not blank lines, comments or the docstring (a nested function counts in
its parent too). A long function that has a reason to be long says so on the line of
its ``def`` (``def f():  # long: one SQL statement``); the test accepts it.
"""

from __future__ import annotations

import ast
import io
import tokenize
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "transforms", "schemas", "warehouse", "surveyhouse", "cli", "report")
MAXIMUM_LINES = 60

#: Functions over the limit today, in files other helpers are restructuring now; the
#: set shrinks as they are split (an entry that is no longer long fails the test).
KNOWN_LONG: set[str] = set()


def code_lines(source: str) -> set[int]:
    """The line numbers of ``source`` that hold code: not blank, not only a comment."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if token.type == tokenize.ENDMARKER:
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def _docstring_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return set(range(first.lineno, first.end_lineno + 1))
    return set()


def function_sizes(path: Path) -> list[tuple[str, int, str]]:
    """(qualified name, lines of code, the text of its ``def`` line) per function of a file."""
    source = path.read_text(encoding="utf-8")
    code = code_lines(source)
    text = source.splitlines()
    sizes = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                body = set(range(start, child.end_lineno + 1)) & code
                sizes.append((name, len(body - _docstring_lines(child)), text[child.lineno - 1]))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return sizes


def long_functions_of(paths: list[Path], root: Path) -> dict[str, tuple[int, str]]:
    """``path::name`` -> (lines of code, def line) of every function of ``paths`` over the limit."""
    found = {}
    for path in paths:
        for name, size, line in function_sizes(path):
            if size > MAXIMUM_LINES:
                found[f"{path.relative_to(root).as_posix()}::{name}"] = (size, line)
    return found


@cache
def long_functions() -> dict[str, tuple[int, str]]:
    """The long functions of the product."""
    return long_functions_of([p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))], ROOT)


def unexplained(found: dict[str, tuple[int, str]]) -> dict[str, int]:
    """The long functions without a ``# long:`` reason on their def line, nor in KNOWN_LONG."""
    return {name: size for name, (size, line) in found.items() if "# long:" not in line and name not in KNOWN_LONG}


def test_no_function_is_over_sixty_lines_of_code_without_a_reason():
    unexplained_now = unexplained(long_functions())
    assert not unexplained_now, (
        f"functions over {MAXIMUM_LINES} lines of code: {unexplained_now}; split them, or give the reason "
        "in a comment on the line of the def (`# long: ...`)"
    )


def test_the_known_long_functions_are_still_long():
    shrunk = KNOWN_LONG - set(long_functions())
    assert not shrunk, f"no longer over {MAXIMUM_LINES} lines of code: remove {sorted(shrunk)} from KNOWN_LONG"


def test_lines_of_code_leave_out_blank_lines_comments_and_the_docstring(tmp_path):
    path = tmp_path / "sample.py"
    path.write_text(
        'def f(x):\n    """Doc.\n\n    More doc.\n    """\n\n    # a comment\n    y = (\n        x + 1\n    )\n'
        "    return y  # trailing\n",
        encoding="utf-8",
    )
    assert function_sizes(path) == [("f", 5, "def f(x):")]


def test_a_long_function_passes_only_with_a_reason_on_its_def_line(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAXIMUM_LINES))
    path = tmp_path / "sample.py"
    path.write_text(
        f"def short():\n    return 1\n\n\ndef long(x):\n{body}\n\ndef reasoned():  # long: a table\n{body}",
        encoding="utf-8",
    )
    found = long_functions_of([path], tmp_path)
    assert set(found) == {"sample.py::long", "sample.py::reasoned"}
    assert unexplained(found) == {"sample.py::long": MAXIMUM_LINES + 1}
