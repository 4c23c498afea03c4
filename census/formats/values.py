"""The checks of a payload's values (`census.formats.payload` and the modules that read parts
of it): each returns the value as it is kept, or raises `Bad` with what is wrong; `rows_of` takes
a list of rows of one width, else the payload is refused (`PayloadError`). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from census.domain.ids import is_code, is_id
from census.i18n import _, show_value


class PayloadError(ValueError):
    """The decrypted payload is not what this version of census writes."""


class Bad(ValueError):
    pass


def shown(v: Any) -> str:
    """A value of the payload as a message quotes it (i18n.show_value: short, one line, control
    characters escaped, never a walk into a nested list: a hostile row may nest a thousand
    levels deep)."""
    return show_value(v)


def as_int(v: Any, low: int, high: int, what: str) -> int:
    if type(v) is not int or not low <= v <= high:
        raise Bad(_("{what} must be a whole number from {low} to {high}, not {value}").format(
            what=what, low=low, high=high, value=shown(v)))
    return v


def as_opt_int(v: Any, low: int, high: int, what: str) -> int | None:
    return None if v is None else as_int(v, low, high, what)


def as_text(v: Any, what: str, limit: int = 40) -> str:
    if not isinstance(v, str) or not 1 <= len(v) <= limit:
        raise Bad(_("{what} must be a text of 1 to {limit} characters").format(
            what=what, limit=limit))
    return v


def as_code(v: Any, what: str) -> str:
    text = as_text(v, what)
    if not is_code(text):
        raise Bad(_("{what} is not a valid code: {value}").format(what=what,
                                                                   value=shown(text)))
    return text


def as_opt_code(v: Any, what: str) -> str | None:
    return None if v is None else as_code(v, what)


def as_uuid(v: Any, what: str) -> str:
    if not isinstance(v, str) or not is_id(v):
        raise Bad(_("{what} is not a record id").format(what=what))
    return v


def as_time(v: Any, what: str) -> datetime:
    if not isinstance(v, str) or len(v) > 40:
        raise Bad(_("{what} is not a date and time").format(what=what))
    try:
        at = datetime.fromisoformat(v)
    except ValueError as exc:
        raise Bad(_("{what} is not a date and time").format(what=what)) from exc
    if at.tzinfo is not None:
        raise Bad(_("{what} is not a date and time").format(what=what))
    return at


def as_opt_time(v: Any, what: str) -> datetime | None:
    return None if v is None else as_time(v, what)


def as_stamp(v: Any) -> str:
    """A UTC timestamp as the store writes it (2026-11-28T16:03:25Z)."""
    if not isinstance(v, str) or len(v) != 20 or not v.endswith("Z"):
        raise Bad(_("{what} is not a date and time").format(what="updated_at"))
    as_time(v[:19], "updated_at")
    return v


_CODES: dict[Any, dict[Any, Any]] = {}


def as_enum(v: Any, codes: Any, what: str) -> Any:
    table = _CODES.get(codes)
    if table is None:  # a dict lookup is much cheaper than calling the Enum per value
        table = _CODES.setdefault(codes, {c.value: c for c in codes})
    found = table.get(v) if isinstance(v, str) else None
    if found is None:
        raise Bad(_("{what} has an unknown code: {value}").format(
            what=what, value=shown(v)))
    return found


def rows_of(body: Mapping[str, Any], key: str, width: int) -> list[list[Any]]:
    rows = body.get(key, [])
    if not isinstance(rows, list):
        raise PayloadError(_("its {part} are not a list").format(part=key))
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise PayloadError(_("a row of its {part} has {found} values instead of {width}")
                               .format(part=key, found=len(row) if isinstance(row, list) else 1,
                                       width=width))
    return rows
