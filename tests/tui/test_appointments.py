"""Appointments ahead on the enumerator's home and the callbacks screen (Pilot)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Label

from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.screens.dwelling import DwellingScreen
from census.tui.screens.home import CallbacksScreen, HomeScreen
from census.usecases.forms import import_lines
from tests.helpers import RAW_KEY, dwelling, enumerator_db
from tests.tui.driving import NOW, drive, press, texts


def with_appointments(tmp_path: Path) -> Path:
    """E001's database, NOW being Saturday 2026-11-28 10:00: appointments overdue, later
    today, tomorrow, on Wednesday and beyond the week."""
    db = enumerator_db(tmp_path / "tui.db")
    store = Store.open(db, RAW_KEY)
    when = ["2026-11-28T08:00", "2026-11-28T17:30", "2026-11-29T09:00", "2026-12-02T18:00",
            "2026-12-10T09:00"]
    lines = [json.dumps(dwelling(i, households=[], visits=[{
        "attempt": 1, "at": "2026-11-27T10:00", "outcome": "no_one_home",
        "callback_at": at}])) + "\n" for i, at in enumerate(when, start=1)]
    import_lines(store, lines, now=NOW, sink=lambda line, p: None)
    store.close()
    return db


def test_home_shows_the_appointments_of_the_coming_week_with_counts(tmp_path: Path) -> None:
    db = with_appointments(tmp_path)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HomeScreen)
        title = str(app.screen.query_one("#due-title", Label).render())
        assert title == ("Appointments: ⚠ 1 overdue · 1 today · 1 tomorrow · 1 in 2-7 days")
        due = app.screen.query_one("#due", DataTable)
        rows = [texts(due.get_row_at(i)) for i in range(due.row_count)]
        assert rows == [["08:00 28/11", "⚠ overdue", "R01-D01-EA001", "1/1"],
                        ["17:30 28/11", "today", "R01-D01-EA001", "2/1"],
                        ["09:00 29/11", "tomorrow", "R01-D01-EA001", "3/1"],
                        ["18:00 02/12", "Wed", "R01-D01-EA001", "4/1"]]
        await press(pilot, "c")
        assert isinstance(app.screen, CallbacksScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 4  # the one in 12 days is not shown yet
        assert texts(table.get_row_at(2))[:2] == ["2026-11-29 09:00", "tomorrow"]
        assert "1 tomorrow" in str(app.screen.query_one("#title", Label).render())
        await press(pilot, "down", "down", "enter")
        assert isinstance(app.screen, DwellingScreen)
        assert app.screen.dwelling is not None and app.screen.dwelling.structure == 3

    drive(db, script)


def test_no_appointments_says_so(tmp_path: Path) -> None:
    db = enumerator_db(tmp_path / "tui.db")

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        due = app.screen.query_one("#due", DataTable)
        assert "no appointments in the coming 7 days" in texts(due.get_row_at(0))
        assert "⚠ 0 overdue" in str(app.screen.query_one("#due-title", Label).render())

    drive(db, script)
