"""Backups (issue 14): one consistent moment while another connection writes, what is still in
the WAL included, checked after writing; restore checks first and replaces only with force."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from census.domain.model import Role
from census.storage import audit
from census.storage.backup import check_backup, restore_backup, write_backup
from census.storage.connection import StoreError
from census.storage.store import Store, utc_now
from census.usecases.demo import make_demo
from tests.helpers import RAW_KEY

OTHER_KEY = "x'" + "3c" * 32 + "'"


@pytest.fixture()
def made(tmp_path: Path) -> Path:
    path = tmp_path / "census.db"
    make_demo(path, RAW_KEY, 60, Role.SUPERVISOR, datetime(2026, 12, 1, 12, 0))
    return path


def note(store: Store, n: int) -> None:
    """One committed write: an audit entry and the new head, in one transaction."""
    with store.write() as chain:
        chain.add([audit.Entry(utc_now(), "S01", "survey", f"note{n}", "*", None, str(n))])


def entries(path: Path, key: str) -> int:
    return check_backup(path, key).audit_entries


def test_a_backup_is_one_moment_while_another_connection_writes(made: Path,
                                                                tmp_path: Path) -> None:
    writer = Store.open(made, RAW_KEY, any_thread=True)
    before = entries(made, RAW_KEY)
    stop = threading.Event()
    written = [0]

    started = threading.Event()

    def write() -> None:
        while not stop.is_set():
            note(writer, written[0])
            written[0] += 1
            started.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert started.wait(30), "the writer never committed"
        reader = Store.open(made, RAW_KEY)
        try:
            copies = [write_backup(reader, tmp_path / f"b{i}.db", RAW_KEY) for i in range(5)]
        finally:
            reader.close()
    finally:
        stop.set()
        thread.join()
        writer.close()
    after = entries(made, RAW_KEY)
    assert written[0] > 0
    # Each copy passed its check (the audit chain ends at the head stored in the same copy: a
    # copy made of two moments fails it) and lies between the start and the end.
    counts = [c.audit_entries for c in copies]
    assert all(before <= n <= after for n in counts), (before, counts, after)
    assert counts == sorted(counts)


def test_what_is_still_in_the_wal_is_in_the_backup(made: Path, tmp_path: Path) -> None:
    """As found: a copy of the file alone, taken while the last import was in the WAL, lost it."""
    store = Store.open(made, RAW_KEY)
    try:
        store.conn.execute("PRAGMA wal_autocheckpoint = 0")
        note(store, 1)
        wal = Path(str(made) + "-wal")
        assert wal.stat().st_size > 0  # the write is in the WAL, not in the main file
        expected = store.verify_audit().entries
        done = write_backup(store, tmp_path / "b.db", RAW_KEY)
    finally:
        store.close()
    assert done.audit_entries == expected


def test_a_backup_with_its_own_passphrase_opens_only_with_it(made: Path, tmp_path: Path) -> None:
    store = Store.open(made, RAW_KEY)
    try:
        write_backup(store, tmp_path / "b.db", OTHER_KEY)
        with pytest.raises(StoreError, match="already exists"):
            write_backup(store, tmp_path / "b.db", OTHER_KEY)
    finally:
        store.close()
    before = (tmp_path / "b.db").read_bytes()
    assert check_backup(tmp_path / "b.db", OTHER_KEY).households > 0
    # The check only reads: the file is unchanged and nothing is made beside it.
    assert (tmp_path / "b.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("b.db")) == ["b.db"]
    with pytest.raises(StoreError, match="passphrase is wrong"):
        check_backup(tmp_path / "b.db", RAW_KEY)
    assert not (tmp_path / "b.db.part").exists()


def test_restore_checks_first_and_replaces_only_with_force(made: Path, tmp_path: Path) -> None:
    store = Store.open(made, RAW_KEY)
    try:
        write_backup(store, tmp_path / "b.db", RAW_KEY)
        note(store, 1)  # the database moves on after the backup
        newer = store.verify_audit().entries
    finally:
        store.close()
    original = made.read_bytes()
    with pytest.raises(StoreError, match="--force"):
        restore_backup(tmp_path / "b.db", made, RAW_KEY, force=False)
    assert made.read_bytes() == original
    # A damaged backup is refused before anything is touched.
    bad = tmp_path / "bad.db"
    data = bytearray((tmp_path / "b.db").read_bytes())
    data[5000:5100] = bytes(100)
    bad.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        restore_backup(bad, made, RAW_KEY, force=True)
    assert made.read_bytes() == original
    done = restore_backup(tmp_path / "b.db", made, RAW_KEY, force=True)
    assert done.audit_entries == newer - 1
    reopened = Store.open(made, RAW_KEY)
    try:
        assert reopened.verify_audit().entries == newer - 1
    finally:
        reopened.close()


def test_backup_and_restore_through_the_cli(made: Path, tmp_path: Path) -> None:
    import stat

    from click.testing import CliRunner

    from tests.helpers import run_cli

    runner = CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY})
    weak = tmp_path / "weak.txt"
    weak.write_text("password1234\n")
    weak.chmod(0o600)
    refused = run_cli(runner, "backup", "--db", made, "--out", tmp_path / "w.db",
                      "--backup-passphrase-file", weak)
    assert refused.exit_code == 2 and "Nothing was written" in refused.output
    assert not (tmp_path / "w.db").exists()
    done = run_cli(runner, "backup", "--db", made, "--out", tmp_path / "b.db")
    assert done.exit_code == 0 and "checked" in done.output and "intact" in done.output
    assert stat.S_IMODE((tmp_path / "b.db").stat().st_mode) == 0o600
    kept = run_cli(runner, "restore", tmp_path / "b.db", "--db", made)
    assert kept.exit_code == 2 and "--force" in kept.output
    put = run_cli(runner, "restore", tmp_path / "b.db", "--db", tmp_path / "new" / "r.db")
    assert put.exit_code == 0, put.output
    assert run_cli(runner, "audit", "verify", "--db", tmp_path / "new" / "r.db").exit_code == 0
