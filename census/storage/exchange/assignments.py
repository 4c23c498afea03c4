"""Taking an assignment from upstream, the SQL side: its areas (checked, then written parents
first) and the dwelling numbers handed back. Its returned forms go through the intake."""

from __future__ import annotations

import json
from collections.abc import Iterable

from census.formats.payload import Records
from census.i18n import _
from census.storage import audit
from census.storage.areas import area_levels
from census.storage.connection import StoreError
from census.storage.store import Store


class Refused(StoreError):
    """What a file holds cannot be taken as it stands; nothing was changed. The message says
    what is wrong; the caller puts the file's name before it."""


def check_assigned_areas(store: Store, recs: Records) -> None:
    """Refuse (Refused) an assignment whose areas would not fit this database, or whose
    returned forms cannot be read: the rows of a signed file from upstream are checked like
    any other input, so a wrong one gives a message, never a broken tree of areas or a database
    error. (Its returned forms are checked by the intake.)"""
    cfg = store.config
    levels = cfg.levels
    if recs.invalid:
        bad = recs.invalid[0]
        raise Refused(_("a returned form in it cannot be read ({why}); nothing was imported. "
                        "Ask your supervisor to send the assignment again.").format(
            why=bad.detail))
    stored = area_levels(store)
    given = {a.code: a for a in recs.areas}
    for a in recs.areas:
        if a.level not in levels:
            raise Refused(_("its area {code} has the level {level}, which this survey does not "
                            "have ({levels}); both levels must use the same survey config.")
                          .format(code=a.code, level=a.level, levels=", ".join(levels)))
        if a.code in stored and stored[a.code] != a.level:
            raise Refused(_("its area {code} is a {level} there but a {old} here; an area's "
                            "level never changes.").format(code=a.code, level=a.level,
                                                           old=stored[a.code]))
        depth = levels.index(a.level)
        above = levels[depth - 1] if depth else None
        if a.parent is None:
            if above is not None:
                raise Refused(_("its area {code} (a {level}) has no parent {above}.").format(
                    code=a.code, level=a.level, above=above))
            continue
        if above is None:
            raise Refused(_("its area {code} is a {level}, the top level, but has a parent "
                            "({parent}).").format(code=a.code, level=a.level, parent=a.parent))
        parent_level = given[a.parent].level if a.parent in given else stored.get(a.parent)
        if parent_level != above:
            raise Refused(_("its area {code} (a {level}) has the parent {parent}, which is "
                            "not a {above} known here.").format(
                code=a.code, level=a.level, parent=a.parent, above=above))


def apply_areas(store: Store, chain: audit.Chain, sender: str, recs: Records,
                me_enumerator: bool, now: str) -> tuple[int, int]:
    """Take the areas of an assignment from upstream (checked with `check_assigned_areas`);
    returns (added, updated)."""
    cfg = store.config
    conn = store.conn
    added = updated = 0
    stamp = now
    # Parents first, whatever the order in the file (a parent is of the level above).
    for a in sorted(recs.areas, key=lambda a: cfg.levels.index(a.level)):
        row = conn.execute("SELECT code, parent, level, name, expected_dwellings, enumerator "
                           "FROM area WHERE code = ?", (a.code,)).fetchone()
        if me_enumerator:  # an enumerator's device knows only its own areas as its own
            enumerator = a.enumerator if a.enumerator == store.user else None
        else:  # a supervisor keeps its own teams: the level above does not run them
            enumerator = row[5] if row is not None else a.enumerator
        new = (a.code, a.parent, a.level, a.name, a.expected_dwellings, enumerator)
        if row is not None and tuple(row) == new:
            continue
        if enumerator:
            conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)", (enumerator,))
        conn.execute("INSERT INTO area (code, parent, level, name, expected_dwellings, "
                     "enumerator) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
                     "parent = excluded.parent, level = excluded.level, name = excluded.name, "
                     "expected_dwellings = excluded.expected_dwellings, "
                     "enumerator = excluded.enumerator", new)
        chain.add([audit.Entry(stamp, sender, "area", a.code, "*",
                               None if row is None else json.dumps(list(row)),
                               json.dumps(list(new)))])
        if row is None:
            added += 1
        else:
            updated += 1
    store.levels_cache = None
    return added, updated


def forget_handed_over(store: Store, numbers: Iterable[tuple[str, int, int]]) -> None:
    """Dwellings handed over earlier and now back on the device (area, structure, number):
    counted once, as the records they are again."""
    store.conn.executemany("DELETE FROM handed_over WHERE area = ? AND structure = ? AND "
                           "number = ?", list(numbers))
