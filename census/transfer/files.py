"""Files on disk: a sealed file read whole (never more than census accepts), a file written whole
(temporary file, fsync, rename), and the error that names the file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from census.domain.errors import CensusError
from census.i18n import _
from census.transfer.seal import MAX_FILE_BYTES


class TransferError(CensusError):
    """A file that cannot be used, or a step that cannot be taken; nothing was changed."""


def fail(path: Path, message: str) -> TransferError:
    if message and message[-1] not in ".!?。":
        message += "."
    return TransferError(f"{path}: {message}")


def read_file(path: Path) -> bytes:
    """The bytes of a sealed file (refused unread over MAX_FILE_BYTES)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(path, _("the file is {size} bytes, more than census accepts.").format(
                size=size))
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise fail(path, _("no such file.")) from exc
    except IsADirectoryError as exc:
        raise fail(path, _("this is a folder, not a file.")) from exc
    except OSError as exc:
        raise fail(path, _("cannot be read ({why}).").format(why=exc.strerror or exc)) from exc


def write_file(path: Path, data: bytes) -> None:
    """Write atomically: a file that exists is always whole (temporary file, fsync, rename)."""
    if path.exists() and path.is_dir():
        raise fail(path, _("this is a folder; give a file name for --out."))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".census-", dir=folder)
    except OSError as exc:
        raise fail(path, _("cannot be written ({why}).").format(why=exc.strerror or exc)
                    ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise fail(path, _("cannot be written ({why}).").format(why=exc.strerror or exc)
                    ) from exc
