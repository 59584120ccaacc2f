"""A big landed export is copied into the archive around the page cache (O_DIRECT: 0.06 s of CPU for
455 MB instead of 0.6-1.2 s), byte for byte, whatever its size, and copied as before where the file
system refuses it."""

from __future__ import annotations

import os
import random

import pytest

import surveyhouse.landing as landing
from surveyhouse.landing import landed_copy

SIZES = [1, 4095, 4096, 4097, 4 << 20, (4 << 20) + 1, (9 << 20) + 123]


def _takes_direct(folder) -> bool:
    try:
        fd = os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    except (OSError, AttributeError):
        return False
    os.close(fd)
    return True


@pytest.fixture
def direct_folder(tmp_path):
    if not _takes_direct(tmp_path):
        pytest.skip(f"the file system of {tmp_path} refuses O_DIRECT: the archive is copied by sendfile there")
    return tmp_path


def _export(folder, size: int):
    path = folder / f"export-{size}.csv"
    path.write_bytes(random.Random(size).randbytes(size))
    return path


@pytest.mark.parametrize("size", SIZES)
def test_a_direct_copy_is_the_landed_bytes_whatever_its_size(direct_folder, size):
    source = _export(direct_folder, size)
    target = direct_folder / "copy.part"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with source.open("rb") as handle:
            assert landing._copied_direct(handle, fd, at_least=0), "copied around the page cache"
    finally:
        os.close(fd)
    assert target.read_bytes() == source.read_bytes()


def test_a_file_under_the_threshold_is_not_copied_directly(direct_folder):
    source = _export(direct_folder, 4097)
    fd = os.open(direct_folder / "copy.part", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with source.open("rb") as handle:
            assert not landing._copied_direct(handle, fd, at_least=4098)
    finally:
        os.close(fd)


def test_a_big_landed_file_is_archived_whole_and_private(direct_folder, monkeypatch):
    monkeypatch.setattr(landing, "DIRECT_COPY_BYTES", 1 << 20)
    source = _export(direct_folder, (5 << 20) + 4321)
    target = direct_folder / "archive" / "x.csv.part"
    target.parent.mkdir()
    landed_copy(source, target)
    assert target.read_bytes() == source.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_file_system_refusing_direct_writes_gets_the_copy_as_before(tmp_path, monkeypatch):
    monkeypatch.setattr(landing, "DIRECT_COPY_BYTES", 1)
    monkeypatch.delattr(os, "O_DIRECT", raising=False)  # as on a system without the flag
    source = _export(tmp_path, 12345)
    target = tmp_path / "copy.part"
    landed_copy(source, target)
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("read_again", [False, True])
def test_a_copy_read_again_next_stays_in_the_page_cache(direct_folder, monkeypatch, read_again):
    """A rebuild hashes and parses its copy right after: copied through the page cache, not read back from the disk."""
    monkeypatch.setattr(landing, "DIRECT_COPY_BYTES", 1 << 20)
    taken = []
    direct = landing._copied_direct
    monkeypatch.setattr(landing, "_copied_direct", lambda handle, fd: taken.append(direct(handle, fd)) or taken[-1])
    source = _export(direct_folder, (2 << 20) + 99)
    target = direct_folder / "copy.part"
    landed_copy(source, target, read_again=read_again)
    assert target.read_bytes() == source.read_bytes()
    assert taken == ([] if read_again else [True])
