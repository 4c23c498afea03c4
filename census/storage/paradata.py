"""Paradata for the daily field reports, counted by SQLite per enumerator and day: visits and
their outcomes, appointments kept and missed, forms completed (with the minutes each took, for
the median), decisions; and each enumerator's first visit ever (idle days). Read from stored
times only (visits' `at` and `callback_at`, households' `completed_at`, decisions' `at`);
nothing about a person is read. `census.usecases.field_reports` puts the figures together.

Times: a visit's and a completion's are the local time of the device that recorded them
(`2026-11-20T10:00`), so their day is the one written there, whatever computer reads them;
a decision's is UTC (`2026-11-20T09:12:40Z`) and counts on this computer's local day (SQLite's
`localtime`, the process's time zone). Each query reads its period only, through an index
(visit `at` and `callback_at`, household `completed_at`, decision `at`); first visits are found
one enumerator at a time through the index on visit (enumerator, at).

Who did the work (the enumerator of a row): the code on the visit, else the dwelling's (who
listed it), else the area's assigned enumerator; `nobody` when none is known.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from census.storage.store import Store


@dataclass(frozen=True)
class VisitDay:
    """An enumerator's visits on one day: distinct dwellings, visits, refusals, no one home."""

    enumerator: str
    day: date
    dwellings: int
    visits: int
    refusals: int
    no_contacts: int


@dataclass(frozen=True)
class AppointmentDay:
    """Appointments due on one day made by an enumerator's visits, kept and missed."""

    enumerator: str
    day: date
    kept: int
    missed: int


@dataclass(frozen=True)
class FormDay:
    """Forms first completed on one day, by enumerator, and the minutes from the first visit
    to their dwelling to each completion (forms of dwellings with a visit only)."""

    enumerator: str
    day: date
    completed: int
    minutes: list[float]


@dataclass(frozen=True)
class DecisionDay:
    """Approvals and returns decided on one local day on an enumerator's forms."""

    enumerator: str
    day: date
    approved: int
    returned: int


def _scope(areas: Sequence[str] | None, column: str) -> tuple[str, dict[str, Any]]:
    """An SQL condition keeping the rows whose `column` is one of `areas` (all rows when None),
    one parameter. A column written `+column` only filters: the period's index leads."""
    if areas is None:
        return "", {}
    return (f"AND {column} IN (SELECT value FROM json_each(:areas))",
            {"areas": json.dumps(list(areas))})


def _dwelling(dwelling_id: str) -> str:
    """The enumerator of a dwelling (who listed it, else its area's), looked up only when asked
    (the visits of the app name theirs: most rows never need it)."""
    return (f"(SELECT coalesce(d.enumerator, (SELECT a.enumerator FROM area a WHERE a.code = "
            f"d.area)) FROM dwelling d WHERE d.id = {dwelling_id})")


def _in_areas(dwelling_id: str) -> str:
    """The area of a dwelling, for `_scope`."""
    return f"+(SELECT d.area FROM dwelling d WHERE d.id = {dwelling_id})"


_WHO = f"coalesce(v.enumerator, {_dwelling('v.dwelling_id')}, :nobody)"


def _household_who(dwelling_id: str) -> str:
    """The enumerator of a household: who made the last completed visit to its dwelling (else
    the last visit), else the dwelling's, else the area's."""
    return f"""coalesce(
  (SELECT w.enumerator FROM visit w WHERE w.dwelling_id = {dwelling_id}
   AND w.enumerator IS NOT NULL ORDER BY w.outcome = 'completed' DESC, w.attempt DESC LIMIT 1),
  {_dwelling(dwelling_id)}, :nobody)"""


#: The period's visits are found through the index on visit (at).
VISITS = f"""
SELECT {_WHO} AS who, substr(v.at, 1, 10) AS day, count(DISTINCT v.dwelling_id), count(*),
  sum(v.outcome = 'refused'), sum(v.outcome = 'no_one_home')
FROM visit v
WHERE v.at >= :lo AND v.at < :hi {{scope}}
GROUP BY who, day"""

#: An appointment is kept when the dwelling's next visit came at the latest `slack` after it
#: (earlier ones too), missed when it came later, or when none came and `now` is past that.
APPOINTMENTS = f"""
SELECT who, day, sum(state = 'kept'), sum(state = 'missed') FROM (
  SELECT {_WHO} AS who, substr(v.callback_at, 1, 10) AS day,
    CASE WHEN v.nxt IS NOT NULL THEN CASE WHEN v.nxt <= v.due THEN 'kept' ELSE 'missed' END
         WHEN :now > v.due THEN 'missed' END AS state
  FROM (SELECT x.dwelling_id, x.enumerator, x.callback_at,
          strftime('%Y-%m-%dT%H:%M:%S', x.callback_at, :slack) AS due,
          (SELECT strftime('%Y-%m-%dT%H:%M:%S', min(n.at)) FROM visit n
           WHERE n.dwelling_id = x.dwelling_id AND n.attempt > x.attempt) AS nxt
        FROM visit x WHERE x.callback_at >= :lo AND x.callback_at < :hi) v
  WHERE 1 {{scope}}
) GROUP BY who, day"""

#: The period's forms are found through the index on household (completed_at);
#: the forms are then taken in the order of their dwellings, so that their visits are read in
#: the order they are stored, not a page here and a page there (14.6 s instead of 3.2 s for a
#: million forms).
FORMS = f"""
WITH f AS MATERIALIZED (
  SELECT h.dwelling_id, h.completed_at FROM household h
  WHERE h.completed_at >= :lo AND h.completed_at < :hi {{scope}} ORDER BY h.dwelling_id)
SELECT who, day, count(*), json_group_array(minutes) FROM (
  SELECT {_household_who('f.dwelling_id')} AS who, substr(f.completed_at, 1, 10) AS day,
    round((julianday(f.completed_at) - julianday(
      (SELECT min(v.at) FROM visit v WHERE v.dwelling_id = f.dwelling_id))) * 1440, 3) AS minutes
  FROM f
) GROUP BY who, day"""

DECISIONS = f"""
SELECT {_household_who('h.dwelling_id')} AS who, date(x.at, 'localtime') AS day,
  sum(x.action = 'approved'), sum(x.action = 'returned')
FROM decision x LEFT JOIN household h ON h.id = x.household_id
WHERE x.at >= :lo AND x.at < :hi {{scope}}
GROUP BY who, day"""

#: Each code on visits, found by walking the index on visit (enumerator, at) from one code to
#: the next, with its first visit; then the visits without a code, by their dwelling's or
#: area's enumerator.
FIRST_VISITS = f"""
WITH RECURSIVE code(c) AS (
  SELECT (SELECT min(enumerator) FROM visit)
  UNION ALL
  SELECT (SELECT min(enumerator) FROM visit WHERE enumerator > c) FROM code WHERE c IS NOT NULL
)
SELECT c, (SELECT min(at) FROM visit WHERE enumerator = c) FROM code WHERE c IS NOT NULL
UNION ALL
SELECT coalesce({_dwelling('v.dwelling_id')}, :nobody) AS who, min(v.at)
FROM visit v WHERE v.enumerator IS NULL GROUP BY who"""

#: In some areas only: their visits, dwelling by dwelling.
FIRST_VISITS_IN = """
SELECT coalesce(v.enumerator, d.enumerator, a.enumerator, :nobody) AS who, min(v.at)
FROM area a JOIN dwelling d ON d.area = a.code JOIN visit v ON v.dwelling_id = d.id
WHERE 1 {scope} GROUP BY who"""

KNOWN = """
SELECT EXISTS (SELECT 1 FROM area a WHERE a.enumerator = :code {scope})
    OR EXISTS (SELECT 1 FROM visit v JOIN dwelling d ON d.id = v.dwelling_id
               WHERE v.enumerator = :code {dwelling_scope})"""


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _bounds(first: date, last: date) -> dict[str, str]:
    """Local times from the start of `first` to the start of the day after `last`."""
    return {"lo": first.isoformat(), "hi": date.fromordinal(last.toordinal() + 1).isoformat()}


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


def visits(store: Store, first: date, last: date, areas: Sequence[str] | None = None,
           nobody: str = "-") -> list[VisitDay]:
    """Visits made from `first` to `last`, per enumerator and day (a query per day: SQLite
    holds one day's visits at a time to count them)."""
    scope, params = _scope(areas, _in_areas("v.dwelling_id"))
    sql = VISITS.format(scope=scope)
    return [VisitDay(r[0], _day(r[1]), *r[2:]) for day in _days(first, last)
            for r in store.conn.execute(sql, {**_bounds(day, day), "nobody": nobody,
                                              **params})]


def appointments(store: Store, first: date, last: date, now: datetime, tolerance: int,
                 areas: Sequence[str] | None = None, nobody: str = "-") -> list[AppointmentDay]:
    """Appointments due from `first` to `last`, kept or missed (`tolerance` minutes after
    them; by `now`, local), per enumerator who made them and day."""
    scope, params = _scope(areas, _in_areas("v.dwelling_id"))
    rows = store.conn.execute(APPOINTMENTS.format(scope=scope), {
        **_bounds(first, last), "now": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "slack": f"+{int(tolerance)} minutes", "nobody": nobody, **params})
    return [AppointmentDay(r[0], _day(r[1]), r[2], r[3]) for r in rows]


def forms(store: Store, first: date, last: date, areas: Sequence[str] | None = None,
          nobody: str = "-") -> list[FormDay]:
    """Forms first completed from `first` to `last` (whatever their status now), per
    enumerator and day."""
    scope, params = _scope(areas, "+h.area")
    rows = store.conn.execute(FORMS.format(scope=scope),
                              {**_bounds(first, last), "nobody": nobody, **params})
    return [FormDay(r[0], _day(r[1]), r[2],
                    [max(0.0, m) for m in json.loads(r[3]) if m is not None]) for r in rows]


def decisions(store: Store, lo: str, hi: str, areas: Sequence[str] | None = None,
              nobody: str = "-") -> list[DecisionDay]:
    """Approvals and returns decided between the UTC stamps `lo` and `hi` (kept here, or
    received), per enumerator and local day."""
    scope, params = _scope(areas, "+h.area")
    rows = store.conn.execute(DECISIONS.format(scope=scope),
                              {"lo": lo, "hi": hi, "nobody": nobody, **params})
    return [DecisionDay(r[0], _day(r[1]), r[2], r[3]) for r in rows]


def first_visits(store: Store, areas: Sequence[str] | None = None, nobody: str = "-"
                 ) -> dict[str, str]:
    """The time of each enumerator's first visit ever (in `areas`)."""
    if areas is None:
        rows = store.conn.execute(FIRST_VISITS, {"nobody": nobody}).fetchall()
    else:
        scope, params = _scope(areas, "a.code")
        rows = store.conn.execute(FIRST_VISITS_IN.format(scope=scope),
                                  {"nobody": nobody, **params}).fetchall()
    out: dict[str, str] = {}
    for who, at in rows:
        if at is not None and (who not in out or at < out[who]):
            out[who] = at
    return out


def enumerator_known(store: Store, code: str, areas: Sequence[str] | None = None) -> bool:
    """True when `code` is assigned an area of `areas` (all when None) or visited there."""
    scope, params = _scope(areas, "a.code")
    dwelling_scope, _params = _scope(areas, "d.area")
    row = store.conn.execute(KNOWN.format(scope=scope, dwelling_scope=dwelling_scope),
                             {"code": code, **params}).fetchone()
    return bool(row[0])
