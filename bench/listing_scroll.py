"""Benchmark: the listing of one enumeration area with 10,000 dwellings, paged from SQLite.

Data (untimed, once per run): a fresh encrypted database made with the real CLI, `census init`,
`census area import` (one region, one district, one EA expecting --dwellings dwellings) and
`census forms import` of --dwellings JSON lines, all in that EA (demo records from
`census.usecases.demo.dwellings`, written with `census.formats.record_json.dwelling_to_json`:
about 60% visited with
their households, the rest still to visit). Each measurement gets its own copy of that database,
because opening the listing remembers the area (setting "resume") and the next start would reopen
on it.

Census side: `CensusApp` under `App.run_test()` (headless, --width x --height), on its Home
screen; the timed part pushes `ListingScreen(area)` (opens on page 1 of 50 rows), then presses
PageDown --pages times and PageUp as many times. Baseline, same app and database, in the same
run: a screen that loads ALL the area's rows at once (`Store.listing_page(area, 0, total)`, the
same query, columns and cell texts as ListingScreen) into one DataTable, then the same PageDown
and PageUp keys (there DataTable's own page keys: the cursor moves one screenful).

Each key is a real `events.Key` posted to the app (as Textual's Pilot builds it); after it, and
after the push, the harness waits without sleeping until the app, the screen and its widgets
have no pending message, then for the next drawn frame. (Pilot.press waits for the CPU to go
idle, ≥ 20 ms a key, so it is not used.) `DataTable.add_row` is wrapped (class level, both
sides) to record the most rows the table ever held and how many rows were added to it, and
`ListingScreen.reload` to count its calls.

Each side runs in its own process (a child of this script), twice: once for times and RSS,
once under tracemalloc (Python allocations; slower, its times are not used). Peak RSS is the
process's VmHWM, reset through /proc/self/clear_refs just before the push so that it covers only
the timed part; getrusage's ru_maxrss (the whole child's life) is printed too.

Goals: (1) the listing's DataTable never holds more than one page (50 rows); (2) opening the
paged listing takes at most the time of loading all rows, and (3) its peak memory growth (RSS
and tracemalloc) is at most the baseline's; (4) a page key costs at most 1.5x the baseline's
page key (wall, median). Each is reported MET or MISSED. Exit status is 0 either way.

    .venv/bin/python bench/listing_scroll.py                   # 10,000 dwellings, 20 pages
    .venv/bin/python bench/listing_scroll.py --dwellings 2000 --pages 5   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

from _proc import reset_peak_rss, status_kib

PASSPHRASE = "bench-passphrase"
PAGE_ROWS = 50
GOAL_PAGE = 1.5
AREA = "R01-D01-EA001"


# -- data (parent process; no Textual) -------------------------------------------------------


def make_database(folder: Path, python: str, dwellings: int) -> Path:
    """init + area import + forms import of `dwellings` records in one EA, by the real CLI."""
    from census.domain.config import default_config
    from census.domain.model import Area
    from census.formats.record_json import dwelling_to_json
    from census.usecases import demo

    cfg = default_config()
    region, district, ea = cfg.levels[0], cfg.levels[1], cfg.levels[-1]
    areas = [Area("R01", region, "Bench Region"),
             Area("R01-D01", district, "Bench District", "R01"),
             Area(AREA, ea, "Bench EA", "R01-D01", expected_dwellings=dwellings,
                  enumerator="E001")]
    areas_csv = folder / "areas.csv"
    with areas_csv.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "parent", "level", "name", "expected_dwellings", "enumerator"])
        for a in areas:
            w.writerow([a.code, a.parent or "", a.level, a.name, a.expected_dwellings or "",
                        a.enumerator or ""])
    # demo.dwellings makes ceil(households / 0.84) dwellings per EA; ask for enough, keep N.
    plan = demo.DemoPlan(math.ceil(dwellings * 0.84) + 1, areas, "E001")
    now = datetime.now().replace(second=0, microsecond=0)
    forms = folder / "forms.jsonl"
    with forms.open("w", encoding="utf-8") as fh:
        for d in itertools.islice(demo.dwellings(cfg, plan, now), dwellings):
            fh.write(json.dumps(dwelling_to_json(d, cfg)) + "\n")
    db = folder / "template.db"
    census_bin = str(Path(python).parent / "census")
    env = {**os.environ, "CENSUS_PASSPHRASE": PASSPHRASE, "CENSUS_LANG": "en"}
    for argv in ([census_bin, "init", "--db", str(db)],
                 [census_bin, "area", "import", str(areas_csv), "--db", str(db)],
                 [census_bin, "forms", "import", str(forms), "--db", str(db)]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[1:3])} failed:\n{done.stdout}{done.stderr}")
        print(f"  {' '.join(argv[1:3])}: {done.stdout.strip()}")
    return db


def fresh_copy(template: Path, target: Path) -> Path:
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return target


def run_child(python: str, side: str, db: Path, args: argparse.Namespace, trace: bool
              ) -> dict[str, Any]:
    argv = [python, __file__, "--child", side, "--db", str(db), "--pages", str(args.pages),
            "--width", str(args.width), "--height", str(args.height)]
    if trace:
        argv.append("--trace")
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env={**os.environ, "CENSUS_LANG": "en"})
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child {side} failed ({done.returncode}):\n{done.stdout}\n"
                         f"{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- measurement (child process) ---------------------------------------------------------------


def child(side: str, db: Path, pages: int, size: tuple[int, int], trace: bool) -> dict[str, Any]:
    from _pilot import key_event, settle
    from textual.app import ComposeResult
    from textual.widgets import DataTable, Footer, Label

    from census.domain.model import DwellingType, Occupancy, Outcome
    from census.i18n import _
    from census.storage.listing import ListingRow, listing_count, listing_page
    from census.tui.app import CensusApp
    from census.tui.base import CensusScreen
    from census.tui.labels import OCCUPANCY, OUTCOMES, STATUSES, TYPES
    from census.tui.screens.listing import ListingScreen

    held: dict[int, int] = {}
    added: dict[int, int] = {}
    original_add_row = DataTable.add_row

    def add_row(self: DataTable[Any], *cells: Any, **kwargs: Any) -> Any:
        key = original_add_row(self, *cells, **kwargs)
        added[id(self)] = added.get(id(self), 0) + 1
        held[id(self)] = max(held.get(id(self), 0), self.row_count)
        return key

    DataTable.add_row = add_row  # type: ignore[method-assign]
    reloads = [0]
    original_reload = ListingScreen.reload

    def reload(self: ListingScreen, select: str | None = None) -> None:
        reloads[0] += 1
        original_reload(self, select)

    ListingScreen.reload = reload  # type: ignore[method-assign]

    def cells(r: ListingRow) -> tuple[str, ...]:
        """The row's texts exactly as ListingScreen.reload writes them."""
        last = _(OUTCOMES[Outcome(r.last_outcome)]) if r.last_outcome else "—"
        if r.callback_at and r.status == "callback":
            last += " → " + r.callback_at.replace("T", " ")[5:]
        return (f"{r.structure}/{r.number}", _(TYPES[DwellingType(r.type)])[:12],
                _(OCCUPANCY[Occupancy(r.occupancy)])[:12], _(STATUSES[r.status]), last,
                str(r.households), (r.locator or "")[:24])

    class AllRowsScreen(CensusScreen):
        """Baseline: every dwelling of the area in one DataTable, loaded at once."""

        def __init__(self, area: str) -> None:
            super().__init__()
            self.area = area

        def compose(self) -> ComposeResult:
            yield Label("", id="title", classes="title")
            yield DataTable(id="listing", cursor_type="row")
            yield Footer()

        def on_mount(self) -> None:
            store = self.census.store
            total = listing_count(store, self.area)
            self.query_one("#title", Label).update(f"Area {self.area}: {total} dwellings")
            table = self.query_one(DataTable)
            table.add_columns(_("Str/Dw"), _("Type"), _("Occupancy"), _("Status"),
                              _("Last visit"), _("HH"), _("Locator"))
            for r in listing_page(store, self.area, 0, total):
                table.add_row(*cells(r), key=r.id)
            table.focus()

    result: dict[str, Any] = {"side": side}

    async def run() -> None:
        app = CensusApp(db, PASSPHRASE)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            if type(app.screen).__name__ != "HomeScreen":
                raise SystemExit(f"the app started on {type(app.screen).__name__}, not Home")
            result["rss_before_kib"] = status_kib("VmRSS")
            result["peak_reset"] = reset_peak_rss()
            traced_before = 0
            if trace:
                tracemalloc.start()
                tracemalloc.reset_peak()
                traced_before = tracemalloc.get_traced_memory()[0]
            c0, w0 = time.process_time(), time.perf_counter()
            app.push_screen(ListingScreen(AREA) if side == "paged" else AllRowsScreen(AREA))
            await settle(pilot)
            result["open_ms"] = (time.perf_counter() - w0) * 1000
            result["open_cpu_ms"] = (time.process_time() - c0) * 1000
            screen = app.screen
            paged = isinstance(screen, ListingScreen)
            table = screen.query_one(DataTable)
            result["rows_after_open"] = table.row_count
            result["rows_added_opening"] = added.get(id(table), 0)
            result["reloads_opening"] = reloads[0]
            steps: dict[str, list[float]] = {"pagedown": [], "pageup": []}
            cpu: list[float] = []
            cursor_moves: list[int] = []
            pages_seen: list[int] = []
            for key in ["pagedown"] * pages + ["pageup"] * pages:
                before = (getattr(screen, "page", 0), table.cursor_row)
                c1, w1 = time.process_time(), time.perf_counter()
                event = key_event(key)
                event.set_sender(app)
                app.post_message(event)
                await settle(pilot)
                steps[key].append((time.perf_counter() - w1) * 1000)
                cpu.append((time.process_time() - c1) * 1000)
                after = (getattr(screen, "page", 0), table.cursor_row)
                pages_seen.append(after[0])
                cursor_moves.append(abs((after[0] - before[0]) * PAGE_ROWS
                                        + after[1] - before[1]))
            result["total_ms"] = (time.perf_counter() - w0) * 1000
            result["page_ms"] = steps
            result["page_cpu_ms"] = cpu
            result["rows_moved_per_key"] = statistics.median(cursor_moves)
            result["last_page_reached"] = max(pages_seen) + 1 if paged else None
            result["back_on_page"] = pages_seen[-1] + 1 if paged else None
            result["rss_after_kib"] = status_kib("VmRSS")
            result["peak_rss_kib"] = status_kib("VmHWM")
            if trace:
                current, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                result["traced_peak_kib"] = (peak - traced_before) / 1024
                result["traced_end_kib"] = (current - traced_before) / 1024
            result["table_max_rows"] = held.get(id(table), 0)
            result["rows_added"] = added.get(id(table), 0)
            result["reloads"] = reloads[0]

    asyncio.run(run())
    result["ru_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


# -- report ------------------------------------------------------------------------------------


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def describe(label: str, r: dict[str, Any], t: dict[str, Any]) -> list[str]:
    down, up = r["page_ms"]["pagedown"], r["page_ms"]["pageup"]
    every = down + up
    pages = (f"; furthest page {r['last_page_reached']}, back on page {r['back_on_page']}"
             if r["last_page_reached"] is not None else "")
    return [
        f"{label}",
        f"  open: {r['open_ms']:8.1f} ms wall, {r['open_cpu_ms']:8.1f} ms CPU; rows in the "
        f"table after opening {r['rows_after_open']} ({r['rows_added_opening']} added; "
        f"ListingScreen.reload ran {r['reloads_opening']}x)",
        f"  per page key: median {statistics.median(every):6.1f} ms wall (PageDown "
        f"{statistics.median(down):6.1f}, PageUp {statistics.median(up):6.1f}, max "
        f"{max(every):6.1f}), CPU {statistics.median(r['page_cpu_ms']):6.1f} ms; cursor moved "
        f"{r['rows_moved_per_key']:.0f} rows per key{pages}",
        f"  first PageDown {down[0]:6.1f} ms, last PageDown {down[-1]:6.1f} ms, first PageUp "
        f"{up[0]:6.1f} ms, last PageUp {up[-1]:6.1f} ms (wall)",
        f"  whole run (open + {len(every)} keys): {r['total_ms']:8.1f} ms wall",
        f"  rows: the table held at most {r['table_max_rows']}; rows added to it in all "
        f"{r['rows_added']} (ListingScreen.reload ran {r['reloads']}x)",
        f"  RSS before opening {mib(r['rss_before_kib'])}, after {mib(r['rss_after_kib'])}, "
        f"peak during the run {mib(r['peak_rss_kib'])} "
        f"(+{mib(r['peak_rss_kib'] - r['rss_before_kib'])}); ru_maxrss "
        f"{mib(r['ru_maxrss_kib'])}",
        f"  tracemalloc (separate run): peak +{mib(t['traced_peak_kib'])} over the start, "
        f"still held at the end +{mib(t['traced_end_kib'])}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dwellings", type=int, default=10_000,
                        help="dwellings in the one area (default 10000)")
    parser.add_argument("--pages", type=int, default=20,
                        help="PageDown presses, then as many PageUp (default 20)")
    parser.add_argument("--width", type=int, default=120, help="screen columns (default 120)")
    parser.add_argument("--height", type=int, default=40, help="screen lines (default 40)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the census venv (default: this one)")
    parser.add_argument("--child", choices=["paged", "all"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.db, args.pages, (args.width, args.height),
                               args.trace)))
        return 0
    if args.dwellings < 1 or args.pages < 1:
        parser.error("--dwellings and --pages must be >= 1")

    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        folder = Path(tmp)
        print(f"listing_scroll: {args.dwellings} dwellings in {AREA}, {args.pages} x PageDown "
              f"then {args.pages} x PageUp, screen {args.width}x{args.height}, run_test "
              f"(headless); making the database:")
        t0 = time.perf_counter()
        template = make_database(folder, args.python, args.dwellings)
        print(f"  ({time.perf_counter() - t0:.1f} s, {template.stat().st_size / 2**20:.1f} MiB)")
        runs: dict[str, dict[str, Any]] = {}
        traced: dict[str, dict[str, Any]] = {}
        for side in ("paged", "all"):
            runs[side] = run_child(args.python, side, fresh_copy(template, folder / "t.db"),
                                   args, trace=False)
            traced[side] = run_child(args.python, side, fresh_copy(template, folder / "m.db"),
                                     args, trace=True)

    paged, base = runs["paged"], runs["all"]
    print()
    for line in describe("census ListingScreen (paged, 50 rows a page)", paged, traced["paged"]):
        print(line)
    print()
    for line in describe(f"baseline: all {args.dwellings} rows in one DataTable", base,
                         traced["all"]):
        print(line)
    if not (paged["peak_reset"] and base["peak_reset"]):
        print("NOTE: /proc/self/clear_refs was not writable: peak RSS covers the whole process")

    def page_median(r: dict[str, Any]) -> float:
        return statistics.median(r["page_ms"]["pagedown"] + r["page_ms"]["pageup"])

    open_ratio = paged["open_ms"] / base["open_ms"]
    page_ratio = page_median(paged) / page_median(base)
    rss_p = paged["peak_rss_kib"] - paged["rss_before_kib"]
    rss_b = base["peak_rss_kib"] - base["rss_before_kib"]
    tm_p, tm_b = traced["paged"]["traced_peak_kib"], traced["all"]["traced_peak_kib"]
    print()
    print("ratios census (paged) / baseline (all rows):")
    print(f"  open time          {open_ratio:6.3f}")
    print(f"  per page key       {page_ratio:6.2f}  (wall, median)")
    print(f"  whole run          {paged['total_ms'] / base['total_ms']:6.3f}")
    print(f"  peak RSS growth    {rss_p / max(rss_b, 1):6.3f}  ({rss_p / 1024:.1f} vs "
          f"{rss_b / 1024:.1f} MiB)")
    print(f"  tracemalloc peak   {tm_p / max(tm_b, 1):6.3f}  ({tm_p / 1024:.1f} vs "
          f"{tm_b / 1024:.1f} MiB)")
    goals = [
        (f"table never holds more than one page ({PAGE_ROWS} rows): held "
         f"{paged['table_max_rows']}", paged["table_max_rows"] <= PAGE_ROWS),
        (f"open time <= baseline's: {open_ratio:.3f}x", open_ratio <= 1.0),
        (f"peak memory growth <= baseline's: RSS {rss_p / max(rss_b, 1):.3f}x, tracemalloc "
         f"{tm_p / max(tm_b, 1):.3f}x", rss_p <= rss_b and tm_p <= tm_b),
        (f"page key <= {GOAL_PAGE:g}x baseline's page key: {page_ratio:.2f}x",
         page_ratio <= GOAL_PAGE),
    ]
    for text, met in goals:
        print(f"goal {'MET   ' if met else 'MISSED'} {text}")
    print(f"goal {'MET' if all(m for _t, m in goals) else 'MISSED'} (all of the above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
