"""Sealed files after use (issue 14): which files census wrote or read are still on a disk,
what each holds, whether its purpose is over, and removing those that are.

A file is known by the digest of its bytes, logged when census wrote or imported it (never its
path), so a copy is known wherever it is. A file sent is done once the receiver acknowledged
it: every file census seals names the files it has taken from its receiver. A file received is
done once it is imported: the database holds what it held.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from census.storage.exchange.peers import device_keys
from census.storage.exchange.transfers import FileRecord, files_by_digest
from census.storage.store import Store
from census.transfer.files import Found, find_sealed, shred
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

    @property
    def done(self) -> bool:
        """Its purpose is over: it may (and should) be removed."""
        return self.state in (ACKNOWLEDGED, IMPORTED)


def default_places(db: Path) -> list[Path]:
    """Where `census files` looks when given no place: the current folder, the database's
    folder, and where removable media are mounted for this user."""
    places = [Path.cwd(), db.resolve().parent]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    for root in (Path("/media") / user, Path("/run/media") / user) if user else ():
        if root.is_dir():
            places.append(root)
    return places


def files_on_disk(store: Store, places: list[Path]) -> list[OnDisk]:
    """The sealed files in `places`, with what this database knows of each."""
    found = find_sealed(places)
    known = files_by_digest(store, [f.digest for f in found])
    ours = keypair(store).public().key_id if _has_keys(store) else None
    return sorted((_classify(f, known.get(f.digest), ours) for f in found),
                  key=lambda d: str(d.path))


def _has_keys(store: Store) -> bool:
    return device_keys(store) is not None


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
    return OnDisk(found.path, kind, record, state)


def remove_done(items: list[OnDisk]) -> list[Path]:
    """Overwrite and remove the files whose purpose is over; the paths removed."""
    removed = []
    for item in items:
        if item.done:
            shred(item.path)
            removed.append(item.path)
    return removed
