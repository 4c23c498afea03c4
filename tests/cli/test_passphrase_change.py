"""`census passphrase change` (issue 14): the database opens with the new passphrase only, its
records and audit chain intact; every refusal changes nothing and the old passphrase still
opens it. Kills during the change are the crash harness's (tests/hardening/test_crash.py)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from census.domain.model import Role
from census.storage.connection import StoreError
from census.storage.records import count_rows
from census.storage.store import Store
from census.usecases.demo import make_demo
from tests.helpers import RAW_KEY, run_cli

NEW = "lantern mango river seventeen tin"


@pytest.fixture()
def made(tmp_path: Path) -> Path:
    path = tmp_path / "census.db"
    make_demo(path, RAW_KEY, 40, Role.SUPERVISOR, datetime(2026, 12, 1, 12, 0))
    return path


def secret(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def state(path: Path, key: str) -> tuple[int, int, list[tuple[object, ...]]]:
    store = Store.open(path, key)
    try:
        households = count_rows(store, "household")
        chain = store.verify_audit()
        assert chain.ok, chain
        last = store.conn.execute(
            "SELECT record_type, record_id, field, old, new FROM audit ORDER BY seq DESC "
            "LIMIT 1").fetchall()
        return households, chain.entries, last
    finally:
        store.close()


def opens(path: Path, key: str) -> bool:
    try:
        Store.open(path, key).close()
    except StoreError:
        return False
    return True


def change(db: Path, *more: str | Path, old: str = RAW_KEY) -> str:
    """`census passphrase change` with the old passphrase in CENSUS_PASSPHRASE: its exit
    status and output, as one string."""
    result = run_cli(CliRunner(env={"CENSUS_PASSPHRASE": old}), "passphrase", "change",
                     "--db", db, *more)
    return f"{result.exit_code}:{result.output}"


def test_the_database_opens_with_the_new_passphrase_only(made: Path, tmp_path: Path) -> None:
    households, entries, _ = state(made, RAW_KEY)
    out = change(made, "--new-passphrase-file", secret(tmp_path, "new", NEW))
    assert out.startswith("0:"), out
    assert "opens with the new passphrase only" in out and f"{households} households" in out
    assert not opens(made, RAW_KEY)
    assert state(made, NEW) == (households, entries + 1,
                                [("survey", "passphrase", "*", None, "changed")])
    # and back again, from the prompt-free path of a raw key in a file
    out = change(made, "--new-passphrase-file", secret(tmp_path, "raw", RAW_KEY),
                 old=NEW)
    assert out.startswith("0:"), out
    assert opens(made, RAW_KEY) and not opens(made, NEW)


@pytest.mark.parametrize(("new", "expected"), [
    ("short", ("at least 12", "Nothing was changed")),
    ("password1234", ("too easy to guess", "Nothing was changed")),
    (RAW_KEY, ("the same as the old one", "still opens with the old passphrase")),
    # As found: the same raw key in capitals was taken as new; both then opened it.
    (RAW_KEY.upper().replace("X'", "x'"), ("the same as the old one",)),
])
def test_a_weak_or_unchanged_passphrase_is_refused_and_nothing_changes(
        made: Path, tmp_path: Path, new: str, expected: tuple[str, ...]) -> None:
    before = state(made, RAW_KEY)
    out = change(made, "--new-passphrase-file", secret(tmp_path, "new", new))
    assert out.startswith("2:"), out
    assert all(e in out for e in expected), out
    assert state(made, RAW_KEY) == before


def test_a_wrong_old_passphrase_changes_nothing(made: Path, tmp_path: Path) -> None:
    out = change(made, "--new-passphrase-file", secret(tmp_path, "new", NEW),
                 old="x'" + "00" * 32 + "'")
    assert out.startswith("2:") and "passphrase is wrong" in out, out
    assert opens(made, RAW_KEY) and not opens(made, NEW)


def test_refused_while_another_program_has_the_database_open(made: Path,
                                                             tmp_path: Path) -> None:
    """A program holding the old key would find pages it cannot read: the change waits."""
    before = state(made, RAW_KEY)
    other = Store.open(made, RAW_KEY)
    try:
        out = change(made, "--new-passphrase-file", secret(tmp_path, "new", NEW))
        assert out.startswith("2:"), out
        assert "open in another census program" in out
        assert "was not changed" in out and "still opens with the old passphrase" in out
        assert count_rows(other, "household") == before[0]  # the other program reads on
    finally:
        other.close()
    assert state(made, RAW_KEY) == before
    assert not opens(made, NEW)
    assert not Path(f"{made}-journal").exists()


def test_without_a_terminal_the_new_passphrase_must_come_from_a_file(made: Path) -> None:
    out = change(made)
    assert out.startswith("2:") and "--new-passphrase-file" in out, out
    assert opens(made, RAW_KEY)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_new_passphrase_file_others_may_read_is_refused(made: Path, tmp_path: Path) -> None:
    loose = secret(tmp_path, "new", NEW)
    loose.chmod(0o644)
    out = change(made, "--new-passphrase-file", loose)
    assert out.startswith("2:") and f"chmod 600 {loose}" in out, out
    assert opens(made, RAW_KEY) and not opens(made, NEW)


def test_after_the_change_the_database_is_back_in_wal_mode_when_used(made: Path,
                                                                     tmp_path: Path) -> None:
    change(made, "--new-passphrase-file", secret(tmp_path, "new", NEW))
    store = Store.open(made, NEW)
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_a_damaged_database_is_not_re_encrypted(made: Path, tmp_path: Path) -> None:
    """As found: with a broken audit chain the change went ahead, then its check failed with
    "do not use it", not saying that the passphrase had changed. Now the check comes first."""
    store = Store.open(made, RAW_KEY)
    try:
        trigger = store.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit' "
            "AND sql LIKE '%UPDATE%'").fetchone()
        store.conn.execute(f"DROP TRIGGER {trigger[0]}")
        store.conn.execute("UPDATE audit SET new = coalesce(new, '') || 'x' WHERE seq = 1")
        store.conn.execute(trigger[1])
        store.conn.commit()
    finally:
        store.close()
    out = change(made, "--new-passphrase-file", secret(tmp_path, "new", NEW))
    assert out.startswith("2:"), out
    assert "was not changed" in out and "audit log is broken" in out, out
    assert opens(made, RAW_KEY) and not opens(made, NEW)


def test_the_old_pages_in_the_journal_are_overwritten(made: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """As found: the rekey's journal (every page under the old key) was deleted, not
    overwritten; carving the freed blocks gave back the whole database. It is wiped now."""
    from census.storage import rekey

    wiped: list[tuple[Path, int]] = []
    real = rekey.wipe

    def watch(path: Path, accept: object = None) -> bool:
        wiped.append((path, path.stat().st_size))
        return real(path)

    monkeypatch.setattr(rekey, "wipe", watch)
    size = made.stat().st_size
    assert change(made, "--new-passphrase-file", secret(tmp_path, "new", NEW)).startswith("0:")
    assert [p for p, _ in wiped] == [Path(f"{made}-journal")]
    assert wiped[0][1] >= size  # a whole copy of the database
    assert not Path(f"{made}-journal").exists()


def test_a_journal_left_by_a_kill_after_the_commit_is_wiped_at_the_next_open(
        made: Path) -> None:
    """A kill between the rekey's commit and the wipe leaves the journal (header zeroed, not
    hot): the next open overwrites it."""
    import os

    journal = Path(f"{made}-journal")
    journal.write_bytes(bytes(28) + b"old pages " * 500)
    twin = made.parent / "twin"
    os.link(journal, twin)
    Store.open(made, RAW_KEY).close()
    assert not journal.exists()
    assert twin.read_bytes() == bytes(28 + 5000)
