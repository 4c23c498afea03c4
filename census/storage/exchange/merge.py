"""What a merge writes besides records (DESIGN §5): the review queue's held and flagged items,
the flags a new revision supersedes, who works each area, and which areas a file may speak for.
Always inside the caller's `Store.write()` transaction; what to write is decided by the intake
(`census.usecases.intake`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from census.domain.model import ReviewKind
from census.formats.payload import Records
from census.storage import audit
from census.storage.exchange.peers import peer_areas
from census.storage.store import BATCH, Store, in_query


@dataclass(frozen=True)
class Hold:
    """One item for the review queue: a record held back (with its full incoming content, so
    nothing is lost) or a written record flagged by the rules (no content)."""

    kind: ReviewKind
    record_type: str
    record_id: str
    area: str
    revision: int
    digest: str
    source: str
    transfer: str | None
    detail: str
    incoming: dict[str, Any] | None = None
    other: str | None = None


def hold(store: Store, items: Sequence[Hold], now: str) -> None:
    """Put items in the review queue (an item already there for the same version is kept)."""
    rows = []
    for h in items:
        text = None if h.incoming is None else json.dumps(
            h.incoming, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        rows.append((str(h.kind), h.record_type, h.record_id, h.area, h.other, h.revision,
                     h.digest, h.source, h.transfer, h.detail[:400], text, now))
    if rows:
        store.conn.executemany(
            "INSERT OR IGNORE INTO review (kind, record_type, record_id, area, other_id, "
            "revision, digest, source, transfer, detail, incoming, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def supersede_flags(store: Store, record_ids: Sequence[str], now: str, who: str) -> None:
    """A new revision supersedes what was flagged about the old one."""
    for i in range(0, len(record_ids), BATCH):
        chunk = record_ids[i:i + BATCH]
        marks = ",".join("?" * len(chunk))
        store.conn.execute(
            f"UPDATE review SET status = 'resolved', resolution = 'superseded', resolved_at = ?, "
            f"resolved_by = ? WHERE status = 'open' AND kind = 'flagged' AND record_id IN "
            f"({marks})", [now, who, *chunk])


def check_areas(store: Store, sender: str, recs: Records) -> list[str]:
    """Areas of the records that `sender` was never assigned (empty when all are allowed)."""
    allowed = peer_areas(store, sender)
    areas = set(recs.areas_touched)
    in_bundle = {i.dwelling.id for i in recs.dwellings}
    outside = [i.dwelling_id for i in recs.households if i.dwelling_id not in in_bundle]
    # Where the records stand now counts too: no sender moves a record out of an area that
    # is not theirs.
    stored = sorted(set(outside) | in_bundle)
    for (area,) in in_query(store, "SELECT DISTINCT area FROM dwelling WHERE id IN ({marks})",
                            stored):
        areas.add(area)
    for (area,) in in_query(store, "SELECT DISTINCT area FROM household WHERE id IN ({marks})",
                            sorted({i.household.id for i in recs.households})):
        areas.add(area)
    areas.update(recs.closed)
    areas.update(code for code, _e in recs.enumerators)
    return sorted(areas - allowed)


def set_area_enumerators(store: Store, chain: audit.Chain, pairs: Iterable[tuple[str, str]],
                         who: str, now: str) -> None:
    """Record who works each area (area code, enumerator code), where it changed."""
    conn = store.conn
    for code, enumerator in pairs:
        row = conn.execute("SELECT enumerator FROM area WHERE code = ?", (code,)).fetchone()
        if row is not None and row[0] != enumerator:
            conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)", (enumerator,))
            conn.execute("UPDATE area SET enumerator = ? WHERE code = ?", (enumerator, code))
            chain.add([audit.Entry(now, who, "area", code, "enumerator", row[0], enumerator)])
