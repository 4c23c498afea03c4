"""Closing an area and opening it again, the SQL side: what still stops a close, the purge of
its locators and notes, and each area's numbered status (so the latest change travels up)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from census.domain.model import AreaStatus, ReopenReason
from census.formats.record_json import (
    dwelling_digest,
)
from census.storage import audit
from census.storage.listing import listing_count
from census.storage.records import (
    select_dwellings,
)
from census.storage.store import Store, utc_now


@dataclass
class CloseReport:
    locators: int
    notes: int
    held: int


def open_work(store: Store, code: str) -> dict[str, int]:
    """What still stops `code` from being closed (counts; empty when it can be closed)."""
    out: dict[str, int] = {}
    for status in ("to_visit", "callback", "in_progress"):
        n = listing_count(store, code, status)
        if n:
            out[status] = n
    n = store.conn.execute("SELECT count(*) FROM household WHERE area = ? AND status = "
                           "'returned'", (code,)).fetchone()[0]
    if n:
        out["returned"] = n
    n = store.conn.execute("SELECT count(*) FROM review WHERE area = ? AND status = 'open'",
                           (code,)).fetchone()[0]
    if n:
        out["review"] = n
    if listing_count(store, code) == 0:
        out["listed"] = 0
    return out


def purge_area(store: Store, chain: audit.Chain, code: str, who: str,
               status_rev: int | None = None) -> CloseReport:
    """Close an area in the caller's transaction: purge its locators (a new revision of each
    dwelling that had one, so the purge travels up), the notes of its decisions and any held
    record text. Its status change is numbered: the next number, or `status_rev` when the
    change comes from below."""
    cfg = store.config
    stamp = utc_now()
    rows = select_dwellings(store, "area = ? AND locator IS NOT NULL", (code,),
                            with_households=False)
    for d in rows:
        new = replace(d, locator=None, revision=d.revision + 1)
        store.conn.execute("UPDATE dwelling SET locator = NULL, revision = ?, digest = ?, "
                           "source = NULL, updated_at = ? WHERE id = ?",
                           (new.revision, dwelling_digest(new, cfg), stamp, d.id))
    notes = store.conn.execute(
        "UPDATE decision SET note = NULL WHERE note IS NOT NULL AND household_id IN "
        "(SELECT id FROM household WHERE area = ?)", (code,)).rowcount
    held = store.conn.execute("UPDATE review SET incoming = NULL WHERE area = ? AND "
                              "incoming IS NOT NULL", (code,)).rowcount
    # An unreadable row's detail may quote a value: keep only its kind.
    store.conn.execute("UPDATE review SET detail = 'invalid' WHERE area = ? AND kind = "
                       "'invalid'", (code,))
    # The reason of its last reopening stays with it (it travels up with the status).
    store.conn.execute("UPDATE area SET status = ?, status_rev = coalesce(?, status_rev + 1) "
                       "WHERE code = ?", (str(AreaStatus.CLOSED), status_rev, code))
    chain.add([audit.Entry(stamp, who, "area", code, "status", "open", "closed",
                           f"locators purged: {len(rows)}")])
    return CloseReport(len(rows), notes, held)


def reopen_area(store: Store, chain: audit.Chain, code: str, who: str, reason: ReopenReason,
                status_rev: int | None = None) -> None:
    """Open a closed area again, in the caller's transaction, with the reason (logged; it
    travels up with the area's status)."""
    store.conn.execute("UPDATE area SET status = ?, status_reason = ?, status_rev = "
                       "coalesce(?, status_rev + 1) WHERE code = ?",
                       (str(AreaStatus.OPEN), str(reason), status_rev, code))
    chain.add([audit.Entry(utc_now(), who, "area", code, "status", "closed", "open",
                           str(reason))])


@dataclass(frozen=True)
class AreaState:
    """An area's status as last changed: open or closed, the number of that change, and the
    reason of a reopening."""

    code: str
    status: AreaStatus
    rev: int
    reason: ReopenReason | None


def changed_states(store: Store) -> list[AreaState]:
    """The status of every area closed or reopened here at least once (for the level above)."""
    return [AreaState(r[0], AreaStatus(r[1]), r[2], ReopenReason(r[3]) if r[3] else None)
            for r in store.conn.execute("SELECT code, status, status_rev, status_reason FROM "
                                        "area WHERE status_rev > 0 ORDER BY code")]


def set_status_rev(store: Store, code: str, rev: int) -> None:
    """Record that an area's status is as its change number `rev` (heard from below) left it."""
    store.conn.execute("UPDATE area SET status_rev = ? WHERE code = ?", (rev, code))


def status_rev(store: Store, code: str) -> int | None:
    row = store.conn.execute("SELECT status_rev FROM area WHERE code = ?", (code,)).fetchone()
    return None if row is None else int(row[0])


def handed_over(store: Store, area: str) -> dict[str, int]:
    """Dwellings of `area` handed over to the supervisor and purged here, per outcome."""
    return dict(store.conn.execute("SELECT outcome, count(*) FROM handed_over WHERE area = ? "
                                   "GROUP BY outcome", (area,)).fetchall())
