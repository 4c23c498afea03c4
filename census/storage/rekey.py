"""Changing a database's passphrase: SQLCipher's `PRAGMA rekey`, made safe to interrupt.

The database is checked first (integrity, audit chain): a damaged one is not re-encrypted.
The rekey re-encrypts every page in one write transaction. It runs in rollback-journal mode:
the journal keeps each original page encrypted with the old key until every new page is on
disk, and only then is the journal's header zeroed (the commit). A process killed before that
leaves a hot journal, which the next open plays back (under either key: the journal's pages
are written back as they are), so the database opens with the old passphrase only; killed
after it, with the new one only. There is no moment at which both open, or neither.

The journal is then a whole copy of the database under the old key: it is kept (PERSIST mode,
not deleted by SQLite) so that census can overwrite it before deleting it (`storage.wipe`); a
kill in between leaves it with its header zeroed, and the next open wipes it.

Leaving WAL mode needs the database to itself (SQLite refuses while another connection has it
open), which is also what a rekey needs: a program that opened the file with the old key would
find pages it can no longer read. The exclusive lock taken next keeps others out until the
rekey is done; the journal mode is asserted again under that lock. The next ordinary open
returns the database to WAL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from census.i18n import _
from census.storage import audit
from census.storage.backup import Checked, check_backup
from census.storage.connection import (
    StoreError,
    connect,
    driver_module,
    explain,
    is_locked_error,
    quote_key,
)
from census.storage.store import Store, utc_now
from census.storage.wipe import wipe

_RAW_KEY = re.compile(r"x'[0-9A-Fa-f]+'")


def same_key(a: str, b: str) -> bool:
    """The two passphrases open the same database: equal, or the same raw key written in
    other letter cases (SQLCipher reads its hex digits without regard to case)."""
    if _RAW_KEY.fullmatch(a) and _RAW_KEY.fullmatch(b):
        return a.lower() == b.lower()
    return a == b


def journal(path: Path) -> Path:
    return Path(f"{path}-journal")


def _unchanged(path: Path, why: str) -> StoreError:
    return StoreError(_("The passphrase of {path} was not changed: {why} It still opens with "
                        "the old passphrase.").format(path=path, why=why))


def _to_rollback_journal(conn: Any, path: Path) -> None:
    """Leave WAL for a persistent rollback journal; refused while another program has the
    database open."""
    driver = driver_module()
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        mode = str(conn.execute("PRAGMA journal_mode = PERSIST").fetchone()[0]).lower()
    except driver.OperationalError as exc:
        if is_locked_error(exc):
            raise _unchanged(path, _("it is open in another census program (the app, or a "
                                     "command still running); close it, then try again.")
                             ) from exc
        raise _unchanged(path, explain(exc) or str(exc)) from exc
    if mode != "persist":
        raise _unchanged(path, _("it cannot leave write-ahead logging ({mode}), which a "
                                 "passphrase change needs.").format(mode=mode))


def change_passphrase(path: Path, old: str, new: str) -> Checked:
    """Re-encrypt the database at `path` from `old` to `new`, check that it opens with `new`
    (integrity check, audit chain) and log the change in its audit chain (after the fact: a
    kill in between leaves the change made but not logged). Every StoreError says whether the
    passphrase was changed."""
    if same_key(old, new):
        raise _unchanged(path, _("the new passphrase is the same as the old one."))
    try:
        check_backup(path, old)
    except StoreError as exc:
        raise _unchanged(path, _("the database did not pass its check ({error}); a damaged "
                                 "database is not re-encrypted. Restore it from a backup "
                                 "first.").format(error=exc)) from exc
    driver = driver_module()
    conn = connect(path, old, create=False)
    try:
        _to_rollback_journal(conn, path)
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")  # the lock is held until the connection closes
            conn.execute("COMMIT")
        except driver.OperationalError as exc:
            raise _unchanged(path, _("it is open in another census program (the app, or a "
                                     "command still running); close it, then try again.")
                             ) from exc
        _to_rollback_journal(conn, path)  # again, now that nobody else can come in
        try:
            conn.execute(f"PRAGMA rekey = {quote_key(new)}")
        except driver.Error as exc:
            raise _unchanged(path, _("re-encrypting it failed ({error}). A change needs free "
                                     "disk space about the size of the database.").format(
                error=explain(exc) or exc)) from exc
    finally:
        conn.close()
    try:
        # The journal now holds every page under the old key: overwrite it, then delete it.
        if journal(path).exists():
            try:
                wipe(journal(path))
            except OSError as exc:
                raise StoreError(_("its old journal {journal} (every page under the old "
                                   "passphrase) could not be overwritten ({why}); delete it by "
                                   "hand.").format(journal=journal(path),
                                                   why=exc.strerror or exc)) from exc
        checked = check_backup(path, new)
        store = Store.open(path, new)
        try:
            with store.write() as chain:
                chain.add([audit.Entry(utc_now(), store.user, "survey", "passphrase", "*", None,
                                       "changed")])
        finally:
            store.close()
    except StoreError as exc:
        raise StoreError(_("The passphrase of {path} is changed (it opens with the new one "
                           "only), but a step after the change failed: {error}").format(
            path=path, error=exc)) from exc
    return Checked(path, checked.households, checked.audit_entries + 1)
