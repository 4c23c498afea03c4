"""The raw baselines' connection settings: the same pragmas census's connect() applies, so a
benchmark compares census with SQLite doing the same durable, encrypted work."""

from __future__ import annotations

from typing import Any

from census.storage.connection import BUSY_TIMEOUT_MS

PASSPHRASE = "bench-passphrase"


def apply_pragmas(conn: Any, key: bool) -> Any:
    """Key (for SQLCipher), WAL, synchronous=FULL, secure_delete, foreign keys, busy timeout."""
    if key:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = '{PASSPHRASE}'")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    conn.execute("PRAGMA synchronous = FULL")
    assert str(mode).lower() == "wal", mode
    return conn
