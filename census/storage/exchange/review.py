"""The review queue: conflicts, duplicates, flagged and unreadable records held for a person
to decide, and how they are resolved."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from census.domain.model import (
    Resolution,
    ReviewKind,
)
from census.i18n import _
from census.storage import audit
from census.storage.areas import subtree
from census.storage.connection import StoreError
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


def dwelling_held_with(store: Store, dwelling_id: str) -> list[ReviewItem]:
    """The open items of the households held because their dwelling `dwelling_id` was."""
    return [item_from_row(row) for row in store.conn.execute(
        REVIEW_SELECT + " WHERE status = 'open' AND detail = 'dwelling_held' AND "
        "json_extract(incoming, '$.dwelling') = ?", (dwelling_id,)).fetchall()]


def open_item(store: Store, item_id: int) -> ReviewItem:
    item = review_item(store, item_id)
    if item is None:
        raise StoreError(_("There is no review item {id}; `census review list` shows them.")
                         .format(id=item_id))
    if item.status != "open":
        raise StoreError(_("Review item {id} is already resolved ({resolution}).").format(
            id=item_id, resolution=item.resolution))
    return item
