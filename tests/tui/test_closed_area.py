"""Issue 13, finding 3 in the app: in the supervisor's app one could add a dwelling and complete
a household in a closed area. Now the dashboard and the listing show the area closed, and adding,
editing and visiting there are refused with the policy's message, on every screen; nothing is
written."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from census.cli import cli
from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.model import Area, Dwelling, Outcome, Role, Visit
from census.storage.areas import import_areas
from census.storage.records import count_rows
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.dialogs import ListingDialog, VisitDialog
from census.tui.screens.dashboard import DashboardScreen
from census.tui.screens.dwelling import DwellingScreen
from census.tui.screens.listing import ListingScreen
from census.usecases.forms import store_dwellings
from tests.helpers import RAW_KEY as KEY
from tests.tui.driving import press

NOW = datetime(2026, 11, 28, 10, 0)
EA = "R01-D01-EA001"


def supervisor_with_a_closed_area(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    store = Store.create(db, KEY, default_config(), Role.SUPERVISOR, "S01")
    import_areas(store, [Area("R01", "region", "North"),
                         Area("R01-D01", "district", "Riverside", "R01"),
                         Area(EA, "ea", "Riverside 1", "R01-D01", 5, "E001")], "S01")
    vacant = Dwelling(id=new_id(), area=EA, structure=1, number=1, enumerator="E001",
                      visits=(Visit(1, datetime(2026, 11, 20, 10), Outcome.VACANT),))
    report = store_dwellings(store, [vacant], now=NOW, sink=lambda _l, p: None)
    assert report.dwellings.added == 1
    store.close()
    closed = CliRunner(env={"CENSUS_PASSPHRASE": KEY}).invoke(cli, ["area", "close", "--db",
                                                                     str(db), EA])
    assert closed.exit_code == 0, closed.output
    return db


def test_the_app_shows_a_closed_area_and_writes_nothing_in_it(tmp_path: Path) -> None:
    db = supervisor_with_a_closed_area(tmp_path)
    app = CensusApp(db, KEY, clock=lambda: NOW)
    notes: list[str] = []

    async def run() -> None:
        async with app.run_test(size=(130, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            table = app.screen.query_one("#by-area")
            row = [str(c) for c in table.get_row_at(0)]  # type: ignore[attr-defined]
            await press(pilot, "enter")
            assert isinstance(app.screen, ListingScreen)
            await press(pilot, "a")  # add a dwelling: refused, no form opens
            assert not isinstance(app.screen, ListingDialog)
            assert isinstance(app.screen, ListingScreen)
            assert row[0] == EA and "closed" in row[3]  # the dashboard says it is closed...
            title = str(app.screen.query_one("#title").render())
            assert "closed" in title  # ...and so does the listing
            await press(pilot, "e")  # edit the listing line: refused
            assert isinstance(app.screen, ListingScreen)
            await press(pilot, "enter")
            assert isinstance(app.screen, DwellingScreen)
            await press(pilot, "v")  # record a visit: refused
            assert not isinstance(app.screen, VisitDialog)
            await press(pilot, "h")  # add a household: refused
            assert isinstance(app.screen, DwellingScreen)
            notes.extend(n.message for n in app._notifications)

    asyncio.run(run())
    assert notes and all("closed" in n and "E040" not in n for n in notes), notes
    assert any("census area reopen" in n for n in notes)
    store = Store.open(db, KEY)
    assert count_rows(store, "dwelling") == 1 and count_rows(store, "household") == 0
    store.close()
