"""A small filesystem for fault tests: a tmpfs of a given size, mounted when the tests run as root
(as CI does) and skipped with the reason otherwise; and a way to fill it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """`folder` as a fresh tmpfs of `size` (e.g. "8k", "4m") for the duration."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def read_only(folder: Path) -> None:
    """Remount the tmpfs at `folder` read-only (even root cannot write to it then)."""
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def free(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the filesystem of `folder` with one file until at most `leave` bytes are free."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while free(folder) > leave:
            try:
                os.write(fd, b"\0" * min(1 << 20, free(folder) - leave))
            except OSError:
                break
    finally:
        os.close(fd)
    return filler
