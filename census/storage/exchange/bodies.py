"""What goes out: the records of a bundle, the areas and returned forms of an assignment, the
list of records held for a receipt."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from census.domain.model import (
    Dwelling,
    Household,
)
from census.domain.revisions import Base
from census.formats.payload import (
    area_row,
    completed_rows,
    dwelling_row,
    household_row,
    override_rows,
    visit_rows,
)
from census.storage.areas import all_areas, subtree
from census.storage.exchange.closeout import changed_states
from census.storage.keying import session_rows
from census.storage.records import (
    select_dwellings,
    select_households,
)
from census.storage.store import Store, in_query


def _dwelling_base(row: Sequence[Any]) -> Base | None:
    return Base(row[0], row[1]) if row[0] is not None else None


def records_body(store: Store, where_d: str, where_h: str, params: Sequence[Any] = ()
                 ) -> tuple[dict[str, Any], dict[str, int]]:
    """Payload rows of the dwellings and households selected by the two WHERE clauses."""
    cfg = store.config
    body: dict[str, list[Any]] = {"dwellings": [], "visits": [], "households": [],
                                  "overrides": [], "decisions": [], "completed": []}
    ids: list[str] = []
    for d in _select_dwellings(store, where_d, params):
        dw, base, updated_at = d
        body["dwellings"].append(dwelling_row(dw, base, updated_at))
        body["visits"] += visit_rows(dw)
        body["overrides"] += override_rows(dw.id, dw.overrides)
    for h, dwelling_id, base, updated_at, updated_by in _select_households(store, where_h,
                                                                          params):
        body["households"].append(household_row(h, dwelling_id, base, updated_at, updated_by,
                                                cfg))
        body["overrides"] += override_rows(h.id, h.overrides)
        body["completed"] += completed_rows(h)
        ids.append(h.id)
    for row in in_query(store,
            "SELECT household_id, revision, action, reason, note, rules, who, at FROM decision "
            "WHERE household_id IN ({marks}) ORDER BY household_id, revision", ids):
        body["decisions"].append(list(row))
    counts = {"dwellings": len(body["dwellings"]), "households": len(body["households"])}
    return body, counts


def _select_dwellings(store: Store, where: str, params: Sequence[Any]
                      ) -> list[tuple[Dwelling, Base | None, str]]:
    rows = store.conn.execute(f"SELECT id, base_rev, base_digest, updated_at FROM dwelling "
                              f"WHERE {where} ORDER BY id", params).fetchall()
    extra = {r[0]: (_dwelling_base(r[1:3]), r[3]) for r in rows}
    out = []
    for i in range(0, len(rows), 500):
        chunk = [r[0] for r in rows[i:i + 500]]
        marks = ",".join("?" * len(chunk))
        for d in select_dwellings(store, f"id IN ({marks})", chunk, with_households=False):
            base, updated_at = extra[d.id]
            out.append((d, base, updated_at))
    return out


def _select_households(store: Store, where: str, params: Sequence[Any]
                       ) -> list[tuple[Household, str, Base | None, str, str | None]]:
    rows = store.conn.execute(f"SELECT id, base_rev, base_digest, updated_at, updated_by FROM "
                              f"household WHERE {where} ORDER BY id", params).fetchall()
    extra = {r[0]: (_dwelling_base(r[1:3]), r[3], r[4]) for r in rows}
    out = []
    for i in range(0, len(rows), 500):
        chunk = [r[0] for r in rows[i:i + 500]]
        marks = ",".join("?" * len(chunk))
        for dwelling_id, h in select_households(store, f"h.id IN ({marks})", chunk):
            base, updated_at, updated_by = extra[h.id]
            out.append((h, dwelling_id, base, updated_at, updated_by))
    return out


def bundle_body(store: Store, everything: bool) -> tuple[dict[str, Any], dict[str, int]]:
    """Every record not yet acknowledged at its current revision (or every record)."""
    where = "1" if everything else "acked IS NULL OR acked < revision"
    body, counts = records_body(store, where, where)
    body["closed"] = [r[0] for r in store.conn.execute(
        "SELECT code FROM area WHERE status = 'closed' ORDER BY code")]
    # The operator sessions logged here and sent from below (a row each: counts, no keys).
    body["sessions"] = session_rows(store)
    # Each area's status as last changed here, numbered: closed, or reopened with its reason.
    body["area_states"] = [[s.code, str(s.status), s.rev, str(s.reason) if s.reason else None]
                           for s in changed_states(store)]
    # Who works each area, so the level above can follow progress per enumerator.
    body["enumerators"] = [list(r) for r in store.conn.execute(
        "SELECT code, enumerator FROM area WHERE enumerator IS NOT NULL ORDER BY code")]
    return body, counts


def assignment_body(store: Store, areas: Sequence[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """Areas (with their ancestors) and the forms returned for correction in them."""
    by_code = {a.code: a for a in all_areas(store)}
    codes: set[str] = set()
    for code in areas:
        codes.update(subtree(store, code))
        parent = by_code[code].parent
        while parent and parent not in codes:  # (stops even on a cycle of parents)
            codes.add(parent)
            parent = by_code[parent].parent
    levels = store.config.levels
    # Parents first: a parent is always of the level above its children.
    ordered = [area_row(by_code[c]) for c in sorted(
        codes, key=lambda c: (levels.index(by_code[c].level), c))]
    marks = ",".join("?" * len(codes)) or "NULL"
    returned_dwellings = (f"id IN (SELECT dwelling_id FROM household WHERE status = 'returned' "
                          f"AND area IN ({marks}))")
    body, counts = records_body(
        store, returned_dwellings,
        f"dwelling_id IN (SELECT dwelling_id FROM household WHERE status = 'returned' AND "
        f"area IN ({marks}))", [*sorted(codes)])
    body["areas"] = ordered
    counts["areas"] = len(ordered)
    counts["returned"] = sum(1 for row in body["households"] if row[3] == "returned")
    return body, counts




def held_from(store: Store, code: str) -> list[list[Any]]:
    """What this database holds of what `code` sent: (type, id, revision, digest) rows, for a
    receipt: the exact versions held as current, so the device may delete them. A version set
    aside in review (held, kept out or dismissed) is never acknowledged: it may exist nowhere
    else. One taken from review is: its content is the current record here."""
    out: list[list[Any]] = []
    for table in ("dwelling", "household"):
        out += [[table, *r] for r in store.conn.execute(
            f"SELECT id, revision, digest FROM {table} WHERE source = ? ORDER BY id", (code,))]
    out += [list(r) for r in store.conn.execute(
        "SELECT record_type, record_id, revision, digest FROM review WHERE source = ? AND "
        "resolution = 'took_incoming' ORDER BY id", (code,))]
    # A household approved or returned here is a new revision made here; the version it came
    # as is held too (it is what the sender has).
    out += [["household", *r] for r in store.conn.execute(
        "SELECT household_id, prior_rev, prior_digest FROM decision WHERE prior_source = ? "
        "AND prior_digest IS NOT NULL ORDER BY household_id, revision", (code,))]
    return out
