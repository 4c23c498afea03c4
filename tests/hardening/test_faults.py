"""Faults (issue 6, part 2): a full disk during a save, an import, a bundle and a table export;
a read-only database; a database locked by another process; two processes writing one
database. Each time: a clear message (no traceback), the last committed state intact, no
partial file; and once the fault is gone, the same work succeeds.

The disk is a small tmpfs mounted by the test (as root, as in CI; skipped with the reason
otherwise), filled by a file, so SQLite and the file writes meet a real ENOSPC. The table export's
full disk is tests/usecases/test_publish.py::test_a_real_full_disk_leaves_nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from census.domain.model import Role
from census.storage.records import load_dwelling
from census.tui.app import CensusApp
from census.tui.screens.household import HouseholdScreen
from census.usecases.entry import Entry
from tests.hardening import crash
from tests.hardening.disk import fill, read_only, small_disk
from tests.hardening.tally import count
from tests.helpers import RAW_KEY, enumerator_db
from tests.tui import driving
from tests.usecases import fieldwork as fw

EA = "R01-D01-EA001"


def census(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A real `census` process with the database key in its environment."""
    env = {**os.environ, "CENSUS_PASSPHRASE": RAW_KEY}
    return subprocess.run(crash.census_argv(*args), env=env, capture_output=True, text=True,
                          timeout=timeout)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The command failed with exit status 2 and a message (no traceback) with these words."""
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out and "Internal error" not in out, out
    for word in words:
        assert word in out, out
    count("faults: refusals checked")
    return out


def state(db: Path) -> tuple[dict[str, object], tuple[int, int, int]]:
    """The stored records, after SQLite's and the audit chain's checks."""
    with crash.opened(db) as store:
        crash.sound(store)
        return fw.snapshot(store), crash.counts(store)


@pytest.fixture(scope="module")
def small_forms(tmp_path_factory: pytest.TempPathFactory) -> crash.FormsWorld:
    """An enumerator's empty database and a forms file of 300 households for it."""
    return crash.forms_world(tmp_path_factory.mktemp("forms"), 300)


# -- a full disk ---------------------------------------------------------------------------------


def test_a_full_disk_during_a_forms_import(small_forms: crash.FormsWorld, tmp_path: Path) -> None:
    """The disk fills while the import writes: refused with "disk is full", the database as
    before, whole; with room again, the same import stores everything."""
    with small_disk(tmp_path / "disk", "3m") as disk:
        db = disk / "census.db"
        shutil.copyfile(small_forms.pristine, db)
        before = state(db)
        filler = fill(disk, leave=96 * 1024)  # room to open it, not for 350 dwellings
        refused(census("forms", "import", small_forms.forms, "--db", db), "disk is full",
                "nothing was changed")
        assert state(db) == before
        filler.unlink()
        done = census("forms", "import", small_forms.forms, "--db", db)
        assert done.returncode == 0, done.stderr
        with crash.opened(db) as store:
            crash.sound(store)
            assert crash.stored_forms(store) == small_forms.lines


def test_a_full_disk_during_a_bundle_import(tmp_path: Path) -> None:
    """A bundle that does not fit: refused, nothing merged; with room, merged whole."""
    world = crash.bundle_world(tmp_path, 300)
    with small_disk(tmp_path / "disk", "4m") as disk:
        db = disk / "census.db"
        shutil.copyfile(world.pristine, db)
        filler = fill(disk, leave=96 * 1024)
        refused(census("bundle", "import", world.bundle, "--db", db), "disk is full")
        assert state(db)[0] == world.before
        filler.unlink()
        done = census("bundle", "import", world.bundle, "--db", db)
        assert done.returncode == 0, done.stderr
        assert state(db)[0] != world.before


def test_a_full_disk_during_a_bundle_export(tmp_path: Path) -> None:
    """The bundle file does not fit on the disk: refused, no partial file left; the database
    (on another disk) records no export; with room, the file is written."""
    boss = fw.site(tmp_path, Role.SUPERVISOR, "S001", register=True)
    site = fw.site(tmp_path, Role.ENUMERATOR, "E001")
    try:
        fw.assign(boss, site, ["R01-D01-EA001"])
        fw.enter(site, "R01-D01-EA001", range(1, 40))
        site.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = fw.dump(site.store)
    finally:
        site.store.close()
        boss.store.close()
    db = site.folder / "census.db"
    # A sealed file is at least 64 KiB (padded, so that its size does not tell how much it
    # holds): the disk has room for it only once the filler is gone.
    with small_disk(tmp_path / "disk", "256k") as disk:
        filler = fill(disk)
        out = disk / "bundle.census"
        refused(census("bundle", "export", "--out", out, "--db", db), "space")
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
        with crash.opened(db) as store:
            assert fw.dump(store) == before
        filler.unlink()
        done = census("bundle", "export", "--out", out, "--db", db)
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0


def test_a_full_disk_while_the_app_saves_a_draft(tmp_path: Path) -> None:
    """The enumerator types a count when the disk is full: the app says so and that the value
    is NOT SAVED, keeps it on screen, and stores it with Ctrl+S once there is room; the last
    saved draft stays intact meanwhile."""
    with small_disk(tmp_path / "disk", "3m") as disk:
        db = enumerator_db(disk / "census.db")
        holder: list[Path] = []

        async def script(app: CensusApp, pilot: Pilot[None]) -> None:
            await driving.new_dwelling_with_contact(app, pilot)
            await driving.press(pilot, "2")  # a draft with 2, saved
            assert "draft saved" in str(app.screen.query_one("#status").render())
            holder.append(fill(disk))
            await driving.press(pilot, "right", "3")
            messages = [n.message for n in app._notifications]
            assert any("disk is full" in m for m in messages), messages
            assert "NOT SAVED" in str(app.screen.query_one("#status").render())
            assert isinstance(app.screen, HouseholdScreen) and app.screen.unsaved
            assert app.store.conn.execute("SELECT n_00, n_01 FROM household").fetchone() == (
                2, 0)
            holder[0].unlink()
            await driving.press(pilot, "ctrl+s")
            assert not app.screen.unsaved
            assert app.store.conn.execute("SELECT n_00, n_01 FROM household").fetchone() == (
                2, 3)

        driving.drive(db, script)
        assert holder, "the script did not run"
        with crash.opened(db) as store:
            crash.sound(store)


# -- a read-only database ------------------------------------------------------------------------


def test_a_read_only_database_is_refused_with_a_message(small_forms: crash.FormsWorld,
                                                         tmp_path: Path) -> None:
    """On a read-only filesystem (root can write any file, so the test remounts a tmpfs
    read-only): an import, and a report, are refused with a message that says so; the file's
    bytes do not change."""
    with small_disk(tmp_path / "disk", "4m") as disk:
        db = disk / "census.db"
        shutil.copyfile(small_forms.pristine, db)
        digest = hashlib.sha256(db.read_bytes()).hexdigest()
        read_only(disk)
        out = census("forms", "import", small_forms.forms, "--db", db)
        refused(out, "read-only")
        refused(census("progress", "--db", db), "read-only")
        assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
        assert sorted(p.name for p in disk.iterdir()) == ["census.db"]


# -- a locked database ---------------------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from census.storage.store import Store
store = Store.open(Path(sys.argv[1]), sys.argv[2])
store.conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
store.conn.execute("ROLLBACK")
store.close()
"""


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holds the database's write lock for `seconds`."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), RAW_KEY, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_database_locked_for_a_moment_is_waited_for(small_forms: crash.FormsWorld,
                                                      tmp_path: Path) -> None:
    """Another process writes for 1.5 s: the import waits (busy timeout, 5 s) and stores all."""
    db = crash.copy_db(small_forms.pristine, tmp_path / "db")
    holder = hold_lock(db, 1.5)
    start = time.monotonic()
    done = census("forms", "import", small_forms.forms, "--db", db)
    holder.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start >= 1.0
    with crash.opened(db) as store:
        assert crash.stored_forms(store) == small_forms.lines


def test_a_database_locked_too_long_gives_a_clear_message(small_forms: crash.FormsWorld,
                                                          tmp_path: Path) -> None:
    """Another process holds the lock past the busy timeout: the import says the database is
    busy and what to do, and stores nothing."""
    db = crash.copy_db(small_forms.pristine, tmp_path / "db")
    before = state(db)
    holder = hold_lock(db, 30)
    try:
        refused(census("forms", "import", small_forms.forms, "--db", db), "busy", "try again")
    finally:
        holder.kill()
        holder.wait()
    assert state(db) == before


# -- two writers ---------------------------------------------------------------------------------

VISITS = """
import json, sys
from datetime import datetime
from pathlib import Path
from census.domain.model import Outcome, OverrideReason
from census.storage.records import load_dwelling
from census.storage.store import Store
from census.usecases.entry import Entry
store = Store.open(Path(sys.argv[1]), sys.argv[2])
entry = Entry(store, clock=lambda: datetime(2026, 11, 28, 10, 0))
ok = 0
for _ in range(int(sys.argv[4])):
    for _attempt in range(5):  # the other process may pass the 3-visit warning's threshold
        seen = len(load_dwelling(store, sys.argv[3]).visits)
        confirm = {"W003": OverrideReason.OBSERVED_BY_ENUMERATOR} if seen >= 3 else None
        saved = entry.record_visit(sys.argv[3], Outcome.NO_ONE_HOME,
                                   callback_at=datetime(2026, 11, 29, 10, 0), overrides=confirm)
        if saved.ok:
            ok += 1
            break
print(json.dumps(ok))
store.close()
"""


def test_two_processes_recording_visits_lose_none(tmp_path: Path) -> None:
    """Two processes each record 40 visits to the same dwelling, at the same time: every visit
    reported saved is stored (each save loads, changes and stores the record in one write
    transaction; before that, one in about 80 was lost to the other process's save)."""
    db = enumerator_db(tmp_path / "census.db")
    with crash.opened(db) as store:
        saved = Entry(store).add_dwelling(EA, 1, 1)
        assert saved.dwelling is not None
        dwelling = saved.dwelling.id
    procs = [subprocess.Popen([sys.executable, "-c", VISITS, str(db), RAW_KEY, dwelling,
                               "40"], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    reported = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    with crash.opened(db) as store:
        crash.sound(store)
        d = load_dwelling(store, dwelling)
        assert d is not None
        assert len(d.visits) == sum(reported) == 80
        assert sorted(v.attempt for v in d.visits) == list(range(1, 81))
        assert d.revision == 81


def test_two_imports_at_once_store_both(small_forms: crash.FormsWorld, tmp_path: Path) -> None:
    """Two `census forms import` processes of different forms into one database at the same
    time: both succeed (one waits for the other's transactions), every form is stored."""
    db = crash.copy_db(small_forms.pristine, tmp_path / "db")
    lines = list(small_forms.lines.values())
    halves = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for i, half in enumerate(halves):
        half.write_text("".join(line + "\n" for line in lines[i::2]))
    env = {**os.environ, "CENSUS_PASSPHRASE": RAW_KEY}
    procs = [subprocess.Popen(crash.census_argv("forms", "import", half, "--db", db), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for half in halves]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with crash.opened(db) as store:
        crash.sound(store)
        assert crash.stored_forms(store) == small_forms.lines
