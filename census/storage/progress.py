"""Coverage figures: per area and per enumerator, callbacks due, forms returned (exact counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from census.storage.areas import subtree
from census.storage.store import Store


@dataclass(frozen=True)
class ProgressRow:
    """Coverage of one area (operational counts of dwellings; exact)."""

    area: str
    name: str
    enumerator: str | None
    status: str
    expected: int | None
    listed: int
    visited: int
    completed: int
    callbacks_due: int
    refused: int
    vacant: int
    ineligible: int
    households: int
    persons: int
    last_activity: str | None = None
    handed_over: int = 0

    @property
    def response_rate(self) -> float | None:
        """Completed dwellings over eligible listed ones (vacant, gone, not dwellings excluded)."""
        eligible = self.listed - self.ineligible
        return round(100 * self.completed / eligible, 1) if eligible > 0 else None

    @property
    def refusal_rate(self) -> float | None:
        """Refused over visited dwellings, in percent."""
        return round(100 * self.refused / self.visited, 1) if self.visited else None

    @property
    def vacancy_rate(self) -> float | None:
        """Vacant over visited dwellings, in percent."""
        return round(100 * self.vacant / self.visited, 1) if self.visited else None

    @property
    def mean_household_size(self) -> float | None:
        """Usual residents per completed household."""
        return round(self.persons / self.households, 2) if self.households else None

    def days_idle(self, now: datetime) -> int | None:
        """Whole days since the last visit recorded in the area (None before the first)."""
        if not self.last_activity:
            return None
        return max(0, (now - datetime.fromisoformat(self.last_activity)).days)


def by_enumerator(rows: Sequence[ProgressRow]) -> list[ProgressRow]:
    """The same coverage summed per enumerator (`area` holds the enumerator code, `name` the
    number of areas); areas without an enumerator are summed under "-"."""
    groups: dict[str, list[ProgressRow]] = {}
    for r in rows:
        groups.setdefault(r.enumerator or "-", []).append(r)
    out = []
    for code, rs in sorted(groups.items()):
        expected = [r.expected for r in rs if r.expected is not None]
        last = max((r.last_activity for r in rs if r.last_activity), default=None)
        out.append(ProgressRow(
            area=code, name=str(len(rs)), enumerator=code, status="open"
            if any(r.status == "open" for r in rs) else "closed",
            expected=sum(expected) if expected else None,
            listed=sum(r.listed for r in rs), visited=sum(r.visited for r in rs),
            completed=sum(r.completed for r in rs),
            callbacks_due=sum(r.callbacks_due for r in rs),
            refused=sum(r.refused for r in rs), vacant=sum(r.vacant for r in rs),
            ineligible=sum(r.ineligible for r in rs), households=sum(r.households for r in rs),
            persons=sum(r.persons for r in rs), last_activity=last,
            handed_over=sum(r.handed_over for r in rs)))
    return out


def area_progress(store: Store, now: datetime, area: str | None = None) -> list[ProgressRow]:
    """Coverage per area that has dwellings or is of the lowest level."""
    tomorrow = (now.date() + timedelta(days=1)).isoformat() + "T00:00"
    lowest = store.config.levels[-1]
    scope = ""
    params: dict[str, Any] = {"tomorrow": tomorrow, "lowest": lowest}
    if area is not None:
        codes = subtree(store, area)
        params.update({f"a{i}": c for i, c in enumerate(codes)})
        scope = "AND a.code IN (" + ",".join(f":a{i}" for i in range(len(codes))) + ")"
    sql = f"""
WITH last AS (
  SELECT v.dwelling_id, v.outcome, v.callback_at, v.at FROM visit v
  JOIN (SELECT dwelling_id, max(attempt) AS attempt FROM visit GROUP BY dwelling_id) m
USING (dwelling_id, attempt)
), per_area AS (
  SELECT d.area,
count(*) AS listed,
sum(l.outcome IS NOT NULL) AS visited,
sum(l.outcome = 'completed') AS completed,
sum(l.outcome IN ('no_one_home', 'callback') AND l.callback_at IS NOT NULL
    AND l.callback_at < :tomorrow) AS callbacks_due,
sum(l.outcome = 'refused') AS refused,
sum(l.outcome = 'vacant') AS vacant,
sum(l.outcome IN ('vacant', 'not_found') OR d.occupancy = 'not_dwelling') AS ineligible,
max(l.at) AS last_activity
  FROM dwelling d LEFT JOIN last l ON l.dwelling_id = d.id GROUP BY d.area
), hh AS (
  SELECT area, count(*) AS households, sum(usual_residents) AS persons FROM household
  WHERE status IN ('complete', 'approved') GROUP BY area
), ho AS (
  -- dwellings handed over to the supervisor and purged from this device (enumerators)
  SELECT area, count(*) AS listed, sum(outcome = 'completed') AS completed,
sum(outcome = 'refused') AS refused, sum(outcome = 'vacant') AS vacant,
sum(outcome IN ('vacant', 'not_found')) AS ineligible, sum(households) AS households,
sum(persons) AS persons
  FROM handed_over GROUP BY area
)
SELECT a.code, a.name, a.enumerator, a.status, a.expected_dwellings,
  coalesce(p.listed, 0) + coalesce(ho.listed, 0),
  coalesce(p.visited, 0) + coalesce(ho.listed, 0),
  coalesce(p.completed, 0) + coalesce(ho.completed, 0),
  coalesce(p.callbacks_due, 0), coalesce(p.refused, 0) + coalesce(ho.refused, 0),
  coalesce(p.vacant, 0) + coalesce(ho.vacant, 0),
  coalesce(p.ineligible, 0) + coalesce(ho.ineligible, 0),
  coalesce(hh.households, 0) + coalesce(ho.households, 0),
  coalesce(hh.persons, 0) + coalesce(ho.persons, 0),
  p.last_activity, coalesce(ho.listed, 0)
FROM area a LEFT JOIN per_area p ON p.area = a.code LEFT JOIN hh ON hh.area = a.code
  LEFT JOIN ho ON ho.area = a.code
WHERE (a.level = :lowest OR p.area IS NOT NULL OR ho.area IS NOT NULL) {scope}
ORDER BY a.code"""
    return [ProgressRow(*r) for r in store.conn.execute(sql, params).fetchall()]


APPOINTMENT_DAYS = 7
"""How far ahead appointments are shown: overdue, today, tomorrow and up to this many days."""

WHEN = ("overdue", "today", "tomorrow", "later")
"""The groups of appointments, in order: before now, later today, tomorrow, and the days after
tomorrow up to APPOINTMENT_DAYS from today."""


@dataclass(frozen=True)
class Appointment:
    """A callback appointment: the newest visit of a dwelling left no one home or a callback."""

    area: str
    dwelling_id: str
    at: datetime
    structure: int
    number: int
    when: str
    """Its group (one of WHEN) at the time it was read."""


def when_group(at: datetime, now: datetime) -> str:
    """The group of an appointment at `at`, seen at `now` (one of WHEN)."""
    if at < now:
        return "overdue"
    days = (at.date() - now.date()).days
    return "today" if days == 0 else "tomorrow" if days == 1 else "later"


def _day(now: datetime, days: int) -> str:
    return (now.date() + timedelta(days=days)).isoformat() + "T00:00"


_OPEN_APPOINTMENT = (
    "FROM visit v JOIN dwelling d ON d.id = v.dwelling_id JOIN area a ON a.code = d.area "
    "WHERE v.callback_at < :until AND v.attempt = "
    "(SELECT max(attempt) FROM visit WHERE dwelling_id = v.dwelling_id) AND v.outcome IN "
    "('no_one_home', 'callback') AND (:who IS NULL OR a.enumerator = :who)")


def appointments(store: Store, now: datetime, limit: int = 100, enumerator: str | None = None,
                 days: int = APPOINTMENT_DAYS) -> list[Appointment]:
    """Open appointments before the end of the day `days` days from today (0: today), earliest
    first, overdue ones included; only in the areas of `enumerator` when given."""
    rows = store.conn.execute(
        "SELECT d.area, d.id, v.callback_at, d.structure, d.number " + _OPEN_APPOINTMENT
        + " ORDER BY v.callback_at LIMIT :limit",
        {"until": _day(now, days + 1), "who": enumerator, "limit": limit}).fetchall()
    found = []
    for area, did, at, structure, number in rows:
        when = datetime.fromisoformat(at)
        found.append(Appointment(area, did, when, structure, number, when_group(when, now)))
    return found


def appointment_counts(store: Store, now: datetime, enumerator: str | None = None,
                       days: int = APPOINTMENT_DAYS) -> dict[str, int]:
    """How many open appointments fall in each group of WHEN (every group present, 0 when
    none), up to the end of the day `days` days from today."""
    row = store.conn.execute(
        "SELECT coalesce(sum(v.callback_at < :now), 0), "
        "coalesce(sum(v.callback_at >= :now AND v.callback_at < :tomorrow), 0), "
        "coalesce(sum(v.callback_at >= :tomorrow AND v.callback_at < :after), 0), "
        "coalesce(sum(v.callback_at >= :after), 0) " + _OPEN_APPOINTMENT,
        {"now": now.isoformat(timespec="minutes"), "tomorrow": _day(now, 1),
         "after": _day(now, 2), "until": _day(now, days + 1), "who": enumerator}).fetchone()
    return dict(zip(WHEN, (int(x) for x in row), strict=True))


def callbacks_due(store: Store, now: datetime, limit: int = 100, enumerator: str | None = None
                  ) -> list[tuple[str, str, datetime, int, int]]:
    """(area, dwelling id, appointment, structure, dwelling number) of callbacks due before
    tomorrow, earliest first; only in the areas of `enumerator` when given."""
    return [(a.area, a.dwelling_id, a.at, a.structure, a.number)
            for a in appointments(store, now, limit, enumerator, days=0)]


def returned_households(store: Store, limit: int = 200, enumerator: str | None = None
                        ) -> list[tuple[str, str, int, int, int]]:
    """(area, dwelling id, structure, dwelling number, household number) of households
    returned for correction; only in the areas of `enumerator` when given."""
    rows = store.conn.execute(
        "SELECT d.area, d.id, d.structure, d.number, h.number FROM household h JOIN dwelling "
        "d ON d.id = h.dwelling_id JOIN area a ON a.code = d.area WHERE h.status = 'returned' "
        "AND (? IS NULL OR a.enumerator = ?) ORDER BY d.area, d.structure, d.number LIMIT ?",
        (enumerator, enumerator, limit)).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
