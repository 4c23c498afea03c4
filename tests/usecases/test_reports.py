"""The daily field report's figures: the counts per enumerator and day put together (appointments
kept and missed, medians, idle days, the totals), the chart's bars, and the report of real
databases (an enumerator's and its supervisor's) after a week of fieldwork with known times:
a form counts on the day of its first completion on both devices, the reader's time zone moves
no figure but decisions, SQLite's counts equal the plain Python computation, and every query
reads its period through an index."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from census.domain.model import Role
from census.i18n import cell_width
from census.storage.paradata import AppointmentDay, DecisionDay, FormDay, VisitDay
from census.storage.records import load_household
from census.storage.store import Store
from census.usecases.assign import assign_areas, import_assignment
from census.usecases.bundles import import_bundle
from census.usecases.demo import make_demo
from census.usecases.entry import Entry
from census.usecases.field_reports import (
    KEYS,
    Period,
    ReportError,
    assemble,
    bar,
    chart,
    field_report,
    median,
    shorten,
    text_table,
)
from tests.usecases.fieldwork import EA1, Site, bundle
from tests.usecases.report_reference import reference
from tests.usecases.reporting import (
    EXPECTED_ENUMERATOR,
    EXPECTED_SUPERVISOR,
    FIRST,
    FRIDAY_NOON,
    LAST,
    Clock,
    table,
    week,
)

NOON = datetime(2026, 11, 20, 12, 0)
WEEK = Period(date(2026, 11, 16), date(2026, 11, 20))
D16, D17, D18, D19 = (date(2026, 11, d) for d in (16, 17, 18, 19))


def rows_of(report: object) -> list[tuple[object, ...]]:
    return [tuple(f.as_dict().values()) for f in report.rows()]  # type: ignore[attr-defined]


@pytest.fixture
def zone() -> Iterator[object]:
    """Set this process's time zone (POSIX TZ strings: no time zone database needed); the
    zone before is restored after the test."""
    before = os.environ.get("TZ")

    def use(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    use("UTC0")
    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


# -- the pieces -------------------------------------------------------------------------------


def test_median_in_whole_minutes() -> None:
    assert median([]) is None
    assert median([30.0]) == 30
    assert median([30.0, 1520.0, 50.0, 4600.0]) == 785


def test_a_period_is_checked() -> None:
    assert Period.ending(date(2026, 11, 28), 14).first == date(2026, 11, 15)
    assert Period.ending(date(2026, 11, 28), 1).days() == [date(2026, 11, 28)]
    with pytest.raises(ReportError):
        Period(date(2026, 11, 20), date(2026, 11, 19))
    with pytest.raises(ReportError):
        Period.ending(date(2026, 11, 20), 0)
    with pytest.raises(ReportError):
        Period.ending(date(2026, 11, 20), 400)
    with pytest.raises(ReportError, match="at most 366 days"):
        Period.ending(date(2026, 11, 20), 10**9)


@pytest.mark.parametrize("make", [
    lambda: Period.ending(date(9999, 12, 31), 14),
    lambda: Period.ending(date(1, 1, 3), 5),
    lambda: Period(date(1, 1, 1), date(1, 1, 2)),
    lambda: Period.ending(date(2000, 1, 3), 5),
    lambda: Period(date(2099, 12, 30), date(2100, 1, 1)),
])
def test_days_outside_2000_to_2099_are_refused_with_a_message(make: object) -> None:
    with pytest.raises(ReportError, match="from 2000-01-01 to 2099-12-31"):
        make()  # type: ignore[operator]
    assert Period(date(2000, 1, 1), date(2000, 1, 1)).length == 1
    assert Period.ending(date(2099, 12, 31), 366).last == date(2099, 12, 31)


def test_long_codes_are_shortened_in_the_middle() -> None:
    assert shorten("E001", 10) == "E001"
    code = "R01-D01-ENUMERATOR-" + "X" * 17 + "0042"
    assert len(code) == 40
    short = shorten(code, 12)
    assert cell_width(short) == 12 and short.startswith("R01-D0") and short.endswith("0042")
    assert short.count("…") == 1
    assert cell_width(shorten("調査員調査員調査員", 7)) <= 7


def test_the_chart_draws_eighths_and_numbers_beside_the_bars() -> None:
    assert bar(0, 10, 20) == ""
    assert bar(10, 10, 20) == "█" * 20
    assert bar(5, 10, 3) == "█▌"
    assert bar(1, 1000, 10) == "▏"  # a form completed shows, however small
    lines = chart([(date(2026, 11, 16), 8), (date(2026, 11, 17), 0), (date(2026, 11, 18), 3)],
                  columns=16)
    assert lines == ["Mon 11-16 │████████████████ 8", "Tue 11-17 │ 0", "Wed 11-18 │██████ 3"]


@given(st.lists(st.integers(0, 500), min_size=14, max_size=14))
def test_chart_bars_grow_with_their_numbers_and_fit_80_columns(counts: list[int]) -> None:
    series = [(date(2026, 11, 15) + timedelta(days=i), n) for i, n in enumerate(counts)]
    lines = chart(series, columns=50)
    assert all(cell_width(line) <= 78 for line in lines)
    lengths = [len(line.split("│")[1].split(" ")[0]) for line in lines]
    for a, la in zip(counts, lengths, strict=True):
        for b, lb in zip(counts, lengths, strict=True):
            assert a >= b or la <= lb
    assert [int(line.rsplit(" ", 1)[1]) for line in lines] == counts


# -- putting the counts together ----------------------------------------------------------------


def test_figures_of_one_enumerator_per_day() -> None:
    report = assemble(
        [VisitDay("E1", D16, 4, 4, 1, 1), VisitDay("E1", D17, 1, 2, 0, 1)],
        [AppointmentDay("E1", D17, 1, 1)],
        [FormDay("E1", D16, 1, [30.0]), FormDay("E1", D17, 2, [1530.0])],
        [DecisionDay("E1", D18, 1, 0)],
        {"E1": "2026-11-16T09:00"}, WEEK, NOON)
    assert rows_of(report) == [
        # enumerator, day, visited, done, refused, absent, kept, missed, min, ret, appr, idle
        ("E1", "2026-11-16", 4, 1, 1, 1, 0, 0, 30, 0, 0, 0),
        ("E1", "2026-11-17", 1, 2, 0, 1, 1, 1, 1530, 0, 0, 0),
        ("E1", "2026-11-18", 0, 0, 0, 0, 0, 0, None, 0, 1, 1),
        ("E1", "2026-11-19", 0, 0, 0, 0, 0, 0, None, 0, 0, 1),
        ("E1", None, 5, 3, 1, 2, 1, 1, 780, 0, 1, 2),
    ]


def test_idle_days_start_with_the_first_visit_and_end_before_today() -> None:
    visits = [VisitDay("E1", date(2026, 11, 18), 1, 1, 1, 0)]
    report = assemble(visits, [], [], [], {"E1": "2026-11-18T09:00"}, WEEK, NOON)
    # Monday and Tuesday were before E1 started; Friday (today) is not over.
    assert [(r[1], r[-1]) for r in rows_of(report)] == [("2026-11-18", 0), ("2026-11-19", 1),
                                                        (None, 1)]
    report = assemble([], [], [], [], {"E1": "2026-10-01T09:00"}, WEEK, NOON)
    assert [r[-1] for r in rows_of(report)] == [1, 1, 1, 1, 4]


def test_one_enumerator_only() -> None:
    visits = [VisitDay("E1", D16, 1, 1, 0, 0), VisitDay("E2", D16, 1, 1, 0, 0),
              VisitDay("-", D16, 1, 1, 0, 0)]
    assert {r[0] for r in rows_of(assemble(visits, [], [], [], {}, WEEK, NOON))} == {
        "E1", "E2", "-"}
    assert {r[0] for r in rows_of(assemble(visits, [], [], [], {}, WEEK, NOON, only="E2"))} == {
        "E2"}


WHO = st.sampled_from(["E1", "E2", "-"])
DAY = st.sampled_from([WEEK.first + timedelta(days=i) for i in range(-2, 8)])
SMALL = st.integers(0, 5)


@given(st.lists(st.builds(VisitDay, WHO, DAY, SMALL, SMALL, SMALL, SMALL), max_size=12),
       st.lists(st.builds(AppointmentDay, WHO, DAY, SMALL, SMALL), max_size=8),
       st.lists(st.builds(FormDay, WHO, DAY, SMALL,
                          st.lists(st.floats(0, 5000), max_size=3)), max_size=8),
       st.lists(st.builds(DecisionDay, WHO, DAY, SMALL, SMALL), max_size=6))
def test_totals_are_the_sums_of_the_days(visits: list[VisitDay],
                                         appointments: list[AppointmentDay],
                                         forms: list[FormDay],
                                         decisions: list[DecisionDay]) -> None:
    report = assemble(visits, appointments, forms, decisions, {"E1": "2026-11-17T08:00"},
                      WEEK, NOON)
    for t in report.totals:
        mine = [f for f in report.days if f.enumerator == t.enumerator]
        for key in KEYS[2:]:
            if key != "median_minutes":
                assert getattr(t, key) == sum(getattr(f, key) for f in mine), key
    assert sum(t.households_completed for t in report.totals) == sum(
        f.completed for f in forms if f.day in WEEK)
    assert sum(t.forms_approved for t in report.totals) == sum(
        x.approved for x in decisions if x.day in WEEK)
    assert report.completed_per_day() == [
        (d, sum(f.households_completed for f in report.days if f.day == d)) for d in WEEK.days()]


# -- real databases -----------------------------------------------------------------------------


def test_a_week_of_fieldwork_on_both_devices(monkeypatch: pytest.MonkeyPatch,
                                            team: tuple[Site, Site]) -> None:
    sup, enu = team
    week(monkeypatch, sup, enu)
    period = Period(FIRST, LAST)
    mine = field_report(enu.store, FRIDAY_NOON, period)
    assert table([f.as_dict() for f in mine.rows()]) == EXPECTED_ENUMERATOR
    theirs = field_report(sup.store, FRIDAY_NOON, period)
    assert table([f.as_dict() for f in theirs.rows()]) == EXPECTED_SUPERVISOR
    assert {f.enumerator for f in theirs.rows()} == {"E001"}
    assert theirs.completed_per_day() == [(date(2026, 11, d), n)
                                          for d, n in [(16, 1), (17, 1), (18, 0), (19, 2),
                                                       (20, 0)]]
    assert all(cell_width(line) <= 80 for line in text_table(theirs))
    # The supervisor's areas can be narrowed; another district holds nothing.
    assert field_report(sup.store, FRIDAY_NOON, period, area="R01-D02").rows() == []
    assert field_report(sup.store, FRIDAY_NOON, period, area="R01-D01",
                        enumerator="E001").totals == theirs.totals
    with pytest.raises(ReportError, match="Unknown area"):
        field_report(sup.store, FRIDAY_NOON, period, area="R09")
    # An enumerator's device reports its user's figures only.
    with pytest.raises(ReportError, match="E001"):
        field_report(enu.store, FRIDAY_NOON, period, enumerator="E002")
    # The tolerance decides: 10:30 is 30 minutes after appointment A.
    strict = field_report(enu.store, FRIDAY_NOON, period, tolerance=15)
    assert (strict.totals[0].appointments_kept, strict.totals[0].appointments_missed) == (0, 2)


def test_an_unknown_enumerator_is_refused_with_where_it_was_looked_for(
        monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> None:
    sup, enu = team
    week(monkeypatch, sup, enu)
    period = Period(FIRST, LAST)
    with pytest.raises(ReportError, match="Unknown enumerator E999 in any area"):
        field_report(sup.store, FRIDAY_NOON, period, enumerator="E999")
    # E001 works in district R01-D01, not in R01-D02: unknown there.
    with pytest.raises(ReportError, match="E001 in area R01-D02 and below"):
        field_report(sup.store, FRIDAY_NOON, period, area="R01-D02", enumerator="E001")
    # Known, with nothing in the period: no rows.
    assert field_report(sup.store, FRIDAY_NOON, Period(date(2026, 1, 1), date(2026, 1, 5)),
                        enumerator="E001").rows() == []


def test_a_form_returned_and_completed_again_stays_on_its_first_day_on_both_devices(
        monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> None:
    sup, enu = team
    households = week(monkeypatch, sup, enu)
    saturday = datetime(2026, 11, 21, 12, 0)
    period = Period(FIRST, date(2026, 11, 21))

    def completed(store: Store) -> list[tuple[object, ...]]:
        """(day, households completed, median minutes) of each day with a completion."""
        return [(r[1], r[3], r[8]) for r in rows_of(field_report(store, saturday, period))
                if r[3]]

    first_days = [("2026-11-16", 1, 30), ("2026-11-17", 1, 1520), ("2026-11-19", 2, 2325),
                  (None, 4, 785)]
    assert completed(enu.store) == completed(sup.store) == first_days
    # The supervisor returned dwelling 6's form on Friday; the enumerator receives it.
    out = sup.out("assignment")
    assign_areas(sup.store, "E001", [EA1], enu.card(), out)
    import_assignment(enu.store, out)
    assert completed(enu.store) == first_days
    # Saturday: the enumerator corrects it (a draft while typing), then completes it again.
    clock = Clock()
    clock.at((11, 21), 9, 0)
    for module in ("census.usecases.intake", "census.usecases.bundles"):
        monkeypatch.setattr(f"{module}.utc_now", clock.utc)
    entry = Entry(enu.store, clock=clock)
    found = load_household(enu.store, households["6"])
    assert found is not None
    dwelling_id, h = found
    fixed = replace(h, residents={("female", "25-34"): 2, ("male", "25-34"): 1})
    assert entry.save_household(dwelling_id, fixed, complete=False).ok
    assert completed(enu.store) == first_days
    clock.at((11, 21), 9, 10)
    assert entry.save_household(dwelling_id, fixed, complete=True).ok
    assert completed(enu.store) == first_days
    # The supervisor merges the correction: still counted once, on Thursday.
    clock.at((11, 21), 10, 0)
    import_bundle(sup.store, bundle(enu), clock.now)
    assert sup.store.conn.execute("SELECT status FROM household WHERE id = ?",
                                  (households["6"],)).fetchone() == ("complete",)
    assert completed(sup.store) == first_days


def test_the_readers_time_zone_moves_no_figure_but_decisions(
        monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site], zone: object) -> None:
    sup, enu = team
    week(monkeypatch, sup, enu)  # recorded in UTC (the fixture's zone)
    period = Period(FIRST, LAST)
    expected = {"enu": EXPECTED_ENUMERATOR, "sup": EXPECTED_SUPERVISOR}
    for tz in ("JST-9", "EST5", "UTC0"):
        zone(tz)  # type: ignore[operator]
        for name, s in (("enu", enu), ("sup", sup)):
            report = field_report(s.store, FRIDAY_NOON, period)
            assert table([f.as_dict() for f in report.rows()]) == expected[name], (tz, name)
    # A decision is a UTC stamp, counted on the reader's day: 08:00 UTC on Friday is still
    # Thursday in Hawaii.
    zone("HST10")  # type: ignore[operator]
    rows = table([f.as_dict() for f in field_report(sup.store, FRIDAY_NOON, period).rows()])
    assert rows[3] == ("2026-11-19", 2, 2, 0, 0, 0, 0, 2325, 1, 1, 0)
    assert [r[0] for r in rows] == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19",
                                    None]


def test_sql_counts_equal_the_plain_python_computation_on_the_week(
        monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> None:
    sup, enu = team
    week(monkeypatch, sup, enu)
    for s in (enu, sup):
        for period in (Period(FIRST, LAST), Period(date(2026, 11, 17), date(2026, 11, 18)),
                       Period.ending(date(2026, 11, 30), 30)):
            for tolerance in (15, 60):
                assert rows_of(field_report(s.store, FRIDAY_NOON, period,
                                            tolerance=tolerance)) == reference(
                    s.store, FRIDAY_NOON, period, tolerance=tolerance)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ENUMERATOR])
def test_sql_counts_equal_the_plain_python_computation_on_a_demo(
        tmp_path: object, role: Role) -> None:
    now = datetime(2026, 11, 28, 19, 0)
    path = tmp_path / "demo.db"  # type: ignore[operator]
    make_demo(path, "demo-passphrase", 600, role, now)
    store = Store.open(path, "demo-passphrase")
    try:
        period = Period.ending(now.date(), 14)
        full = field_report(store, now, period)
        assert len({f.enumerator for f in full.rows()}) == (2 if role is Role.SUPERVISOR else 1)
        assert sum(t.households_completed for t in full.totals) > 500
        assert all(t.median_minutes is not None for t in full.totals)
        assert rows_of(full) == reference(store, now, period)
        for area, who in (("R01", None), ("R01-D01", None), (None, full.rows()[0].enumerator)):
            assert rows_of(field_report(store, now, period, area=area, enumerator=who)) == (
                reference(store, now, period, area=area, enumerator=who)), (area, who)
    finally:
        store.close()


#: Tables whose rows grow with the fieldwork: a report reads them through an index only.
BIG = ("visit", "household", "decision", "audit", "dwelling", "area")


#: What bounds each query to the period, and the index it must go through.
PERIOD_INDEX = {"v.at >=": "visit_at", "x.callback_at >=": "visit_callback",
                "h.completed_at >=": "household_completed", "x.at >=": "decision_at"}


def test_every_query_reads_its_period_through_an_index(monkeypatch: pytest.MonkeyPatch,
                                                      team: tuple[Site, Site]) -> None:
    sup, enu = team
    week(monkeypatch, sup, enu)
    for s, area in ((enu, None), (sup, None), (sup, "R01-D01"), (sup, "R01-D01-EA001")):
        statements: list[str] = []
        s.store.conn.set_trace_callback(statements.append)
        try:
            field_report(s.store, FRIDAY_NOON, Period(FIRST, LAST), area=area,
                         enumerator=s.store.user if s.store.role is Role.ENUMERATOR
                         else "E001")
        finally:
            s.store.conn.set_trace_callback(None)
        bounded = [q for q in statements if any(k in q for k in PERIOD_INDEX)]
        assert {next(i for k, i in PERIOD_INDEX.items() if k in q) for q in bounded} == set(
            PERIOD_INDEX.values())
        for sql in bounded:
            index = next(i for k, i in PERIOD_INDEX.items() if k in sql)
            plan = " ".join(r[3] for r in s.store.conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert re.search(rf"USING (COVERING )?INDEX {index} \(", plan), (sql, plan)
        selects = [q for q in statements if q.lstrip().upper().startswith(("SELECT", "WITH"))
                   and re.search(r"\b(visit|household|decision|audit)\b", q)]
        assert len(selects) >= 5
        for sql in selects:
            aliases = {m[1] or m[0] for m in re.findall(
                rf"\b({'|'.join(BIG)})\b(?:\s+(?:AS\s+)?(?!ON\b|WHERE\b|JOIN\b|LEFT\b|GROUP\b)"
                r"(\w+))?", sql)}
            plan = [r[3] for r in s.store.conn.execute("EXPLAIN QUERY PLAN " + sql)]
            scans = [p for p in plan if p.startswith("SCAN ")
                     and p.split()[1] in aliases | set(BIG)]
            assert scans == [], (sql, plan)
