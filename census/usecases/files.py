"""Sealed files after use (issue 14): which files census wrote or read are still on a disk,
what each holds, whether its purpose is over, and removing those that are.

A file is known by the digest of its bytes, logged when census wrote or imported it (never its
path), so a copy is known wherever it is. A file sent is done once the receiver acknowledged
it: every file census seals names the files it has taken from its receiver. A file received is
done once it is imported: the database holds what it held.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from census.i18n import _
from census.storage.exchange.peers import device_keys
from census.storage.exchange.transfers import FileRecord, files_by_digest
from census.storage.store import Store
from census.storage.wipe import wipe
from census.transfer.files import Found, fail, find_sealed
from census.usecases.exchange import file_digest
from census.usecases.keys import keypair

#: What a file on disk is to this database.
ACKNOWLEDGED = "acknowledged"  # sent, and the receiver says it took it: done
WAITING = "waiting"  # sent, not yet acknowledged: keep it
IMPORTED = "imported"  # received and imported: done
NOT_IMPORTED = "not_imported"  # addressed to this database, not imported yet
OTHER = "other"  # neither written nor read by this database


@dataclass(frozen=True)
class OnDisk:
    """A sealed file on a disk and what the transfer log says of it."""

    path: Path
    kind: str | None
    record: FileRecord | None
    state: str
    digest: str  # of the bytes it was judged by

    @property
    def done(self) -> bool:
        """Its purpose is over: it may (and should) be removed."""
        return self.state in (ACKNOWLEDGED, IMPORTED)


@dataclass
class Listing:
    """The sealed files found, and the places not looked through to the end (too many
    files: name a smaller folder, e.g. the USB stick)."""

    files: list[OnDisk]
    cut_short: list[Path] = field(default_factory=list)


def default_places(db: Path) -> list[Path]:
    """Where `census files` looks when given no place: the database's folder, the removable
    media mounted for this user, and the current folder."""
    places = [db.resolve().parent]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    for root in (Path("/media") / user, Path("/run/media") / user) if user else ():
        if root.is_dir():
            places.append(root)
    with suppress(OSError):  # the current folder may have been removed
        places.append(Path.cwd())
    return places


def files_on_disk(store: Store, places: list[Path]) -> Listing:
    """The sealed files in `places`, with what this database knows of each."""
    search = find_sealed(places)
    known = files_by_digest(store, [f.digest for f in search.found])
    ours = keypair(store).public().key_id if device_keys(store) is not None else None
    return Listing(sorted((_classify(f, known.get(f.digest), ours) for f in search.found),
                          key=lambda d: str(d.path)), search.cut_short)


def _classify(found: Found, record: FileRecord | None, ours: str | None) -> OnDisk:
    kind = found.clear.kind if found.clear is not None else None
    if record is not None:
        if record.direction == "in":
            state = IMPORTED
        else:
            state = ACKNOWLEDGED if record.acked_at else WAITING
    elif found.clear is not None and ours is not None and found.clear.header.get(
            "recipient") == ours:
        state = NOT_IMPORTED
    else:
        state = OTHER
    return OnDisk(found.path, kind, record, state, found.digest)


def _same_bytes(digest: str) -> Callable[[bytes], bool]:
    return lambda data: file_digest(data) == digest


def remove_done(items: list[OnDisk]) -> list[Path]:
    """Overwrite and remove the files whose purpose is over, each only if its bytes are still
    those that were judged (read again from the file that is overwritten); the paths
    removed."""
    removed = []
    for item in items:
        if item.done:
            try:
                if wipe(item.path, _same_bytes(item.digest)):
                    removed.append(item.path)
            except OSError as exc:
                raise fail(item.path, _("cannot be removed ({why}).").format(
                    why=exc.strerror or exc)) from exc
    return removed


def remove_imported(store: Store, path: Path) -> None:
    """Overwrite and remove `path`, a sealed file just imported: only if its bytes are those
    of a file this database imported (read again from the file that is overwritten; never
    through a symbolic link)."""
    def imported(data: bytes) -> bool:
        digest = file_digest(data)
        record = files_by_digest(store, [digest]).get(digest)
        return record is not None and record.direction == "in"

    if path.is_symlink():
        raise fail(path, _("imported, but not removed: it is a symbolic link, and census "
                           "removes only the file itself; remove it by hand."))
    try:
        taken = wipe(path, imported)
    except OSError as exc:
        raise fail(path, _("imported, but cannot be removed ({why}); remove it by hand.")
                   .format(why=exc.strerror or exc)) from exc
    if not taken:
        raise fail(path, _("imported, but not removed: its bytes are not those of a file this "
                           "database imported (it changed since); remove it by hand."))
