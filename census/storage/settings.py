"""Settings of the app kept in the database (where the user was), not census data."""

from __future__ import annotations

from census.storage.connection import StoreError, explain
from census.storage.store import Store


def get_setting(store: Store, key: str) -> str | None:
    """A UI setting kept in the database (e.g. where the app was when it closed)."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (f"ui.{key}",)).fetchone()
    return None if row is None else str(row[0])


def put_setting(store: Store, key: str, value: str | None) -> None:
    """Store a UI setting in its own small transaction (not audited: no census data)."""
    try:
        with store.db.atomic():
            if value is None:
                store.conn.execute("DELETE FROM meta WHERE key = ?", (f"ui.{key}",))
            else:
                store.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT "
                                  "(key) DO UPDATE SET value = excluded.value",
                                  (f"ui.{key}", value))
    except Exception as exc:
        message = explain(exc)
        if message is not None:
            raise StoreError(message) from exc
        raise
