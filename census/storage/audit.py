"""The append-only, hash-chained audit log: who (a code), when, which record and field, old → new.

Each entry's hash covers the previous entry's hash and its own fields, so editing, inserting or
deleting an entry breaks the chain from that point; the head (last seq and hash) is also kept in
`meta`, so cutting entries off the end is detected too. Values never include a locator's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from census.i18n import _
from census.storage.connection import StoreError
from census.storage.schema import GENESIS

SEP = "\x1f"


class AuditBroken(StoreError):
    """The log was cut short or changed; no entry is appended to a broken chain."""


@dataclass(frozen=True)
class Entry:
    """One audit entry before it is chained."""

    at: str
    who: str
    record_type: str
    record_id: str
    field: str
    old: str | None = None
    new: str | None = None
    reason: str | None = None


def entry_hash(prev: str, e: Entry) -> str:
    fields = (e.at, e.who, e.record_type, e.record_id, e.field, e.old, e.new, e.reason)
    text = SEP.join("\x00" if f is None else f for f in fields)
    return hashlib.sha256((prev + SEP + text).encode()).hexdigest()


class Chain:
    """Appends entries inside the caller's write transaction, continuing from the stored head."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq: int = row[0] if row else 0
        self.head: str = row[1] if row else GENESIS
        recorded = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
        if recorded is not None and recorded[0] != f"{self.seq}:{self.head}":
            raise AuditBroken(_("The audit log does not end where it was last recorded (entries "
                                "were removed); nothing was changed. Run `census audit verify` "
                                "and restore the database from a backup."))
        self.rows: list[tuple[Any, ...]] = []

    def add(self, entries: Iterable[Entry]) -> None:
        for e in entries:
            h = entry_hash(self.head, e)
            self.rows.append((e.at, e.who, e.record_type, e.record_id, e.field, e.old, e.new,
                              e.reason, self.head, h))
            self.head = h

    def flush(self) -> None:
        """Write the pending entries and the new head."""
        if not self.rows:
            return
        self.conn.executemany(
            "INSERT INTO audit (at, who, record_type, record_id, field, old, new, reason, prev,"
            " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        # Entries take the next rowids in order (seq is INTEGER PRIMARY KEY, never deleted).
        self.seq += len(self.rows)
        self.rows = []
        seq = self.seq
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('audit_head', ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          (f"{seq}:{self.head}",))


@dataclass(frozen=True)
class Verification:
    """Result of checking the chain: `ok`, entries checked, and the first break if any; and
    how many anchors (heads exchanged with other levels) were checked."""

    ok: bool
    entries: int
    broken_at: int | None = None
    reason: str = ""
    anchors: int = 0


@dataclass(frozen=True)
class Anchor:
    """An audit head exchanged with another level: the entry number and its hash, as sent up
    in a bundle ("sent"), received from below ("received"), or confirmed back by a receipt
    ("confirmed")."""

    peer: str
    direction: str
    seq: int
    hash: str
    transfer: str


def head(conn: Any) -> tuple[int, str]:
    """The last entry's number and hash (0 and GENESIS for an empty log)."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def hashes_at(conn: Any, seqs: Iterable[int]) -> dict[int, str]:
    """The stored hash of each entry among `seqs` that exists."""
    wanted = sorted(set(seqs))
    out: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i:i + 500]
        marks = ",".join("?" * len(part))
        out.update(conn.execute(f"SELECT seq, hash FROM audit WHERE seq IN ({marks})",
                                part).fetchall())
    return out


def anchors(conn: Any, peer: str | None = None, direction: str | None = None,
            limit: int = 1000) -> list[Anchor]:
    """The newest anchors (of `peer`, in `direction`), oldest first."""
    rows = conn.execute(
        "SELECT peer, direction, seq, hash, transfer FROM audit_anchor WHERE (? IS NULL OR "
        "peer = ?) AND (? IS NULL OR direction = ?) ORDER BY seq DESC LIMIT ?",
        (peer, peer, direction, direction, limit)).fetchall()
    return [Anchor(*r) for r in reversed(rows)]


def save_anchor(conn: Any, anchor: Anchor, at: str) -> None:
    """Keep an anchor (inside the caller's transaction; the same one again changes nothing)."""
    conn.execute("INSERT OR IGNORE INTO audit_anchor (peer, direction, seq, hash, transfer, at) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (anchor.peer, anchor.direction, anchor.seq,
                                                anchor.hash, anchor.transfer, at))


def verify(conn: Any) -> Verification:
    """Recompute every hash in order; compare the end with the head kept in meta."""
    prev = GENESIS
    count = 0
    last_seq = 0
    cursor: Iterator[tuple[Any, ...]] = conn.execute(
        "SELECT seq, at, who, record_type, record_id, field, old, new, reason, prev, hash "
        "FROM audit ORDER BY seq")
    for row in cursor:
        seq, *fields, stored_prev, stored_hash = row
        e = Entry(*fields)
        if stored_prev != prev:
            return Verification(False, count, seq, "entry does not follow the one before it "
                                                   "(an entry was removed or inserted)")
        if entry_hash(prev, e) != stored_hash:
            return Verification(False, count, seq, "entry content was changed after it was "
                                                   "written")
        prev = stored_hash
        last_seq = seq
        count += 1
    row = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    expected = row[0] if row else None
    actual = f"{last_seq}:{prev}" if count else None
    if expected != actual:
        return Verification(False, count, last_seq + 1 if count else 1,
                            "the log ends before its recorded last entry (entries were cut off)")
    # What was sent up, or confirmed back, cannot be rewritten here unseen.
    held = [a for a in anchors(conn, limit=1 << 30) if a.direction in ("sent", "confirmed")]
    now = hashes_at(conn, [a.seq for a in held])
    for a in held:
        if now.get(a.seq) != a.hash:
            return Verification(False, count, a.seq, (
                f"entry {a.seq} is not what was anchored with {a.peer} (file {a.transfer}): the "
                "history was rewritten after it was sent"), anchors=len(held))
    return Verification(True, count, anchors=len(held))
