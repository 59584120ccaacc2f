"""A file discovery hashed is copied into the archive and its copy hashed on a thread while it
is parsed (``stage_export(sha256=...)``): the archive, the hash and what is parsed are still
the same bytes, and a copy that is not the file discovery hashed is not staged, nor archived."""

from __future__ import annotations

import hashlib

import pytest

from schemas.codebook import codebook
from surveyhouse.landing import FileNotTaken, identity
from surveyhouse.staging import _LandedReads, stage_export
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


def test_a_file_parsed_while_it_is_copied_is_archived_byte_for_byte_and_private(tmp_path):
    landed = tmp_path / "inbox" / "export.csv"
    landed.parent.mkdir()
    landed.write_bytes(SOURCE.read_bytes())
    sha = hashlib.sha256(landed.read_bytes()).hexdigest()
    staged = stage_export(
        landed, staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive", run_id="t", file_order=1,
        wave=2023, book=codebook(), key=b"k", sha256=sha, inbox=landed.parent,
    )  # fmt: skip
    archived = tmp_path / "archive" / staged.record["archived_as"]
    assert archived.read_bytes() == landed.read_bytes()
    assert archived.stat().st_mode & 0o777 == 0o600
    rebuilt = _staged(tmp_path / "from the archive", None).record  # what a rebuild parses: the archived bytes
    named = {"source_file", "message", "file_modified_at"}  # (another name and time)
    assert {k: v for k, v in staged.record.items() if k not in named} == {
        k: v for k, v in rebuilt.items() if k not in named
    }


def _read_whole(reads: _LandedReads) -> bytes:
    with reads.open() as handle:
        return handle.read()


def test_reads_of_the_bytes_the_archive_copied_are_taken(tmp_path):
    landed = tmp_path / "export.csv"
    landed.write_bytes(SOURCE.read_bytes())
    reads = _LandedReads(landed, None)
    assert _read_whole(reads) == SOURCE.read_bytes()
    reads.check(identity(landed.stat()))  # the copy saw the file as it was read: no error


def test_a_file_written_while_it_is_read_beside_its_copy_is_left_for_the_next_night(tmp_path):
    landed = tmp_path / "export.csv"
    landed.write_bytes(SOURCE.read_bytes())
    copied = identity(landed.stat())
    reads = _LandedReads(landed, None)
    _read_whole(reads)
    with landed.open("ab") as handle:  # the tool writes again after the copy, while the file is parsed
        handle.write(b"\n")
    with pytest.raises(FileNotTaken, match="written while it was read"):
        reads.check(copied)
    assert reads.opened == []  # no descriptor left open


def test_a_file_replaced_before_it_is_read_is_left_for_the_next_night(tmp_path):
    landed = tmp_path / "export.csv"
    landed.write_bytes(SOURCE.read_bytes())
    copied = identity(landed.stat())
    replacement = tmp_path / "new.csv"
    replacement.write_bytes(SOURCE.read_bytes())  # the same bytes, another file: not what was copied
    replacement.replace(landed)
    reads = _LandedReads(landed, None)
    _read_whole(reads)
    with pytest.raises(FileNotTaken, match="written while it was read"):
        reads.check(copied)


def _landed(tmp_path):
    landed = tmp_path / "inbox" / "export.csv"
    landed.parent.mkdir()
    landed.write_bytes(SOURCE.read_bytes())
    return landed


def _staged_as_found(tmp_path, landed, *, sha256: str, hashed_identity):
    return stage_export(
        landed, staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive", run_id="t", file_order=1,
        wave=2023, book=codebook(), key=b"k", sha256=sha256, inbox=landed.parent, hashed_identity=hashed_identity,
    )  # fmt: skip


def test_a_copy_made_while_the_file_is_as_discovery_hashed_it_is_not_hashed_again(tmp_path):
    landed = _landed(tmp_path)
    # A made-up hash is taken as it is: the copy's bytes are not read again (whose hash would not be it).
    staged = _staged_as_found(tmp_path, landed, sha256="0" * 64, hashed_identity=identity(landed.stat()))
    assert staged.record["archived_as"] == "0" * 64 + ".csv"
    assert (tmp_path / "archive" / staged.record["archived_as"]).read_bytes() == landed.read_bytes()


def test_a_copy_made_after_the_file_discovery_hashed_was_written_is_hashed_and_refused(tmp_path):
    landed = _landed(tmp_path)
    before = identity(landed.stat())
    landed.write_bytes(SOURCE.read_bytes() + b"\n")  # written since discovery hashed it: another identity
    with pytest.raises(FileNotTaken, match="changed since it was found"):
        _staged_as_found(
            tmp_path, landed, sha256=hashlib.sha256(SOURCE.read_bytes()).hexdigest(), hashed_identity=before
        )
    assert list((tmp_path / "archive").iterdir()) == []
