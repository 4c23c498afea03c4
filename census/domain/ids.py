"""Time-ordered record ids (UUIDv7 layout, RFC 9562): merges into an index stay fast (DESIGN §5)."""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import TypeGuard

#: Area, enumerator and user codes: letters, digits, - and _, at most 40; never a name.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_id() -> str:
    """A new UUIDv7: 48-bit Unix milliseconds, version 7, variant 10, 74 random bits."""
    return uuid7(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big"))


def uuid7(ms: int, rand: int) -> str:
    """The UUIDv7 string for a millisecond time and 80 random bits (74 are used)."""
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 68) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def is_id(text: object) -> bool:
    """True when `text` is a lower-case canonical UUID string."""
    return isinstance(text, str) and bool(_UUID.fullmatch(text))


def is_code(text: object) -> TypeGuard[str]:
    """True when `text` is a code (area, enumerator, user), not free text."""
    return isinstance(text, str) and bool(CODE.fullmatch(text))


def new_seed() -> bytes:
    """A household's secret random seed for its person record keys."""
    return os.urandom(16)
