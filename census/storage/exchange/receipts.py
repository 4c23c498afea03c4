"""Receipts: what upstream holds is acknowledged; an enumerator's device then purges it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from census.domain.model import (
    NO_CONTACT_OUTCOMES,
    Outcome,
)
from census.storage import audit
from census.storage.store import Store, utc_now

#: Last outcomes after which a dwelling needs no more visits (it may be handed over).
FINAL_OUTCOMES = tuple(str(o) for o in Outcome if o not in NO_CONTACT_OUTCOMES)


@dataclass
class ReceiptReport:
    acknowledged: int = 0
    purged_dwellings: int = 0
    purged_households: int = 0


def apply_receipt(store: Store, chain: audit.Chain, held: Sequence[tuple[str, str, int, str]],
                  receipt_id: str, purge: bool) -> ReceiptReport:
    """Mark what upstream holds as acknowledged; with `purge` (an enumerator's device), delete
    every finished dwelling whose records are all acknowledged at their current revision."""
    conn = store.conn
    rep = ReceiptReport()
    for record_type, rid, revision, digest in held:
        table = "dwelling" if record_type == "dwelling" else "household"
        cur = conn.execute(f"UPDATE {table} SET acked = ? WHERE id = ? AND revision = ? AND "
                           f"digest = ?", (revision, rid, revision, digest))
        rep.acknowledged += cur.rowcount
    if not purge:
        return rep
    final = ", ".join(f"'{o}'" for o in FINAL_OUTCOMES)
    rows = conn.execute(f"""
SELECT d.id, d.area, d.structure, d.number, l.outcome,
  (SELECT count(*) FROM household h WHERE h.dwelling_id = d.id),
  (SELECT coalesce(sum(usual_residents), 0) FROM household h WHERE h.dwelling_id = d.id)
FROM dwelling d
JOIN visit l ON l.dwelling_id = d.id
  AND l.attempt = (SELECT max(attempt) FROM visit WHERE dwelling_id = d.id)
WHERE d.acked = d.revision
  AND l.outcome IN ({final})
  AND NOT EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id AND
                  (h.acked IS NULL OR h.acked != h.revision OR
                   h.status NOT IN ('complete', 'approved')))
  AND NOT (l.outcome IN ('completed', 'partial') AND
           NOT EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id))
""").fetchall()
    stamp = utc_now()
    reason = f"receipt {receipt_id}"
    entries = []
    for did, area, structure, number, outcome, households, persons in rows:
        conn.execute("INSERT OR REPLACE INTO handed_over (area, structure, number, outcome, "
                     "households, persons) VALUES (?, ?, ?, ?, ?, ?)",
                     (area, structure, number, outcome, households, persons))
        hids = [r[0] for r in conn.execute("SELECT id FROM household WHERE dwelling_id = ?",
                                           (did,))]
        for hid in hids:
            conn.execute("DELETE FROM override WHERE record_id = ?", (hid,))
            conn.execute("DELETE FROM decision WHERE household_id = ?", (hid,))
            entries.append(audit.Entry(stamp, store.user, "household", hid, "purged", None,
                                       None, reason))
        conn.execute("DELETE FROM household WHERE dwelling_id = ?", (did,))
        conn.execute("DELETE FROM override WHERE record_id = ?", (did,))
        conn.execute("DELETE FROM dwelling WHERE id = ?", (did,))
        entries.append(audit.Entry(stamp, store.user, "dwelling", did, "purged", None, None,
                                   reason))
        rep.purged_dwellings += 1
        rep.purged_households += len(hids)
    chain.add(entries)
    return rep
