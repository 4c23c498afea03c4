"""The review queue: conflicts, duplicates, flagged and unreadable records held for a person
to decide, and how they are resolved."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from census.domain.model import (
    Resolution,
    ReviewKind,
)
from census.formats.record_json import (
    dwelling_digest,
    household_digest,
)
from census.i18n import _
from census.storage import audit
from census.storage.areas import subtree
from census.storage.connection import StoreError
from census.storage.records import (
    DwellingRow,
    HouseholdRow,
    Origin,
    load_dwelling,
    write_records,
)
from census.storage.store import Store, utc_now


@dataclass(frozen=True)
class ReviewItem:
    """One entry of the review queue."""

    id: int
    kind: ReviewKind
    record_type: str
    record_id: str
    area: str
    other_id: str | None
    revision: int
    digest: str
    source: str
    transfer: str | None
    detail: str
    incoming: dict[str, Any] | None
    status: str
    resolution: str | None
    created_at: str


REVIEW_SELECT = ("SELECT id, kind, record_type, record_id, area, other_id, revision, digest, "
                 "source, transfer, detail, incoming, status, resolution, created_at FROM review")


def item_from_row(r: Sequence[Any]) -> ReviewItem:
    return ReviewItem(r[0], ReviewKind(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                      r[10], json.loads(r[11]) if r[11] else None, r[12], r[13], r[14])


def review_items(store: Store, *, status: str | None = "open", area: str | None = None,
                 kind: str | None = None, limit: int = 500, offset: int = 0
                 ) -> list[ReviewItem]:
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if area:
        codes = subtree(store, area)
        where.append("area IN (" + ",".join("?" * len(codes)) + ")")
        params += codes
    if kind:
        where.append("kind = ?")
        params.append(kind)
    sql = REVIEW_SELECT + (" WHERE " + " AND ".join(where) if where else "")
    rows = store.conn.execute(sql + " ORDER BY area, id LIMIT ? OFFSET ?",
                              [*params, limit, offset]).fetchall()
    return [item_from_row(r) for r in rows]


def review_counts(store: Store) -> dict[str, int]:
    """Open review items per kind."""
    return dict(store.conn.execute("SELECT kind, count(*) FROM review WHERE status = 'open' "
                                   "GROUP BY kind").fetchall())


def review_item(store: Store, item_id: int) -> ReviewItem | None:
    row = store.conn.execute(REVIEW_SELECT + " WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else item_from_row(row)


def close_item(store: Store, chain: audit.Chain, item: ReviewItem, resolution: Resolution,
                who: str) -> None:
    stamp = utc_now()
    store.conn.execute("UPDATE review SET status = 'resolved', resolution = ?, resolved_by = ?, "
                       "resolved_at = ?, incoming = NULL WHERE id = ?",
                       (str(resolution), who, stamp, item.id))
    chain.add([audit.Entry(stamp, who, item.record_type, item.record_id, "review",
                           f"{item.kind} #{item.id}", str(resolution), None)])


def resolve_keep(store: Store, item_id: int, who: str) -> ReviewItem:
    """Keep the stored record; the held incoming version is discarded. For a held dwelling,
    the households held with it (they came with it) are closed the same way."""
    with store.write() as chain:
        item = open_item(store, item_id)
        close_item(store, chain, item,
                    Resolution.DISMISSED if item.kind in (ReviewKind.FLAGGED, ReviewKind.INVALID)
                    else Resolution.KEPT, who)
        if item.record_type == "dwelling":
            for row in store.conn.execute(
                    REVIEW_SELECT + " WHERE status = 'open' AND detail = 'dwelling_held' AND "
                    "json_extract(incoming, '$.dwelling') = ?", (item.record_id,)).fetchall():
                close_item(store, chain, item_from_row(row), Resolution.KEPT, who)
    return item


def open_item(store: Store, item_id: int) -> ReviewItem:
    item = review_item(store, item_id)
    if item is None:
        raise StoreError(_("There is no review item {id}; `census review list` shows them.")
                         .format(id=item_id))
    if item.status != "open":
        raise StoreError(_("Review item {id} is already resolved ({resolution}).").format(
            id=item_id, resolution=item.resolution))
    return item


def resolve_take(store: Store, item_id: int, who: str, now: datetime) -> ReviewItem:
    """Replace the stored record by the held incoming version of a conflict. The result is a
    new revision made here, so it travels up as a normal update."""
    with store.write() as chain:
        item = open_item(store, item_id)
        if item.kind is not ReviewKind.CONFLICT or item.incoming is None:
            raise StoreError(_("Only a conflict can take the incoming version; review item {id} "
                               "is of kind {kind}. Keep the stored record; a duplicate listing "
                               "stays on its device until it is renumbered there.")
                             .format(id=item_id, kind=item.kind))
        if item.detail == "area_closed":
            raise StoreError(_("Review item {id} arrived after its area was closed; it can only "
                               "be kept out (resolve it with --keep).").format(id=item_id))
        _take(store, chain, item, who, now)
        close_item(store, chain, item, Resolution.TOOK_INCOMING, who)
    return item


def _take(store: Store, chain: audit.Chain, item: ReviewItem, who: str, now: datetime) -> None:
    from census.formats.record_json import dwelling_from_json

    cfg = store.config
    data = dict(item.incoming or {})
    stamp = utc_now()
    # The taken version is a new revision made here: no source, no base; its audit entry names
    # the review item.
    taken = Origin(reason=f"review {item.id}", fields=False, keep_base=False)
    if item.record_type == "dwelling":
        stored = store.conn.execute("SELECT revision FROM dwelling WHERE id = ?",
                                    (item.record_id,)).fetchone()
        for k in ("base", "updated_at"):
            data.pop(k, None)
        d, problems = dwelling_from_json(data, cfg)
        if d is None:
            raise StoreError(_("The held version cannot be read: {problem}").format(
                problem=problems[0] if problems else "?"))
        d = replace(d, revision=max(d.revision, stored[0] if stored else 0) + 1)
        write_records(store, chain, [DwellingRow(d, dwelling_digest(d, cfg), stored is None, who)],
                      [], taken, stamp)
    else:
        stored = store.conn.execute("SELECT revision, seed, dwelling_id FROM household "
                                    "WHERE id = ?", (item.record_id,)).fetchone()
        dwelling_id = data.pop("dwelling")
        if load_dwelling(store, dwelling_id, with_households=False) is None:
            raise StoreError(_("The held household's dwelling is not stored here (it is held "
                               "for review too); resolve the dwelling first."))
        seed = bytes.fromhex(data.pop("seed"))
        for k in ("base", "updated_at", "updated_by"):
            data.pop(k, None)
        wrapper = {"id": dwelling_id, "area": item.area, "structure": 1, "dwelling": 1,
                   "households": [data]}
        d, problems = dwelling_from_json(wrapper, cfg)
        if d is None or not d.households:
            raise StoreError(_("The held version cannot be read: {problem}").format(
                problem=problems[0] if problems else "?"))
        h = d.households[0]
        h = replace(h, seed=stored[1] if stored else seed,
                    revision=max(h.revision, stored[0] if stored else 0) + 1)
        if stored is not None and stored[2] != dwelling_id:
            raise StoreError(_("The held version belongs to another dwelling; keep the stored "
                               "one and return it for correction instead."))
        write_records(store, chain, [], [HouseholdRow(
            h, dwelling_id, household_digest(h, cfg, dwelling_id), stored is None, who,
            updated_by=who)], taken, stamp)
