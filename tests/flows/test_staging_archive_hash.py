"""A file discovery hashed is copied into the archive and its copy hashed on a thread while it
is parsed (``stage_export(sha256=...)``): the archive, the hash and what is parsed are still
the same bytes, and a copy that is not the file discovery hashed is not staged, nor archived."""

from __future__ import annotations

import hashlib

import pytest

from schemas.codebook import codebook
from surveyhouse.landing import FileNotTaken
from surveyhouse.staging import stage_export
from tests.flows.test_cases_exports import CASES

SOURCE = CASES / "qualtrics_en_labels_joined.csv"


def _staged(tmp_path, sha256: str | None):
    return stage_export(
        SOURCE, staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive", run_id="t", file_order=1,
        wave=2023, book=codebook(), key=b"k", sha256=sha256,
    )  # fmt: skip


def test_a_file_hashed_while_it_is_parsed_is_archived_under_its_hash_without_a_part(tmp_path):
    sha = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    staged = _staged(tmp_path, sha)
    assert staged.sha256 == staged.record["file_sha256"] == sha
    assert [path.name for path in (tmp_path / "archive").iterdir()] == [staged.record["archived_as"]] == [f"{sha}.csv"]
    assert (tmp_path / "archive" / f"{sha}.csv").read_bytes() == SOURCE.read_bytes()
    unhashed = _staged(tmp_path / "hashed first", None)  # hashed before it is parsed
    assert staged.record == unhashed.record
    assert staged.quarantine.read_bytes() == unhashed.quarantine.read_bytes()


def test_a_copy_that_is_not_the_file_discovery_hashed_is_neither_staged_nor_archived(tmp_path):
    with pytest.raises(FileNotTaken, match="changed since it was found"):
        _staged(tmp_path, "0" * 64)
    assert list((tmp_path / "archive").iterdir()) == []
    assert not (tmp_path / "staged").exists() or list((tmp_path / "staged").iterdir()) == []
