"""The runtime wheel: what a real (non-editable) install holds, built as pip builds it.

It carries the report's templates and every SQL file, and not the demo generator
(demo/ ships with the source checkout only); installed from the wheel alone,
`surveyhouse demo` says so in one line.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (
    "pyproject.toml",
    "README.md",
    "surveyhouse",
    "cli",
    "flows",
    "report",
    "transforms",
    "schemas",
    "warehouse",
    "demo",
)
DEMO_MISSING = (
    "Error: the demo generator ships with the source checkout, not the installed package: "
    "run `python3 make.py demo` from a clone of the repository"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of the checkout (the build leaves build/ and egg-info beside its source)."""
    if importlib.util.find_spec("setuptools.command.bdist_wheel") is None:
        reason = "this setuptools cannot build wheels: the test extra's setuptools>=70.1 can (python3 make.py test)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("wheel")
    (root / "src").mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / "src" / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, root / "src" / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(root / "src")]
    subprocess.run(command + ["-w", str(root / "out")], check=True, capture_output=True)
    return next((root / "out").glob("surveyhouse-*.whl"))


def test_the_wheel_holds_the_templates_and_the_sql_but_not_the_demo(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [name for name in names if name.startswith("demo/")]
    expected = [
        path.relative_to(ROOT).as_posix()
        for pattern in ("report/templates/*", "warehouse/views/*.sql", "warehouse/queries/*.sql")
        for path in ROOT.glob(pattern)
    ]
    assert any(name.endswith(".html.j2") for name in expected)
    assert set(expected) <= names, sorted(set(expected) - names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The python of a virtualenv holding the wheel alone (dependencies borrowed from this one, no checkout)."""
    root = tmp_path_factory.mktemp("installed")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    zipfile.ZipFile(wheel).extractall(site)
    # path lines, not import lines: this venv's editable finder (the checkout's packages) stays out
    borrowed = [path for path in sys.path if Path(path).name in ("site-packages", "dist-packages")]
    (Path(site) / "dependencies.pth").write_text("".join(f"{path}\n" for path in borrowed))
    return python


def _run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd, env=env)


def test_the_installed_package_says_the_demo_ships_with_the_source_checkout(installed, tmp_path):
    code = "import sys, cli.main; sys.exit(cli.main.main(['demo', '--inbox', 'landing', '--warehouse', 'w.duckdb']))"
    out = _run(installed, code, tmp_path)
    assert (out.returncode, out.stderr.strip()) == (2, DEMO_MISSING)
    assert not (tmp_path / "landing").exists()


def test_the_installed_package_loads_the_report_templates(installed, tmp_path):
    code = (
        "import report.page as page; environment = page._templates(); "
        "[environment.get_template(name) for name in ('page.html.j2', 'blocks.html.j2', 'page.css')]; "
        "print(page.__file__)"
    )
    out = _run(installed, code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith(str(installed.parents[2]))
