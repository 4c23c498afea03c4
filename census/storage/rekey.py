"""Changing a database's passphrase: SQLCipher's `PRAGMA rekey`, made safe to interrupt.

The rekey re-encrypts every page in one write transaction. It runs in rollback-journal mode:
the journal keeps each original page encrypted with the old key, and SQLite deletes it only
once every new page is on disk. A process killed before that leaves a hot journal, which the
next open plays back (under either key: the journal's pages are written back as they are), so
the database opens with the old passphrase only; killed after it, with the new one only. There
is no moment at which both open, or neither.

Leaving WAL mode needs the database to itself (SQLite refuses while another connection has it
open), which is also what a rekey needs: a program that opened the file with the old key would
find pages it can no longer read. The exclusive lock taken next keeps others out until the
rekey is done; the next ordinary open returns the database to WAL.
"""

from __future__ import annotations

from pathlib import Path

from census.i18n import _
from census.storage import audit
from census.storage.backup import Checked, check_backup
from census.storage.connection import StoreError, connect, driver_module, quote_key
from census.storage.store import Store, utc_now


def change_passphrase(path: Path, old: str, new: str) -> Checked:
    """Re-encrypt the database at `path` from `old` to `new`, check that it opens with `new`
    (integrity check, audit chain) and log the change in its audit chain (after the fact: a
    kill in between leaves the change made but not logged). A StoreError says why nothing was
    changed."""
    if new == old:
        raise StoreError(_("The new passphrase is the same as the old one; nothing was "
                           "changed."))
    driver = driver_module()
    conn = connect(path, old, create=False)
    try:
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            mode = str(conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower()
        except driver.OperationalError as exc:
            raise StoreError(_("{path} is open in another census program (the app, or a "
                               "command still running); close it, then change the passphrase. "
                               "Nothing was changed.").format(path=path)) from exc
        if mode != "delete":
            raise StoreError(_("{path} cannot leave write-ahead logging ({mode}), which a "
                               "passphrase change needs; nothing was changed.").format(
                path=path, mode=mode))
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")  # held until the connection closes
        conn.execute("COMMIT")
        conn.execute(f"PRAGMA rekey = {quote_key(new)}")
    finally:
        conn.close()
    checked = check_backup(path, new)
    try:
        store = Store.open(path, new)
        try:
            with store.write() as chain:
                chain.add([audit.Entry(utc_now(), store.user, "survey", "passphrase", "*", None,
                                       "changed")])
        finally:
            store.close()
    except StoreError as exc:
        raise StoreError(_("The passphrase of {path} is changed (it opens with the new one "
                           "only), but the change could not be logged: {error}").format(
            path=path, error=exc)) from exc
    return Checked(path, checked.households, checked.audit_entries + 1)
