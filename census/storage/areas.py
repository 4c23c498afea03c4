"""Areas (regions, districts, enumeration areas): the register, its tree, who works each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from census.domain.model import Area, AreaStatus
from census.storage.records import changes
from census.storage.store import BATCH, Store, utc_now


def import_areas(store: Store, areas: Sequence[Area], who: str) -> tuple[int, int, int]:
    """Add or update areas (parents first). Returns (added, updated, unchanged)."""
    added = updated = unchanged = 0
    now = utc_now()
    store.levels_cache = None
    with store.write() as chain:
        for a in areas:
            if a.enumerator:
                store.conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)",
                                  (a.enumerator,))
            row = store.conn.execute(
                "SELECT code, parent, level, name, expected_dwellings, enumerator, status "
                "FROM area WHERE code = ?", (a.code,)).fetchone()
            new = {"code": a.code, "parent": a.parent, "level": a.level, "name": a.name,
                   "expected_dwellings": a.expected_dwellings, "enumerator": a.enumerator,
                   "status": str(a.status)}
            if row is None:
                added += 1
                old = None
            else:
                old = dict(zip(new, row, strict=True))
                old["status"] = row[6]
                new["status"] = row[6]  # status changes by closing, not by re-import
                if old == new:
                    unchanged += 1
                    continue
                updated += 1
            store.conn.execute(
                "INSERT INTO area (code, parent, level, name, expected_dwellings, "
                "enumerator, status) VALUES (:code, :parent, :level, :name, "
                ":expected_dwellings, :enumerator, :status) ON CONFLICT (code) DO UPDATE SET "
                "parent = excluded.parent, level = excluded.level, name = excluded.name, "
                "expected_dwellings = excluded.expected_dwellings, "
                "enumerator = excluded.enumerator", new)
            chain.add(changes("area", a.code, old, new, who, now))
    return added, updated, unchanged


def all_areas(store: Store) -> list[Area]:
    rows = store.conn.execute(
        "SELECT code, level, name, parent, expected_dwellings, enumerator, status FROM area "
        "ORDER BY code").fetchall()
    return [Area(r[0], r[1], r[2], r[3], r[4], r[5], AreaStatus(r[6])) for r in rows]


def get_area(store: Store, code: str) -> Area | None:
    r = store.conn.execute(
        "SELECT code, level, name, parent, expected_dwellings, enumerator, status FROM area "
        "WHERE code = ?", (code,)).fetchone()
    return None if r is None else Area(r[0], r[1], r[2], r[3], r[4], r[5], AreaStatus(r[6]))


def has_areas_of(store: Store, enumerator: str) -> bool:
    """True when some area is assigned to `enumerator`."""
    return store.conn.execute("SELECT 1 FROM area WHERE enumerator = ? LIMIT 1",
                             (enumerator,)).fetchone() is not None


def area_levels(store: Store) -> dict[str, str]:
    """Map of area code to level, for the engine's `area_known` (cached; areas change only
    through `import_areas`)."""
    if store.levels_cache is None:
        store.levels_cache = dict(store.conn.execute("SELECT code, level FROM area").fetchall())
    return store.levels_cache


SUBTREE = ("WITH RECURSIVE t(code) AS (SELECT ? UNION SELECT a.code FROM area a JOIN t ON "
           "a.parent = t.code) SELECT code FROM t")
"""The codes of an area (the one parameter) and of every area below it, as a subquery."""


def subtree(store: Store, code: str) -> list[str]:
    """`code` and every area below it."""
    rows = store.conn.execute(f"{SUBTREE} ORDER BY code", (code,)).fetchall()
    return [r[0] for r in rows]


def closed_areas(store: Store) -> set[str]:
    """Codes of the closed areas."""
    return {r[0] for r in store.conn.execute("SELECT code FROM area WHERE status = 'closed'")}


def area_facts(store: Store, codes: Iterable[str]) -> dict[str, Area]:
    """The areas among `codes` that exist (unknown codes are left out)."""
    wanted = sorted(set(codes))
    out: dict[str, Area] = {}
    for i in range(0, len(wanted), BATCH):
        part = wanted[i:i + BATCH]
        marks = ",".join("?" * len(part))
        for r in store.conn.execute(
                "SELECT code, level, name, parent, expected_dwellings, enumerator, status FROM "
                f"area WHERE code IN ({marks})", part):
            out[r[0]] = Area(r[0], r[1], r[2], r[3], r[4], r[5], AreaStatus(r[6]))
    return out
