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
    """Result of checking the chain: `ok`, entries checked, and the first break if any."""

    ok: bool
    entries: int
    broken_at: int | None = None
    reason: str = ""


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
    return Verification(True, count)
