"""Fewer keys (issue 15): digits pick from short lists, a line saved and visited at once, Enter
down the grid, F2 from the grid to the fields below, auto-advance after a digit (a setting), a
question before typed text is thrown away, confirmed warnings shown with their reasons."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static

from census.domain.model import Dwelling, HouseholdStatus, Outcome, ReturnReason
from census.storage.exchange.decisions import decisions_of
from census.storage.listing import listing_page
from census.storage.records import load_dwelling, select_households
from census.storage.settings import get_setting
from census.tui.app import CensusApp
from census.tui.dialogs import ConfirmDialog, ListingDialog, ReasonDialog, ReturnDialog, VisitDialog
from census.tui.screens.dwelling import DwellingScreen
from census.tui.screens.household import HouseholdScreen
from census.tui.screens.listing import ListingScreen
from census.tui.widgets.count_grid import CountGrid
from census.usecases.bundles import import_bundle
from tests.helpers import enumerator_db
from tests.tui.driving import NOW, drive, new_dwelling_with_contact, press, reopen
from tests.usecases.fieldwork import Site, bundle, enter

EA = "R01-D01-EA001"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return enumerator_db(tmp_path / "tui.db")


def problems(app: CensusApp) -> str:
    return str(app.screen.query_one("#problems", Static).render())


def stored_dwellings(db: Path) -> list[str]:
    store = reopen(db)
    try:
        return [r.id for r in listing_page(store, EA, 0, 50)]
    finally:
        store.close()


def the_dwelling(db: Path) -> Dwelling:
    """The one dwelling of the area, as stored."""
    (dwelling,) = stored_dwellings(db)
    store = reopen(db)
    try:
        d = load_dwelling(store, dwelling)
    finally:
        store.close()
    assert d is not None
    return d


# -- digits pick from short lists; a line saved and visited at once -------------------------------


def test_a_digit_picks_the_visit_outcome_which_is_stored(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+r")  # the listing; a new line, saved and visited
        assert isinstance(app.screen, VisitDialog)
        outcomes = app.screen.query_one("#outcome", OptionList)
        assert str(outcomes.get_option_at_index(0).prompt) == "1 Completed"
        assert str(outcomes.get_option_at_index(2).prompt) == "3 No one home"
        await press(pilot, "3")  # no one home: the proposed appointment (tomorrow 17:00)
        assert app.screen.query_one("#date", Input).has_focus
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, ListingScreen)

    drive(db, script)
    d = the_dwelling(db)
    assert len(d.visits) == 1
    assert d.visits[0].outcome is Outcome.NO_ONE_HOME
    assert d.visits[0].callback_at == datetime(2026, 11, 29, 17, 0)


def test_completed_by_its_number_opens_the_household_and_arrows_still_work(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+r", "1")
        assert isinstance(app.screen, HouseholdScreen)
        await press(pilot, "2", "ctrl+d")  # two children: W002 asks for a reason
        assert isinstance(app.screen, ReasonDialog)
        await press(pilot, "2")  # the second reason, and confirmed (the only warning)
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "v")
        assert isinstance(app.screen, VisitDialog)
        await press(pilot, "9", "0")  # no ninth outcome, and 0 picks nothing
        assert isinstance(app.screen, VisitDialog)
        await press(pilot, "down", "enter")  # arrows as before: partly completed
        assert isinstance(app.screen, DwellingScreen)

    drive(db, script)
    d = the_dwelling(db)
    assert [v.outcome for v in d.visits] == [Outcome.COMPLETED, Outcome.PARTIAL]
    (h,) = d.households
    assert h.status is HouseholdStatus.COMPLETE
    assert dict(h.overrides) == {"W002": "observed_by_enumerator"}


def test_digits_type_numbers_in_the_listing_fields_and_pick_in_its_lists(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a")
        assert isinstance(app.screen, ListingDialog)
        assert app.screen.query_one("#structure", Input).has_focus
        await press(pilot, "5")  # typed over the proposed structure number (1)
        assert app.screen.query_one("#structure", Input).value == "5"
        await press(pilot, "tab", "tab", "3")  # type: the third choice
        kind = app.screen.query_one("#type", Select)
        assert kind.value == "traditional" and kind.has_focus
        await press(pilot, "tab", "enter", "down", "enter")  # occupancy by arrows: vacant
        assert app.screen.query_one("#occupancy", Select).value == "vacant"
        await press(pilot, "enter", "4")  # the list open, a digit picks and closes it
        occupancy = app.screen.query_one("#occupancy", Select)
        assert occupancy.value == "not_dwelling" and not occupancy.expanded
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ListingScreen)

    drive(db, script)
    d = the_dwelling(db)
    assert (d.structure, d.type, d.occupancy) == (5, "traditional", "not_dwelling")


def test_a_digit_picks_the_return_reason(team: tuple[Site, Site]) -> None:
    sup, enu = team
    enter(enu, EA, range(1, 3))
    import_bundle(sup.store, bundle(enu), NOW)
    ids = sorted(h.id for _d, h in select_households(sup.store, "h.area = ?", (EA,)))

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReturnDialog(ids[0], "first"))
        await pilot.pause()
        reasons = app.screen.query_one("#reason", OptionList)
        assert str(reasons.get_option_at_index(1).prompt).startswith("2 ")
        await press(pilot, "2")  # persons missing; on to the note
        assert app.screen.query_one("#note", Input).has_focus
        await press(pilot, "ctrl+s")
        assert not isinstance(app.screen, ReturnDialog)
        app.push_screen(ReturnDialog(ids[1], "second"))
        await pilot.pause()
        await press(pilot, "down", "down", "enter", "ctrl+s")  # by arrows: wrong dwelling
        assert not isinstance(app.screen, ReturnDialog)

    drive(sup.store.path, script, now=NOW, size=(130, 40))
    reasons = [decisions_of(sup.store, i)[0].reason for i in ids]
    assert reasons == [ReturnReason.MISSING_PERSONS, ReturnReason.WRONG_DWELLING]


# -- the grid: Enter down, F2 to the fields below, auto-advance -----------------------------------


def test_enter_goes_down_the_grid_and_f2_jumps_to_away_and_back(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        grid = app.screen.query_one(CountGrid)
        await press(pilot, "1", "enter", "right", "1", "enter")  # girl 0-4, boy 5-14
        assert (grid.row, grid.col) == (0, 2)  # from the men's row to the next age band
        await press(pilot, "right", "2", "tab")  # women 25-34; Tab goes along the row
        assert (grid.row, grid.col) == (0, 4)
        footer = " ".join(str(k.render()) for k in app.screen.query("FooterKey"))
        assert "Away, visitors" in footer
        await press(pilot, "f2")
        away = app.screen.query_one("#away", Input)
        assert away.has_focus
        await press(pilot, "1")
        assert "Present 4 + away 1 = 5 usual residents" in str(
            app.screen.query_one("#status").render())
        await press(pilot, "tab", "tab", "2")  # the respondent: 2, a proxy
        respondent = app.screen.query_one("#respondent", Select)
        assert respondent.has_focus and respondent.value == "proxy"
        await press(pilot, "f2")
        assert grid.has_focus and (grid.row, grid.col) == (0, 4)  # back where it was
        await press(pilot, "f1")
        help_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "F2 goes from the grid to away, visitors and respondent" in help_text

    drive(db, script)
    store = reopen(db)
    row = store.conn.execute("SELECT n_00, n_09, n_03, away, respondent FROM household"
                             ).fetchone()
    store.close()
    assert row == (1, 1, 2, 1, "proxy")


def test_the_jump_key_can_be_remapped(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "f2")
        assert app.screen.query_one(CountGrid).has_focus  # F2 is not the key any more
        await press(pilot, "f9")
        assert app.screen.query_one("#away", Input).has_focus
        await press(pilot, "f1")
        help_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "F9 goes from the grid to away" in help_text

    drive(db, script, keymap={"household.jump": "f9"})


def test_auto_advance_is_off_by_default_and_a_setting_kept_in_the_database(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        grid = app.screen.query_one(CountGrid)
        assert not grid.auto_advance
        await press(pilot, "7")
        assert (grid.row, grid.col) == (0, 0)  # off: the cursor stays
        await press(pilot, "ctrl+t")
        assert grid.auto_advance and get_setting(app.store, "auto_advance") == "on"
        await press(pilot, "right", "1")  # 1 may still become 10-19 (at most 60): stays
        assert (grid.row, grid.col) == (0, 1)
        await press(pilot, "2")  # 12: a third digit would be too many
        assert (grid.row, grid.col) == (0, 2)
        await press(pilot, "0")  # a 0 is a whole count
        assert (grid.row, grid.col) == (0, 3)
        await press(pilot, "enter")  # Enter's order from now on: down, then the next band
        assert (grid.row, grid.col) == (1, 3)
        await press(pilot, "8")
        assert (grid.row, grid.col) == (0, 4)
        await press(pilot, "6")  # 6 may still become 60
        assert (grid.row, grid.col) == (0, 4)
        await press(pilot, "1")  # 61 is refused: the cursor stays on the ✗
        assert (grid.row, grid.col) == (0, 4) and "E001" in problems(app)
        await press(pilot, "delete")

    drive(db, script)
    store = reopen(db)
    assert store.conn.execute("SELECT n_00, n_01, n_02, n_11 FROM household").fetchone() == (
        7, 12, 0, 8)
    store.close()

    async def reopened(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HouseholdScreen)
        grid = app.screen.query_one(CountGrid)
        assert grid.auto_advance  # kept
        await press(pilot, "ctrl+t")
        assert not grid.auto_advance
        assert get_setting(app.store, "auto_advance") is None
        await press(pilot, "9")
        assert (grid.row, grid.col) == (0, 0)

    drive(db, reopened)


def test_auto_advance_with_one_digit_counts(tmp_path: Path) -> None:
    """A survey of at most 9 persons a household: every digit is a whole count."""
    from dataclasses import replace

    from census.domain.config import default_config
    from census.domain.model import Area, Role
    from census.storage.areas import import_areas
    from census.storage.settings import put_setting
    from census.storage.store import Store
    from tests.helpers import RAW_KEY

    path = tmp_path / "nine.db"
    store = Store.create(path, RAW_KEY, replace(default_config(), max_household_size=9),
                         Role.ENUMERATOR, "E001")
    import_areas(store, [Area("R01", "region", "North"),
                         Area("R01-D01", "district", "Riverside", "R01"),
                         Area(EA, "ea", "Riverside 1", "R01-D01", 40, "E001")], "E001")
    put_setting(store, "auto_advance", "on")
    store.close()

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "1", "down", "1", "up", "right", "2", "down", "1", "ctrl+d")
        assert isinstance(app.screen, DwellingScreen)

    drive(path, script)
    store = reopen(path)
    row = store.conn.execute("SELECT status, n_00, n_09, n_03, n_12 FROM household").fetchone()
    store.close()
    assert row == ("complete", 1, 1, 2, 1)


# -- words: a question before typed text is thrown away; confirmed reasons; plurals --------------


def test_esc_on_a_new_listing_line_asks_before_throwing_typed_text_away(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "escape")  # nothing typed: closed at once
        assert isinstance(app.screen, ListingScreen)
        await press(pilot, "a")
        app.screen.query_one("#locator", Input).focus()
        await press(pilot, *"blue gate", "escape")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Throw away this new listing line" in str(
            app.screen.query_one(".title", Static).render())
        await press(pilot, "n")  # no: back to the line, the text kept
        assert isinstance(app.screen, ListingDialog)
        assert app.screen.query_one("#locator", Input).value == "blue gate"
        await press(pilot, "escape", "escape")  # Esc on the question is "no" as well
        assert isinstance(app.screen, ListingDialog)
        await press(pilot, "escape", "y")
        assert isinstance(app.screen, ListingScreen)

    drive(db, script)
    assert stored_dwellings(db) == []


def test_esc_after_changing_a_listed_line_asks_too(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+s", "e")
        assert isinstance(app.screen, ListingDialog)
        assert "Ctrl+R" not in " ".join(str(w.render()) for w in app.screen.query(".hint"))
        await press(pilot, "ctrl+r")  # save and visit is for new lines only
        assert isinstance(app.screen, ListingDialog)
        await press(pilot, "tab", "tab", "2", "escape")  # an apartment after all
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "y")
        assert isinstance(app.screen, ListingScreen)

    drive(db, script)
    d = the_dwelling(db)
    assert d.type == "house" and not d.visits


def test_a_reopened_completed_household_shows_its_confirmed_warnings_reasons(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        status = str(app.screen.query_one("#status").render())
        assert "= 0 usual residents" in status
        await press(pilot, "1")
        status = str(app.screen.query_one("#status").render())
        assert "= 1 usual resident ·" in status  # singular
        await press(pilot, "ctrl+d", "1")  # W002 confirmed with the first reason
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, HouseholdScreen)
        assert ("⚠ W002 No adult present — confirmed: Confirmed again with the respondent"
                in problems(app))
        # An adult after all: the confirmation no longer applies, and goes (the rules would
        # refuse to keep a confirmation of a warning not raised, E018).
        await press(pilot, "right", "right", "right", "2")
        assert "draft saved" in str(app.screen.query_one("#status").render())
        assert "W002" not in problems(app)
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, DwellingScreen)

    drive(db, script)
    store = reopen(db)
    assert store.conn.execute("SELECT status, n_00, n_03 FROM household").fetchone() == (
        "complete", 1, 2)
    assert store.conn.execute("SELECT count(*) FROM override").fetchone() == (0,)
    store.close()


def test_two_warnings_take_a_digit_each(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "2", "f2", "tab", "3", "ctrl+d")  # no adult; more visitors (3)
        assert isinstance(app.screen, ReasonDialog)
        await press(pilot, "1")  # the first warning's reason; on to the second's
        assert isinstance(app.screen, ReasonDialog)
        assert app.screen.query_one("#reason-1", Select).has_focus
        await press(pilot, "2")
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "enter")
        lines = problems(app)
        assert "⚠ W002 No adult present — confirmed: Confirmed again with the respondent" in lines
        assert ("⚠ W004 More visitors than residents — confirmed: Seen by the enumerator at "
                "the dwelling") in lines

    drive(db, script)


def test_a_stray_digit_after_the_appointment_does_not_save_another_outcome(db: Path) -> None:
    """Found by a review: after 3 (no one home) and the appointment, Tab goes round to the
    outcome list, where a digit saved "refused" at once and threw the appointment away. Only
    the first pick saves at once; after it a digit changes the outcome and Ctrl+S saves."""
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+r", "3", "tab")
        assert app.screen.query_one("#time", Input).has_focus
        await press(pilot, "tab", "5")
        assert isinstance(app.screen, VisitDialog)  # nothing saved yet
        await press(pilot, "3", "ctrl+s")  # back to no one home, with its appointment
        assert isinstance(app.screen, DwellingScreen)

    drive(db, script)
    d = the_dwelling(db)
    assert [(v.outcome, v.callback_at) for v in d.visits] == [
        (Outcome.NO_ONE_HOME, datetime(2026, 11, 29, 17, 0))]
