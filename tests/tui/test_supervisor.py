"""The supervisor's side of the app driven with Pilot, on databases filled by a real field
operation (assignment, forms, sealed bundle, merge): the dashboard's figures, the review queue,
approving and returning households; and the enumerator reading why a form came back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from census.domain.model import HouseholdStatus, ReturnReason
from census.storage.exchange.decisions import decisions_of
from census.storage.exchange.review import review_counts
from census.storage.records import load_dwelling, select_households
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.dialogs import ConfirmDialog, ReturnDialog
from census.tui.labels import bar
from census.tui.screens.dashboard import DashboardScreen
from census.tui.screens.home import HomeScreen
from census.tui.screens.household import HouseholdScreen
from census.tui.screens.review import ReviewItemScreen, ReviewScreen
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.forms import store_dwellings
from census.usecases.review import decide
from tests.tui import driving
from tests.tui.driving import press, texts
from tests.tui.test_review_grid import row, shown
from tests.usecases.fieldwork import NOW, Site, assign, bundle, enter

EA = "R01-D01-EA001"


def _no_adult(worker: Site, dwelling_id: str) -> str:
    """Make the dwelling's household two small children, completed without confirming W002
    (as an old or broken device could send it): the supervisor's merge flags it."""
    d = load_dwelling(worker.store, dwelling_id)
    assert d is not None
    h = d.households[0]
    h = replace(h, residents={("female", "0-4"): 2}, revision=h.revision + 1)
    report = store_dwellings(worker.store, [replace(d, households=(h,))], now=NOW,
                             sink=lambda line, p: None, gate=lambda p: False)
    assert report.invalid_lines == 0
    return h.id


@pytest.fixture
def flagged_team(team: tuple[Site, Site]) -> tuple[Site, Site, list[str]]:
    """The team's supervisor (S01) with five completed forms of its enumerator (E001), two of
    them flagged (W002)."""
    sup, enu = team
    enter(enu, EA, range(1, 4))
    flagged = [_no_adult(enu, did) for did in enter(enu, EA, range(4, 6))]
    got = import_bundle(sup.store, bundle(enu), NOW)
    assert got.report.flagged == 2
    return sup, enu, flagged


def drive(db: Path, script: Callable[[CensusApp, Pilot[None]], Awaitable[None]],
          **kwargs: Any) -> CensusApp:
    """The enumerator app's driver, on a field site's database, in a wider terminal."""
    return driving.drive(db, script, now=NOW, size=(130, 40), **kwargs)


def text(app: CensusApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def notes(app: CensusApp) -> list[str]:
    return [n.message for n in app._notifications]


def where(store: Store, household_id: str) -> str:
    """How the app names a household in titles and notifications."""
    ((dwelling_id, h),) = select_households(store, "h.id = ?", (household_id,))
    d = load_dwelling(store, dwelling_id, with_households=False)
    assert d is not None
    return f"Household {h.number} · dwelling {d.structure}/{d.number} · {d.area}"


def test_dashboard_figures_and_approving_and_returning_from_the_review_queue(
        flagged_team: tuple[Site, Site, list[str]]) -> None:
    sup, _enu, flagged = flagged_team
    decided: dict[str, str] = {}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, DashboardScreen)
        areas = app.screen.query_one("#by-area", DataTable)
        assert areas.row_count == 4  # the register's enumeration areas
        # 5 listed of 120 expected, 5 visited and completed, no callback, no refusal or
        # vacancy, 13 persons in 5 households, last visit today.
        assert texts(areas.get_row(EA)) == [EA, "Riverside 1", "E001", "open",
                                            bar(5, 120, width=8), "5/120", "5", "5", "0"]
        assert texts(areas.get_row("R01-D02-EA001"))[3:] == ["open", bar(0, 100, width=8),
                                                             "0/100", "0", "0", "0"]
        await press(pilot, "d")  # the other figures are on the detail view
        table = app.screen.query_one(DataTable)
        detail = dict(texts(table.get_row_at(i)) for i in range(table.row_count))
        assert [detail[k] for k in ("Refusal rate %", "Vacancy rate %", "Mean household size",
                                   "Days since the last visit")] == ["0.0", "0.0", "2.60", "0"]
        await press(pilot, "escape")
        assert text(app, "#review-counts") == "Open review items: 2 flagged"
        await press(pilot, "tab")
        people = app.screen.query_one("#by-enumerator", DataTable)
        assert people.has_focus and "By enumerator (2)" in text(app, "#view-title")
        assert texts(people.get_row("E001"))[:7] == ["E001", "1", bar(5, 120, width=8),
                                                     "5/120", "5", "5", "0"]
        assert texts(people.get_row("-"))[2:4] == [bar(0, 270, width=8), "0/270"]
        await press(pilot, "enter")  # an enumerator's row leads to their first area
        assert areas.has_focus and str(areas.get_row_at(areas.cursor_row)[0]) == "R01-D01-EA002"
        await press(pilot, "e", "down", "enter")
        assert areas.has_focus and str(areas.get_row_at(areas.cursor_row)[0]) == EA

        await press(pilot, "v")
        assert isinstance(app.screen, ReviewScreen)
        queue = app.screen.query_one(DataTable)
        assert queue.row_count == 2
        assert str(queue.get_row_at(0)[1]) == "flagged"
        await press(pilot, "f", "f")  # all → conflict → duplicate: none
        assert queue.row_count == 0 and "press f" in text(app, "#pager")
        await press(pilot, "f")  # → flagged
        assert queue.row_count == 2

        await press(pilot, "enter")
        assert isinstance(app.screen, ReviewItemScreen)
        assert "W002 No adult present" in text(app, "#rules")
        assert text(app, "#what").endswith(" · complete")
        stored = shown(app.screen.query_one("#stored-grid"))
        assert row(stored, "0-4").split() == ["0-4", "2", "·", "2"]  # two girls, no mark
        assert row(stored, "Status").split() == ["Status", "complete"]
        assert not app.screen.query_one("#held-side").display  # a flag holds no version
        assert app.screen.household is not None
        first = app.screen.household.id
        decided["approved"] = first
        await press(pilot, "a")
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.query_one(DataTable).row_count == 1
        assert f"Approved: {where(sup.store, first)}." in notes(app)

        await press(pilot, "enter")
        assert isinstance(app.screen, ReviewItemScreen)
        assert app.screen.household is not None
        second = app.screen.household.id
        decided["returned"] = second
        await press(pilot, "r")
        assert isinstance(app.screen, ReturnDialog)
        await press(pilot, "down", "enter")  # the second reason: persons missing
        note = app.screen.query_one("#note", Input)
        assert note.has_focus
        note.value = "call 0612 345 678"
        await press(pilot, "enter")
        assert isinstance(app.screen, ReturnDialog)  # refused, said why, nothing stored
        assert "a phone number" in text(app, "#errors")
        note.value = ""
        await press(pilot, *"babies", "ctrl+s")
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.query_one(DataTable).row_count == 0
        assert (f"Returned to the enumerator: {where(sup.store, second)} (Persons seem to be "
                "missing (babies, elderly, away)).") in notes(app)
        await press(pilot, "escape")
        assert isinstance(app.screen, DashboardScreen)
        assert text(app, "#review-counts") == "Nothing to review."

    drive(sup.store.path, script)
    assert set(decided.values()) == set(flagged)
    store = sup.store
    statuses = {h.id: h.status for _d, h in select_households(store, "h.area = ?", (EA,))}
    assert statuses[decided["approved"]] is HouseholdStatus.APPROVED
    assert statuses[decided["returned"]] is HouseholdStatus.RETURNED
    (approved,) = decisions_of(store, decided["approved"])
    assert (approved.action, approved.reason, approved.rules, approved.who) == (
        "approved", None, "W002", "S01")
    (returned,) = decisions_of(store, decided["returned"])
    assert (returned.action, returned.reason, returned.note, returned.rules) == (
        "returned", "missing_persons", "babies", "W002")
    assert review_counts(store) == {}


def test_taking_the_incoming_version_of_a_conflict(
        flagged_team: tuple[Site, Site, list[str]]) -> None:
    sup, enu, flagged = flagged_team
    hid = flagged[0]
    # Approved here while the enumerator corrected the form: both made revision 3.
    decide(sup.store, hid, "approved")
    ((did, h),) = select_households(enu.store, "h.id = ?", (hid,))
    adults = {**h.residents, ("female", "25-34"): 1}
    assert Entry(enu.store, clock=lambda: NOW).save_household(
        did, replace(h, residents=adults), complete=True).ok
    got = import_bundle(sup.store, bundle(enu), NOW)
    assert got.report.conflicts == 1

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert "1 conflict · 1 flagged" in text(app, "#review-counts")
        await press(pilot, "v", "f")  # conflicts only
        assert app.screen.query_one(DataTable).row_count == 1
        await press(pilot, "enter")
        assert isinstance(app.screen, ReviewItemScreen)
        assert "same revision, other content" in text(app, "#title")
        assert "Female 25-34: stored 0, incoming 1" in text(app, "#differences")
        held = shown(app.screen.query_one("#held-grid"))
        assert row(held, "25-34").split() == ["25-34", "1◆", "·", "1"]
        await press(pilot, "t")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "y")
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.query_one(DataTable).row_count == 0
        assert any("the held version replaces the stored record" in n for n in notes(app))

    drive(sup.store.path, script)
    ((_did, taken),) = select_households(sup.store, "h.id = ?", (hid,))
    assert taken.residents == adults
    assert taken.revision == h.revision + 2  # made here, above both sides' revision


def test_the_enumerator_sees_why_a_form_came_back(
        flagged_team: tuple[Site, Site, list[str]]) -> None:
    sup, enu, flagged = flagged_team
    hid = flagged[0]
    decide(sup.store, hid, "returned",
           reason=ReturnReason.COUNTS_WRONG, note="check the children")
    assign(sup, enu, [EA])  # the returned form travels with the next assignment
    ((did, _h),) = select_households(enu.store, "h.id = ?", (hid,))

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HomeScreen)
        assert "Returned forms: 1" in text(app, "#returned-title")
        app.push_screen(HouseholdScreen(did, hid))
        await pilot.pause()
        line = app.screen.query_one("#returned-reason", Static)
        assert str(line.render()) == (
            "Returned by the supervisor: Counts look wrong: check them with the household "
            "— check the children (rules: W002)")

    drive(enu.store.path, script)
