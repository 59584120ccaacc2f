#!/usr/bin/env python3
"""Bootstrap and run: the only things a fresh machine needs are Python 3.11+ and pip.

    python3 make.py demo      # install (first time), then run the demo end to end
    python3 make.py test      # install (first time), lint (ruff), then run the test suite (two workers)
    python3 make.py run|sql|... [args]   # any other `surveyhouse` command

The project is installed into ./.venv, once, and again whenever pyproject.toml or
constraints.txt change. `test` also installs, with apt-get (as root, or through
non-interactive sudo), the Debian packages some tests need and the machine lacks:
chromium (the report page's browser test), postgresql (the DuckLake tests) and
r-cran-survey with r-cran-mass (the R oracle tests). Where they cannot be installed,
those tests are skipped, saying why (with CI set they fail instead).
SURVEYHOUSE_NO_APT=1 leaves the system alone.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".surveyhouse-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_installed() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (make.py runs on whatever python3 the machine has)
        sys.exit(f"surveyhouse needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("Installing surveyhouse and its dependencies into .venv (first run: a minute or two) ...", flush=True)
    command = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if (ROOT / "constraints.txt").exists():
        command += ["-c", str(ROOT / "constraints.txt")]
    subprocess.run(command + ["-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_fingerprint())


#: The project's own source folders, compiled to bytecode by ``compile_sources``.
SOURCES = ("surveyhouse", "cli", "flows", "report", "transforms", "schemas", "warehouse", "demo", "bench")


def compile_sources(python: str | None = None) -> None:
    """The project's modules compiled to bytecode where a source changed since (pip compiles the
    dependencies, not an editable project). Where PYTHONDONTWRITEBYTECODE is set (as in many
    containers) nothing else ever writes them, and every process compiled every module it
    imports again: 0.35 s more for each command here. 0.04 s when nothing changed; a folder it
    cannot write is left as it is (Python compiles in memory, as before). ``python``: the
    interpreter whose bytecode (default: the project's .venv)."""
    folders = [name for name in SOURCES if (ROOT / name).is_dir()]
    python = python or str(BIN / "python")
    subprocess.run([python, "-m", "compileall", "-qq", *folders], cwd=ROOT, check=False)


#: What parts of the test suite need beyond Python: (is it there?, Debian packages, which tests).
SYSTEM_NEEDS = (
    (lambda: shutil.which("chromium"), ("chromium",), "the report page's browser test"),
    (
        lambda: shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        ("postgresql",),
        "the DuckLake tests",
    ),
    (lambda: shutil.which("Rscript"), ("r-cran-survey", "r-cran-mass"), "the R oracle tests"),
)


#: pytest-xdist: two worker processes, each test file on one of them (its module fixtures built
#: once), the files in the order tests/conftest.py gives them (the longest first); tests marked
#: `alone` run with the other worker waiting (tests/workers.py). A `-n` given after `test`
#: wins (`python3 make.py test -n 0` runs in one process).
TEST_WORKERS = ("-n", "2", "--dist", "loadfile", "--no-loadscope-reorder")


def ensure_test_packages() -> None:
    """Install the Debian packages the tests need and the machine lacks, when it can."""
    missing = [(packages, tests) for present, packages, tests in SYSTEM_NEEDS if not present()]
    if not missing:
        return
    packages = [name for names, _ in missing for name in names]
    what = "; ".join(f"{' '.join(names)} for {tests}" for names, tests in missing)
    prefix = [] if os.name != "posix" or os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if os.environ.get("SURVEYHOUSE_NO_APT") or not shutil.which("apt-get") or prefix is None:
        print(f"Not installed here: {what}. Those tests will be skipped.", flush=True)
        return
    print(f"Installing Debian packages the tests need: {what} ...", flush=True)
    apt = prefix + ["apt-get"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    done = (
        subprocess.run(apt + ["update", "-q"], env=env).returncode == 0
        and subprocess.run(apt + ["install", "-y", "-q", "--no-install-recommends", *packages], env=env).returncode == 0
    )
    if not done:
        print(f"apt-get could not install {' '.join(packages)}: the tests that need them will be skipped.", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    ensure_installed()
    compile_sources()
    if argv[0] == "test":
        ensure_test_packages()
        for lint in (["check", "."], ["format", "--check", "."]):  # ruff, configured in pyproject.toml
            if subprocess.run([str(BIN / "ruff"), *lint], cwd=ROOT).returncode != 0:
                print(f"ruff {' '.join(lint)} failed: run `.venv/bin/ruff {' '.join(lint).replace('--check ', '')}`.")
                return 1
        command = [str(BIN / "python"), "-m", "pytest", *TEST_WORKERS, *argv[1:]]
        return subprocess.run(command, cwd=ROOT).returncode
    # In the caller's folder: a relative path given to a command (--warehouse w.duckdb) is the caller's.
    return subprocess.run([str(BIN / "surveyhouse"), *argv]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
