"""The enumerator app in a subprocess, driven by Pilot, for the crash harness (tests/hardening).

`python -m tests.hardening.tui_driver DB LOG SEED` opens the app on DB (passphrase from
CENSUS_PASSPHRASE), and for ever: adds a listing line, records a completed visit, types random
counts into the grid one digit at a time (each digit is a draft save), and completes the form
with Ctrl+D. After every key it appends to LOG, as one JSON line, each household whose saved
version changed: what the app has shown the user as saved ("draft saved", "Household n
completed"). The harness kills this process at a random moment and then compares LOG with the
database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from textual.pilot import Pilot

from census.formats.record_json import household_to_json
from census.tui.app import CensusApp
from census.tui.dialogs import ListingDialog, VisitDialog
from census.tui.screens.dwelling import DwellingScreen
from census.tui.screens.home import HomeScreen
from census.tui.screens.household import HouseholdScreen
from census.tui.screens.listing import ListingScreen

NOW = datetime(2026, 11, 28, 10, 0)
SEXES, BANDS = 2, 8
ADULT = 3  # the 25-34 band: every household has an adult, so no warning asks for a reason


class Driver:
    def __init__(self, app: CensusApp, pilot: Pilot[None], log: TextIO) -> None:
        self.app, self.pilot, self.log = app, pilot, log
        self.form: HouseholdScreen | None = None
        self.reported: dict[str, str] = {}
        self.at = (0, 0)  # the grid's cursor: sex row, age band column

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.pilot.press(key)
            await self.pilot.pause()
            self.report()

    def report(self) -> None:
        form = self.form
        if form is None:
            return
        h = form.household
        line = json.dumps({"dwelling": form.dwelling_id,
                           "household": household_to_json(h, self.app.store.config)},
                          sort_keys=True)
        if self.reported.get(h.id) != line:
            self.reported[h.id] = line
            self.log.write(line + "\n")
            self.log.flush()

    async def move_to(self, row: int, col: int) -> None:
        r, c = self.at
        keys = (["down"] * (row - r) + ["up"] * (r - row)
                + ["right"] * (col - c) + ["left"] * (c - col))
        await self.press(*keys)
        self.at = (row, col)

    async def household(self, rng: random.Random) -> None:
        """From the listing: a new line, a completed visit, counts typed, Ctrl+D."""
        await self.press("a")
        assert isinstance(self.app.screen, ListingDialog), self.app.screen
        await self.press("ctrl+s")
        assert isinstance(self.app.screen, ListingScreen), self.app.screen
        await self.press("end", "enter")
        assert isinstance(self.app.screen, DwellingScreen), self.app.screen
        await self.press("v")
        assert isinstance(self.app.screen, VisitDialog), self.app.screen
        await self.press("enter")  # the first outcome: completed
        assert isinstance(self.app.screen, HouseholdScreen), self.app.screen
        self.form, self.at = self.app.screen, (0, 0)
        cells = {(rng.randrange(SEXES), ADULT)}
        cells |= {(rng.randrange(SEXES), rng.randrange(BANDS)) for _ in range(rng.randint(0, 3))}
        for row, col in sorted(cells):
            await self.move_to(row, col)
            await self.press(str(rng.randint(1, 3)))
        await self.press("ctrl+d")
        assert isinstance(self.app.screen, DwellingScreen), self.app.screen
        assert self.form.household.status.value == "complete"
        self.form = None
        await self.press("escape")
        assert isinstance(self.app.screen, ListingScreen), self.app.screen


async def main(db: Path, log_path: Path, seed: int) -> None:
    app = CensusApp(db, os.environ["CENSUS_PASSPHRASE"], clock=lambda: NOW)
    rng = random.Random(seed)
    with log_path.open("a", encoding="utf-8") as log:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            driver = Driver(app, pilot, log)
            # After a crash the app reopens where the user was: go back to Home first.
            for _ in range(5):
                if isinstance(app.screen, HomeScreen):
                    break
                await driver.press("escape")
            assert isinstance(app.screen, HomeScreen), app.screen
            await driver.press("enter")
            assert isinstance(app.screen, ListingScreen), app.screen
            while True:
                await driver.household(rng)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
