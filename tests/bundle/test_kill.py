"""A process killed in the middle of `census bundle import` leaves the database as it was before
the import or as it is after the whole bundle, never anything in between (DESIGN §4-§5: one
transaction per bundle, WAL, synchronous=FULL).

What this proves: a supervisor's database with one small bundle already merged takes one large
bundle (about 4,000 households, 4,800 dwellings: a real `census bundle import` subprocess takes
about 2 s here, nearly all of it in Python before the first page is written). The same import,
each time into a fresh copy of the database, is killed with SIGKILL (no cleanup, no atexit, no
rollback by Python) at moments spread over its run: early start-up, while it decrypts, decodes
and merges in Python, and, watching the size of the database's -wal file, while SQLite writes
the transaction's pages (at 20 %, 60 %, 95 % and 100 % of the WAL a full run writes; the last is
after the commit frame and before the checkpoint, so the committed bundle exists only in the WAL
and must be recovered from it). After each kill the database opens; its households, dwellings,
visits and review queue equal exactly the state before or the state after the whole bundle; its
audit chain verifies; and importing the bundle again gives the same final state as an import
that was never interrupted.

The bundle is made as bench/merge_bundles.py makes its bundles: demo records as payload rows,
sealed by a generated enumerator key registered as a peer of the supervisor (no per-record saves).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from census import demo
from census.bundle import transfer
from census.bundle.payload import dwelling_row, encode, household_row, override_rows, visit_rows
from census.bundle.seal import KeyPair, PublicKey, seal
from census.config import default_config
from census.domain.ids import new_id
from census.domain.model import Role
from census.storage import exchange
from census.storage.store import Store, utc_now
from tests.bundle import fieldwork as fw

HOUSEHOLDS = 4000
SMALL = 25  # dwellings in the bundle merged before (so "before" is not an empty database)
NOW = datetime(2026, 11, 28, 12, 0)
STAMP = "2026-11-28T12:00:00Z"
CENSUS = Path(sys.executable).with_name("census")


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


def counts(store: Store) -> tuple[int, int, int]:
    return store.count("dwelling"), store.count("household"), store.count("visit")


@dataclass
class Prepared:
    pristine: Path
    bundle: Path
    before: dict[str, object]
    before_counts: tuple[int, int, int]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """The supervisor's database (S001, enumerator E001 trusted for every area, one small
    bundle merged), closed so that it is one file; and the large bundle, not imported."""
    tmp = tmp_path_factory.mktemp("kill")
    cfg = default_config()
    plan = demo.plan(cfg, HOUSEHOLDS, "E001")
    pristine = tmp / "pristine.db"
    store = Store.create(pristine, fw.PASS, cfg, Role.SUPERVISOR, "S001")
    try:
        transfer.init_keys(store)
        store.import_areas(plan.areas, "S001")
        sender = KeyPair.generate()
        key = sender.public()
        lowest = [a.code for a in plan.areas if a.level == cfg.levels[-1]]
        with store.write() as chain:
            exchange.save_peer(store, chain, "E001", Role.ENUMERATOR, "downstream", key.enc,
                               key.sign, key.key_id, key.fingerprint())
            exchange.grant_areas(store, chain, "E001", lowest, set_enumerator=True)
        to = transfer.card(store).key
        small, large = _body(), _body()
        for i, d in enumerate(demo.dwellings(cfg, plan, NOW)):
            body = small if i < SMALL else large
            body["dwellings"].append(dwelling_row(d, None, STAMP))
            body["visits"] += visit_rows(d)
            body["overrides"] += override_rows(d.id, d.overrides)
            for h in d.households:
                body["households"].append(household_row(h, d.id, None, STAMP, "E001", cfg))
                body["overrides"] += override_rows(h.id, h.overrides)
        assert len(large["households"]) >= HOUSEHOLDS - 50
        first = transfer.import_bundle(store, _seal(small, 1, sender, to, tmp / "small.census"),
                                       NOW)
        assert first.report.added > 0
        bundle = _seal(large, 2, sender, to, tmp / "large.census")
        before, before_counts = fw.snapshot(store), counts(store)
        assert store.verify_audit().ok
    finally:
        store.close()
    assert not Path(f"{pristine}-wal").exists()  # closed cleanly: one self-contained file
    return Prepared(pristine, bundle, before, before_counts)


@dataclass
class Run:
    seconds: float
    returncode: int
    killed: bool
    wal_peak: int  # the largest -wal size seen while it ran
    wal_at_kill: int
    stderr: str


def run_import(db: Path, bundle: Path, kill: Callable[[float, int], bool] | None = None) -> Run:
    """`census bundle import` as a real process; with `kill(seconds, wal_bytes)`, SIGKILL it
    as soon as that says so (polled every half millisecond)."""
    assert CENSUS.exists(), CENSUS
    env = {**os.environ, "CENSUS_PASSPHRASE": fw.PASS}
    wal = Path(f"{db}-wal")
    start = time.monotonic()
    proc = subprocess.Popen([str(CENSUS), "bundle", "import", str(bundle), "--db", str(db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(time.monotonic() - start, proc.returncode, killed, peak, at_kill,
               err.decode(errors="replace"))


@pytest.fixture(scope="module")
def full(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Run, dict[str, object], tuple[int, int, int]]]:
    """One uninterrupted import: its duration, the WAL it writes, and the state after it."""
    db = tmp_path_factory.mktemp("full") / "census.db"
    shutil.copyfile(prepared.pristine, db)
    run = run_import(db, prepared.bundle)
    assert run.returncode == 0, run.stderr
    store = Store.open(db, fw.PASS)
    try:
        assert store.verify_audit().ok
        yield run, fw.snapshot(store), counts(store)
    finally:
        store.close()


# What this proves (about 30 s): SIGKILL at any moment of `census bundle import` (start-up,
# Python merge, SQLite writing the WAL, after the commit frame) leaves the database exactly
# before or exactly after the whole bundle, with an intact audit chain, and a re-import then
# completes to the uninterrupted result. Real subprocesses, a fresh database copy per kill.
def test_a_killed_import_leaves_the_database_before_or_after(
        prepared: Prepared, full: tuple[Run, dict[str, object], tuple[int, int, int]],
        tmp_path: Path) -> None:
    """SIGKILL at 9 moments of the import (5 spread over its run by time, 4 while and just
    after its WAL is written); after each: before or after, never half; the audit chain
    intact; and a new import completes to exactly the uninterrupted result."""
    run, after, after_counts = full
    assert run.seconds >= 0.5, f"the import took {run.seconds:.2f} s; make the bundle larger"
    assert after_counts != prepared.before_counts
    assert run.wal_peak > 0
    plans: dict[str, Callable[[float, int], bool]] = {}
    for fraction in (0.0, 0.25, 0.5, 0.75, 0.9):
        delay = max(0.05, fraction * run.seconds)
        plans[f"after {delay:.2f} s"] = lambda t, _w, delay=delay: t >= delay
    for fraction in (0.2, 0.6, 0.95, 1.0):
        plans[f"at {fraction:.0%} of the WAL"] = (
            lambda _t, w, fraction=fraction: w >= fraction * run.wal_peak)

    outcomes: dict[str, str] = {}
    mid_write: list[str] = []
    for i, (name, plan) in enumerate(plans.items()):
        db = tmp_path / f"kill-{i}" / "census.db"
        db.parent.mkdir()
        shutil.copyfile(prepared.pristine, db)
        got = run_import(db, prepared.bundle, plan)
        if got.killed:
            assert got.returncode == -signal.SIGKILL, (name, got.returncode, got.stderr)
            if got.wal_at_kill:
                mid_write.append(name)
        else:  # it ended before the moment came (a loaded machine): no kill, a normal end
            assert got.returncode == 0, (name, got.stderr)
        store = Store.open(db, fw.PASS)
        try:
            state = counts(store)
            assert state in (prepared.before_counts, after_counts), (name, state)
            outcomes[name] = "before" if state == prepared.before_counts else "after"
            assert fw.snapshot(store) == (prepared.before if outcomes[name] == "before"
                                          else after), name
            check = store.verify_audit()
            assert check.ok, (name, check)
            again = transfer.import_bundle(store, prepared.bundle, NOW)
            assert (again.already is not None) == (outcomes[name] == "after"), name
            assert counts(store) == after_counts, name
            assert fw.snapshot(store) == after, name
            assert store.verify_audit().ok, name
        finally:
            store.close()
        outcomes[name] += (f" (killed, WAL {got.wal_at_kill} of {run.wal_peak} bytes)"
                           if got.killed else " (it finished first)")
    print(f"full import {run.seconds:.2f} s; after a kill:", outcomes)
    # The first kill lands before anything is written; and at least one kill landed while the
    # transaction's pages were being written to the WAL, the moment that matters most.
    assert outcomes["after 0.05 s"].startswith("before"), outcomes
    assert mid_write, outcomes
    # With every frame of the transaction in the WAL, the commit frame (the last) is there.
    assert outcomes["at 100% of the WAL"].startswith("after"), outcomes
