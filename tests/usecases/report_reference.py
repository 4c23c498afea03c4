"""The daily field report computed the plain way, for the tests: every row of the store read as
it is and the figures summed in Python, as the first version of the report did (before SQLite
counted them per enumerator and day, reading the period only). The report must give the same
rows."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from census.domain.model import Role
from census.storage.areas import subtree
from census.storage.store import Store
from census.usecases.field_reports import KEYS, Period


@dataclass
class _Day:
    dwellings: set[str] = field(default_factory=set)
    visits: int = 0
    refusals: int = 0
    no_contacts: int = 0
    kept: int = 0
    missed: int = 0
    completed: int = 0
    minutes: list[float] = field(default_factory=list)
    approved: int = 0
    returned: int = 0


def _median(values: list[float]) -> int | None:
    return round(statistics.median(values)) if values else None


def reference(store: Store, now: datetime, period: Period, *, area: str | None = None,
              enumerator: str | None = None, tolerance: int = 60) -> list[tuple[Any, ...]]:
    """The report's rows (values in KEYS order), computed from every stored row."""
    c = store.conn
    nobody = store.user if store.role is Role.ENUMERATOR else "-"
    only = store.user if store.role is Role.ENUMERATOR else enumerator
    scope = None if area is None else set(subtree(store, area))
    area_who = dict(c.execute("SELECT code, enumerator FROM area").fetchall())
    dwellings = {r[0]: (r[1], r[2]) for r in c.execute("SELECT id, area, enumerator FROM dwelling")}
    visits = c.execute("SELECT dwelling_id, attempt, at, outcome, callback_at, enumerator "
                       "FROM visit ORDER BY dwelling_id, attempt").fetchall()
    by_dwelling: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for v in visits:
        by_dwelling[v[0]].append(v)

    def inside(dwelling_id: str | None) -> bool:
        return dwelling_id in dwellings and (scope is None or dwellings[dwelling_id][0] in scope)

    def who(dwelling_id: str, code: str | None) -> str:
        d_area, d_who = dwellings[dwelling_id]
        return code or d_who or area_who.get(d_area) or nobody

    def household_who(dwelling_id: str) -> str:
        coded = [v for v in by_dwelling[dwelling_id] if v[5] is not None]
        coded.sort(key=lambda v: (v[3] == "completed", v[1]), reverse=True)
        return coded[0][5] if coded else who(dwelling_id, None)

    days: dict[tuple[str, date], _Day] = defaultdict(_Day)
    starts: dict[str, date] = {}
    slack = timedelta(minutes=tolerance)
    for dwelling_id, attempt, at, outcome, callback_at, code in visits:
        if not inside(dwelling_id):
            continue
        person = who(dwelling_id, code)
        when = datetime.fromisoformat(at)
        starts[person] = min(starts.get(person, when.date()), when.date())
        if when.date() in period:
            day = days[person, when.date()]
            day.dwellings.add(dwelling_id)
            day.visits += 1
            day.refusals += outcome == "refused"
            day.no_contacts += outcome == "no_one_home"
        if callback_at is not None and datetime.fromisoformat(callback_at).date() in period:
            due = datetime.fromisoformat(callback_at) + slack
            later = [datetime.fromisoformat(n[2]) for n in by_dwelling[dwelling_id]
                     if n[1] > attempt]
            state = ((min(later) <= due) if later else (False if now > due else None))
            if state is not None:
                day = days[person, datetime.fromisoformat(callback_at).date()]
                day.kept += state
                day.missed += not state
    for dwelling_id, completed_at in c.execute(
            "SELECT dwelling_id, completed_at FROM household WHERE completed_at IS NOT NULL"):
        done = datetime.fromisoformat(completed_at)
        if not inside(dwelling_id) or done.date() not in period:
            continue
        day = days[household_who(dwelling_id), done.date()]
        day.completed += 1
        if by_dwelling[dwelling_id]:
            first = min(datetime.fromisoformat(v[2]) for v in by_dwelling[dwelling_id])
            day.minutes.append(max(0.0, (done - first).total_seconds() / 60))
    for household_id, action, at in c.execute(
            "SELECT household_id, action, at FROM decision").fetchall():
        found = c.execute("SELECT dwelling_id FROM household WHERE id = ?",
                          (household_id,)).fetchone()
        dwelling_id = found[0] if found else None
        if scope is not None and not inside(dwelling_id):
            continue
        local = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone()
        if local.date() in period:
            person = household_who(dwelling_id) if inside(dwelling_id) else nobody
            day = days[person, local.date()]
            day.approved += action == "approved"
            day.returned += action == "returned"
    idle = {(person, d) for person, first in starts.items() for d in period.days()
            if first <= d < now.date() and not days.get((person, d), _Day()).visits}
    out: list[tuple[Any, ...]] = []
    people = sorted({k[0] for k in set(days) | idle if only is None or k[0] == only})
    for person in people:
        mine = sorted(d for p, d in set(days) | idle if p == person)
        rows = []
        for d in mine:
            x = days.get((person, d), _Day())
            rows.append((person, d.isoformat(), len(x.dwellings), x.completed, x.refusals,
                         x.no_contacts, x.kept, x.missed, _median(x.minutes), x.returned,
                         x.approved, int((person, d) in idle)))
        sums = [sum(r[i] or 0 for r in rows) for i in range(2, len(KEYS))]
        every = [m for d in mine for m in days.get((person, d), _Day()).minutes]
        sums[6] = _median(every)
        out += [*rows, (person, None, *sums)]
    return out
