"""A week of fieldwork with known times, for the tests of the daily field report: enumerator
E001 visits, keeps and misses appointments and completes forms from Monday 16 to Thursday 19
November 2026 (Wednesday idle); its supervisor S01 merges the bundle, approves one form and
returns another on Friday 20. The stored UTC stamps (audit log, saves, decisions) follow the
same fake clock as the visits, so every figure is known (see EXPECTED_*)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from census.domain.model import Outcome, ReturnReason
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.review import decide
from tests.usecases.fieldwork import EA1, Site, bundle

FRIDAY_NOON = datetime(2026, 11, 20, 12, 0)
FIRST, LAST = date(2026, 11, 16), date(2026, 11, 20)


class Clock:
    """The fake time of the week: what Entry's clock and every UTC stamp read."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 16, 8, 0)

    def __call__(self) -> datetime:
        return self.now

    def utc(self) -> str:
        return self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def at(self, month_day: tuple[int, int], hour: int, minute: int = 0) -> None:
        self.now = datetime(2026, month_day[0], month_day[1], hour, minute)


def week(monkeypatch: pytest.MonkeyPatch, sup: Site, enu: Site) -> dict[str, str]:
    """Run the week; the household id of each dwelling number (1-6) that has one."""
    clock = Clock()
    for module in ("census.usecases.intake", "census.storage.exchange.decisions",
                   "census.usecases.bundles", "census.usecases.review"):
        monkeypatch.setattr(f"{module}.utc_now", clock.utc)
    entry = Entry(enu.store, clock=clock)
    ids: dict[int, str] = {}
    households: dict[str, str] = {}

    def listed(n: int) -> str:
        saved = entry.add_dwelling(EA1, n, 1)
        assert saved.dwelling is not None, saved.problems
        ids[n] = saved.dwelling.id
        return ids[n]

    def visit(n: int, outcome: Outcome, callback: datetime | None = None) -> Any:
        saved = entry.record_visit(ids[n], outcome, callback)
        assert saved.dwelling is not None, saved.problems
        return saved.dwelling

    def complete(n: int, d: Any) -> None:
        h = d.households[0]
        saved = entry.save_household(ids[n], replace(h, residents={
            ("female", "25-34"): 1, ("male", "25-34"): 1}), complete=True)
        assert saved.ok, saved.problems
        households[str(n)] = h.id

    # Monday 16
    clock.at((11, 16), 9)
    listed(1)
    d = visit(1, Outcome.COMPLETED)
    clock.at((11, 16), 9, 30)
    complete(1, d)  # 30 minutes after the first visit
    clock.at((11, 16), 10)
    listed(2)
    visit(2, Outcome.NO_ONE_HOME, datetime(2026, 11, 17, 10, 0))  # appointment A
    clock.at((11, 16), 11)
    listed(3)
    visit(3, Outcome.REFUSED)
    clock.at((11, 16), 12)
    listed(4)
    visit(4, Outcome.CALLBACK, datetime(2026, 11, 17, 15, 0))  # appointment B
    # Tuesday 17: A kept at 10:30; B missed (next visit on Thursday)
    clock.at((11, 17), 10, 30)
    d = visit(2, Outcome.COMPLETED)
    clock.at((11, 17), 11, 20)
    complete(2, d)  # 1520 minutes after Monday 10:00
    clock.at((11, 17), 14)
    listed(5)
    visit(5, Outcome.NO_ONE_HOME)
    # Wednesday 18: idle. Thursday 19:
    clock.at((11, 19), 9)
    listed(6)
    d = visit(6, Outcome.COMPLETED)
    clock.at((11, 19), 9, 50)
    complete(6, d)  # 50 minutes
    clock.at((11, 19), 16)
    d = visit(4, Outcome.COMPLETED)
    clock.at((11, 19), 16, 40)
    complete(4, d)  # 4600 minutes after Monday 12:00
    # Friday 20: the supervisor merges, approves dwelling 1's form, returns dwelling 6's.
    clock.at((11, 20), 7)
    import_bundle(sup.store, bundle(enu), clock.now)
    clock.at((11, 20), 8)
    decide(sup.store, households["1"], "approved")
    clock.at((11, 20), 8, 30)
    decide(sup.store, households["6"], "returned", reason=ReturnReason.COUNTS_WRONG)
    return households


COLUMNS = ("date", "dwellings_visited", "households_completed", "refusals", "no_contacts",
           "appointments_kept", "appointments_missed", "median_minutes", "forms_returned",
           "forms_approved", "idle_days")
#: E001's own device on Friday at noon: each form counts on the day it was first completed,
#: its minutes from the first visit to that completion (device times).
EXPECTED_ENUMERATOR = [
    ("2026-11-16", 4, 1, 1, 1, 0, 0, 30, 0, 0, 0),
    ("2026-11-17", 2, 1, 0, 1, 1, 1, 1520, 0, 0, 0),
    ("2026-11-18", 0, 0, 0, 0, 0, 0, None, 0, 0, 1),
    ("2026-11-19", 2, 2, 0, 0, 0, 0, 2325, 0, 0, 0),
    (None, 8, 4, 1, 2, 1, 1, 785, 0, 0, 1),
]
#: The supervisor's database on Friday at noon: the same figures (each form came with its
#: first completion), and Friday's decisions.
EXPECTED_SUPERVISOR = [
    *EXPECTED_ENUMERATOR[:-1],
    ("2026-11-20", 0, 0, 0, 0, 0, 0, None, 1, 1, 0),
    (None, 8, 4, 1, 2, 1, 1, 785, 1, 1, 1),
]


def table(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The figures of report rows (as_dict) in COLUMNS order."""
    return [tuple(r[c] for c in COLUMNS) for r in rows]
