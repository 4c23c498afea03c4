"""Encrypted backups: a consistent copy of an open database, made while other programs use it,
and the checks a backup passes before it is trusted (opens, integrity, audit chain)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from census.i18n import _
from census.storage import audit
from census.storage.connection import (
    StoreError,
    connect,
    driver_module,
    owner_only_file,
    quote_key,
)
from census.storage.store import Store


@dataclass(frozen=True)
class Checked:
    """What a backup was found to hold when it was checked."""

    path: Path
    households: int
    audit_entries: int


def write_backup(store: Store, out: Path, passphrase: str) -> Checked:
    """Copy the database into the new file `out`, encrypted with `passphrase`, from one read
    snapshot (writers go on; what they commit after it is not in the copy), then check it.
    The copy is written beside `out` and renamed once checked: `out` is whole or absent."""
    if out.exists():
        raise StoreError(_("{path} already exists; nothing was written. Give a new file name "
                           "(a backup never overwrites one).").format(path=out))
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    try:
        owner_only_file(part)
    except OSError as exc:
        raise StoreError(_("Cannot write {path}: {error}.").format(
            path=out, error=exc.strerror)) from exc
    conn = store.conn
    driver = driver_module()
    try:
        conn.execute(f"ATTACH DATABASE ? AS backup KEY {quote_key(passphrase)}", (str(part),))
        try:
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT count(*) FROM main.meta").fetchone()  # the snapshot
                conn.execute("SELECT sqlcipher_export('backup')").fetchall()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("DETACH DATABASE backup")
        checked = check_backup(part, passphrase)
        os.replace(part, out)
    except driver.Error as exc:
        part.unlink(missing_ok=True)
        raise StoreError(_("The backup could not be written ({error}); nothing was kept. Check "
                           "the free space and the folder, and try again.").format(
            error=exc)) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Checked(out, checked.households, checked.audit_entries)


def check_backup(path: Path, passphrase: str) -> Checked:
    """Open `path` read-only with `passphrase` (nothing is written to it or beside it), run
    SQLite's integrity check and recompute the audit chain; a StoreError says what is wrong."""
    conn = connect(path, passphrase, create=False, read_only=True)
    try:
        return _checked(conn, path)
    except driver_module().DatabaseError as exc:
        raise StoreError(_("{path} is damaged ({error}); do not use it.").format(
            path=path, error=exc)) from exc
    finally:
        conn.close()


def _checked(conn: Any, path: Path) -> Checked:
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise StoreError(_("{path} is damaged (integrity check: {problem}); do not use "
                           "it.").format(path=path, problem=problems[0]))
    chain = audit.verify(conn)
    if not chain.ok:
        raise StoreError(_("{path}: its audit log is broken at entry {seq} ({reason}); do "
                           "not use it.").format(path=path, seq=chain.broken_at,
                                                 reason=chain.reason))
    households = int(conn.execute("SELECT count(*) FROM household").fetchone()[0])
    return Checked(path, households, chain.entries)


def restore_backup(source: Path, target: Path, passphrase: str, force: bool) -> Checked:
    """Check `source`, then put a copy of it at `target` (replacing a database there only with
    `force`; its -wal and -shm go with it). The restored database keeps the backup's
    passphrase. Every census program using `target` must be closed first."""
    checked = check_backup(source, passphrase)
    if target.exists() and not force:
        raise StoreError(_("{path} already exists; nothing was changed. Restoring replaces it "
                           "with the backup: add --force if that is what you want.").format(
            path=target))
    part = target.with_name(target.name + ".restore")
    part.unlink(missing_ok=True)
    try:
        owner_only_file(part)
        with source.open("rb") as src, part.open("wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise StoreError(_("Cannot restore to {path}: {error}; nothing was changed.").format(
            path=target, error=exc.strerror)) from exc
    return Checked(target, checked.households, checked.audit_entries)
