"""Removing a file census no longer needs: its bytes overwritten with zeros and flushed to the
disk before it is deleted, so that on a magnetic disk with a simple file system nothing of it
is left to carve. On flash media (USB sticks, SSDs) and journaling or copy-on-write file
systems the old blocks may survive where no program can reach them (README: Sealed files).

Used for what census wrote and must not leave behind: a sealed file whose purpose is over, and
the rollback journal of a passphrase change (every page under the old key).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

_ZEROS = bytes(1 << 20)


def wipe(path: Path, accept: Callable[[bytes], bool] | None = None) -> bool:
    """Overwrite the regular file at `path` with zeros, flush, and delete it; never through a
    symbolic link. With `accept`, only if `accept(its bytes)` says yes, read from the very
    file that is then overwritten: False when it says no (nothing is touched). OSError when
    the file cannot be read, written or removed."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        size = info.st_size
        if accept is not None:
            chunks = []
            while block := os.read(fd, 1 << 20):
                chunks.append(block)
            if not accept(b"".join(chunks)):
                return False
        os.lseek(fd, 0, os.SEEK_SET)
        left = size
        while left > 0:
            left -= os.write(fd, _ZEROS[: min(left, len(_ZEROS))])
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    return True
