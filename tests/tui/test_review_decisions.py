"""Decisions that change nothing, in the app: the read-only household and the review item show
`a` only for a complete household and `r` only for a complete or approved one (the rule of
`census.usecases.review.changes`); a household approved or returned meanwhile (by the command
line, say) is not decided again: approving says nothing changed, returning is refused in the
dialog, and no revision, decision or audit entry is made."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from census.domain.model import HouseholdStatus, Outcome, ReturnReason
from census.storage.exchange.decisions import decisions_of
from census.storage.records import load_household, select_households
from census.tui.app import CensusApp
from census.tui.dialogs import ReturnDialog
from census.tui.screens.pending import HouseholdViewScreen
from census.tui.screens.review import ReviewItemScreen
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.review import decide
from tests.tui import driving
from tests.tui.driving import press
from tests.tui.test_review_grid import conflict, notes, text  # noqa: F401
from tests.usecases.fieldwork import NOW, Site, bundle, enter

EA = "R01-D01-EA001"


@pytest.fixture
def waiting(team: tuple[Site, Site]) -> Site:
    """Three complete households of E001 at the supervisor's (structures 1 to 3), and a
    draft of the supervisor's own (structure 9)."""
    sup, enu = team
    enter(enu, EA, range(1, 4))
    import_bundle(sup.store, bundle(enu), NOW)
    entry = Entry(sup.store, clock=lambda: NOW)
    did = entry.add_dwelling(EA, 9, 1).dwelling.id
    assert entry.record_visit(did, Outcome.COMPLETED).ok
    return sup


def at(sup: Site, structure: int) -> tuple[str, str]:
    """(dwelling id, household id) of household 1 of dwelling `structure`/1."""
    ((did, h),) = select_households(sup.store, "h.dwelling_id = (SELECT id FROM dwelling WHERE "
                                               "area = ? AND structure = ?)", (EA, structure))
    return did, h.id


def keys(app: CensusApp) -> set[str]:
    return {b.binding.key for b in app.screen.active_bindings.values()}


def audit_count(sup: Site) -> int:
    return int(sup.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def test_the_keys_show_only_for_decisions_that_change_the_household(waiting: Site) -> None:
    sup = waiting
    decide(sup.store, at(sup, 2)[1], "approved")
    decide(sup.store, at(sup, 3)[1], "returned", reason=ReturnReason.REVISIT)
    seen = {}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        for structure in (1, 2, 3, 9):
            app.push_screen(HouseholdViewScreen(*at(sup, structure)))
            await pilot.pause()
            seen[structure] = {"a", "r"} & keys(app)
            await press(pilot, "a")  # a hidden key does nothing
            if structure == 1:  # approved; the screen underneath shows again
                assert not isinstance(app.screen, HouseholdViewScreen)
                continue
            assert isinstance(app.screen, HouseholdViewScreen)
            await press(pilot, "r")
            assert isinstance(app.screen, ReturnDialog) == (structure == 2)
            if structure == 2:
                await press(pilot, "escape")
            await press(pilot, "escape")

    before = audit_count(sup)
    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))
    assert seen == {1: {"a", "r"}, 2: {"r"}, 3: set(), 9: set()}
    assert audit_count(sup) == before + 1  # 1/1/1 approved by `a`; nothing else


def test_a_household_approved_meanwhile_is_not_approved_again(waiting: Site) -> None:
    sup = waiting
    did, hid = at(sup, 1)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(HouseholdViewScreen(did, hid))
        await pilot.pause()
        assert "a" in keys(app)
        decide(sup.store, hid, "approved")  # on the command line, say
        await press(pilot, "a")
        assert (f"Already approved, nothing changed: Household 1 · dwelling 1/1 · {EA}."
                in notes(app))

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))
    found = load_household(sup.store, hid)
    assert found is not None and found[1].revision == 3
    assert [d.action for d in decisions_of(sup.store, hid)] == ["approved"]


def test_a_household_returned_meanwhile_is_not_returned_again(waiting: Site) -> None:
    sup = waiting
    did, hid = at(sup, 1)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(HouseholdViewScreen(did, hid))
        await pilot.pause()
        decide(sup.store, hid, "returned", reason=ReturnReason.REVISIT)
        await press(pilot, "r")
        assert isinstance(app.screen, ReturnDialog)
        await press(pilot, "enter", "ctrl+s")
        assert isinstance(app.screen, ReturnDialog)  # stays, says why
        assert "is already returned for correction" in text(app, "#errors")
        assert "Nothing changed." in text(app, "#errors")

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))
    found = load_household(sup.store, hid)
    assert found is not None and found[1].status is HouseholdStatus.RETURNED
    assert found[1].revision == 3
    assert [d.action for d in decisions_of(sup.store, hid)] == ["returned"]


def test_a_review_item_of_an_approved_household_offers_return_not_approve(
        conflict: tuple[Site, str]) -> None:  # noqa: F811
    sup, hid = conflict
    before = audit_count(sup)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "v", "enter")
        screen = app.screen
        assert isinstance(screen, ReviewItemScreen)
        assert "r" in keys(app) and "a" not in keys(app)  # the stored household is approved
        screen.action_approve()  # as if the key were pressed: nothing to do, and it says so
        await pilot.pause()
        assert any(n.startswith("Already approved, nothing changed: Household 1 · dwelling "
                                "4/1") for n in notes(app))

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))
    assert [d.action for d in decisions_of(sup.store, hid)] == ["approved"]
    assert audit_count(sup) == before
