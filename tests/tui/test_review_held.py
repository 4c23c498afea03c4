"""What is held in review shows where decisions are made: the list of households awaiting a
decision marks those whose record or dwelling is held for review (a duplicate, a conflict),
and so does the read-only household; a household held with its duplicate dwelling is shown by
its numbers, next to the stored household of the same numbers, with the held dwelling's
visits. Two versions that differ in the household number, the declared total or a confirmed
warning say so in words."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from census.domain.config import default_config
from census.domain.model import (
    Household,
    HouseholdStatus,
    OverrideReason,
)
from census.storage.exchange.review import review_items
from census.storage.records import select_households
from census.tui.app import CensusApp
from census.tui.screens.pending import HouseholdViewScreen, PendingScreen
from census.tui.screens.review import ReviewItemScreen
from census.tui.widgets.count_view import differences
from tests.tui import driving
from tests.tui.test_review_grid import shown, text
from tests.usecases.fieldwork import NOW, Site, held_for_review

EA = "R01-D01-EA001"


@pytest.fixture
def held(team: tuple[Site, Site], tmp_path: Path) -> Site:
    """A conflict and a duplicate held for review (`fieldwork.held_for_review`)."""
    return held_for_review(*team, tmp_path, EA)


def test_the_pending_list_and_the_household_say_what_is_held_in_review(held: Site) -> None:
    sup = held

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(PendingScreen())
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[0] for r in rows] == [f"{EA}/1/1/1", f"{EA}/2/1/1"]
        assert rows[0][-1].startswith("⚠ held in review (conflict)")
        assert rows[1][-1].startswith("⚠ held in review (duplicate)")
        table.move_cursor(row=1)
        await driving.press(pilot, "enter")
        assert isinstance(app.screen, HouseholdViewScreen)
        assert "⚠ held in review (duplicate)" in text(app, "#state")

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))


def test_a_household_held_with_its_duplicate_dwelling_is_compared_by_its_numbers(
        held: Site) -> None:
    sup = held
    (item,) = [i for i in review_items(sup.store) if i.record_type == "household"]
    ((_did, stored),) = select_households(
        sup.store, "h.dwelling_id = (SELECT id FROM dwelling WHERE area = ? AND structure = 2)",
        (EA,))

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReviewItemScreen(item.id))
        await pilot.pause()
        screen = app.screen
        what = text(app, "#what")
        assert what.startswith(f"household 1 of 2/1 in {EA} · revision 2 from E002"), what
        assert "…" not in what
        assert text(app, "#stored-caption").startswith(
            f"Stored · revision {stored.revision} · …{stored.id[-8:]}")
        assert text(app, "#held-caption").startswith("Incoming · revision 2 · from E002")
        words = text(app, "#differences")
        assert "Female 0-4: stored 1, incoming 2" in words
        visits = shown(screen.query_one("#visits"))
        assert "No visit recorded." not in visits and "Completed" in visits
        keys = {b.binding.key for b in screen.active_bindings.values()}
        assert "k" in keys and not {"a", "r", "t"} & keys  # the held one is not decided on

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))


def household(**changes: object) -> Household:
    h = Household(id="01a22aad-732c-75b4-ade7-bd0cffb88309", number=1, seed=b"0" * 16,
                  status=HouseholdStatus.COMPLETE, residents={("male", "25-34"): 1})
    return replace(h, **changes)


@pytest.mark.parametrize(("changes", "said"), [
    ({"number": 2}, "Household no.: stored 1, incoming 2"),
    ({"declared_total": 5}, "Declared total: stored —, incoming 5"),
    ({"overrides": {"W002": OverrideReason.CONFIRMED_WITH_RESPONDENT}},
     "W002 No adult present: stored not confirmed, incoming Confirmed again with the "
     "respondent"),
])
def test_the_number_the_declared_total_and_the_confirmations_are_compared(
        changes: dict[str, object], said: str) -> None:
    stored = household()
    assert differences(default_config(), stored, household(**changes)) == [said]
    assert differences(default_config(), stored, household()) == []


def test_a_changed_confirmation_reason_is_said() -> None:
    a = household(overrides={"W002": OverrideReason.CONFIRMED_WITH_RESPONDENT})
    b = household(overrides={"W002": OverrideReason.OBSERVED_BY_ENUMERATOR})
    assert differences(default_config(), a, b) == [
        "W002 No adult present: stored Confirmed again with the respondent, incoming Seen by "
        "the enumerator at the dwelling"]
