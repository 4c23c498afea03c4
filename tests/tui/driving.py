"""Driving the app with Pilot, for the tests of tests/tui and tests/hardening: run a script of
keys against an app on a database, press keys, read table rows as shown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.dialogs import ListingDialog, VisitDialog
from census.tui.screens.dwelling import DwellingScreen
from census.tui.screens.home import HomeScreen
from census.tui.screens.household import HouseholdScreen
from census.tui.screens.listing import ListingScreen
from tests.helpers import RAW_KEY

NOW = datetime(2026, 11, 28, 10, 0)


def drive(db: Path, script: Callable[[CensusApp, Pilot[None]], Awaitable[None]],
          passphrase: str | None = RAW_KEY, now: datetime = NOW,
          size: tuple[int, int] = (80, 24), **kwargs: Any) -> CensusApp:
    """Run the app on `db` (opened with `passphrase`; None: the unlock screen asks) and
    `script` against it; the app, once it has stopped."""
    app = CensusApp(db, passphrase, clock=lambda: now, **kwargs)

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(run())
    return app


def texts(row: list[Any]) -> list[str]:
    """A table row as the text shown (cells are Rich Text: never read as markup)."""
    return [str(c) for c in row]


def reopen(db: Path) -> Store:
    return Store.open(db, RAW_KEY)


async def press(pilot: Pilot[None], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
    await pilot.pause()


async def new_dwelling_with_contact(app: CensusApp, pilot: Pilot[None]) -> None:
    """From Home: open the area, add a listing line, open it, record a completed visit."""
    assert isinstance(app.screen, HomeScreen)
    await press(pilot, "enter")
    assert isinstance(app.screen, ListingScreen)
    await press(pilot, "a")
    assert isinstance(app.screen, ListingDialog)
    await press(pilot, "ctrl+s")
    assert isinstance(app.screen, ListingScreen)
    await press(pilot, "enter")
    assert isinstance(app.screen, DwellingScreen)
    await press(pilot, "v")
    assert isinstance(app.screen, VisitDialog)
    await press(pilot, "enter")  # first outcome: completed
    assert isinstance(app.screen, HouseholdScreen)
