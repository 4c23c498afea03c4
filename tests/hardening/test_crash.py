"""Crash injection (issue 6, part 1): real `census` processes killed with SIGKILL at random
moments; after each kill the database is sound and nothing reported saved is lost.

CI runs 68 trials (this file's fast tests); `python -m pytest -m slow tests/hardening` runs 680.
Each trial kills one process at a random moment of its run (one moment per equal slice of the
run's length, so the whole run is covered), then checks, as tests/hardening/crash.py says:
integrity_check, the audit chain, the saves reported, whole chunks or whole bundles, and that
doing the work again ends where an uninterrupted run ends. The moments are random per run (the
seed is printed in the failure message), so every CI run tries new ones.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from census.formats.record_json import household_to_json
from census.storage.connection import StoreError
from census.storage.records import load_dwelling
from tests.hardening import crash
from tests.hardening.tally import count, note
from tests.helpers import enumerator_db
from tests.usecases import fieldwork as fw

SEED = int(os.environ.get("CENSUS_CRASH_SEED", random.SystemRandom().randrange(1 << 30)))
WORKERS = 2  # two processes at a time: the machine has two cores


def parallel(jobs: list[Callable[[], str]]) -> list[str]:
    """Run the trials two at a time; their outcomes."""
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def check_kill(run: crash.Run, what: str) -> bool:
    """A trial's process was killed (True) or ended first, normally (False): also when it
    ended between the last look and the signal (then the kill found it gone)."""
    if run.killed and run.returncode == 0:
        return False
    if run.killed:
        assert run.returncode == -signal.SIGKILL, (what, run.returncode, run.stderr)
    else:
        assert run.returncode == 0, (what, run.stderr)
    return run.killed


# -- batch import: `census forms import` ---------------------------------------------------------


@dataclass
class FormsFull:
    world: crash.FormsWorld
    seconds: float
    wal_peak: int
    counts: tuple[int, int, int]
    db: Path  # the database after the whole import, closed


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> FormsFull:
    tmp = tmp_path_factory.mktemp("forms")
    # About 3,000 dwellings: three chunks of 1,000, so that many kills land between commits
    # (a SQLite checkpoint after each chunk restarts the WAL, so kills aimed at the WAL's size
    # land in the first chunk; kills by time cover the later ones).
    world = crash.forms_world(tmp, 2500)
    db = crash.copy_db(world.pristine, tmp / "full")
    run = crash.run_ok(crash.census_argv("forms", "import", world.forms, "--db", db), db)
    with crash.opened(db) as store:
        crash.sound(store)
        assert crash.stored_forms(store) == world.lines
        full = FormsFull(world, run.seconds, run.wal_peak, crash.counts(store), db)
    assert not Path(f"{db}-wal").exists()  # closed cleanly: one self-contained file
    return full


def forms_trial(full: FormsFull, folder: Path, at: crash.Moment, atomic: bool, resume: bool
                ) -> str:
    """Kill one import at `at`; check; with `resume` (and whenever chunks were stored), import
    again and compare with the full run."""
    world = full.world
    db = crash.copy_db(world.pristine, folder)
    argv = crash.census_argv("forms", "import", world.forms, "--db", db,
                             *(["--all-or-nothing"] if atomic else []))
    what = f"forms import{' --all-or-nothing' if atomic else ''} killed {at}"
    killed = check_kill(crash.run_killed(argv, db, at.trigger(full.wal_peak)), what)
    with crash.opened(db) as store:
        crash.sound(store)
        stored = crash.stored_forms(store)
        order = list(world.lines)
        # Whole chunks of 1,000 lines (or the whole file), each record exactly as in the file.
        assert set(stored) == set(order[:len(stored)]), what
        assert all(world.lines[i] == line for i, line in stored.items()), what
        allowed = {0, len(order)} if atomic else {*range(0, len(order), 1000), len(order)}
        assert len(stored) in allowed, (what, len(stored))
        outcome = ("nothing" if not stored else "all" if len(stored) == len(order)
                   else "some chunks")
    if resume or outcome == "some chunks":
        crash.run_ok(argv, db, what)
        with crash.opened(db) as store:
            crash.sound(store)
            # As after an uninterrupted import (each household's random key seed aside).
            assert crash.stored_forms(store) == world.lines, what
            assert crash.counts(store) == full.counts, what
    shutil.rmtree(folder)
    return outcome if killed else "finished first"


# -- bundle import -------------------------------------------------------------------------------


@dataclass
class BundleFull:
    world: crash.BundleWorld
    seconds: float
    wal_peak: int
    after: dict[str, object]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> BundleFull:
    tmp = tmp_path_factory.mktemp("bundle")
    world = crash.bundle_world(tmp, 1200)
    db = crash.copy_db(world.pristine, tmp / "full")
    run = crash.run_ok(crash.census_argv("bundle", "import", world.bundle, "--db", db), db)
    with crash.opened(db) as store:
        crash.sound(store)
        after = fw.snapshot(store)
    assert after != world.before
    return BundleFull(world, run.seconds, run.wal_peak, after)


def bundle_trial(full: BundleFull, folder: Path, at: crash.Moment, resume: bool) -> str:
    world = full.world
    db = crash.copy_db(world.pristine, folder)
    argv = crash.census_argv("bundle", "import", world.bundle, "--db", db)
    what = f"bundle import killed {at}"
    run = crash.run_killed(argv, db, at.trigger(full.wal_peak))
    killed = check_kill(run, what)
    with crash.opened(db) as store:
        crash.sound(store)
        state = fw.snapshot(store)
        assert state in (world.before, full.after), what  # never half a bundle
        outcome = "before" if state == world.before else "after"
        if killed and 0 < run.wal_at_kill < full.wal_peak:
            outcome += " (killed while writing the WAL)"
    if resume:
        crash.run_ok(argv, db, what)
        with crash.opened(db) as store:
            crash.sound(store)
            assert fw.snapshot(store) == full.after, what
    shutil.rmtree(folder)
    return outcome if killed else "finished first"


# -- passphrase change: `census passphrase change` ---------------------------------------------

NEW_KEY = "x'" + "5d" * 32 + "'"
HOT_JOURNAL = bytes.fromhex("d9d505f920a163d7")  # SQLite's journal header magic


@dataclass
class RekeyFull:
    forms: FormsFull
    seconds: float
    journal_peak: int  # the rollback journal's largest size while the pages are re-encrypted


@pytest.fixture(scope="module")
def rekey(forms: FormsFull, tmp_path_factory: pytest.TempPathFactory) -> RekeyFull:
    """The imported database (about 2,500 households) re-encrypted once without a kill."""
    tmp = tmp_path_factory.mktemp("rekey")
    new = tmp / "new-key"
    new.write_text(NEW_KEY + "\n")
    new.chmod(0o600)
    db = crash.copy_db(forms.db, tmp / "full")
    run = crash.run_ok(crash.census_argv("passphrase", "change", "--db", db,
                                         "--new-passphrase-file", new), db, watch="-journal")
    assert run.wal_peak > 0, "the journal was never seen"
    with crash.opened(db, NEW_KEY) as store:
        crash.sound(store)
        assert crash.stored_forms(store) == forms.world.lines
    return RekeyFull(forms, run.seconds, run.wal_peak)


def opens_with(folder: Path, first: str, second: str, what: str) -> str | None:
    """Try `first`, then `second` on the database in `folder`: the key that opened it (the
    other must not, before or after), or None."""
    found = None
    for key in (first, second):
        try:
            with crash.opened(folder / "census.db", key) as store:
                store.conn.execute("SELECT count(*) FROM dwelling").fetchone()
            assert found is None, (what, "both passphrases open it")
            found = key
        except StoreError:
            pass
    return found


def once_hot(db: Path, delay: float) -> Callable[[float, int], bool]:
    """Kill `delay` seconds after the journal turned hot with every page in it: inside the
    re-encryption, the window that matters and that kills by time rarely hit."""
    seen: list[float] = []
    journal = Path(f"{db}-journal")
    pages = db.stat().st_size

    def due(t: float, size: int) -> bool:
        if not seen and size >= pages // 2:
            try:
                with journal.open("rb") as fh:
                    if fh.read(8) == HOT_JOURNAL:
                        seen.append(t)
            except OSError:
                pass
        return bool(seen) and t >= seen[0] + delay

    return due


def rekey_trial(full: RekeyFull, folder: Path, at: crash.Moment | float, resume: bool) -> str:
    """Kill one passphrase change at `at` (a float: that long after the journal turned hot);
    the database opens with exactly one of the two keys, whichever is tried first, and holds
    every record; with `resume`, change again."""
    world = full.forms.world
    db = crash.copy_db(full.forms.db, folder / "run")
    new = folder / "new-key"
    new.write_text(NEW_KEY + "\n")
    new.chmod(0o600)
    argv = crash.census_argv("passphrase", "change", "--db", db, "--new-passphrase-file", new)
    if isinstance(at, float):
        what = f"passphrase change killed {at * 1000:.1f} ms after its journal turned hot"
        kill = once_hot(db, at)
    else:
        what = f"passphrase change killed {at}"
        kill = at.trigger(full.journal_peak)
    run = crash.run_killed(argv, db, kill, watch="-journal")
    killed = check_kill(run, what)
    journal = Path(f"{db}-journal")
    # What the kill left beside the database: a hot journal (its header written: a
    # transaction had begun writing the database) holding every page (the re-encryption) or
    # one page (a switch of journal mode); or a journal that is not hot (being filled before
    # its header is written, or committed, header zeroed, and not yet wiped).
    head = journal.read_bytes()[:8] if journal.exists() else b""
    hot = head == HOT_JOURNAL
    rekeying = hot and journal.stat().st_size >= db.stat().st_size // 2
    cold = journal.exists() and not hot
    found = []
    for name, order in (("new-first", (NEW_KEY, crash.RAW_KEY)),
                        ("old-first", (crash.RAW_KEY, NEW_KEY))):
        copy = folder / name
        copy.mkdir()
        for leftover in db.parent.iterdir():  # the database and what a kill left beside it
            shutil.copyfile(leftover, copy / leftover.name)
        found.append(opens_with(copy, *order, what=f"{what}, {name}"))
    assert found[0] is not None and found[0] == found[1], (what, found)
    key = found[0]
    with crash.opened(db, key) as store:
        crash.sound(store)
        assert crash.stored_forms(store) == world.lines, what
    # Whichever opened it, the journal with the old pages is gone (played back, or wiped).
    assert not journal.exists(), what
    outcome = "old passphrase" if key == crash.RAW_KEY else "new passphrase"
    if rekeying:
        outcome += " (killed while re-encrypting)"
    elif hot:
        outcome += " (killed while switching the journal mode)"
    elif cold:
        outcome += " (killed with a journal not hot)"
    if resume and key == crash.RAW_KEY:
        crash.run_ok(argv, db, what, watch="-journal")
        with crash.opened(db, NEW_KEY) as store:
            crash.sound(store)
            assert crash.stored_forms(store) == world.lines, what
    shutil.rmtree(folder)
    return outcome if killed else "finished first"


# -- the enumerator app: drafts and completed forms ----------------------------------------------


def after_saves(log: Path, saves: int, delay: float) -> Callable[[float, int], bool]:
    """Kill once the app has shown `saves` more saves (lines of its log), `delay` seconds later:
    a random moment of the typing, not of the start-up."""
    start = log.stat().st_size if log.exists() else 0
    seen: list[float] = []

    def due(t: float, _wal: int) -> bool:
        if not seen:
            text = log.read_bytes()[start:] if log.exists() else b""
            if text.count(b"\n") >= saves:
                seen.append(t)
        return bool(seen) and t >= seen[0] + delay

    return due


def tui_chain(pristine: Path, folder: Path, kills: int, seed: int) -> str:
    """The app (tests/hardening/tui_driver.py) killed `kills` times, each time restarted on
    the database the last kill left: every save it showed is stored, at most the keystroke in
    flight is lost, and the app opens again on what a crash left."""
    db = crash.copy_db(pristine, folder)
    log = folder / "saved.jsonl"
    outcomes: Counter[str] = Counter()
    rng = random.Random(seed)
    ahead: set[str] = set()  # saved by the app, killed before it could show it
    for k in range(kills):
        argv = [sys.executable, "-m", "tests.hardening.tui_driver", str(db), str(log),
                str(seed + k)]
        saves, delay = rng.randint(0, 6), rng.uniform(0, 0.4)
        what = f"app killed {delay:.3f} s after {saves} saves (run {k} of chain seed {seed})"
        run = crash.run_killed(argv, db, after_saves(log, saves, delay), cwd=crash.ROOT)
        assert run.killed, (what, run.returncode, run.stderr[-2000:])
        reported: dict[str, dict[str, object]] = {}
        for line in (log.read_text() if log.exists() else "").splitlines():
            entry = json.loads(line)
            reported[entry["household"]["id"]] = entry
        with crash.opened(db) as store:
            crash.sound(store)
            for hid, entry in reported.items():
                d = load_dwelling(store, str(entry["dwelling"]))
                assert d is not None, (what, hid)
                h = next((x for x in d.households if x.id == hid), None)
                assert h is not None, (what, hid)
                shown = entry["household"]
                assert isinstance(shown, dict)
                if h.revision == shown["revision"]:
                    assert household_to_json(h, store.config) == shown, (what, hid)
                else:  # the save in flight when it was killed: at most one step ahead
                    assert h.revision == shown["revision"] + 1, (what, hid, h.revision)
                    ahead.add(hid)
        outcomes["killed"] += 1
    completed = sum(1 for e in reported.values() if e["household"]["status"] == "complete")
    outcomes["forms completed"] += completed
    outcomes["forms started"] += len(reported)
    outcomes["saves shown"] += len(log.read_text().splitlines())
    outcomes["a save in flight kept"] += len(ahead)
    shutil.rmtree(folder)
    return json.dumps(dict(outcomes))


@pytest.fixture(scope="module")
def enumerator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return enumerator_db(tmp_path_factory.mktemp("app") / "pristine.db")


# -- the trials ----------------------------------------------------------------------------------

FORMS, BUNDLES, APP, REKEY = 24, 16, 12, 16  # 68 trials in CI, 680 in the slow run


def tallied(jobs: list[Callable[[], str]], what: str, seconds: float) -> Counter[str]:
    """Run the trials of `what`, count them in the figures, note their outcomes; most kills
    must have landed inside the run."""
    outcomes = Counter(parallel(jobs))
    count(f"crash: trials, {what} (SIGKILL)", len(jobs))
    note(f"crash, {what} ({seconds:.2f} s uninterrupted, seed {SEED}): {dict(outcomes)}")
    assert outcomes["finished first"] < len(jobs) / 2, outcomes
    return outcomes


def run_forms(full: FormsFull, tmp: Path, n: int) -> None:
    rng = random.Random(SEED)
    moments = crash.kill_moments(rng, full.seconds * 1.1, n, by_wal=True)
    outcomes = tallied([
        lambda at=at, i=i: forms_trial(full, tmp / f"f{i}", at, atomic=i % 4 >= 2,
                                       resume=i % 4 == 0)
        for i, at in enumerate(moments)], "forms import", full.seconds)
    assert outcomes["some chunks"] > 0, outcomes  # and some between two chunks' commits


def run_bundles(full: BundleFull, tmp: Path, n: int) -> None:
    rng = random.Random(SEED + 1)
    moments = crash.kill_moments(rng, full.seconds * 1.1, n, by_wal=True)
    outcomes = tallied([
        lambda at=at, i=i: bundle_trial(full, tmp / f"b{i}", at, resume=i % 3 == 0)
        for i, at in enumerate(moments)], "bundle import", full.seconds)
    assert outcomes["before"] > 0 and outcomes["after"] > 0, outcomes
    # Some kills landed while the transaction's pages were written: the moment that matters.
    assert any("WAL" in o for o in outcomes), outcomes


def run_rekey(full: RekeyFull, tmp: Path, n: int) -> None:
    rng = random.Random(SEED + 2)
    moments: list[crash.Moment | float] = list(
        crash.kill_moments(rng, full.seconds * 1.1, n - n // 4, by_wal=True))
    moments += [rng.uniform(0, 0.01) for _ in range(n // 4)]  # inside the re-encryption
    outcomes = tallied([
        lambda at=at, i=i: rekey_trial(full, tmp / f"r{i}", at, resume=i % 3 == 0)
        for i, at in enumerate(moments)], "passphrase change", full.seconds)
    # Some kills landed while the pages were re-encrypted (a hot journal of every page): the
    # moment that matters; those open with the old passphrase.
    rekeying = [o for o in outcomes if "re-encrypting" in o]
    assert rekeying and all(o.startswith("old") for o in rekeying), outcomes


def run_app(pristine: Path, tmp: Path, n: int) -> None:
    totals: Counter[str] = Counter()
    for result in parallel([lambda i=i: tui_chain(pristine, tmp / f"app{i}", n // WORKERS,
                                                  SEED + 7919 * i)
                            for i in range(WORKERS)]):
        totals.update(json.loads(result))
    count("crash: trials, app saves driven by Pilot (SIGKILL)", totals["killed"])
    note(f"crash, app (seed {SEED}): {dict(totals)}")
    assert totals["killed"] == n // WORKERS * WORKERS
    assert 0 < totals["forms completed"] < totals["saves shown"]


def test_a_killed_forms_import_keeps_whole_chunks(forms: FormsFull, tmp_path: Path) -> None:
    run_forms(forms, tmp_path, FORMS)


def test_a_killed_bundle_import_is_all_or_nothing(bundles: BundleFull, tmp_path: Path) -> None:
    run_bundles(bundles, tmp_path, BUNDLES)


def test_a_killed_passphrase_change_opens_with_exactly_one(rekey: RekeyFull,
                                                          tmp_path: Path) -> None:
    run_rekey(rekey, tmp_path, REKEY)


def test_a_killed_app_keeps_every_save_it_showed(enumerator: Path, tmp_path: Path) -> None:
    run_app(enumerator, tmp_path, APP)


@pytest.mark.slow
def test_slow_forms(forms: FormsFull, tmp_path: Path) -> None:
    run_forms(forms, tmp_path, FORMS * 10)


@pytest.mark.slow
def test_slow_bundles(bundles: BundleFull, tmp_path: Path) -> None:
    run_bundles(bundles, tmp_path, BUNDLES * 10)


@pytest.mark.slow
def test_slow_rekey(rekey: RekeyFull, tmp_path: Path) -> None:
    run_rekey(rekey, tmp_path, REKEY * 10)


@pytest.mark.slow
def test_slow_app(enumerator: Path, tmp_path: Path) -> None:
    run_app(enumerator, tmp_path, APP * 10)
