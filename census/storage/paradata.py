"""Paradata for the daily field reports: when dwellings were visited and appointments made, when
household forms were completed, approved or returned. Read from stored timestamps only (visits'
`at` and `callback_at`, the audit log, decisions); nothing about a person is read.

Plain rows, as stored: visits' times are the device's local time (`2026-11-20T10:00`), the
audit's, decisions' and `updated_at` are UTC (`2026-11-20T09:12:40Z`). The figures are computed
by `census.usecases.field_reports`, which converts the times and filters them exactly; the
bounds `lo`/`hi` here are ISO texts, widened by the caller by a day on each side so that no
time zone puts a row on the wrong side of them.

Who did the work (the enumerator of a row): the code on the visit, else the dwelling's (who
listed it), else the area's assigned enumerator; None when none is known.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from census.storage.store import Store


@dataclass(frozen=True)
class VisitRow:
    """One visit: its dwelling, time, outcome, the appointment it made (if any), the time of the
    dwelling's next visit (only for a visit that made an appointment) and who made it."""

    dwelling_id: str
    at: str
    outcome: str
    callback_at: str | None
    next_at: str | None
    enumerator: str | None


@dataclass(frozen=True)
class FormRow:
    """A household form that was completed once (status complete, returned or approved), with
    the stored times its completion can be read from: `logged`, the first audit entry here that
    changed its status to complete (UTC; on the device where it was completed in the app);
    `source`, the device it was received from (None: written here) and `updated_at`, the time
    of its last save (UTC; the sender's for a received form); `completed_visit`, the latest
    visit to its dwelling with outcome completed (local); `first_visit`, the first visit to its
    dwelling (local)."""

    household_id: str
    status: str
    logged: str | None
    source: str | None
    updated_at: str | None
    completed_visit: str | None
    first_visit: str | None
    enumerator: str | None


@dataclass(frozen=True)
class DecisionRow:
    """An approval or return of a household (time in UTC) and the household's enumerator."""

    household_id: str
    action: str
    at: str
    enumerator: str | None


def _scope(areas: Sequence[str] | None, column: str = "a.code") -> tuple[str, dict[str, Any]]:
    """An SQL condition keeping the rows of `areas` (all rows when None), one parameter."""
    if areas is None:
        return "", {}
    return (f"AND {column} IN (SELECT value FROM json_each(:areas))",
            {"areas": json.dumps(list(areas))})


_WHO = "coalesce(v.enumerator, d.enumerator, a.enumerator)"
#: The enumerator of a household: who made the last completed visit to its dwelling (else the
#: last visit), else the dwelling's, else the area's.
_HOUSEHOLD_WHO = """coalesce(
  (SELECT w.enumerator FROM visit w WHERE w.dwelling_id = h.dwelling_id
   AND w.enumerator IS NOT NULL ORDER BY w.outcome = 'completed' DESC, w.attempt DESC LIMIT 1),
  d.enumerator, a.enumerator)"""


def visits(store: Store, lo: str, hi: str, areas: Sequence[str] | None = None
           ) -> list[VisitRow]:
    """Visits made between `lo` and `hi`, or whose appointment falls between them."""
    scope, params = _scope(areas)
    sql = f"""
SELECT v.dwelling_id, v.at, v.outcome, v.callback_at,
  CASE WHEN v.callback_at IS NOT NULL THEN
    (SELECT min(n.at) FROM visit n WHERE n.dwelling_id = v.dwelling_id AND n.attempt > v.attempt)
  END,
  {_WHO}
FROM visit v JOIN dwelling d ON d.id = v.dwelling_id JOIN area a ON a.code = d.area
WHERE ((v.at >= :lo AND v.at < :hi) OR (v.callback_at >= :lo AND v.callback_at < :hi)) {scope}
ORDER BY v.at"""
    return [VisitRow(*r) for r in store.conn.execute(sql, {"lo": lo, "hi": hi, **params})]


def first_visits(store: Store, areas: Sequence[str] | None = None) -> dict[str | None, str]:
    """The time of each enumerator's first visit ever (in `areas`)."""
    scope, params = _scope(areas)
    sql = f"""
SELECT {_WHO} AS who, min(v.at) FROM visit v JOIN dwelling d ON d.id = v.dwelling_id
JOIN area a ON a.code = d.area WHERE 1 {scope} GROUP BY who"""
    return {r[0]: r[1] for r in store.conn.execute(sql, params)}


def completed_forms(store: Store, lo: str, hi: str, areas: Sequence[str] | None = None
                    ) -> list[FormRow]:
    """Household forms completed once whose completion time (the first of: the audit entry,
    the last save of a complete form received, the completed visit) lies between `lo` and
    `hi`."""
    scope, params = _scope(areas)
    sql = f"""
WITH done AS (
  SELECT record_id AS id, min(at) AS at FROM audit
  WHERE record_type = 'household' AND field = 'status' AND new = 'complete'
  GROUP BY record_id
), forms AS (
  SELECT h.id, h.status, done.at AS logged, h.source, h.updated_at,
    (SELECT max(v.at) FROM visit v WHERE v.dwelling_id = h.dwelling_id
     AND v.outcome = 'completed') AS completed_visit,
    (SELECT min(v.at) FROM visit v WHERE v.dwelling_id = h.dwelling_id) AS first_visit,
    {_HOUSEHOLD_WHO} AS who
  FROM household h JOIN dwelling d ON d.id = h.dwelling_id JOIN area a ON a.code = h.area
  LEFT JOIN done ON done.id = h.id
  WHERE h.status IN ('complete', 'returned', 'approved') {scope}
)
SELECT * FROM forms
WHERE coalesce(logged, CASE WHEN status = 'complete' AND source IS NOT NULL THEN updated_at
                        END, completed_visit) >= :lo
  AND coalesce(logged, CASE WHEN status = 'complete' AND source IS NOT NULL THEN updated_at
                        END, completed_visit) < :hi
ORDER BY id"""
    return [FormRow(*r) for r in store.conn.execute(sql, {"lo": lo, "hi": hi, **params})]


def decisions(store: Store, lo: str, hi: str, areas: Sequence[str] | None = None
              ) -> list[DecisionRow]:
    """Approvals and returns decided between `lo` and `hi` (kept here, or received)."""
    scope, params = _scope(areas)
    sql = f"""
SELECT x.household_id, x.action, x.at, {_HOUSEHOLD_WHO}
FROM decision x LEFT JOIN household h ON h.id = x.household_id
LEFT JOIN dwelling d ON d.id = h.dwelling_id LEFT JOIN area a ON a.code = h.area
WHERE x.at >= :lo AND x.at < :hi {scope}
ORDER BY x.at"""
    return [DecisionRow(*r) for r in store.conn.execute(sql, {"lo": lo, "hi": hi, **params})]
