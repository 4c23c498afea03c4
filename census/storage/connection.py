"""Opening the encrypted database: SQLCipher via sqlcipher3, handed to sqlite_utils (DESIGN §4).

Every connection gets the same pragmas: the key first, then WAL, synchronous=FULL (a reported
save survives power loss), secure_delete (deleted bytes are zeroed), temporary storage in memory
(never an unencrypted temp file), foreign keys and a busy timeout. Failures become StoreError
with a message that says what happened and what to do.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from census.domain.errors import CensusError
from census.i18n import _
from census.storage.wipe import wipe

SQLITE_PLAIN_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000


class StoreError(CensusError):
    """A database problem explained for the user (no traceback is shown for it)."""


def quote_key(passphrase: str) -> str:
    """The passphrase as an SQL string literal, for PRAGMA key and ATTACH … KEY."""
    if "\x00" in passphrase:
        raise StoreError(_("The passphrase contains a NUL character; choose another one."))
    return "'" + passphrase.replace("'", "''") + "'"


def driver_module() -> Any:
    import sqlcipher3

    return sqlcipher3


def is_locked_error(exc: BaseException) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def explain(exc: BaseException) -> str | None:
    """A message for a failure SQLite reported (disk full, read-only, locked, damaged), None for
    anything else. Every such failure rolled its transaction back: nothing was changed."""
    if type(exc).__name__ not in {"OperationalError", "DatabaseError", "IntegrityError"}:
        return None
    text = str(exc)
    if "malformed" in text or "corrupt" in text:
        return _("The database file is damaged ({error}); restore it from a backup. "
                 "Nothing was changed.").format(error=text)
    if "full" in text:
        return _("The disk is full; nothing was changed. Free some space and try again.")
    if "readonly" in text or "read-only" in text:
        return _("The database file cannot be written (it is read-only); nothing was "
                 "changed. Check the file's permissions.")
    if is_locked_error(exc):
        return _("The database is busy: another census program is writing to it. Wait for it "
                 "to finish, then try again.")
    if "disk I/O" in text:
        return _("The disk failed to read or write the database ({error}); nothing was "
                 "changed. Check the disk and try again.").format(error=text)
    return _("The database refused the change ({error}); nothing was changed.").format(
        error=text)


def owner_only_file(path: Path) -> None:
    """Make the empty file `path` readable and writable by its owner only (0600), and any folder
    made for it 0700. SQLite gives the -wal and -shm files the database file's mode, so they
    are owner-only too."""
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700, exist_ok=True)
        os.chmod(made, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


#: What another SQLCipher client needs to open a census database (`census status` prints the
#: values in force; README "Reading a database elsewhere" gives the pragmas).
CIPHER_PRAGMAS = ("cipher_version", "cipher_page_size", "kdf_iter", "cipher_hmac_algorithm",
                  "cipher_kdf_algorithm", "cipher_plaintext_header_size")


def cipher_settings(conn: Any) -> dict[str, str]:
    """The SQLCipher settings of an open connection, and the SQLite version under it."""
    found = {name: str(conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in CIPHER_PRAGMAS}
    found["sqlite_version"] = str(conn.execute("SELECT sqlite_version()").fetchone()[0])
    return found


def opens_with(path: Path, passphrase: str) -> bool:
    """True when the database at `path` opens with `passphrase` (read only, in any thread)."""
    try:
        connect(path, passphrase, create=False, any_thread=True, read_only=True).close()
    except StoreError:
        return False
    return True


def connect(path: Path, passphrase: str, *, create: bool, any_thread: bool = False,
            read_only: bool = False) -> Any:
    """Open (or with `create`, make) the encrypted database at `path`; return the connection.
    `read_only` opens it without writing anything to it or beside it (to check a backup).

    The key is checked by reading the schema at once, so a wrong passphrase fails here.
    `any_thread` lets a helper thread open it (the key derivation is slow) and hand it over;
    it must then be used by one thread at a time.
    """
    if not passphrase:
        raise StoreError(_("The passphrase is empty; the database needs a passphrase to be "
                           "encrypted. Set CENSUS_PASSPHRASE, use --passphrase-file, or type it."))
    exists = path.exists() and path.stat().st_size > 0
    if path.is_dir():
        raise StoreError(_("{path} is a folder, not a database file; give the path of a file.")
                         .format(path=path))
    if not exists and not create:
        raise StoreError(_("There is no census database at {path}. Create one with "
                           "`census init --db {path}` (or try `census demo`).").format(path=path))
    if exists and create:
        raise StoreError(_("{path} already exists; nothing was changed.").format(path=path))
    if exists:
        try:
            with path.open("rb") as fh:
                header = fh.read(16)
        except OSError as exc:
            raise StoreError(_("Cannot read {path}: {error}.").format(path=path,
                                                                      error=exc.strerror)) from exc
        if header == SQLITE_PLAIN_HEADER:
            raise StoreError(_("{path} is a plain, unencrypted SQLite file, not a census "
                               "database; census only uses encrypted databases. Create one "
                               "with `census init`.").format(path=path))
    else:
        try:
            owner_only_file(path)
        except OSError as exc:
            raise StoreError(_("Cannot create the folder {folder}: {error}.")
                             .format(folder=path.parent, error=exc.strerror)) from exc
    driver = driver_module()
    try:
        target, uri = ((path.resolve().as_uri() + "?mode=ro", True) if read_only
                       else (str(path), False))
        conn = driver.connect(target, timeout=BUSY_TIMEOUT_MS / 1000,
                              check_same_thread=not any_thread, uri=uri)
    except driver.Error as exc:
        raise StoreError(_("Cannot open {path}: {error}.").format(path=path, error=exc)) from exc
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {quote_key(passphrase)}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except driver.DatabaseError as exc:
        conn.close()
        if is_locked_error(exc):
            raise StoreError(_("{path} is locked by another program; close it and try again.")
                             .format(path=path)) from exc
        if "not a database" not in str(exc):
            if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
                raise StoreError(_("{path} is read-only (the file, its folder or the disk cannot "
                                   "be written), and census writes a journal beside the "
                                   "database; nothing was changed. Copy it to a folder you may "
                                   "write to, or check the permissions.").format(path=path)
                                 ) from exc
            raise StoreError(_("Cannot open {path}: {error}. Check that you may read and write "
                               "the file and its folder.").format(path=path, error=exc)) from exc
        raise StoreError(_("Cannot open {path}: the passphrase is wrong, or the file is not a "
                           "census database (it may be damaged). Check the passphrase; if it is "
                           "right, restore the file from a backup.").format(path=path)) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA secure_delete = ON")
        # Sorts and temporary tables stay in memory: SQLCipher does not encrypt temp files.
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            return conn
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
    except driver.DatabaseError as exc:
        conn.close()
        if is_locked_error(exc):
            raise StoreError(_("{path} is locked by another program; close it and try again.")
                             .format(path=path)) from exc
        raise StoreError(_("Cannot prepare {path}: {error}.").format(path=path,
                                                                     error=exc)) from exc
    if str(mode).lower() != "wal" and not os.environ.get("CENSUS_ALLOW_NO_WAL"):
        conn.close()
        raise StoreError(_("{path} cannot use write-ahead logging on this file system; move the "
                           "database to a local disk.").format(path=path))
    stale = Path(f"{path}-journal")
    if stale.exists():
        # Opened in WAL mode, so no rollback journal is in use (a hot one was played back by
        # the read above): this is a passphrase change's, committed (its header zeroed) but
        # not yet overwritten, and it holds every page under the old passphrase.
        with suppress(OSError):
            wipe(stale)
    return conn
