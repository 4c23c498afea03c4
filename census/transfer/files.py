"""Files on disk: a sealed file read whole (never more than census accepts), a file written whole
(temporary file, fsync, rename), sealed files found in folders, and the error that names the
file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from census.domain.errors import CensusError
from census.i18n import _
from census.transfer.keys import SealError
from census.transfer.seal import MAGIC, MAX_FILE_BYTES, Clear, read_header


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


@dataclass(frozen=True)
class Found:
    """A sealed file found on a disk: where, the digest of its bytes, its clear header (None
    when even that cannot be read)."""

    path: Path
    digest: str
    clear: Clear | None


#: How deep `find_sealed` looks below each folder, and how many files it looks at in each.
SEARCH_DEPTH = 3
SEARCH_FILES = 20000


@dataclass
class Search:
    """What `find_sealed` found, and the places it could not look through to the end."""

    found: list[Found]
    cut_short: list[Path]


def _is_sealed(path: Path) -> bool:
    try:
        if path.is_symlink() or not path.is_file():
            return False
        size = path.stat().st_size
        if not len(MAGIC) <= size <= MAX_FILE_BYTES:
            return False
        with path.open("rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _candidates(place: Path) -> Iterator[Path]:
    if place.is_file():
        yield place
        return
    top = len(place.parts)
    for folder, dirs, names in os.walk(place, onerror=lambda _e: None):
        if len(Path(folder).parts) - top >= SEARCH_DEPTH:
            dirs[:] = []
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            yield Path(folder) / name


def find_sealed(places: Iterable[Path]) -> Search:
    """The census sealed files in `places` (files, or folders looked through SEARCH_DEPTH
    levels deep, at most SEARCH_FILES files each; hidden folders and symbolic links left
    out), each once."""
    found: dict[Path, Found] = {}
    cut: list[Path] = []
    for place in places:
        for seen, path in enumerate(_candidates(place), 1):
            if seen > SEARCH_FILES:
                cut.append(place)
                break
            if not _is_sealed(path):
                continue
            real = path.resolve()
            if real in found:
                continue
            try:
                data = real.read_bytes()
            except OSError:
                continue
            try:
                clear: Clear | None = read_header(data)
            except SealError:
                clear = None
            found[real] = Found(real, hashlib.sha256(data).hexdigest(), clear)
    return Search(list(found.values()), cut)
