"""An area's listing, a page at a time (never the whole area in memory; DESIGN §9)."""

from __future__ import annotations

from dataclasses import dataclass

from census.storage.store import Store


@dataclass(frozen=True)
class ListingRow:
    """One line of an area's listing as the listing screen shows it."""

    id: str
    structure: int
    number: int
    type: str
    occupancy: str
    locator: str | None
    last_outcome: str | None
    callback_at: str | None
    households: int
    status: str


_STATUS_SQL = """
CASE
  WHEN l.outcome IS NULL THEN 'to_visit'
  WHEN l.outcome IN ('no_one_home', 'callback') THEN 'callback'
  WHEN l.outcome IN ('completed', 'partial') THEN
    CASE WHEN EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id
                      AND h.status IN ('draft', 'returned'))
           OR NOT EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id)
         THEN 'in_progress' ELSE 'done' END
  WHEN l.outcome = 'refused' THEN 'refused'
  WHEN l.outcome IN ('vacant', 'not_found') THEN 'vacant'
  ELSE 'other'
END"""
_LAST_SQL = ("LEFT JOIN visit l ON l.dwelling_id = d.id AND l.attempt = "
             "(SELECT max(attempt) FROM visit WHERE dwelling_id = d.id)")


def listing_count(store: Store, area: str, status: str | None = None) -> int:
    where = "" if status is None else f"AND ({_STATUS_SQL}) = :status"
    row = store.conn.execute(
        f"SELECT count(*) FROM dwelling d {_LAST_SQL} WHERE d.area = :area {where}",
        {"area": area, "status": status}).fetchone()
    return int(row[0])


def listing_page(store: Store, area: str, offset: int, limit: int, status: str | None = None
                 ) -> list[ListingRow]:
    """One page of an area's listing, ordered by structure and dwelling number."""
    where = "" if status is None else f"AND ({_STATUS_SQL}) = :status"
    rows = store.conn.execute(
        f"SELECT d.id, d.structure, d.number, d.type, d.occupancy, d.locator, l.outcome, "
        f"l.callback_at, (SELECT count(*) FROM household h WHERE h.dwelling_id = d.id), "
        f"({_STATUS_SQL}) FROM dwelling d {_LAST_SQL} WHERE d.area = :area "
        f"{where} ORDER BY d.structure, d.number LIMIT :limit OFFSET :offset",
        {"area": area, "status": status, "limit": limit, "offset": offset}).fetchall()
    return [ListingRow(*r) for r in rows]


def listing_position(store: Store, area: str, dwelling_id: str, status: str | None = None
                     ) -> int | None:
    """Index of a dwelling in its area's ordered listing (None if the filter hides it)."""
    row = store.conn.execute("SELECT structure, number FROM dwelling WHERE id = ? AND "
                            "area = ?", (dwelling_id, area)).fetchone()
    if row is None:
        return None
    where = "" if status is None else f"AND ({_STATUS_SQL}) = :status"
    if status is not None:
        visible = store.conn.execute(
            f"SELECT count(*) FROM dwelling d {_LAST_SQL} WHERE d.id = :id {where}",
            {"id": dwelling_id, "status": status}).fetchone()[0]
        if not visible:
            return None
    before = store.conn.execute(
        f"SELECT count(*) FROM dwelling d {_LAST_SQL} WHERE d.area = :area AND "
        f"(d.structure < :s OR (d.structure = :s AND d.number < :n)) {where}",
        {"area": area, "s": row[0], "n": row[1], "status": status}).fetchone()[0]
    return int(before)


def next_numbers(store: Store, area: str, structure: int | None = None) -> tuple[int, int]:
    """Proposed (structure, dwelling) numbers for a new listing line: the next dwelling of
    `structure`, or a new structure after the highest one."""
    # Dwellings handed over (purged after a receipt) keep their numbers taken.
    if structure is not None:
        row = store.conn.execute(
            "SELECT max(number) FROM (SELECT number FROM dwelling WHERE area = ?1 AND "
            "structure = ?2 UNION ALL SELECT number FROM handed_over WHERE area = ?1 AND "
            "structure = ?2)", (area, structure)).fetchone()
        return structure, (row[0] or 0) + 1
    row = store.conn.execute(
        "SELECT max(structure) FROM (SELECT structure FROM dwelling WHERE area = ?1 "
        "UNION ALL SELECT structure FROM handed_over WHERE area = ?1)", (area,)).fetchone()
    return (row[0] or 0) + 1, 1
