"""Words and keys as users read them: fields named as the screen names them, keys written one
way (footer and help alike), F1 never cut off the footer (Pilot)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from census.domain.config import default_config
from census.tui.app import CensusApp
from census.tui.dialogs import HelpScreen
from census.tui.labels import field_label, key_name, problem_line
from census.validation.engine import parse_count
from census.validation.rules import Problem
from tests.helpers import PASSPHRASE, enumerator_db
from tests.tui.driving import drive, new_dwelling_with_contact, press


@pytest.mark.parametrize(("path", "shown"), [
    ("residents.female.0-4", "Female 0-4"),
    ("residents.male.65+", "Male 65+"),
    ("households[0].residents", "Household 1: Usual residents"),
    ("households[1].away", "Household 2: Usual residents away"),
    ("visits[2].callback_at", "Visit 3: Callback date and time"),
    ("callback_at.time", "Callback time"),
    ("visitors", "Visitors tonight"),
])
def test_fields_are_named_as_the_screen_names_them(path: str, shown: str) -> None:
    assert field_label(path, default_config()) == shown


def test_a_problem_line_names_no_internal_path() -> None:
    problem = parse_count("99", "residents.female.0-4", 60)
    assert isinstance(problem, Problem)
    line = problem_line(problem, default_config())
    assert line.startswith("✗ Error E001 Female 0-4: ")
    assert "residents." not in line


@pytest.mark.parametrize(("key", "shown"), [
    ("enter", "Enter"), ("escape", "Esc"), ("f1", "F1"), ("ctrl+q", "Ctrl+Q"),
    ("pagedown", "PgDn"), ("pageup", "PgUp"), ("a", "a"), ("ctrl+s,f2", "Ctrl+S / F2")])
def test_keys_are_written_one_way(key: str, shown: str) -> None:
    assert key_name(key) == shown


def footer_keys(app: CensusApp) -> dict[str, FooterKey]:
    return {k.key: k for k in app.screen.query(FooterKey)}


@pytest.mark.parametrize("width", [80, 100])
def test_f1_is_never_cut_off_the_footer(tmp_path: Path, width: int) -> None:
    db = enumerator_db(tmp_path / "tui.db")
    seen: list[str] = []

    async def visible(app: CensusApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        keys = footer_keys(app)
        assert "f1" in keys, type(app.screen).__name__
        region = keys["f1"].region
        assert region.width > 0 and region.right <= width, (type(app.screen).__name__, region)
        assert keys["f1"].key_display == "F1"
        seen.append(type(app.screen).__name__)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await visible(app, pilot)  # home
        await new_dwelling_with_contact(app, pilot)
        await visible(app, pilot)  # the household form, the most keys
        assert footer_keys(app)["ctrl+d"].key_display == "Ctrl+D"
        await press(pilot, "escape")
        await visible(app, pilot)  # dwelling
        await press(pilot, "escape")
        await visible(app, pilot)  # listing
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(w.render()) for w in app.screen.query("Label"))
        assert "Esc" in text and "escape" not in text and "Ctrl+Q" in text

    drive(db, script, size=(width, 24))
    assert seen == ["HomeScreen", "HouseholdScreen", "DwellingScreen", "ListingScreen"]


def test_counts_take_the_plural_form_of_their_number(tmp_path: Path) -> None:
    from census.i18n import counted
    from census.tui.screens.listing import ListingScreen

    assert counted("{n} household", "{n} households", 1) == "1 household"
    assert counted("{n} household", "{n} households", 0) == "0 households"
    db = enumerator_db(tmp_path / "tui.db")

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+s")
        assert isinstance(app.screen, ListingScreen)
        title = str(app.screen.query_one("#title").render())
        assert " · 1 dwelling · " in title, title

    drive(db, script)


@pytest.mark.parametrize(("phrase", "shown"), [("demo", True), (PASSPHRASE, False)])
def test_the_demo_passphrase_is_told_only_for_the_demo_database(tmp_path: Path, phrase: str,
                                                                shown: bool) -> None:
    from census.tui.screens.unlock import UnlockScreen

    db = enumerator_db(tmp_path / "tui.db", phrase)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, UnlockScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#demo-hint").display is shown

    drive(db, script, passphrase=None)


def test_the_footer_shows_what_enter_does_over_a_table(tmp_path: Path) -> None:
    """A table's own Enter is not shown; the screen's ("Open") is, and it is what Enter
    does there."""
    db = enumerator_db(tmp_path / "tui.db")

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        keys = footer_keys(app)
        assert keys["enter"].description == "Open"
        assert keys["enter"].key_display == "Enter"

    drive(db, script)


def test_the_appointment_fields_stay_in_view_with_both_messages_in_french(
        tmp_path: Path) -> None:
    """Found by review: in French at 80×24 the two messages (E023, E024) squeezed the date and
    time fields out of the visit dialog."""
    from textual.widgets import Input

    from census.i18n import set_language
    from census.tui.dialogs import VisitDialog

    db = enumerator_db(tmp_path / "tui.db")

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+r", "3")
        assert isinstance(app.screen, VisitDialog)
        app.screen.query_one("#date", Input).value = "2026-13-01"
        app.screen.query_one("#time", Input).value = "99"
        await pilot.pause()
        errors = str(app.screen.query_one("#errors").render())
        assert "E023" in errors and "E024" in errors
        box = app.screen.query_one("#callback").region
        for name in ("#date", "#time"):
            region = app.screen.query_one(name, Input).region
            assert region.height == 1 and region.width > 2, (name, region)
            assert box.contains_region(region), (name, region, box)  # not clipped away
        assert app.screen.query_one("#errors").region.height >= 4

    set_language("fr")
    try:
        drive(db, script)
    finally:
        set_language(None)
