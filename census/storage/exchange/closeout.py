"""Closing an area: what still stops it, and the purge of its locators and notes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from census.domain.model import (
    AreaStatus,
)
from census.formats.record_json import (
    dwelling_digest,
)
from census.storage import audit
from census.storage.listing import listing_count
from census.storage.records import (
    select_dwellings,
)
from census.storage.store import Store, checkpoint, utc_now


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


def close_area(store: Store, code: str, who: str) -> CloseReport:
    """Close a finished area: purge its locators (a new revision of each dwelling that had
    one, so the purge travels up), the notes of its decisions and any held record text."""
    with store.write() as chain:
        report = purge_area(store, chain, code, who)
    checkpoint(store)
    return report


def purge_area(store: Store, chain: audit.Chain, code: str, who: str) -> CloseReport:
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
    store.conn.execute("UPDATE area SET status = ? WHERE code = ?",
                       (str(AreaStatus.CLOSED), code))
    chain.add([audit.Entry(stamp, who, "area", code, "status", "open", "closed",
                           f"locators purged: {len(rows)}")])
    return CloseReport(len(rows), notes, held)


def handed_over(store: Store, area: str) -> dict[str, int]:
    """Dwellings of `area` handed over to the supervisor and purged here, per outcome."""
    return dict(store.conn.execute("SELECT outcome, count(*) FROM handed_over WHERE area = ? "
                                   "GROUP BY outcome", (area,)).fetchall())
