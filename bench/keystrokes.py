"""Benchmark: keys an enumerator presses, from the listing to a stored result (issue 15).

Drives the real app (`CensusApp`, Textual Pilot, headless) on a fresh enumerator database in a
temporary folder, one app per flow, starting on the listing screen of the area (opening it is not
counted), and counts every key it sends:

- the reference household: a new listing line (the proposed numbers, no locator), a visit
  "completed", the grid (2 women 25-34, 1 man 35-44, 1 girl 0-4, 1 boy 5-14), completed;
- no one home: a new listing line, a visit "no one home" with the proposed appointment
  (tomorrow 17:00).

Every flow then checks what was stored, from the database: the household complete with exactly
those counts (nothing away, no visitors, respondent a member) after a visit "completed"; the visit
"no one home" with its callback tomorrow at 17:00. A figure is printed only for a flow that
stored what it should, so a key sequence that stops working fails loudly instead of being counted.

The grid is entered by the fewest keys the grid allows (the cells visited in the cheapest order,
not necessarily the order a person reads them); `--reading` also prints the figure for the cells
in reading order (the women's row left to right, then the men's), each reached by the fewest
keys. Settings are a new user's (auto-advance off); the auto-advance figures are printed apart,
for the default survey (at most 60 persons a household: a 1 or a 2 may still become 10-29, so the
cursor stays) and for a survey of at most 9 persons a household (every digit is a whole count).

`--keys old` drives the key sequences of the version before issue 15 (a, Ctrl+S, Enter, v, Enter
or arrows to the outcome; arrows in the grid), which still work: the baseline, measured the same
way.

    .venv/bin/python bench/keystrokes.py
    .venv/bin/python bench/keystrokes.py --keys old --reading
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from census.domain.config import default_config
from census.domain.model import Area, HouseholdStatus, Outcome, Respondent, Role
from census.storage.areas import import_areas
from census.storage.listing import listing_page
from census.storage.records import load_dwelling
from census.storage.settings import put_setting
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.screens.home import HomeScreen
from census.tui.screens.listing import ListingScreen

KEY = "x'" + "5e" * 32 + "'"  # a raw key: no passphrase derivation in a benchmark
NOW = datetime(2026, 11, 28, 10, 0)
AREA = "R01-D01-EA001"
SIZE = (100, 30)
GOAL = 14

#: The reference household, as the grid's (sex, age band) cells.
REFERENCE = {("female", "25-34"): 2, ("male", "35-44"): 1, ("female", "0-4"): 1,
             ("male", "5-14"): 1}

# -- key sequences -------------------------------------------------------------------------------
# To the grid: the listing's "a" opens a new line with the next numbers proposed.
OLD_TO_GRID = ["a", "ctrl+s", "enter", "v", "enter"]  # save; open the line; visit; 1st outcome
NEW_TO_GRID = ["a", "ctrl+r", "1"]  # save and visit; 1 = completed
OLD_NO_ONE_HOME = ["a", "ctrl+s", "enter", "v", "down", "down", "enter", "ctrl+s"]
NEW_NO_ONE_HOME = ["a", "ctrl+r", "3", "ctrl+s"]  # 3 = no one home; the appointment proposed
# The grid's cursor starts on female 0-4. Fewest keys: arrows only (before issue 15) ...
OLD_GRID = ["1", "down", "right", "1", "up", "right", "right", "2", "down", "right", "1"]
# ... and with Enter going down (from the men's row to the women's row of the next age band).
NEW_GRID = ["1", "enter", "right", "1", "enter", "right", "2", "enter", "right", "1"]
# Reading order (women 0-4, women 25-34, men 5-14, men 35-44), arrows between the cells.
READING_GRID = ["1", "right", "right", "right", "2", "down", "left", "left", "1", "right",
                "right", "right", "1"]
# Auto-advance on, in a survey of at most 9 persons a household: each digit moves on (Tab order).
AUTO_GRID = ["1", "down", "1", "up", "right", "2", "down", "1"]
COMPLETE = ["ctrl+d"]


@dataclass
class Flow:
    name: str
    keys: list[str]
    expect: str  # "household" or "no_one_home"
    max_size: int = 60
    auto_advance: bool = False


def make_db(path: Path, max_size: int, auto_advance: bool) -> Path:
    """Enumerator E001's database with one enumeration area (what a new user has)."""
    config = default_config()
    if max_size != config.max_household_size:
        config = replace(config, max_household_size=max_size)
    store = Store.create(path, KEY, config, Role.ENUMERATOR, "E001")
    try:
        import_areas(store, [Area("R01", "region", "North"),
                             Area("R01-D01", "district", "Riverside", "R01"),
                             Area(AREA, "ea", "Riverside 1", "R01-D01", 40, "E001")], "E001")
        if auto_advance:
            put_setting(store, "auto_advance", "on")
    finally:
        store.close()
    return path


async def run_flow(db: Path, keys: Sequence[str]) -> int:
    """Open the area's listing (not counted), then press `keys`; the keys pressed."""
    app = CensusApp(db, KEY, clock=lambda: NOW)
    pressed = 0
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen), app.screen
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ListingScreen), app.screen
        for key in keys:
            await press(pilot, key)
            pressed += 1
        await pilot.pause()
    return pressed


async def press(pilot: Pilot[None], key: str) -> None:
    await pilot.press(key)
    await pilot.pause()


def check(db: Path, expect: str) -> None:
    """What the flow stored, read back from the database; AssertionError if it is not right."""
    store = Store.open(db, KEY)
    try:
        rows = listing_page(store, AREA, 0, 10)
        assert len(rows) == 1, f"{len(rows)} listing lines stored, expected 1"
        d = load_dwelling(store, rows[0].id)
        assert d is not None
        assert (d.structure, d.number) == (1, 1), (d.structure, d.number)
        assert len(d.visits) == 1, d.visits
        visit = d.visits[0]
        if expect == "household":
            assert visit.outcome is Outcome.COMPLETED, visit
            assert len(d.households) == 1, d.households
            h = d.households[0]
            assert h.status is HouseholdStatus.COMPLETE, h.status
            assert dict(h.residents) == REFERENCE, dict(h.residents)
            assert (h.away, h.visitors, h.respondent) == (0, 0, Respondent.MEMBER), h
        else:
            assert visit.outcome is Outcome.NO_ONE_HOME, visit
            tomorrow = (NOW + timedelta(days=1)).replace(hour=17, minute=0)
            assert visit.callback_at == tomorrow, visit.callback_at
            assert not d.households, d.households
    finally:
        store.close()


def measure(folder: Path, flow: Flow, index: int) -> int:
    db = make_db(folder / f"flow{index}.db", flow.max_size, flow.auto_advance)
    pressed = asyncio.run(run_flow(db, flow.keys))
    try:
        check(db, flow.expect)
    except AssertionError as exc:
        raise SystemExit(f"{flow.name}: the keys {' '.join(flow.keys)} did not store the "
                         f"expected result: {exc}") from exc
    return pressed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", choices=("new", "old"), default="new",
                        help="the key sequences of this version (new, default) or of the "
                             "version before issue 15 (old: the baseline)")
    parser.add_argument("--reading", action="store_true",
                        help="also the household with the cells in reading order")
    args = parser.parse_args(argv)
    old = args.keys == "old"
    to_grid, grid = (OLD_TO_GRID, OLD_GRID) if old else (NEW_TO_GRID, NEW_GRID)
    flows = [Flow("keys per household", to_grid + grid + COMPLETE, "household"),
             Flow("keys for no one home with appointment",
                  OLD_NO_ONE_HOME if old else NEW_NO_ONE_HOME, "no_one_home")]
    if args.reading:
        flows.append(Flow("keys per household, cells in reading order",
                          to_grid + READING_GRID + COMPLETE, "household"))
    if not old:
        flows += [Flow("keys per household, auto-advance on (at most 60 a household)",
                       to_grid + grid + COMPLETE, "household", auto_advance=True),
                  Flow("keys per household, auto-advance on (at most 9 a household)",
                       to_grid + AUTO_GRID + COMPLETE, "household", max_size=9,
                       auto_advance=True)]
    print(f"keystrokes: {'keys before issue 15 (baseline)' if old else 'this version'}, "
          f"Textual Pilot, {SIZE[0]}x{SIZE[1]}, a fresh database per flow")
    with tempfile.TemporaryDirectory(prefix="census-keys-") as tmp:
        results = [(flow, measure(Path(tmp), flow, i)) for i, flow in enumerate(flows)]
    for flow, n in results:
        print(f"{flow.name}: {n}")
        print(f"    {' '.join(flow.keys)}")
    household = results[0][1]
    print(f"goal: keys per household <= {GOAL}: {'MET' if household <= GOAL else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
