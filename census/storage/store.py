"""The open database: `Store` holds the connection, the survey config, the role and the user,
and runs every write as one transaction that also appends the audit entries (`write()`).

Writes happen inside `Store.write()`, one `BEGIN IMMEDIATE` transaction, so a save is
all-or-nothing and two processes cannot fork the audit chain. Bulk rows move with `executemany`
inside that one transaction (DESIGN §9); sqlite-utils serves the schema and migrations. The
queries live in the modules beside this one, as functions over a store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from census.domain.config import SurveyConfig
from census.domain.model import Role
from census.i18n import _
from census.storage import audit
from census.storage.connection import StoreError, connect, explain
from census.storage.schema import cell_columns, migrations

FORMAT = "census-db-1"
BULK_CACHE_KIB = -32768
BATCH = 500
"""Ids bound into one `IN (...)` query (SQLite's limit on parameters is far above)."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_query(store: Store, sql: str, ids: Sequence[str], params: Sequence[Any] = ()
             ) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with `{marks}` where the ids go, after any `params`) for any number of
    ids, BATCH at a time."""
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(ids), BATCH):
        part = list(ids[i:i + BATCH])
        marks = ",".join("?" * len(part))
        out += store.conn.execute(sql.format(marks=marks), [*params, *part]).fetchall()
    return out


PURGE_WAIT_MS = 1000
"""How long a purge waits for other programs reading the database before it is left pending."""
PENDING = "purge.pending"


def _truncate(store: Store) -> bool:
    """Move the WAL into the database file and cut the WAL to zero bytes; False when another
    connection's read holds part of it back (then the main file still has the old pages)."""
    wait = int(store.conn.execute("PRAGMA busy_timeout").fetchone()[0])
    store.conn.execute(f"PRAGMA busy_timeout = {min(wait, PURGE_WAIT_MS)}")
    try:
        busy, log, done = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        store.conn.execute(f"PRAGMA busy_timeout = {wait}")
    return bool(busy == 0 and log == done)


def checkpoint(store: Store) -> bool:
    """After a purge: fold the WAL into the database and truncate it, so deleted records (zeroed
    by secure_delete) leave no copy behind, in the WAL or in the main file (DESIGN §4). When
    another program holds it back, the purge is recorded as pending (it is finished at the next
    open) and False is returned: nothing may be called deleted before it is."""
    if _truncate(store):
        return True
    store.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
                       "UPDATE SET value = excluded.value", (PENDING, utc_now()))
    store.conn.commit()
    return False


def purge_pending(store: Store) -> bool:
    """True when a purge could not yet be folded into the database file."""
    return store.conn.execute("SELECT 1 FROM meta WHERE key = ?", (PENDING,)).fetchone() is not None


def finish_purge(store: Store) -> bool:
    """Finish a pending purge if nothing holds it back now; True when none is pending."""
    if not purge_pending(store):
        return True
    if not _truncate(store):
        return False
    store.conn.execute("DELETE FROM meta WHERE key = ?", (PENDING,))
    store.conn.commit()
    _truncate(store)  # the WAL now holds only that deletion: cut it too
    return True


class Store:
    """An open census database: its connection, config, role and user, and its transactions.

    Queries and writes are functions over a store, grouped by what they touch (`areas`,
    `records`, `progress`, `listing`, `sums`, `settings`, `releases`, `exchange.*`)."""

    def __init__(self, conn: Any, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.db = Database(conn)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except Exception as exc:
            raise StoreError(_("{path} opens with this passphrase but is not a census database, "
                               "or it is damaged; restore it from a backup.").format(
                path=path)) from exc
        if meta.get("format") != FORMAT:
            raise StoreError(_("{path} was made by another version of census (format {found}); "
                               "this version reads {expected}.").format(
                path=path, found=meta.get("format"), expected=FORMAT))
        self.config = SurveyConfig.from_canonical_json(meta["config"])
        self.role = Role(meta["role"])
        self.user = meta["user"]
        self.counts, self.keys = cell_columns(self.config)
        #: Area code → level, kept by `storage.areas.levels` (areas change only by an import).
        self.levels_cache: dict[str, str] | None = None
        self._chain: audit.Chain | None = None  # the open write transaction's, if any

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, passphrase: str, config: SurveyConfig, role: Role,
               user: str) -> Store:
        """Make a new encrypted database for `config`, used by `user` (a code, never a name)."""
        conn = connect(path, passphrase, create=True)
        try:
            db = Database(conn)
            with db.atomic():
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) "
                             "STRICT")
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("format", FORMAT), ("role", str(role)), ("user", user),
                    ("config", config.canonical_json()), ("created", utc_now())])
            migrations(config).apply(db)
            store = cls(conn, path)
            with store.write() as chain:
                chain.add([audit.Entry(utc_now(), user, "survey", "config", "*", None,
                                       f"{config.name} ({config.digest()}); role {role}")])
            return store
        except BaseException:
            conn.close()
            path.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see one state of the database (a read transaction), while other
        programs go on writing; inside a write, that write's own state."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    @classmethod
    def open(cls, path: Path, passphrase: str, any_thread: bool = False) -> Store:
        """Open an existing census database and bring its schema up to date."""
        conn = connect(path, passphrase, create=False, any_thread=any_thread)
        try:
            store = cls(conn, path)
            _migrate(store)
            finish_purge(store)
            return store
        except BaseException:
            conn.close()
            raise

    @classmethod
    def reader(cls, path: Path, passphrase: str) -> Store:
        """Another connection to a database open here, to read in another thread (one thread
        at a time; SQLite connections are not shared between threads): no migration, no purge,
        and writing is refused (`query_only`). In WAL mode it reads the last committed state,
        while the first connection goes on writing."""
        conn = connect(path, passphrase, create=False, any_thread=True)
        try:
            conn.execute("PRAGMA query_only = ON")
            return cls(conn, path)
        except BaseException:
            conn.close()
            raise

    def interrupt(self) -> None:
        """Stop the statement running on this connection (called from another thread): it
        ends with an error in the thread that runs it."""
        self.conn.interrupt()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """A larger page cache (32 MiB) while many records are written or read: pages are then
        not evicted, re-read and re-decrypted over and over. Memory stays bounded."""
        previous = int(self.conn.execute("PRAGMA cache_size").fetchone()[0])
        self.conn.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {previous}")

    @contextmanager
    def write(self) -> Iterator[audit.Chain]:
        """One write transaction (BEGIN IMMEDIATE) with an audit chain appender. Inside an
        open one it joins it: a read-modify-write (load a record, change it, save it) is then
        one transaction, so another process cannot write in between (no lost update)."""
        if self._chain is not None:
            yield self._chain
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # busy: explained below, nothing to roll back
            chain = self._chain = audit.Chain(self.conn)
            yield chain
            chain.flush()
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            message = explain(exc)
            if message is not None:  # e.g. the disk filled up: a message, not a crash
                raise StoreError(message) from exc
            raise
        finally:
            self._chain = None

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already (it does on a full disk
        or an I/O error); a failing rollback must not hide the error that caused it."""
        if self.conn.in_transaction:
            with suppress(Exception):
                self.conn.execute("ROLLBACK")


    def set_busy_timeout(self, milliseconds: int) -> None:
        """How long a write waits for another program's write before it says "busy" (the app
        waits less than the command line: its screen freezes while it waits)."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")

    def verify_audit(self) -> audit.Verification:
        """Recompute the audit chain (see `storage.audit.verify`)."""
        return audit.verify(self.conn)


def _migrate(store: Store, attempts: int = 5) -> None:
    """Apply the pending migrations. Two programs opening a database of an older version at
    once both see a migration pending; each runs in its own transaction with the record of it,
    so the second one's fails ("already exists") once the first has committed: it looks again
    and finds nothing left to do."""
    import time

    for attempt in range(attempts):
        try:
            migrations(store.config).apply(store.db)
            return
        except store.conn.OperationalError as exc:
            if "already exists" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
