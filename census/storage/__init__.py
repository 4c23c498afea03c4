"""Storage: the only package that talks SQL (SQLCipher through sqlcipher3 and sqlite-utils)."""

import sys


def _import_sqlite_utils() -> None:
    """Import sqlite-utils without pandas and numpy: when they are installed (the test extras
    bring them for the ONS cross-check) sqlite-utils imports both at start-up, only to map
    their types, which census never passes; that would add half a second to every command.
    Blocked only during this import: anyone may import pandas afterwards."""
    blocked = [m for m in ("pandas", "numpy") if m not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_sqlite_utils()
