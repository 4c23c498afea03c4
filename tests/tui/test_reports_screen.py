"""The Reports screen driven with Pilot at 80×24, on the supervisor's database after a week of
fieldwork with known times: the table per enumerator and day (a page at a time), the bar chart
of households completed per day over the last 14 days, Tab between them, Escape back."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from census.tui.app import CensusApp
from census.tui.screens import reports
from census.tui.screens.reports import ReportsScreen
from tests.tui import driving
from tests.tui.driving import press, texts
from tests.usecases.fieldwork import Site
from tests.usecases.reporting import FRIDAY_NOON, week


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
        await pilot.pause()
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
        ["E001", "11-16", "4", "1", "1", "1", "0", "0", "-", "0", "0", "0"],
        ["E001", "11-17", "2", "1", "0", "1", "1", "1", "1520", "0", "0", "0"],
        ["E001", "11-18", "0", "0", "0", "0", "0", "0", "-", "0", "0", "1"],
        ["E001", "11-19", "2", "2", "0", "0", "0", "0", "4600", "0", "0", "0"],
        ["E001", "11-20", "0", "0", "0", "0", "0", "0", "-", "1", "1", "0"],
        ["E001", "total", "8", "4", "1", "2", "1", "1", "3060", "1", "1", "1"],
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


def test_long_reports_turn_pages(monkeypatch: pytest.MonkeyPatch, supervisor_db: Path) -> None:
    monkeypatch.setattr(reports, "PAGE", 4)
    seen: list[tuple[list[str], str]] = []

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReportsScreen())
        await pilot.pause()

        def page() -> tuple[list[str], str]:
            return ([r[1] for r in rows(app)],
                    str(app.screen.query_one("#report-pager").render()))

        seen.append(page())
        await press(pilot, "pagedown")
        seen.append(page())
        await press(pilot, "pagedown")  # no page after the last
        seen.append(page())
        await press(pilot, "pageup")
        seen.append(page())

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    first = (["11-16", "11-17", "11-18", "11-19"], "Page 1 of 2 (PgUp/PgDn)")
    second = (["11-20", "total"], "Page 2 of 2 (PgUp/PgDn)")
    assert seen == [first, second, second, first]


def test_one_area_without_fieldwork(supervisor_db: Path) -> None:
    seen: list[str] = []

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReportsScreen(area="R01-D02"))
        await pilot.pause()
        seen.append(str(app.screen.query_one("#report-title").render()))
        seen.append(str(app.screen.query_one("#report-pager").render()))
        seen.append(str(len(rows(app))))

    driving.drive(supervisor_db, script, now=FRIDAY_NOON, size=(80, 24))
    assert seen == ["Daily field report, 2026-11-07 to 2026-11-20 (14 days); area R01-D02 "
                    "and below", "No visits, completed forms or decisions in this period.", "0"]
