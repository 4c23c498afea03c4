"""Wiping a file (issue 14): its bytes are overwritten before it is deleted, never through a
symbolic link, and only when its content is still what was judged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from census.storage.wipe import wipe

pytestmark = pytest.mark.skipif(os.name != "posix", reason="hard and symbolic links")


def test_the_bytes_are_overwritten_before_the_file_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "f.census"
    path.write_bytes(b"secret bytes " * 1000)
    twin = tmp_path / "twin"
    os.link(path, twin)  # the same blocks, seen through another name
    assert wipe(path)
    assert not path.exists()
    assert twin.read_bytes() == bytes(13 * 1000)


def test_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_bytes(b"keep me")
    link = tmp_path / "link.census"
    link.symlink_to(target)
    with pytest.raises(OSError):
        wipe(link)
    assert target.read_bytes() == b"keep me" and link.is_symlink()


def test_content_that_is_not_accepted_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "f.census"
    path.write_bytes(b"changed since")
    assert not wipe(path, lambda data: data == b"what was judged")
    assert path.read_bytes() == b"changed since"
    assert wipe(path, lambda data: data == b"changed since") and not path.exists()


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        wipe(tmp_path)
    assert tmp_path.is_dir()
