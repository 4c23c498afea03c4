"""Benchmark: cost of one keystroke in the household form's count grid, against a plain Input.

Census side: `CensusApp` on a fresh copy of a demo database, on the HouseholdScreen of a draft
household (made beforehand with `Entry.record_visit`), the CountGrid focused. Every measured key
changes a cell, so every key runs the live validation AND the draft save (Entry.save_household:
rules, one durable SQLCipher transaction with its audit entries, reload, re-check, status and
problem lines). Baseline: a minimal Textual app whose only widget is a plain `Input` (cursor blink
off, so no timer repaints run during the measurement), in the same process and the same run.

Method (identical on both sides). Both apps run under `App.run_test()` (headless driver, same
size). The same key sequence is sent to both: "3", "backspace", "3", "backspace", ... (the grid
cell and the Input go 3 → empty → 3 ...; each key is a change). For each key the harness posts a
real `events.Key` to the app (built as Textual's Pilot builds it, so the app's key dispatch,
bindings and focus forwarding run as for a terminal key), then waits, without sleeping, until
the screen, its widgets and the app have no pending message (Pilot's private
`_wait_for_screen()`, repeated until every queue is empty), then until the screen's next
refresh has been drawn (`wait_for_refresh()`). `Pilot.press` is not used: it waits for the CPU to
go idle (≥ 20 ms per key, ~62 ms measured), which would swamp the figures.

Figures: CPU time (`time.process_time`, all threads) and wall time over --keys keys, per key,
the median over --rounds rounds (apps interleaved, each round a new app and, for census, a new
copy of the database; one untimed warm-up round of each first). The wall time includes waiting
for the next frame (Textual draws at most 60 frames a second), so it is at least ~17 ms on both
sides; CPU time is the cost. "Harness" is the same waiting without a key (per side), printed so
its share can be judged; "net" subtracts it.

Goal: median CPU ms per key, census / Input <= 1.5. Exit status is 0 either way.

How much is the draft save: the census side is measured once more with `HouseholdScreen.save`
replaced by a no-op (validation and grid drawing still run, nothing is stored); once more with
timing wrappers around HouseholdScreen.save, Entry.save_household and Textual's
Screen._refresh_layout (CPU and wall inside each, calls per key); and one more run is profiled
with cProfile (top functions, and the share of the save and of Textual's layout).

    .venv/bin/python bench/tui_keystroke.py                # 200 keys, 3 rounds
    .venv/bin/python bench/tui_keystroke.py --keys 50 --rounds 1   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _pilot import key_event, settle
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input

from census.domain.model import Outcome
from census.storage.listing import listing_page
from census.storage.progress import area_progress
from census.storage.records import load_dwelling
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.screens.household import HouseholdScreen
from census.tui.widgets.count_grid import CountGrid
from census.usecases.entry import Entry

GOAL = 1.5
PASSPHRASE = "bench-passphrase"
SIZE = (100, 32)
KEYS = ("3", "backspace")


class InputApp(App[None]):
    """The baseline: one plain Input."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="type here", id="field")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = False
        field.focus()


@dataclass
class Timing:
    cpu_ms: float
    wall_ms: float


async def drive(pilot: Pilot[Any], keys: list[str]) -> Timing:
    """Send `keys` one at a time, settling after each; per-key CPU and wall ms.

    An empty key string settles without sending anything (the harness's own cost)."""
    app = pilot.app
    c0, w0 = time.process_time(), time.perf_counter()
    for key in keys:
        if key:
            event = key_event(key)
            event.set_sender(app)
            app.post_message(event)
        await settle(pilot)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return Timing(cpu * 1000 / len(keys), wall * 1000 / len(keys))


def key_sequence(n: int) -> list[str]:
    return [KEYS[i % len(KEYS)] for i in range(n)]


# -- the census side -------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    db: Path
    dwelling: str
    household: str


def make_draft_db(folder: Path, python: str, households: int) -> Draft:
    """A demo database with one extra draft household (a completed visit to a listed dwelling)."""
    db = folder / "template.db"
    census_bin = str(Path(python).parent / "census")
    made = subprocess.run([census_bin, "demo", "--db", str(db), "--households", str(households)],
                          env={"CENSUS_PASSPHRASE": PASSPHRASE, "CENSUS_LANG": "en",
                               "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        raise SystemExit(f"census demo failed:\n{made.stdout}{made.stderr}")
    print(made.stdout.strip())
    store = Store.open(db, PASSPHRASE)
    try:
        entry = Entry(store)
        area = max(r.area for r in area_progress(store, time_now())
                   if r.listed > r.visited and entry.refusal(r.area) is None)
        rows = listing_page(store, area, 0, 10, "to_visit")
        if not rows:
            raise SystemExit(f"no dwelling left to visit in {area}")
        dwelling = rows[0].id
        saved = entry.record_visit(dwelling, Outcome.COMPLETED)
        if not saved.ok or saved.dwelling is None or not saved.dwelling.households:
            raise SystemExit(f"could not open a draft household: {saved.problems}")
        household = saved.dwelling.households[0].id
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return Draft(db, dwelling, household)


def time_now() -> Any:
    from datetime import datetime

    return datetime.now().replace(second=0, microsecond=0)


def fresh_copy(draft: Draft, folder: Path, name: str) -> Path:
    target = folder / name
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(draft.db, target)
    return target


Measure = Callable[[Pilot[Any]], Awaitable[Any]]


async def with_census(db: Path, draft: Draft, measure: Measure) -> tuple[Any, str, int]:
    """Run `measure` on the draft's HouseholdScreen; its result, the cell's text, and the draft
    saves made during `measure` (household revisions added, read as soon as it returned)."""
    app = CensusApp(db, PASSPHRASE)

    def revision() -> int:
        d = load_dwelling(app.store, draft.dwelling)
        assert d is not None
        return next(h.revision for h in d.households if h.id == draft.household)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(HouseholdScreen(draft.dwelling, draft.household))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HouseholdScreen), type(screen)
        for _ in range(100):
            if not screen.loading:
                break
            await settle(pilot)
        assert isinstance(app.focused, CountGrid), app.focused
        before = revision()
        result = await measure(pilot)
        saves = revision() - before
        grid = screen.query_one(CountGrid)
        shown = grid.cells[grid.cursor].text
    return result, shown, saves


async def with_input(measure: Measure) -> tuple[Any, str]:
    app = InputApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, Input), app.focused
        result = await measure(pilot)
        shown = app.screen.query_one(Input).value
    return result, shown


def per_key(keys: list[str]) -> Measure:
    async def measure(pilot: Pilot[Any]) -> Timing:
        return await drive(pilot, keys)

    return measure


def harness(n: int) -> Measure:
    async def measure(pilot: Pilot[Any]) -> Timing:
        return await drive(pilot, [""] * n)

    return measure


def profiled(keys: list[str], profile: cProfile.Profile) -> Measure:
    async def measure(pilot: Pilot[Any]) -> Timing:
        profile.enable()
        try:
            return await drive(pilot, keys)
        finally:
            profile.disable()

    return measure


class Spent:
    """CPU and wall time spent inside wrapped functions, and their call counts."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner: Any, attribute: str, name: str) -> Callable[[], None]:
        """Replace owner.attribute with a timed wrapper; returns the function that undoes it."""
        original = owner.__dict__[attribute]

        def timed(*args: Any, **kwargs: Any) -> Any:
            c0, w0 = time.process_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c0
                self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w0
                self.calls[name] = self.calls.get(name, 0) + 1

        setattr(owner, attribute, timed)
        return lambda: setattr(owner, attribute, original)


def line(label: str, timings: list[Timing]) -> str:
    cpu = [t.cpu_ms for t in timings]
    wall = [t.wall_ms for t in timings]
    return (f"{label:<44} CPU {statistics.median(cpu):6.2f} ms/key (min {min(cpu):6.2f})   "
            f"wall {statistics.median(wall):6.2f} ms/key (min {min(wall):6.2f})")


def cumulative(stats: pstats.Stats, path_end: str, name: str) -> tuple[int, float]:
    """(calls, cumulative seconds) of one function in a profile."""
    for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and filename.endswith(path_end):
            return nc, ct
    return 0, 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=200, help="keys per round (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--households", type=int, default=400,
                        help="households in the demo database (default 400)")
    parser.add_argument("--top", type=int, default=20,
                        help="functions shown from the profile (default 20)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the census venv, for `census demo` (default: this)")
    args = parser.parse_args(argv)
    if args.keys < 2 or args.rounds < 1 or args.households < 1:
        parser.error("--keys must be >= 2, --rounds and --households >= 1")
    keys = key_sequence(args.keys)
    # A completed round of keys leaves the cell empty (an even count) or holding "3".
    expected = "" if args.keys % 2 == 0 else "3"

    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        folder = Path(tmp)
        print(f"tui_keystroke: {args.keys} keys x {args.rounds} rounds, keys {'/'.join(KEYS)} "
              f"alternating, size {SIZE[0]}x{SIZE[1]}, Textual headless (run_test)")
        draft = make_draft_db(folder, args.python, args.households)
        run = asyncio.run

        # Warm-up: imports, CSS parsing and first-use caches, both sides.
        run(with_census(fresh_copy(draft, folder, "warm.db"), draft, per_key(keys[:20])))
        run(with_input(per_key(keys[:20])))

        census: list[Timing] = []
        baseline: list[Timing] = []
        saves: list[int] = []
        for r in range(args.rounds):
            db = fresh_copy(draft, folder, f"round{r}.db")
            timing, shown, made = run(with_census(db, draft, per_key(keys)))
            saves.append(made)
            if shown != expected:
                print(f"WARNING: census grid cell shows {shown!r}, expected {expected!r}")
            census.append(timing)
            timing, shown = run(with_input(per_key(keys)))
            if shown != expected:
                print(f"WARNING: Input shows {shown!r}, expected {expected!r}")
            baseline.append(timing)

        census_harness = [run(with_census(fresh_copy(draft, folder, "h.db"), draft,
                                          harness(args.keys)))[0]]
        input_harness = [run(with_input(harness(args.keys)))[0]]

        original_save = HouseholdScreen.save
        HouseholdScreen.save = lambda self, complete, overrides=None: None  # type: ignore[method-assign,assignment]
        try:
            no_save = [run(with_census(fresh_copy(draft, folder, f"nosave{r}.db"), draft,
                                       per_key(keys)))[0] for r in range(args.rounds)]
        finally:
            HouseholdScreen.save = original_save  # type: ignore[method-assign]

        from textual.screen import Screen

        spent = Spent()
        undo = [spent.wrap(Entry, "save_household", "Entry.save_household"),
                spent.wrap(HouseholdScreen, "save", "HouseholdScreen.save"),
                spent.wrap(Screen, "_refresh_layout", "Screen._refresh_layout")]
        try:
            timed_parts = run(with_census(fresh_copy(draft, folder, "parts.db"), draft,
                                          per_key(keys)))[0]
        finally:
            for step in undo:
                step()

        profile = cProfile.Profile()
        prof_db = fresh_copy(draft, folder, "profile.db")
        run(with_census(prof_db, draft, profiled(keys, profile)))

    print(f"draft saves per round (household revisions added during the timed keys): {saves} "
          f"for {args.keys} keys")
    print()
    print(line("census CountGrid (validation + draft save)", census))
    print(line("plain Textual Input (baseline)", baseline))
    ratio = statistics.median(t.cpu_ms for t in census) / statistics.median(
        t.cpu_ms for t in baseline)
    wall_ratio = statistics.median(t.wall_ms for t in census) / statistics.median(
        t.wall_ms for t in baseline)
    print(f"ratio CPU per key census/Input = {ratio:.2f}  (goal <= {GOAL:g}); wall ratio "
          f"{wall_ratio:.2f}")
    print(f"goal {'MET' if ratio <= GOAL else 'MISSED'}")
    print()
    ch, ih = census_harness[0], input_harness[0]
    print(line("harness only, census HouseholdScreen", census_harness))
    print(line("harness only, Input app", input_harness))
    net_c = statistics.median(t.cpu_ms for t in census) - ch.cpu_ms
    net_i = statistics.median(t.cpu_ms for t in baseline) - ih.cpu_ms
    print(f"net of harness: census {net_c:.2f} ms/key, Input {net_i:.2f} ms/key CPU, ratio "
          f"{net_c / net_i:.2f}" if net_i > 0 else "net of harness: Input cost below noise")
    print()
    print(line("census with HouseholdScreen.save a no-op", no_save))
    with_save = statistics.median(t.cpu_ms for t in census)
    without = statistics.median(t.cpu_ms for t in no_save)
    print(f"the draft save (and its status/problem refresh) costs {with_save - without:.2f} ms "
          f"of CPU per key, {100 * (with_save - without) / with_save:.0f}% of census's "
          f"{with_save:.2f} ms; without it census/Input = "
          f"{without / statistics.median(t.cpu_ms for t in baseline):.2f}")
    print(f"timed wrappers, one more census round ({timed_parts.cpu_ms:.2f} ms CPU per key "
          f"there), per key:")
    for name in ("HouseholdScreen.save", "Entry.save_household", "Screen._refresh_layout"):
        print(f"  {name:<24} {spent.calls.get(name, 0) / args.keys:5.2f} calls, "
              f"{spent.cpu.get(name, 0.0) * 1000 / args.keys:6.2f} ms CPU, "
              f"{spent.wall.get(name, 0.0) * 1000 / args.keys:6.2f} ms wall")
    print("  (HouseholdScreen.save = Entry.save_household + status and problem lines; the lines "
          "it updates make Textual lay the screen out once more, counted under "
          "Screen._refresh_layout: layouts of the whole screen, frames with a layout)")
    print()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    idle = sum(tt for (_f, _l, func), (_cc, _nc, tt, _ct, _c) in stats.stats.items()  # type: ignore[attr-defined]
               if func == "<method 'poll' of 'select.epoll' objects>")
    total = max(stats.total_tt - idle, 1e-9)  # type: ignore[attr-defined]
    print(f"cProfile of one census round ({args.keys} keys; {total:.2f} s busy + {idle:.2f} s "
          f"waiting in epoll; % of busy time; the profiler slows Python code far more than "
          f"SQLite's C code, so the save's share is smaller here than in the no-op comparison):")
    parts = [
        ("census/tui/screens/household.py", "changed", "HouseholdScreen.changed (per change)"),
        ("census/tui/screens/household.py", "save",
         "HouseholdScreen.save (draft save + follow-up)"),
        ("census/usecases/entry.py", "save_household",
         "  Entry.save_household (load, rules, write)"),
        ("census/usecases/forms.py", "store_dwellings",
         "    forms.store_dwellings (the transaction)"),
        ("census/tui/screens/household.py", "show_problems", "  HouseholdScreen.show_problems"),
        ("census/tui/screens/household.py", "update_status", "  HouseholdScreen.update_status"),
        ("census/storage/records.py", "load_dwelling", "records.load_dwelling (all callers)"),
        ("census/usecases/entry.py", "check", "Entry.check (all callers)"),
        ("census/tui/widgets/count_grid.py", "render", "CountGrid.render (builds the Table)"),
        ("textual/screen.py", "_refresh_layout", "Textual Screen._refresh_layout (all widgets)"),
        ("textual/screen.py", "_on_timer_update", "Textual frame updates (layout + paint)"),
        ("rich/table.py", "__rich_measure__", "rich Table measure (auto width)"),
        ("textual/widget.py", "get_content_height", "Widget.get_content_height (auto height)"),
    ]
    for path_end, name, label in parts:
        calls, seconds = cumulative(stats, path_end, name)
        print(f"  {label:<48} {calls:5d} calls {seconds * 1000:9.1f} ms "
              f"{100 * seconds / total:5.1f}%")
    stats.sort_stats("cumulative").print_stats(r"/census/", args.top)
    stats.sort_stats("cumulative").print_stats(r"/(textual|rich)/", args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
