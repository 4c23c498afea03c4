"""Appointments ahead: overdue, today, tomorrow and the days up to a week ahead, with counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from census.storage.progress import (
    APPOINTMENT_DAYS,
    WHEN,
    appointment_counts,
    appointments,
    when_group,
)
from census.storage.store import Store
from tests.helpers import dwelling, jsonl
from tests.storage.test_store import NOW, run_import


def visit(attempt: int, at: str, outcome: str, callback_at: str | None = None
          ) -> dict[str, Any]:
    v: dict[str, Any] = {"attempt": attempt, "at": at, "outcome": outcome}
    if callback_at:
        v["callback_at"] = callback_at
    return v


def test_appointments_ahead_are_grouped_and_counted(store: Store) -> None:
    # NOW is 2026-11-28 12:00 (a Saturday).
    run_import(store, jsonl(
        dwelling(1, households=[], visits=[visit(1, "2026-11-27T10:00", "no_one_home",
                                                 "2026-11-28T09:00")]),       # overdue
        dwelling(2, households=[], visits=[visit(1, "2026-11-27T10:00", "callback",
                                                 "2026-11-28T17:30")]),       # today
        dwelling(3, households=[], visits=[visit(1, "2026-11-27T10:00", "no_one_home",
                                                 "2026-11-29T08:00")]),       # tomorrow
        dwelling(4, households=[], visits=[visit(1, "2026-11-27T10:00", "callback",
                                                 "2026-12-02T10:00")]),       # in 4 days
        dwelling(5, households=[], visits=[visit(1, "2026-11-27T10:00", "callback",
                                                 "2026-12-05T23:59")]),       # the 7th day
        dwelling(6, households=[], visits=[visit(1, "2026-11-27T10:00", "callback",
                                                 "2026-12-06T00:00")]),       # too far
        dwelling(7, households=[], visits=[                                  # kept already
            visit(1, "2026-11-27T10:00", "no_one_home", "2026-11-29T10:00"),
            visit(2, "2026-11-28T11:00", "refused")]),
    ))
    found = appointments(store, NOW)
    assert [(a.structure, a.when) for a in found] == [
        (1, "overdue"), (2, "today"), (3, "tomorrow"), (4, "later"), (5, "later")]
    assert found[1].at == datetime(2026, 11, 28, 17, 30)
    assert appointment_counts(store, NOW) == {"overdue": 1, "today": 1, "tomorrow": 1,
                                              "later": 2}
    assert [a.structure for a in appointments(store, NOW, days=0)] == [1, 2]
    assert appointment_counts(store, NOW, enumerator="E999") == dict.fromkeys(WHEN, 0)
    assert [a.structure for a in appointments(store, NOW, limit=2)] == [1, 2]


@given(st.integers(min_value=-3 * 24 * 60, max_value=(APPOINTMENT_DAYS + 2) * 24 * 60))
def test_the_group_follows_the_calendar_day(minutes: int) -> None:
    at = NOW + timedelta(minutes=minutes)
    group = when_group(at, NOW)
    days = (at.date() - NOW.date()).days
    if at < NOW:
        assert group == "overdue"
    else:
        assert group == {0: "today", 1: "tomorrow"}.get(days, "later")
