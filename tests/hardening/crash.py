"""The crash-injection harness (issue 6): real `census` processes killed with SIGKILL.

A trial copies a prepared database, starts one real process on it (a batch import, a bundle
import, or the enumerator app driven by Pilot in a subprocess, tests/hardening/tui_driver.py),
kills it at a random moment of its run (no cleanup, no atexit, no rollback by Python), then opens
the database and checks what must hold after any crash:
- `PRAGMA integrity_check` says ok and the audit chain verifies;
- every save the process had reported is stored, unchanged (the app's drafts and completed
  forms); a batch import holds whole chunks, each record as it was in the file; a bundle is
  merged whole or not at all;
- running the same work again ends in the state of a run never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.model import Role
from census.formats.payload import dwelling_row, encode, household_row, override_rows, visit_rows
from census.formats.record_json import dwelling_to_json
from census.storage.areas import import_areas
from census.storage.exchange.peers import grant_areas, save_peer
from census.storage.records import count_rows, iter_dwellings
from census.storage.store import Store, utc_now
from census.transfer.keys import KeyPair, PublicKey
from census.transfer.seal import seal
from census.usecases import demo
from census.usecases.bundles import import_bundle
from census.usecases.keys import card, init_keys
from tests.helpers import RAW_KEY
from tests.usecases import fieldwork as fw

NOW = datetime(2026, 11, 28, 12, 0)
STAMP = "2026-11-28T12:00:00Z"
CENSUS = Path(sys.executable).with_name("census")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """One process: how long it ran, how it ended, what it printed to stderr."""

    seconds: float
    returncode: int
    killed: bool
    wal_peak: int  # the largest -wal size seen while it ran
    wal_at_kill: int
    stderr: str


def run_killed(argv: list[str], db: Path, kill: Callable[[float, int], bool] | None = None,
               cwd: Path | None = None, watch: str = "-wal") -> Run:
    """Run `argv` with the database key in its environment; with `kill(seconds, wal_bytes)`,
    SIGKILL it as soon as that says so (polled every half millisecond). `watch`: the file
    beside the database whose size is watched (the rollback journal: "-journal")."""
    env = {**os.environ, "CENSUS_PASSPHRASE": RAW_KEY, "PYTHONPATH": str(ROOT)}
    wal = Path(f"{db}{watch}")
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    peak = at_kill = 0
    killed = False
    try:
        while proc.poll() is None:
            try:
                size = wal.stat().st_size
            except FileNotFoundError:
                size = 0
            peak = max(peak, size)
            if kill is not None and kill(time.monotonic() - start, size):
                proc.send_signal(signal.SIGKILL)
                killed, at_kill = True, size
                break
            time.sleep(0.0005)
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(time.monotonic() - start, proc.returncode, killed, peak, at_kill,
               err.decode(errors="replace"))


def run_ok(argv: list[str], db: Path, what: str = "", watch: str = "-wal") -> Run:
    """Run `argv` to its end; it must succeed."""
    run = run_killed(argv, db, watch=watch)
    assert run.returncode == 0, (what, run.stderr)
    return run


def census_argv(*args: str | Path) -> list[str]:
    assert CENSUS.exists(), CENSUS
    return [str(CENSUS), *(str(a) for a in args)]


@dataclass(frozen=True)
class Moment:
    """When to kill: at `seconds` into the run, or (with `wal`) as soon as the -wal file holds
    that share of what a full run writes to it, which aims the kill at SQLite's writes."""

    seconds: float = 0.0
    wal: float | None = None

    def __str__(self) -> str:
        if self.wal is not None:
            return f"at {self.wal:.0%} of the WAL"
        return f"at {self.seconds:.3f} s"

    def trigger(self, wal_peak: int) -> Callable[[float, int], bool]:
        if self.wal is None:
            return lambda t, _w: t >= self.seconds
        wal = self.wal
        return lambda _t, w: w >= max(1, wal * wal_peak)


def kill_moments(rng: random.Random, seconds: float, n: int, by_wal: bool = False
                 ) -> list[Moment]:
    """`n` moments spread over a run of `seconds`: one per equal slice, at a random place in it
    (so every part of the run is hit); with `by_wal`, every other one is aimed at the WAL's
    growth instead (a random share of it; the last two at the whole: just after the commit
    frame)."""
    moments = []
    for i in range(n):
        if by_wal and i % 2:
            last = i + 4 >= n  # the last two
            moments.append(Moment(wal=1.0 if last else (i // 2 + rng.random()) / (n // 2)))
        else:
            moments.append(Moment(seconds=(i + rng.random()) * seconds / n))
    return moments


def sound(store: Store) -> None:
    """What holds after any crash: SQLite's own check and the audit chain."""
    rows = store.conn.execute("PRAGMA integrity_check").fetchall()
    assert rows == [("ok",)], rows
    check = store.verify_audit()
    assert check.ok, check


@contextmanager
def opened(db: Path, key: str = RAW_KEY) -> Iterator[Store]:
    store = Store.open(db, key)
    try:
        yield store
    finally:
        store.close()


def copy_db(pristine: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    db = folder / "census.db"
    shutil.copyfile(pristine, db)
    return db


# -- a supervisor's database and a bundle for it -------------------------------------------------


def _body() -> dict[str, list[Any]]:
    return {"dwellings": [], "visits": [], "households": [], "overrides": [], "decisions": [],
            "closed": []}


def _seal(body: dict[str, list[Any]], seq: int, sender: KeyPair, to: PublicKey,
          path: Path) -> Path:
    cfg = default_config()
    header = {"id": new_id(), "sender": "E001", "sender_role": "enumerator",
              "recipient_code": "S001", "created": utc_now(), "seq": seq,
              "counts": {"dwellings": len(body["dwellings"]),
                         "households": len(body["households"])}}
    path.write_bytes(seal("bundle", header, encode(body, cfg), sender, to))
    return path


@dataclass
class BundleWorld:
    """A closed supervisor database (one small bundle merged) and a large bundle not yet
    imported, with the state before it."""

    pristine: Path
    bundle: Path
    before: dict[str, object]
    before_counts: tuple[int, int, int]


def counts(store: Store) -> tuple[int, int, int]:
    return count_rows(store, "dwelling"), count_rows(store, "household"), count_rows(store, "visit")


def bundle_world(tmp: Path, households: int, small: int = 25) -> BundleWorld:
    """The supervisor's database (S001, enumerator E001 trusted for every area, a bundle of
    `small` dwellings merged), closed so that it is one file; and a bundle of about
    `households` households more, sealed as bench/merge_bundles.py seals its bundles."""
    cfg = default_config()
    plan = demo.plan(cfg, households, "E001")
    pristine = tmp / "pristine.db"
    store = Store.create(pristine, RAW_KEY, cfg, Role.SUPERVISOR, "S001")
    try:
        init_keys(store)
        import_areas(store, plan.areas, "S001")
        sender = KeyPair.generate()
        key = sender.public()
        lowest = [a.code for a in plan.areas if a.level == cfg.levels[-1]]
        with store.write() as chain:
            save_peer(store, chain, "E001", Role.ENUMERATOR, "downstream", key.enc,
                               key.sign, key.key_id, key.fingerprint())
            grant_areas(store, chain, "E001", lowest, set_enumerator=True)
        to = card(store).key
        first, second = _body(), _body()
        for i, d in enumerate(demo.dwellings(cfg, plan, NOW)):
            body = first if i < small else second
            body["dwellings"].append(dwelling_row(d, None, STAMP))
            body["visits"] += visit_rows(d)
            body["overrides"] += override_rows(d.id, d.overrides)
            for h in d.households:
                body["households"].append(household_row(h, d.id, None, STAMP, "E001", cfg))
                body["overrides"] += override_rows(h.id, h.overrides)
        merged = import_bundle(store, _seal(first, 1, sender, to, tmp / "small.census"),
                                        NOW)
        assert merged.report.added > 0
        bundle = _seal(second, 2, sender, to, tmp / "large.census")
        before, before_counts = fw.snapshot(store), counts(store)
        assert store.verify_audit().ok
    finally:
        store.close()
    assert not Path(f"{pristine}-wal").exists()  # closed cleanly: one self-contained file
    return BundleWorld(pristine, bundle, before, before_counts)


# -- an enumerator's database and a forms file for it --------------------------------------------


@dataclass
class FormsWorld:
    """An enumerator's empty database (areas registered) and a JSONL file of its forms."""

    pristine: Path
    forms: Path
    lines: dict[str, str]  # dwelling id -> its line


def forms_world(tmp: Path, households: int, key: str = RAW_KEY) -> FormsWorld:
    """With `key` (the raw key, or a passphrase). A supervisor's database: the demo's records
    are of several enumerators' areas, which only their supervisor may key all of."""
    cfg = default_config()
    plan = demo.plan(cfg, households, "E001")
    pristine = tmp / "pristine.db"
    store = Store.create(pristine, key, cfg, Role.SUPERVISOR, "S01")
    try:
        import_areas(store, plan.areas, "S01")
    finally:
        store.close()
    lines = {d.id: json.dumps(dwelling_to_json(d, cfg), sort_keys=True)
             for d in demo.dwellings(cfg, plan, NOW)}
    forms = tmp / "forms.jsonl"
    forms.write_text("".join(line + "\n" for line in lines.values()))
    return FormsWorld(pristine, forms, lines)


def stored_forms(store: Store) -> dict[str, str]:
    """Every stored dwelling record as the line `census forms import` would read."""
    return {d.id: json.dumps(dwelling_to_json(d, store.config), sort_keys=True)
            for d in iter_dwellings(store)}
