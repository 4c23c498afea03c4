"""The daily field report's figures: the pure computation over paradata rows (appointments kept
and missed, completion times and their sources, medians, idle days, the totals), the chart's
bars, and the report of real databases (an enumerator's and its supervisor's) after a week of
fieldwork with known times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from census.storage.paradata import DecisionRow, FormRow, VisitRow
from census.usecases.field_reports import (
    KEPT,
    KEYS,
    MISSED,
    Period,
    ReportError,
    appointment,
    bar,
    chart,
    completion,
    compute,
    field_report,
    local,
    median,
    text_table,
    width,
)
from tests.usecases.fieldwork import Site
from tests.usecases.reporting import (
    EXPECTED_ENUMERATOR,
    EXPECTED_SUPERVISOR,
    FIRST,
    FRIDAY_NOON,
    LAST,
    table,
    week,
)

NOON = datetime(2026, 11, 20, 12, 0)
WEEK = Period(date(2026, 11, 16), date(2026, 11, 20))
HOUR = timedelta(minutes=60)


def visit(at: str, outcome: str = "completed", dwelling: str = "d1", who: str | None = "E1",
          callback: str | None = None, next_at: str | None = None) -> VisitRow:
    return VisitRow(dwelling, at, outcome, callback, next_at, who)


def form(logged: str | None = None, status: str = "complete", updated: str | None = None,
         visited: str | None = None, first: str | None = None, who: str | None = "E1",
         hid: str = "h1", source: str | None = "E1") -> FormRow:
    return FormRow(hid, status, logged, source, updated, visited, first, who)


def run(visits: Sequence[VisitRow] = (), forms: Sequence[FormRow] = (),
        decisions: Sequence[DecisionRow] = (), starts: Mapping[str | None, str] | None = None,
        only: str | None = None, nobody: str = "-") -> list[tuple[object, ...]]:
    """The rows of the report over WEEK at NOON (times in UTC), as tuples in KEYS order."""
    report = compute(visits, forms, decisions, starts or {}, WEEK, NOON, tz=UTC, only=only,
                     nobody=nobody)
    return [tuple(f.as_dict().values()) for f in report.rows()]


# -- the pieces -------------------------------------------------------------------------------


def test_utc_stamps_become_local_time_and_local_times_stay() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert local("2026-11-16T08:30:00Z", plus_two) == datetime(2026, 11, 16, 10, 30)
    assert local("2026-11-16T23:30:00Z", plus_two) == datetime(2026, 11, 17, 1, 30)
    assert local("2026-11-16T10:30", plus_two) == datetime(2026, 11, 16, 10, 30)


def test_an_appointment_is_kept_up_to_the_tolerance_after_it() -> None:
    due = datetime(2026, 11, 17, 10, 0)
    assert appointment(due, due + HOUR, NOON, HOUR) == KEPT
    assert appointment(due, due - 5 * HOUR, NOON, HOUR) == KEPT  # an earlier visit keeps it
    assert appointment(due, due + HOUR + timedelta(minutes=1), NOON, HOUR) == MISSED
    # No visit since: missed once the tolerance has passed, else still open.
    assert appointment(due, None, due + HOUR + timedelta(minutes=1), HOUR) == MISSED
    assert appointment(due, None, due + HOUR, HOUR) is None


def test_completion_time_comes_from_the_audit_then_the_save_then_the_visit() -> None:
    assert completion(form("2026-11-16T09:30:00Z", updated="2026-11-18T09:00:00Z"), UTC) == (
        datetime(2026, 11, 16, 9, 30), True)
    assert completion(form(updated="2026-11-18T09:00:00Z", visited="2026-11-16T09:00"),
                      UTC) == (datetime(2026, 11, 18, 9, 0), True)
    # A form imported from a file here: its save is the import; its visit gives the day.
    assert completion(form(updated="2026-11-18T09:00:00Z", visited="2026-11-16T09:00",
                           source=None), UTC) == (datetime(2026, 11, 16, 9, 0), False)
    # An approved or returned form was saved again by the decision: its visit gives the day.
    assert completion(form(status="approved", updated="2026-11-20T08:00:00Z",
                           visited="2026-11-16T09:00"), UTC) == (
        datetime(2026, 11, 16, 9, 0), False)
    assert completion(form(status="approved"), UTC) is None


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


# -- the computation --------------------------------------------------------------------------


def test_figures_of_one_enumerator_per_day() -> None:
    rows = run(
        visits=[visit("2026-11-16T09:00", dwelling="a"),
                visit("2026-11-16T09:40", "refused", dwelling="b"),
                visit("2026-11-16T10:00", "no_one_home", dwelling="c",
                      callback="2026-11-17T10:00", next_at="2026-11-17T10:45"),
                visit("2026-11-16T11:00", "callback", dwelling="d",
                      callback="2026-11-17T15:00", next_at=None),
                visit("2026-11-17T10:45", dwelling="c"),
                visit("2026-11-17T11:00", "no_one_home", dwelling="c")],
        forms=[form("2026-11-16T09:30:00Z", first="2026-11-16T09:00"),
               form("2026-11-17T11:30:00Z", first="2026-11-16T10:00", hid="h2")],
        decisions=[DecisionRow("h1", "approved", "2026-11-18T08:00:00Z", "E1")],
        starts={"E1": "2026-11-16T09:00"})
    assert rows == [
        # enumerator, day, visited, done, refused, absent, kept, missed, min, ret, appr, idle
        ("E1", "2026-11-16", 4, 1, 1, 1, 0, 0, 30, 0, 0, 0),
        ("E1", "2026-11-17", 1, 1, 0, 1, 1, 1, 1530, 0, 0, 0),
        ("E1", "2026-11-18", 0, 0, 0, 0, 0, 0, None, 0, 1, 1),
        ("E1", "2026-11-19", 0, 0, 0, 0, 0, 0, None, 0, 0, 1),
        ("E1", None, 5, 2, 1, 2, 1, 1, 780, 0, 1, 2),
    ]


def test_idle_days_start_with_the_first_visit_and_end_before_today() -> None:
    rows = run(visits=[visit("2026-11-18T09:00", "refused")], starts={"E1": "2026-11-18T09:00"})
    # Monday and Tuesday were before E1 started; Friday (today) is not over.
    assert [(r[1], r[-1]) for r in rows] == [("2026-11-18", 0), ("2026-11-19", 1), (None, 1)]
    # Started before the period: every day of it before today without a visit is idle.
    rows = run(starts={"E1": "2026-10-01T09:00"})
    assert [(r[1], r[-1]) for r in rows] == [("2026-11-16", 1), ("2026-11-17", 1),
                                             ("2026-11-18", 1), ("2026-11-19", 1), (None, 4)]


def test_times_outside_the_period_are_left_out_and_utc_moves_a_completion_across_midnight(
        ) -> None:
    plus_two = timezone(timedelta(hours=2))
    report = compute([visit("2026-11-15T23:00"), visit("2026-11-21T08:00")],
                     [form("2026-11-15T22:30:00Z", first="2026-11-15T23:00")],  # 00:30 local
                     [], {}, WEEK, NOON, tz=plus_two)
    assert [(f.day, f.households_completed, f.median_minutes, f.dwellings_visited)
            for f in report.days] == [(date(2026, 11, 16), 1, 90, 0)]


def test_one_enumerator_and_rows_without_one() -> None:
    visits = [visit("2026-11-16T09:00", who="E1"), visit("2026-11-16T09:00", who="E2"),
              visit("2026-11-16T10:00", who=None, dwelling="x")]
    assert {r[0] for r in run(visits=visits)} == {"E1", "E2", "-"}
    assert {r[0] for r in run(visits=visits, only="E2")} == {"E2"}
    assert {r[0] for r in run(visits=visits, nobody="E1")} == {"E1", "E2"}
    assert run(visits=visits, only="E9") == []


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
    assert all(width(line) <= 78 for line in lines)
    lengths = [len(line.split("│")[1].split(" ")[0]) for line in lines]
    for a, la in zip(counts, lengths, strict=True):
        for b, lb in zip(counts, lengths, strict=True):
            assert a >= b or la <= lb
    assert [int(line.rsplit(" ", 1)[1]) for line in lines] == counts


# -- a property over any rows -------------------------------------------------------------------

DAYS = [WEEK.first + timedelta(days=i) for i in range(-2, 8)]
WHO = st.sampled_from(["E1", "E2", None])


@st.composite
def stamps(draw: st.DrawFn, utc: bool = False) -> str:
    day = draw(st.sampled_from(DAYS))
    t = datetime.combine(day, datetime.min.time()) + timedelta(minutes=draw(st.integers(0, 1439)))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if utc else t.strftime("%Y-%m-%dT%H:%M")


VISITS = st.builds(visit, stamps(), st.sampled_from(["completed", "refused", "no_one_home",
                                                     "callback", "vacant"]),
                   st.sampled_from(["a", "b", "c", "d"]), WHO,
                   st.one_of(st.none(), stamps()), st.one_of(st.none(), stamps()))
FORMS = st.builds(form, st.one_of(st.none(), stamps(utc=True)),
                  st.sampled_from(["complete", "returned", "approved"]),
                  st.one_of(st.none(), stamps(utc=True)), st.one_of(st.none(), stamps()),
                  st.one_of(st.none(), stamps()), WHO, st.just("h"),
                  st.sampled_from([None, "E1"]))
DECISIONS = st.builds(DecisionRow, st.just("h"), st.sampled_from(["approved", "returned"]),
                      stamps(utc=True), WHO)


@given(st.lists(VISITS, max_size=25), st.lists(FORMS, max_size=15),
       st.lists(DECISIONS, max_size=8), st.dictionaries(WHO, stamps(), max_size=3))
def test_totals_are_the_sums_of_the_days_and_every_event_is_counted_once(
        visits: list[VisitRow], forms: list[FormRow], decisions: list[DecisionRow],
        starts: dict[str | None, str]) -> None:
    report = compute(visits, forms, decisions, starts, WEEK, NOON, tz=UTC)
    assert [t.enumerator for t in report.totals] == sorted({f.enumerator for f in report.days})
    for t in report.totals:
        mine = [f for f in report.days if f.enumerator == t.enumerator]
        for key in KEYS[2:]:
            if key != "median_minutes":
                assert getattr(t, key) == sum(getattr(f, key) for f in mine), key
        medians = [f.median_minutes for f in mine if f.median_minutes is not None]
        if medians:
            assert t.median_minutes is not None
            assert min(medians) <= t.median_minutes <= max(medians)
        else:
            assert t.median_minutes is None
    in_period = [v for v in visits if local(v.at).date() in WEEK]
    assert sum(t.refusals for t in report.totals) == sum(v.outcome == "refused"
                                                         for v in in_period)
    assert sum(t.no_contacts for t in report.totals) == sum(v.outcome == "no_one_home"
                                                            for v in in_period)
    done = [c for f in forms if (c := completion(f, UTC)) is not None and c[0].date() in WEEK]
    assert sum(t.households_completed for t in report.totals) == len(done)
    assert sum(t.forms_approved + t.forms_returned for t in report.totals) == sum(
        local(x.at, UTC).date() in WEEK for x in decisions)
    due = [appointment(local(v.callback_at), v.next_at and local(v.next_at), NOON, HOUR)
           for v in visits if v.callback_at and local(v.callback_at).date() in WEEK]
    assert sum(t.appointments_kept for t in report.totals) == due.count(KEPT)
    assert sum(t.appointments_missed for t in report.totals) == due.count(MISSED)
    for f in report.days:
        assert f.day in WEEK and not (f.idle_days and f.dwellings_visited)
        assert f.idle_days == 0 or f.day < NOON.date()
        assert f.dwellings_visited <= 4
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
    assert all(width(line) <= 80 for line in text_table(theirs))
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
