"""make.py compiles the project's own modules: where PYTHONDONTWRITEBYTECODE is set nothing else
writes their bytecode, and every command would compile every module it imports again."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import make


def test_make_compiles_changed_sources_even_where_writing_bytecode_is_off(tmp_path, monkeypatch):
    module = tmp_path / "surveyhouse" / "some_step.py"
    module.parent.mkdir()
    module.write_text("ANSWER = 1\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "loose.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.setattr(make, "ROOT", tmp_path)
    monkeypatch.setattr(make, "BIN", Path(sys.executable).parent)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    compiled = Path(importlib.util.cache_from_source(str(module)))

    make.compile_sources()
    assert compiled.exists()
    first = compiled.read_bytes()

    module.write_text("ANSWER = 22\n", encoding="utf-8")  # a later edit: compiled again
    later = module.stat().st_mtime + 10
    os.utime(module, (later, later))  # (the bytecode records the source's time to the second)
    make.compile_sources()
    assert compiled.read_bytes() != first
    assert not (tmp_path / "notes" / "__pycache__").exists()  # only the project's source folders


def test_make_leaves_a_folder_it_cannot_write_as_it_is(tmp_path, monkeypatch):
    module = tmp_path / "cli" / "main.py"
    module.parent.mkdir()
    module.write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "cli" / "__pycache__").write_text("not a folder", encoding="utf-8")
    monkeypatch.setattr(make, "ROOT", tmp_path)
    monkeypatch.setattr(make, "BIN", Path(sys.executable).parent)
    make.compile_sources()  # no exception, nothing printed that stops the command
    assert (tmp_path / "cli" / "__pycache__").read_text(encoding="utf-8") == "not a folder"
