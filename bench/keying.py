"""Benchmark: keying paper forms heads-down in the app (issue 16), against `census forms import`.

Timed: N paper forms keyed key by key through the real app (`CensusApp`, `App.run_test()`,
headless, 100x40) on a fresh supervisor database with the area register: from the dashboard `k`,
operator K01, batch R01-D01-EA001, mode 1 (key); timed from the first key of the first form to
the last key of the last (stored, the next blank form open). Each key is an `events.Key` posted
to the app as Pilot builds one (bench/_pilot.py; `Pilot.press` waits for an idle CPU, >= 20 ms a
key). Two runs, each on its own database: `app` waits after each key until every message queue
is empty and the next refresh is drawn (`settle`: each key handled and shown, as for a clerk;
Textual draws <= 60 frames a second, so >= ~17 ms a key wall; the CPU time per key, harness
included, is the app's cost on this machine); `app, frames not awaited` waits only for the
queues (keys typed ahead): the ceiling of key handling.

Keys of a form, counted as sent: each field of `census.domain.keying.paper_fields` in order, its
digits, then Enter unless the digits fill the field; a count of 0 is Enter alone. Forms:
structure 1..N, dwelling 1, household 1, a visit day (DDMM) in the last 4 weeks (now is the real
time, which the CLI import uses), outcome 1 (completed), a seeded grid no rule warns about
(always an adult; now and then a two-digit cell, persons away, visitors, a proxy). Form 1 is
the reference form, bench/keystrokes.py's household: 2 women 25-34, 1 man 35-44, 1 girl 0-4,
1 boy 5-14, no one away, no visitors, a member answered, visited 8 days ago. The app's own count
is `keying_session.keystrokes` after the run: the forms' keys plus the Esc ending the session.

Baseline, same run: the same forms as JSON Lines (README "Forms file (JSON Lines)": same area and
numbers, a completed visit at 00:00 of the same day, same counts, away, visitors, respondent,
households complete) imported into a fresh supervisor database by `census.usecases.forms.
import_lines` in-process (opening the store not timed, as the app's start is not); `census forms
import --db DB FILE` (a child process, start-up included) is printed for information. Checked
from each database: N households complete, every form stored as keyed (numbers, visit, each
count, away, visitors, respondent); for the app also each form stored after its keys and the
session row (K01, N forms, keys sent + Esc, no bad keystroke). Figures are printed only if every
check passes, else exit status 1 with the reason: a key sequence that stops working fails.

    .venv/bin/python bench/keying.py                # 150 forms, about 2 minutes
    .venv/bin/python bench/keying.py --forms 50     # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _pilot import key_event, settle
from textual.pilot import Pilot

from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.keying import PaperForm, paper_fields, values_of
from census.domain.model import Area, Outcome, Respondent, Role
from census.storage.areas import import_areas
from census.storage.records import load_dwelling
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.screens.dashboard import DashboardScreen
from census.tui.screens.keying import KeyingScreen, KeyingStartScreen
from census.usecases.forms import import_lines

KEY = "x'" + "5e" * 32 + "'"  # a raw key: no passphrase derivation in a benchmark
NOW = datetime.now().replace(second=0, microsecond=0)  # `census forms import` uses the real now
AREA = "R01-D01-EA001"
SIZE = (100, 40)
OPERATOR = "K01"
DEFAULT_FORMS = 150
CONFIG = default_config()
AREAS = [Area("R01", "region", "North"), Area("R01-D01", "district", "Riverside", "R01"),
         Area(AREA, "ea", "Riverside 1", "R01-D01", 9999, "E001")]
REFERENCE = {("female", "25-34"): 2, ("male", "35-44"): 1, ("female", "0-4"): 1,
             ("male", "5-14"): 1}
ADULT_BANDS = [b.code for b in CONFIG.age_bands if b.low >= CONFIG.rules.adult_age]


class Failed(Exception):
    """A check failed: no figure is printed."""


def make_forms(n: int, seed: int) -> list[PaperForm]:
    rng = random.Random(seed)
    today, cells = NOW.date(), list(CONFIG.cells)
    forms = [PaperForm(AREA, 1, 1, 1, today - timedelta(days=8), Outcome.COMPLETED,
                       dict(REFERENCE))]
    while len(forms) < n:
        residents = {(rng.choice(CONFIG.sexes).code, rng.choice(ADULT_BANDS)): 1}
        for _ in range(rng.randint(0, 6)):
            cell = rng.choice(cells)
            residents[cell] = residents.get(cell, 0) + 1
        if rng.random() < 0.05:
            residents[rng.choice(cells)] = 10  # a two-digit cell
        away = rng.choice((0, 0, 0, 1, 2))
        if sum(residents.values()) + away > CONFIG.rules.large_household:
            continue  # W001 would stop the form: drawn again
        s = len(forms) + 1
        forms.append(PaperForm(
            AREA, s, 1, 1, today - timedelta(days=s % 28), Outcome.COMPLETED, residents,
            away=away, visitors=rng.choice((0, 0, 0, 0, 1)),
            respondent=Respondent.PROXY if rng.random() < 0.1 else Respondent.MEMBER))
    return forms


def keys_of(form: PaperForm) -> list[str]:
    """The keys a clerk sends for `form`: digits, Enter unless the field is full; 0 is Enter."""
    values, keys = values_of(form, CONFIG), []
    for field in (f for f in paper_fields(CONFIG) if f.name in values):  # those the form has
        text = "" if field.counts and values[field.name] == "0" else values[field.name]
        keys += [*text, *(["enter"] if len(text) < field.digits else [])]
    return keys


def record_json(form: PaperForm) -> dict[str, Any]:
    residents = {x.code: {b: c for (s, b), c in form.residents.items() if s == x.code}
                 for x in CONFIG.sexes}
    return {"id": new_id(), "revision": 1, "area": form.area, "structure": form.structure,
            "dwelling": form.dwelling, "enumerator": "E001",  # a house, occupied: the defaults
            "visits": [{"attempt": 1, "at": form.visited_at.strftime("%Y-%m-%dT%H:%M"),
                        "outcome": str(form.outcome), "enumerator": "E001"}],
            "households": [{"id": new_id(), "number": form.household, "revision": 1,
                            "status": "complete", "respondent": str(form.respondent),
                            "residents": residents, "away": form.away,
                            "visitors": form.visitors}]}


def make_db(path: Path) -> Path:
    store = Store.create(path, KEY, CONFIG, Role.SUPERVISOR, "S01")
    import_areas(store, AREAS, "S01")
    store.close()
    return path


def check_stored(db: Path, forms: list[PaperForm]) -> list[tuple[Any, ...]]:
    """Every form stored exactly once, as keyed (Failed if not); the keying sessions' rows."""
    store = Store.open(db, KEY)
    try:
        complete = store.conn.execute(
            "SELECT count(*) FROM household WHERE status = 'complete'").fetchone()[0]
        if complete != len(forms):
            raise Failed(f"{db.name}: {complete} complete households stored, expected "
                         f"{len(forms)}")
        ids = dict(store.conn.execute("SELECT structure, id FROM dwelling WHERE area = ? AND "
                                      "number = 1", (AREA,)).fetchall())
        for form in forms:
            d = load_dwelling(store, ids.get(form.structure, ""))
            if d is None or len(d.households) != 1 or len(d.visits) != 1:
                raise Failed(f"{db.name}: form {form.questionnaire} not stored as one "
                             f"dwelling, one visit, one household: {d}")
            v, h = d.visits[0], d.households[0]
            got = (v.at, v.outcome, h.number, dict(h.residents), h.away, h.visitors,
                   h.respondent)
            want = (form.visited_at, form.outcome, form.household, dict(form.residents),
                    form.away, form.visitors, form.respondent)
            if got != want:
                raise Failed(f"{db.name}: form {form.questionnaire} stored {got}, keyed {want}")
        return [tuple(r) for r in store.conn.execute(
            "SELECT operator, mode, area, forms, keystrokes, bad_keystrokes FROM "
            "keying_session").fetchall()]
    finally:
        store.close()


@dataclass
class AppRun:
    seconds: float
    cpu: float
    per_form: list[int]  # keys sent for each form
    keys: int = 0
    counted: int = 0  # keystrokes in the session row


async def send(pilot: Pilot[None], key: str, draw: bool = True) -> None:
    """One key, handled (and with `draw`, drawn) before this returns."""
    app, event = pilot.app, key_event(key)
    event.set_sender(app)
    app.post_message(event)
    if draw:
        await settle(pilot)
        return
    for _ in range(1000):
        await pilot._wait_for_screen()
        if not any(n.message_queue_size for n in [app, *app.screen.walk_children(with_self=True)]):
            return


async def key_in_app(db: Path, forms: list[PaperForm], draw: bool) -> AppRun:
    app, run = CensusApp(db, KEY, clock=lambda: NOW), AppRun(0.0, 0.0, [])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await send(pilot, "k")  # on the dashboard, a supervisor's home screen
        if not isinstance(app.screen, KeyingStartScreen):
            raise Failed(f"k on the dashboard opened {app.screen}, not the keying start")
        for key in [*OPERATOR, "enter", "ctrl+u", *AREA, "enter", "backspace", "1", "enter"]:
            await send(pilot, key)
        screen = app.screen
        if not isinstance(screen, KeyingScreen):
            raise Failed(f"the start screen led to {screen}, not the keying screen")
        c0, t0 = time.process_time(), time.perf_counter()
        for i, form in enumerate(forms, start=1):
            keys = keys_of(form)
            for key in keys:
                await send(pilot, key, draw)
            run.per_form.append(len(keys))
            if app.screen is not screen or screen.keying.counts.forms != i:
                raise Failed(f"form {form.questionnaire} not stored after {' '.join(keys)}: "
                             f"{app.screen}, {screen.keying.counts.forms} forms stored; it says "
                             f"{screen.paper.message!r} {screen.query_one('#problems').render()}")
        run.seconds, run.cpu = time.perf_counter() - t0, time.process_time() - c0
        run.keys = sum(run.per_form)
        await send(pilot, "escape")  # ends the session: its counts kept
        if not isinstance(app.screen, DashboardScreen):
            raise Failed(f"Esc on the keying screen led to {app.screen}, not the dashboard")
    sessions = check_stored(db, forms)
    want = [(OPERATOR, "key", AREA, len(forms), run.keys + 1, 0)]
    if sessions != want:
        raise Failed(f"{db.name}: session rows {sessions}, expected {want} (operator, mode, "
                     "area, forms, keystrokes = keys sent + Esc, bad keystrokes)")
    run.counted = sessions[0][4]
    return run


def import_in_process(db: Path, lines: list[str], forms: list[PaperForm]) -> float:
    found: list[str] = []
    store = Store.open(db, KEY)
    t0 = time.perf_counter()
    report = import_lines(store, lines, now=NOW, sink=lambda n, p: found.append(f"{n}: {p}"))
    seconds = time.perf_counter() - t0
    store.close()
    if found or report.households.added != len(lines):
        raise Failed(f"import: {report.households.added} households added of {len(lines)}; "
                     f"problems: {found[:5]}")
    check_stored(db, forms)
    return seconds


def import_cli(db: Path, file: Path, forms: list[PaperForm]) -> float:
    census, env = Path(sys.executable).parent / "census", {**os.environ, "CENSUS_PASSPHRASE": KEY}
    t0 = time.perf_counter()
    done = subprocess.run([census, "forms", "import", "--db", db, file], env=env, text=True,
                          capture_output=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise Failed(f"census forms import failed ({done.returncode}): "
                     f"{(done.stdout + done.stderr)[-2000:]}")
    check_stored(db, forms)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", type=int, default=DEFAULT_FORMS,
                        help=f"paper forms (default {DEFAULT_FORMS})")
    parser.add_argument("--seed", type=int, default=16, help="seed of the forms' grids")
    args = parser.parse_args(argv)
    if not 1 <= args.forms <= 9999:
        parser.error("--forms from 1 to 9999 (structure numbers have 4 digits)")
    n, forms = args.forms, make_forms(args.forms, args.seed)
    print(f"keying: {n} paper forms, Textual headless {SIZE[0]}x{SIZE[1]}, load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    try:
        with tempfile.TemporaryDirectory(prefix="census-keying-") as tmp:
            folder = Path(tmp)
            run = asyncio.run(key_in_app(make_db(folder / "app.db"), forms, draw=True))
            fast = asyncio.run(key_in_app(make_db(folder / "fast.db"), forms, draw=False))
            lines = [json.dumps(record_json(f)) for f in forms]
            imported = import_in_process(make_db(folder / "import.db"), lines, forms)
            (folder / "forms.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            cli = import_cli(make_db(folder / "cli.db"), folder / "forms.jsonl", forms)
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    per_min = {name: n * 60 / s for name, s in (("app", run.seconds), ("fast", fast.seconds),
                                                ("import", imported), ("cli", cli))}
    for name, r in (("app", run), ("app, frames not awaited", fast)):
        print(f"{name}: {n} forms in {r.seconds:.1f} s = {n * 60 / r.seconds:,.0f} forms/min "
              f"({r.keys:,} keys, {r.seconds * 1000 / r.keys:.1f} ms/key wall, "
              f"{r.cpu * 1000 / r.keys:.1f} ms/key CPU)")
    print(f"import: {n} forms in {imported:.3f} s = {per_min['import']:,.0f} forms/min (the "
          f"baseline, in-process; the CLI: {cli:.2f} s = {per_min['cli']:,.0f} forms/min)")
    print(f"ratio app/import: {per_min['app'] / per_min['import']:.3g}x  (frames not awaited: "
          f"{per_min['fast'] / per_min['import']:.3g}x; app/CLI: "
          f"{per_min['app'] / per_min['cli']:.3g}x)")
    print(f"keys per form: {run.keys / n:.1f} (min {min(run.per_form)}, max "
          f"{max(run.per_form)}; reference form: {run.per_form[0]}; counted by the app: "
          f"{run.counted:,} = {run.keys:,} form keys + Esc)")
    print(f"    reference form: {' '.join(keys_of(forms[0]))}")
    print(f"checked: {n} households complete in each of the 4 databases, every form as keyed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
