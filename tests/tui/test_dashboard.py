"""The supervisor's dashboard in the width there is: the main figures fit 100 columns without
sideways scrolling, names are cut only as far as needed, every figure is on the detail view."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable

from census.tui.app import CensusApp
from census.tui.labels import bar
from census.tui.screens.dashboard import DashboardScreen, ProgressDetailScreen
from census.usecases.bundles import import_bundle
from tests.tui import driving
from tests.tui.driving import press, texts
from tests.usecases.fieldwork import NOW, Site, bundle, enter

EA = "R01-D01-EA001"


def test_the_dashboard_fits_100_columns_and_details_show_every_figure(
        team: tuple[Site, Site]) -> None:
    sup, enu = team
    enter(enu, EA, range(1, 6))
    import_bundle(sup.store, bundle(enu), NOW)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, DashboardScreen)
        areas = app.screen.query_one("#by-area", DataTable)
        await pilot.pause()
        assert areas.virtual_size.width <= areas.scrollable_content_region.width, (
            areas.virtual_size, areas.scrollable_content_region)
        assert texts(areas.get_row(EA)) == [EA, "Riverside 1", "E001", "open",
                                            bar(5, 120, width=8), "5/120", "5", "5", "0"]
        await press(pilot, "d")
        assert isinstance(app.screen, ProgressDetailScreen)
        table = app.screen.query_one(DataTable)
        shown = dict(texts(table.get_row_at(i)) for i in range(table.row_count))
        assert shown["Dwellings listed / expected"] == "5 / 120"
        assert shown["Response rate %"] == "100.0"
        assert shown["Refusal rate %"] == "0.0"
        assert shown["Mean household size"] == "3.00"
        assert shown["Days since the last visit"] == "0"
        await press(pilot, "escape", "tab")
        people = app.screen.query_one("#by-enumerator", DataTable)
        assert [texts(people.get_row_at(i))[0] for i in range(people.row_count)] == ["-", "E001"]
        await press(pilot, "d")
        assert str(app.screen.query_one(".title").render()) == "Areas without an enumerator"
        await press(pilot, "escape", "down", "d")
        assert str(app.screen.query_one(".title").render()) == "Enumerator E001"

    driving.drive(sup.store.path, script, now=NOW, size=(100, 30))


def test_a_supervisor_opens_a_household_read_only(team: tuple[Site, Site]) -> None:
    """From the listing, as from the pending list: the read-only view with the decisions, never
    the enumerator's editing form and its keys; after a restart it reopens read-only too."""
    from textual.widgets._footer import FooterKey

    from census.tui.screens.dwelling import DwellingScreen
    from census.tui.screens.household import HouseholdScreen
    from census.tui.screens.listing import ListingScreen
    from census.tui.screens.pending import HouseholdViewScreen

    sup, enu = team
    enter(enu, EA, range(1, 3))
    import_bundle(sup.store, bundle(enu), NOW)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter")
        assert isinstance(app.screen, ListingScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, HouseholdViewScreen)
        keys = {k.key for k in app.screen.query(FooterKey)}
        assert "ctrl+d" not in keys and "a" in keys and "r" in keys
        assert not app.screen.query(HouseholdScreen)

    driving.drive(sup.store.path, script, now=NOW, size=(100, 30))

    async def reopened(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, (HouseholdViewScreen, DwellingScreen)), app.screen
        assert not isinstance(app.screen, HouseholdScreen)

    driving.drive(sup.store.path, reopened, now=NOW, size=(100, 30))


def test_columns_shrink_again_after_a_page_turn_and_a_resize(tmp_path: Path) -> None:
    """Found by a review: cut cells left the columns as wide as before (a table keeps its
    columns' widths), so the listing scrolled sideways after PgDn or a narrower terminal."""
    import json

    from census.storage.store import Store
    from census.tui.screens.listing import ListingScreen
    from census.usecases.forms import import_lines
    from tests.helpers import RAW_KEY, dwelling, enumerator_db

    db = enumerator_db(tmp_path / "tui.db")
    store = Store.open(db, RAW_KEY)
    lines = [json.dumps(dwelling(i, households=[], visits=[], type="traditional",
                                 locator="by the long blue gate of the market square " * (i > 50)
                                 )) + "\n" for i in range(1, 121)]
    import_lines(store, lines, now=NOW, sink=lambda line, p: None)
    store.close()

    def fits(table: DataTable) -> bool:
        return table.virtual_size.width <= table.scrollable_content_region.width

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter")
        assert isinstance(app.screen, ListingScreen)
        table = app.screen.query_one(DataTable)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert fits(table), (table.virtual_size, table.scrollable_content_region)
        await press(pilot, "pagedown")  # page 2: long locators, cut to the width
        assert fits(table), (table.virtual_size, table.scrollable_content_region)
        await pilot.resize_terminal(140, 30)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert fits(table), (table.virtual_size, table.scrollable_content_region)

    driving.drive(db, script, now=NOW, size=(140, 30))
