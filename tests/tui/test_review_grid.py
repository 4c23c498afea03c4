"""Issue 15, "Review" and "Decisions" in the app: a conflict shows the stored and the incoming
count grids side by side with the differing cells marked ◆ and the differences in words (short
ids, no internal fields), in 80×24 and 100×30; a dwelling conflict shows both listing lines and
the visits; the supervisor approves and returns complete households from the list of households
awaiting a decision, read only, and the decisions are stored."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Static

from census.domain.model import DwellingType, HouseholdStatus
from census.storage.exchange.decisions import decisions_of
from census.storage.records import select_households
from census.tui.app import CensusApp
from census.tui.dialogs import ReturnDialog
from census.tui.screens.pending import HouseholdViewScreen, PendingScreen
from census.tui.screens.review import ReviewItemScreen, ReviewScreen
from census.tui.widgets.count_view import CountView
from census.usecases.areas import close_area
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.review import decide
from tests.tui import driving
from tests.tui.driving import press
from tests.usecases.fieldwork import NOW, Site, bundle, enter

EA = "R01-D01-EA001"


def shown(widget: Widget) -> str:
    """What a widget draws, as plain text (a Static's content, or what it renders)."""
    out = io.StringIO()
    drawn = widget.content if isinstance(widget, Static) else widget.render()
    Console(file=out, width=200, color_system=None).print(drawn)
    return out.getvalue()


def row(grid: str, first: str) -> str:
    """The line of a drawn grid that begins with `first` (an age band or a field)."""
    (line,) = [x for x in grid.splitlines() if x.strip().startswith(first)]
    return line


def text(app: CensusApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def notes(app: CensusApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.fixture
def conflict(team: tuple[Site, Site]) -> tuple[Site, str]:
    """A household approved by the supervisor while its enumerator changed male 25-34 from 1
    to 2 and completed it again: both made revision 3, a conflict."""
    sup, enu = team
    (did,) = enter(enu, EA, range(4, 5))
    import_bundle(sup.store, bundle(enu), NOW)
    ((_d, h),) = select_households(enu.store, "h.dwelling_id = ?", (did,))
    decide(sup.store, h.id, "approved")
    more = {**h.residents, ("male", "25-34"): 2}
    assert Entry(enu.store, clock=lambda: NOW).save_household(
        did, replace(h, residents=more), complete=True).ok
    assert import_bundle(sup.store, bundle(enu), NOW).report.conflicts == 1
    return sup, h.id


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_a_conflict_shows_both_grids_with_the_difference_marked(
        conflict: tuple[Site, str], size: tuple[int, int]) -> None:
    sup, hid = conflict

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "v")
        assert isinstance(app.screen, ReviewScreen)
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, ReviewItemScreen)
        assert "same revision, other content" in text(app, "#title")
        what = text(app, "#what")
        assert what.startswith("household 1 of 4/1 in R01-D01-EA001 · revision 3 from E001")
        assert hid not in what and hid[:13] not in what  # the numbers, never a cut UUID
        words = text(app, "#differences")
        assert words.startswith("◆ 2 differences: ")
        assert "Male 25-34: stored 1, incoming 2" in words
        assert "Status: stored approved, incoming complete" in words
        stored = shown(screen.query_one("#stored-grid", CountView))
        incoming = shown(screen.query_one("#held-grid", CountView))
        assert row(stored, "25-34").split() == ["25-34", "1", "1◆", "2"]
        assert row(incoming, "25-34").split() == ["25-34", "1", "2◆", "3"]
        assert "◆" not in row(stored, "0-4") and "◆" not in row(incoming, "0-4")
        assert row(stored, "Status").split() == ["Status", "approved◆"]
        assert row(incoming, "Status").split() == ["Status", "complete◆"]
        assert "Stored · revision 3" in text(app, "#stored-caption")
        assert "Incoming · revision 3 · from E001" in text(app, "#held-caption")
        everything = stored + incoming + words + what
        for internal in ("seed", "updated_at", "updated_by", "base", "digest", hid[-12:]):
            assert internal not in everything
        assert "Completed" in shown_visits(screen)
        # Both grids side by side, whole, in the terminal's width; the rest scrolls.
        width = size[0]
        left = screen.query_one("#stored-grid").region
        right = screen.query_one("#held-grid").region
        assert left.right <= right.x and right.right <= width
        assert left.width >= 20 and right.width == left.width

    driving.drive(sup.store.path, script, now=NOW, size=size)


def shown_visits(screen: Widget) -> str:
    return shown(screen.query_one("#visits"))


def test_a_dwelling_conflict_shows_both_listing_lines_and_the_visits(
        team: tuple[Site, Site]) -> None:
    sup, enu = team
    (did,) = enter(enu, EA, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    assert Entry(sup.store, clock=lambda: NOW).edit_dwelling(
        did, type=DwellingType.APARTMENT).ok
    assert Entry(enu.store, clock=lambda: NOW).edit_dwelling(
        did, type=DwellingType.TRADITIONAL).ok
    assert import_bundle(sup.store, bundle(enu), NOW).report.conflicts == 1

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "v", "enter")
        screen = app.screen
        assert isinstance(screen, ReviewItemScreen)
        assert text(app, "#differences") == (
            "◆ 1 difference: Type: stored Apartment, incoming Traditional dwelling")
        lines = shown(screen.query_one("#lines"))
        assert row(lines, "Type").split() == ["Type", "Apartment◆", "Traditional", "dwelling◆"]
        assert row(lines, "Locator").split() == ["Locator", "gate", "1", "gate", "1"]
        assert not screen.query_one("#compare").display
        visits = shown_visits(screen)
        assert "2026-11-28 12:00" in visits and "Completed" in visits
        assert did not in lines + visits

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))


@pytest.fixture
def waiting(team: tuple[Site, Site]) -> Site:
    """Three complete households of E001 merged at the supervisor's."""
    sup, enu = team
    enter(enu, EA, range(1, 4))
    import_bundle(sup.store, bundle(enu), NOW)
    return sup


def status_of(sup: Site, address: tuple[int, int]) -> tuple[str, HouseholdStatus]:
    ((_d, h),) = select_households(
        sup.store, "h.dwelling_id = (SELECT id FROM dwelling WHERE area = ? AND structure = ? "
                   "AND number = ?) AND h.number = 1", (EA, *address))
    return h.id, h.status


def test_approving_and_returning_from_the_list_of_households_awaiting_a_decision(
        waiting: Site) -> None:
    sup = waiting

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(PendingScreen())
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 3
        assert "3 households · area: all · enumerator: all" in text(app, "#title")
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:2] == [f"{EA}/1/1/1", "E001"] and first[2] == "2026-11-28 12:00"
        assert first[3:] == ["3", "—"]
        await press(pilot, "f")  # the one area holding households to decide
        assert f"area: {EA}" in text(app, "#title") and table.row_count == 3
        await press(pilot, "e")  # its one enumerator
        assert "enumerator: E001" in text(app, "#title") and table.row_count == 3
        await press(pilot, "e", "f")  # everyone again, all areas again
        assert "area: all · enumerator: all" in text(app, "#title")

        await press(pilot, "enter")
        view = app.screen
        assert isinstance(view, HouseholdViewScreen)
        assert text(app, "#title") == f"Household 1 · dwelling 1/1 · {EA}"
        assert row(shown(view.query_one("#grid", CountView)), "Male").split()[:5] == [
            "Male", "·", "·", "·", "1"]
        assert "No warning." in text(app, "#warnings")
        await press(pilot, "a")  # approved; the next household opens
        assert isinstance(app.screen, HouseholdViewScreen) and app.screen is not view
        assert text(app, "#title") == f"Household 1 · dwelling 2/1 · {EA}"
        assert (f"Approved: Household 1 · dwelling 1/1 · {EA}. Next household awaiting a "
                "decision.") in notes(app)

        await press(pilot, "r")
        assert isinstance(app.screen, ReturnDialog)
        await press(pilot, "enter", *"recount", "ctrl+s")  # the first reason, a note
        assert isinstance(app.screen, HouseholdViewScreen)
        assert text(app, "#title") == f"Household 1 · dwelling 3/1 · {EA}"
        assert any(n.startswith(f"Returned to the enumerator: Household 1 · dwelling 2/1 · "
                                f"{EA} (Counts look wrong") for n in notes(app))
        await press(pilot, "escape")
        assert isinstance(app.screen, PendingScreen)
        assert app.screen.query_one(DataTable).row_count == 1
        assert "1 household · " in text(app, "#title")

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))
    first, status = status_of(sup, (1, 1))
    assert status is HouseholdStatus.APPROVED
    (approved,) = decisions_of(sup.store, first)
    assert (approved.action, approved.who) == ("approved", "S01")
    second, status = status_of(sup, (2, 1))
    assert status is HouseholdStatus.RETURNED
    (returned,) = decisions_of(sup.store, second)
    assert (returned.action, returned.reason, returned.note) == (
        "returned", "counts_wrong", "recount")
    assert status_of(sup, (3, 1))[1] is HouseholdStatus.COMPLETE


def test_the_read_only_household_opens_by_its_ids_and_goes_back_after_a_decision(
        waiting: Site) -> None:
    sup = waiting
    hid, _status = status_of(sup, (2, 1))
    ((did, _h),) = select_households(sup.store, "h.id = ?", (hid,))

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        home = app.screen
        app.push_screen(HouseholdViewScreen(did, hid))
        await pilot.pause()
        assert "complete · completed " in text(app, "#state") and "by E001" in text(
            app, "#state")
        keys = {b.binding.key for b in app.screen.active_bindings.values()}
        assert {"a", "r"} <= keys and "ctrl+d" not in keys  # no editing key
        await press(pilot, "a")
        assert app.screen is home
        assert f"Approved: Household 1 · dwelling 2/1 · {EA}." in notes(app)
        app.push_screen(HouseholdViewScreen(did, hid))
        await pilot.pause()
        keys = {b.binding.key for b in app.screen.active_bindings.values()}
        assert "a" not in keys and "r" in keys  # approved: it can still be returned

    driving.drive(sup.store.path, script, now=NOW, size=(100, 30))
    assert status_of(sup, (2, 1))[1] is HouseholdStatus.APPROVED


def test_a_refused_decision_is_said_and_nothing_changes(waiting: Site) -> None:
    """The area was closed with households complete: approving one is refused by the policy,
    on the screen, and nothing is stored; the closed area's households await nothing."""
    sup = waiting
    hid, _status = status_of(sup, (1, 1))
    ((did, _h),) = select_households(sup.store, "h.id = ?", (hid,))
    close_area(sup.store, EA)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(HouseholdViewScreen(did, hid))
        await pilot.pause()
        await press(pilot, "a")
        assert isinstance(app.screen, HouseholdViewScreen)  # stays, says why
        assert "closed" in text(app, "#errors")
        await press(pilot, "escape")
        app.push_screen(PendingScreen())
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 0
        assert text(app, "#pager") == "No household awaits a decision."

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))
    assert status_of(sup, (1, 1))[1] is HouseholdStatus.COMPLETE
    assert decisions_of(sup.store, hid) == []
