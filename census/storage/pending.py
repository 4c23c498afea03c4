"""Households awaiting a supervisor's decision, and households found by their address.

A household awaits a decision while it is complete in an open area: approving or returning it
changes its status, and a correction completed again makes it wait again. Lists are read a page
at a time, in address order (area, structure, dwelling, household number). The address is how
the enumerator wrote the household down: `R01-D01-EA001/4/1/1` is household 1 of dwelling 4/1
in area R01-D01-EA001 (area codes hold no `/`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from census.storage.areas import SUBTREE
from census.storage.exchange.review import REVIEW_SELECT, ReviewItem, item_from_row
from census.storage.store import Store, in_query

ENUMERATOR = "coalesce(h.updated_by, a.enumerator)"
"""Who a pending household is shown under: who completed it, else its area's enumerator."""


@dataclass(frozen=True)
class PendingHousehold:
    """One household awaiting a decision, with what a supervisor decides from."""

    household_id: str
    dwelling_id: str
    area: str
    structure: int
    dwelling: int
    number: int
    enumerator: str | None
    completed_at: str
    """When it was first completed, by the clock of the device that completed it
    (`2026-11-28T12:00`); for a household stored before that was kept, its last save
    (`2026-11-28T12:00:00Z`, UTC)."""
    usual_residents: int
    visitors: int
    warnings: dict[str, str] = field(default_factory=dict)
    """Warnings confirmed on the household or its dwelling: rule id → reason code."""
    flags: tuple[str, ...] = ()
    """Rules flagged when it was merged and not decided yet (open review items)."""
    held: tuple[str, ...] = ()
    """The kinds of the other open review items on the household or its dwelling (a
    conflict, a duplicate of the same numbers, an invalid version): something held for review
    that may change it, to see to before deciding."""

    @property
    def address(self) -> str:
        return address(self.area, self.structure, self.dwelling, self.number)

    @property
    def completed(self) -> str:
        """`completed_at` as lists show it: `2026-11-28 12:00` (a UTC stamp says `UTC`)."""
        stamp = self.completed_at
        shown = f"{stamp[:10]} {stamp[11:16]}"
        return f"{shown} UTC" if stamp.endswith("Z") else shown


def address(area: str, structure: int, dwelling: int, household: int) -> str:
    """`AREA/STRUCTURE/DWELLING/HOUSEHOLD`, as `census review approve` reads it."""
    return f"{area}/{structure}/{dwelling}/{household}"


_FROM = ("FROM household h JOIN dwelling d ON d.id = h.dwelling_id JOIN area a ON "
         "a.code = h.area WHERE h.status = 'complete' AND a.status = 'open'")
_SELECT = (f"SELECT h.id, d.id, h.area, d.structure, d.number, h.number, {ENUMERATOR}, "
           f"coalesce(h.completed_at, h.updated_at), h.usual_residents, h.visitors {_FROM}")
_ORDER = " ORDER BY h.area, d.structure, d.number, h.number"


def _where(area: str | None, enumerator: str | None, any_enumerator: bool
           ) -> tuple[str, list[Any]]:
    sql = ""
    params: list[Any] = []
    if area is not None:  # one parameter, however many areas lie below (a whole country)
        sql += f" AND h.area IN ({SUBTREE})"
        params.append(area)
    if not any_enumerator:
        sql += f" AND {ENUMERATOR} IS ?"
        params.append(enumerator)
    return sql, params


def _rows(store: Store, rows: Sequence[Sequence[Any]]) -> list[PendingHousehold]:
    households = [r[0] for r in rows]
    ids = households + sorted({r[1] for r in rows})
    warnings: dict[str, dict[str, str]] = {}
    for rid, rule, reason in in_query(store, "SELECT record_id, rule_id, reason FROM override "
                                             "WHERE record_id IN ({marks})", ids):
        warnings.setdefault(rid, {})[rule] = reason
    flags: dict[str, set[str]] = {}
    for rid, detail in in_query(store, "SELECT record_id, detail FROM review WHERE kind = "
                                       "'flagged' AND status = 'open' AND record_id IN "
                                       "({marks})", households):
        flags.setdefault(rid, set()).update(x for x in detail.split(",") if x)
    # Held for review: the record itself, or another record with its numbers (`other_id`).
    held: dict[str, set[str]] = {}
    for column in ("record_id", "other_id"):
        for rid, kind in in_query(store, f"SELECT {column}, kind FROM review WHERE kind != "
                                         f"'flagged' AND status = 'open' AND {column} IN "
                                         "({marks})", ids):
            held.setdefault(rid, set()).add(kind)
    return [PendingHousehold(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
        {**warnings.get(r[1], {}), **warnings.get(r[0], {})},
        tuple(sorted(flags.get(r[0], set()))),
        tuple(sorted(held.get(r[0], set()) | held.get(r[1], set())))) for r in rows]


def pending_count(store: Store, area: str | None = None, enumerator: str | None = None,
                  any_enumerator: bool = True) -> int:
    """How many households await a decision (in `area` and the areas below it; of
    `enumerator` unless `any_enumerator`, None meaning none known)."""
    where, params = _where(area, enumerator, any_enumerator)
    return int(store.conn.execute(f"SELECT count(*) {_FROM}{where}", params).fetchone()[0])


def pending_page(store: Store, area: str | None = None, enumerator: str | None = None,
                 any_enumerator: bool = True, limit: int = 50, offset: int = 0
                 ) -> list[PendingHousehold]:
    """A page of the households awaiting a decision, in address order."""
    where, params = _where(area, enumerator, any_enumerator)
    rows = store.conn.execute(f"{_SELECT}{where}{_ORDER} LIMIT ? OFFSET ?",
                              [*params, limit, offset]).fetchall()
    return _rows(store, rows)


def pending_after(store: Store, after: PendingHousehold | tuple[str, int, int, int],
                  area: str | None = None, enumerator: str | None = None,
                  any_enumerator: bool = True) -> PendingHousehold | None:
    """The first household awaiting a decision after the address `after` (area, structure,
    dwelling, household number), or None when none follows."""
    key = (after.area, after.structure, after.dwelling, after.number) if isinstance(
        after, PendingHousehold) else after
    where, params = _where(area, enumerator, any_enumerator)
    rows = store.conn.execute(
        f"{_SELECT}{where} AND (h.area, d.structure, d.number, h.number) > (?, ?, ?, ?)"
        f"{_ORDER} LIMIT 1", [*params, *key]).fetchall()
    found = _rows(store, rows)
    return found[0] if found else None


def pending_of(store: Store, household_id: str) -> PendingHousehold | None:
    """The household `household_id` as the pending list shows it, or None when it does not
    await a decision."""
    rows = store.conn.execute(f"{_SELECT} AND h.id = ?", (household_id,)).fetchall()
    found = _rows(store, rows)
    return found[0] if found else None


def pending_areas(store: Store) -> list[str]:
    """The areas holding households that await a decision, in order."""
    return [r[0] for r in store.conn.execute(f"SELECT DISTINCT h.area {_FROM} ORDER BY 1")]


def pending_enumerators(store: Store, area: str | None = None) -> list[str | None]:
    """Who the households awaiting a decision (in `area`) are shown under, in order; None
    for households of no known enumerator."""
    where, params = _where(area, None, True)
    rows = store.conn.execute(f"SELECT DISTINCT {ENUMERATOR} {_FROM}{where} ORDER BY 1",
                              params).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class AtAddress:
    """What the store holds at an address: the area, the dwelling, the household (each None
    when missing), and the numbers of the dwelling's households (to say which exist)."""

    area_known: bool
    dwelling_id: str | None = None
    household_id: str | None = None
    numbers: tuple[int, ...] = ()


def at_address(store: Store, area: str, structure: int, dwelling: int, household: int
               ) -> AtAddress:
    """The household at (area, structure, dwelling, household number), and what is there."""
    if store.conn.execute("SELECT 1 FROM area WHERE code = ?", (area,)).fetchone() is None:
        return AtAddress(False)
    row = store.conn.execute("SELECT id FROM dwelling WHERE area = ? AND structure = ? AND "
                             "number = ?", (area, structure, dwelling)).fetchone()
    if row is None:
        return AtAddress(True)
    numbers = dict(store.conn.execute("SELECT number, id FROM household WHERE dwelling_id = ? "
                                      "ORDER BY number", (row[0],)).fetchall())
    return AtAddress(True, row[0], numbers.get(household), tuple(numbers))


def household_address(store: Store, household_id: str) -> str | None:
    """The address of a stored household, or None when there is none with this id."""
    row = store.conn.execute(
        "SELECT d.area, d.structure, d.number, h.number FROM household h JOIN dwelling d ON "
        "d.id = h.dwelling_id WHERE h.id = ?", (household_id,)).fetchone()
    return None if row is None else address(*row)


def dwelling_place(store: Store, dwelling_id: str) -> tuple[str, int, int] | None:
    """(area, structure, dwelling number) of a stored dwelling, or None."""
    row = store.conn.execute("SELECT area, structure, number FROM dwelling WHERE id = ?",
                             (dwelling_id,)).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def _numbers(data: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(data.get(k), int) for k in keys)


def record_numbers(store: Store, item: ReviewItem
                   ) -> tuple[str, int, int, int | None] | None:
    """The numbers a review item's record is known by — (area, structure, dwelling, household
    or None for a dwelling) — from the stored record, else from the held version (its dwelling
    held too, if need be); None when neither says. A few small lookups, no record loaded."""
    held = item.incoming or {}
    if item.record_type == "household":
        row = store.conn.execute(
            "SELECT d.area, d.structure, d.number, h.number FROM household h JOIN dwelling d "
            "ON d.id = h.dwelling_id WHERE h.id = ?", (item.record_id,)).fetchone()
        if row is not None:
            return row[0], row[1], row[2], row[3]
        dwelling = str(held.get("dwelling", ""))
        place = dwelling_place(store, dwelling)
        if place is None and (line := held_dwelling_item(store, dwelling)) is not None:
            numbers = line.incoming or {}
            if _numbers(numbers, "structure", "dwelling"):
                place = (line.area, numbers["structure"], numbers["dwelling"])
        if place is not None and _numbers(held, "number"):
            return (*place, held["number"])
        return None
    place = dwelling_place(store, item.record_id)
    if place is None and _numbers(held, "structure", "dwelling"):
        place = (item.area, held["structure"], held["dwelling"])
    return None if place is None else (*place, None)


def held_dwelling_item(store: Store, dwelling_id: str) -> ReviewItem | None:
    """The newest open review item holding the dwelling `dwelling_id` (with its listing line
    and visits), or None."""
    row = store.conn.execute(
        f"{REVIEW_SELECT} WHERE status = 'open' AND record_type = 'dwelling' AND record_id = ? "
        "AND incoming IS NOT NULL ORDER BY id DESC LIMIT 1", (dwelling_id,)).fetchone()
    return None if row is None else item_from_row(row)
