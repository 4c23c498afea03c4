"""The Reports screen driven with Pilot at 80×24, on the supervisor's database after a week of
fieldwork with known times: the table per enumerator and day (as many rows as it shows at a
time), the bar chart of households completed per day over the last 14 days, Tab between them,
Escape back; the report computed in a worker thread on a connection of its own, "Computing…"
meanwhile."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from census.tui.app import CensusApp
from census.tui.screens import reports
from census.tui.screens.reports import ReportsScreen
from census.usecases.field_reports import Figures, Period, Report
from tests.tui import driving
from tests.tui.driving import press, texts
from tests.usecases.fieldwork import Site
from tests.usecases.reporting import FRIDAY_NOON, week


async def settled(app: CensusApp, pilot: Pilot[None]) -> None:
    """Wait for the report's worker thread and for what it hands back to the app."""
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def supervisor_db(monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> Path:
    """The supervisor's database after the week of tests.usecases.reporting."""
    sup, enu = team
    week(monkeypatch, sup, enu)
    return Path(sup.store.path)


def rows(app: CensusApp) -> list[list[str]]:
    table = app.screen.query_one("#report-table", DataTable)
    return [[c.strip() for c in texts(table.get_row_at(i))] for i in range(table.row_count)]


def test_table_chart_and_back(supervisor_db: Path) -> None:
    seen: dict[str, object] = {}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        home = app.screen
        app.push_screen(ReportsScreen())
        await settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        seen["title"] = str(screen.query_one("#report-title").render())
        seen["rows"] = rows(app)
        table = screen.query_one("#report-table", DataTable)
        seen["table width"] = table.virtual_size.width
        seen["region"] = (table.region.right, screen.query_one("#report-pager").region.bottom)
        await press(pilot, "tab")
        chart = screen.query_one("#report-chart", Static)
        seen["chart"] = str(chart.render()).splitlines()
        seen["chart bottom"] = chart.region.bottom
        seen["pager"] = str(screen.query_one("#report-pager").render())
        await press(pilot, "tab")
        seen["back to table"] = screen.query_one("#report-table", DataTable).display
        await press(pilot, "escape")
        seen["home again"] = app.screen is home

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    assert seen["title"] == ("Daily field report, 2026-11-07 to 2026-11-20 (14 days); all "
                             "areas")
    assert seen["rows"] == [
        ["E001", "11-16", "4", "1", "1", "1", "0", "0", "30", "0", "0", "0"],
        ["E001", "11-17", "2", "1", "0", "1", "1", "1", "1520", "0", "0", "0"],
        ["E001", "11-18", "0", "0", "0", "0", "0", "0", "-", "0", "0", "1"],
        ["E001", "11-19", "2", "2", "0", "0", "0", "0", "2325", "0", "0", "0"],
        ["E001", "11-20", "0", "0", "0", "0", "0", "0", "-", "1", "1", "0"],
        ["E001", "total", "8", "4", "1", "2", "1", "1", "785", "1", "1", "1"],
    ]
    # Everything fits 80×24: the table's columns and the chart need no sideways scrolling.
    assert seen["table width"] <= 78
    right, bottom = seen["region"]  # type: ignore[misc]
    assert right <= 80 and bottom <= 23
    chart = seen["chart"]
    assert isinstance(chart, list)
    assert chart[0] == "Households completed per day, 2026-11-07 to 2026-11-20"
    bars = chart[2:16]
    assert bars[0].startswith("Sat 11-07 │") and bars[0].endswith(" 0")
    assert bars[9].startswith("Mon 11-16 │") and bars[9].endswith(" 1")
    assert bars[12].startswith("Thu 11-19 │") and bars[12].endswith(" 2")
    # The busiest day's bar is the longest; the others are drawn to scale, in eighths.
    thursday = bars[12].split("│")[1].split(" ")[0]
    monday = bars[9].split("│")[1].split(" ")[0]
    assert set(thursday) == {"█"} and len(monday) * 2 in (len(thursday), len(thursday) + 1)
    assert chart[-1] == "4 households completed in 14 days"
    assert all(len(line) <= 78 for line in chart)
    assert seen["chart bottom"] <= 23  # type: ignore[operator]
    assert seen["pager"] == "Tab: back to the table."
    assert seen["back to table"] is True
    assert seen["home again"] is True


def many_rows(period: Period, enumerators: int = 6) -> Report:
    """A report of `enumerators` enumerators with a row for each day of `period`."""
    days = [Figures(f"E{i:03d}", d, dwellings_visited=i * 100 + n)
            for i in range(1, enumerators + 1) for n, d in enumerate(period.days())]
    totals = [Figures(f"E{i:03d}", None) for i in range(1, enumerators + 1)]
    return Report(period, days, totals)


def test_pgdn_at_80x24_shows_the_next_rows_and_the_table_fills_the_screen(
        monkeypatch: pytest.MonkeyPatch, supervisor_db: Path) -> None:
    monkeypatch.setattr(reports, "field_report",
                        lambda store, now, period, **kw: many_rows(period))
    seen: dict[str, Any] = {}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReportsScreen())
        await settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        table = screen.query_one("#report-table", DataTable)
        pager = screen.query_one("#report-pager")
        seen["gap"] = pager.region.y - table.region.bottom
        seen["shown"] = table.row_count
        seen["height"] = table.region.height

        def page() -> tuple[list[str], str]:
            return [r[0] + " " + r[2] for r in rows(app)], str(pager.render())

        seen["pages"] = [page()]
        for key in ("pagedown", "pagedown", "pagedown", "pagedown", "pageup"):
            await press(pilot, key)
            seen["pages"].append(page())

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    everything = [f"E{i:03d} {i * 100 + n}" if n < 14 else f"E{i:03d} 0"
                  for i in range(1, 7) for n in range(15)]  # 14 days and a total each
    shown = seen["shown"]
    # The table reaches down to the pager line: every line of it shows a row, none is blank.
    assert seen["gap"] == 0 and seen["height"] == shown + 1 and shown >= 15
    pages = -(-len(everything) // shown)
    first, second, third, _fourth, fifth, back = seen["pages"]
    assert first == (everything[:shown], f"Page 1 of {pages} (PgUp/PgDn)")
    assert second == (everything[shown:2 * shown], f"Page 2 of {pages} (PgUp/PgDn)")
    assert third[0] == everything[2 * shown:3 * shown]
    assert fifth[0] == everything[(pages - 1) * shown:]  # no page after the last
    assert back[0] == everything[(pages - 2) * shown:(pages - 1) * shown]


def test_the_report_is_computed_in_a_worker_on_its_own_connection(
        monkeypatch: pytest.MonkeyPatch, supervisor_db: Path) -> None:
    release = threading.Event()
    calls: list[tuple[bool, bool]] = []
    real = reports.field_report
    seen: dict[str, Any] = {}

    def slow(store: Any, now: Any, period: Period, **kw: Any) -> Report:
        release.wait(timeout=5)
        calls.append((threading.current_thread() is threading.main_thread(),
                      store is seen.get("app store")))
        return real(store, now, period, **kw)

    monkeypatch.setattr(reports, "field_report", slow)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        seen["app store"] = app.store
        app.push_screen(ReportsScreen())
        await pilot.pause()
        screen = app.screen
        seen["while"] = str(screen.query_one("#report-pager").render())
        await press(pilot, "tab")  # the app answers keys meanwhile
        seen["switched"] = screen.view
        await press(pilot, "tab")
        release.set()
        await settled(app, pilot)
        seen["after"] = str(screen.query_one("#report-pager").render())
        seen["rows"] = len(rows(app))
        await press(pilot, "r")
        await settled(app, pilot)
        await press(pilot, "escape")
        await pilot.pause()

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    assert seen["while"] == "Computing…"
    assert seen["switched"] == "report-chart"
    assert seen["after"] == "6 rows" and seen["rows"] == 6
    # Computed twice (the screen, then r), never in the app's thread, never on its connection.
    assert calls == [(False, False), (False, False)]


def test_one_area_without_fieldwork(supervisor_db: Path) -> None:
    seen: list[str] = []

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReportsScreen(area="R01-D02"))
        await settled(app, pilot)
        seen.append(str(app.screen.query_one("#report-title").render()))
        seen.append(str(app.screen.query_one("#report-pager").render()))
        seen.append(str(len(rows(app))))

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    assert seen == ["Daily field report, 2026-11-07 to 2026-11-20 (14 days); area R01-D02 "
                    "and below", "No visits, completed forms or decisions in this period.", "0"]


def test_a_long_enumerator_code_is_shortened_to_fit(monkeypatch: pytest.MonkeyPatch,
                                                     supervisor_db: Path) -> None:
    code = "E001-" + "X" * 31 + "0042"
    period = Period(date(2026, 11, 7), date(2026, 11, 20))
    report = Report(period, [Figures(code, period.last - timedelta(days=1), 12345)],
                    [Figures(code, None, 12345)])
    monkeypatch.setattr(reports, "field_report", lambda store, now, p, **kw: report)
    seen: dict[str, Any] = {}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReportsScreen())
        await settled(app, pilot)
        seen["rows"] = rows(app)
        seen["width"] = app.screen.query_one("#report-table", DataTable).virtual_size.width

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    assert seen["width"] <= 78
    first = seen["rows"][0][0]
    # What the other columns leave of 76 (the screen's padding and a scroll bar set aside).
    assert first == "E001…0042"
