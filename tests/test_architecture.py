"""The allowed imports between packages (README: Architecture), exactly:

    cli -> flows, surveyhouse, report, demo, warehouse, transforms, schemas
    flows -> surveyhouse, warehouse, schemas         (Prefect lives here, and only here and in cli)
    surveyhouse -> report, warehouse, transforms, schemas   (the night, without Prefect)
    report -> warehouse, schemas
    demo -> transforms, schemas                       (not in the wheel)
    warehouse -> schemas;  transforms -> schemas;  schemas -> nothing of ours

The pure core (transforms, schemas) does no I/O, and SQL text lives in warehouse/ only."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "cli": {"cli", "flows", "surveyhouse", "report", "demo", "warehouse", "schemas", "transforms"},
    "flows": {"flows", "surveyhouse", "schemas", "warehouse"},
    "surveyhouse": {"surveyhouse", "transforms", "schemas", "warehouse", "report"},
    "report": {"report", "warehouse", "schemas"},
    "demo": {"demo", "schemas", "transforms"},
    "transforms": {"transforms", "schemas"},
    "warehouse": {"warehouse", "schemas"},
    "schemas": {"schemas"},
}
#: Modules the pure core must not import (I/O, clock, environment, orchestration).
IMPURE = {"os", "duckdb", "prefect", "logging", "time", "datetime", "requests", "shutil", "subprocess"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_inward(package):
    ours = set(ALLOWED)
    for path in (ROOT / package).rglob("*.py"):
        wrong = (_imports(path) & ours) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


@pytest.mark.parametrize("package", ["transforms", "schemas"])
def test_the_pure_core_does_no_io(package):
    for path in (ROOT / package).rglob("*.py"):
        impure = _imports(path) & IMPURE
        assert not impure, f"{path.relative_to(ROOT)} imports {sorted(impure)}"
        assert "open(" not in path.read_text(encoding="utf-8").replace("is_open(", ""), f"{path} opens files"


#: Runs `surveyhouse sql "select 1"` on an empty warehouse file in this process.
_SQL_COMMAND = (
    "import os, sys, tempfile, duckdb; path = os.path.join(tempfile.mkdtemp(), 'w.duckdb'); "
    "duckdb.connect(path).close(); import cli.main; "
    "assert cli.main.main(['sql', '--warehouse', path, 'select 1']) == 0; "
)


def test_the_sql_command_does_not_import_prefect():
    import subprocess
    import sys

    code = _SQL_COMMAND + "print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.splitlines()[-1] == "False"


def test_the_sql_command_does_not_import_pandera_or_pandas():
    import subprocess
    import sys

    code = _SQL_COMMAND + "print(sorted(m for m in ('pandera', 'pandas', 'polars', 'prefect') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


def test_checking_a_study_does_not_import_pandera_or_prefect():
    """`surveyhouse study check` (and every command's loading of the study) reads the warehouse's
    reserved names from schemas/names.py, not from the pandera schemas: 0.5 s instead of 1.0-1.5 s."""
    import subprocess
    import sys

    code = (
        "import sys, cli.main; status = cli.main.main(['study', 'check']); "
        "print(status, sorted(m for m in ('pandera', 'pandas', 'prefect') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.splitlines()[-1] == "0 []"


#: Packages of the source checkout left out of the wheel on purpose (tests/test_wheel.py builds it).
CHECKOUT_ONLY = {"demo"}


def test_every_package_is_in_the_wheel():
    """A package missing from pyproject.toml works in the editable install and breaks a real one;
    the demo generator ships with the source checkout only."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in set(ALLOWED) - CHECKOUT_ONLY
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert listed == found
    assert not {name for name in listed if name.split(".")[0] in CHECKOUT_ONLY}


@pytest.mark.parametrize("package", sorted(set(ALLOWED) - {"flows", "cli"}))
def test_prefect_is_imported_by_flows_and_the_command_line_only(package):
    for path in (ROOT / package).rglob("*.py"):
        assert "prefect" not in _imports(path), f"{path.relative_to(ROOT)} imports prefect"


def _sql_literals(path: Path) -> list[str]:
    """String literals handed to ``execute``/``sql`` (SQL text written outside warehouse/)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("execute", "sql"):
            if node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize("package", ["cli", "flows", "surveyhouse", "report"])
def test_sql_text_lives_in_the_warehouse_package(package):
    """Queries are named files in warehouse/queries (run with warehouse.queries.run_query)."""
    found = [place for path in (ROOT / package).rglob("*.py") for place in _sql_literals(path)]
    assert not found, f"SQL written outside warehouse/: {found}"
