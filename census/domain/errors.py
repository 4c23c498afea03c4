"""The one kind of failure a user is shown as a message: what went wrong, where, how to fix it.

Every layer raises its own subclass (StoreError, ConfigError, TransferError, ...); the command
line and the app print `str(error)` for any of them and never a traceback.
"""

from __future__ import annotations


class CensusError(Exception):
    """A problem explained for the user; its text is the whole message (already translated)."""
