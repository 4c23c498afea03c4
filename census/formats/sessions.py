"""Operator sessions in a bundle (issue 16): each row checked as a payload row is (counts,
codes, times: never a key's value nor a name). Read with the rest of a payload by
`census.formats.payload.decode`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from census.formats.values import (
    Bad,
    PayloadError,
    as_code,
    as_int,
    as_opt_code,
    as_time,
    rows_of,
    shown,
)
from census.i18n import _

SESSION_MODES = ("key", "verify", "entry")
SESSION_WIDTH = 15
"""origin, origin_id, operator, mode, area, setting, started_at, ended_at, pause_seconds,
forms, keystrokes, bad_keystrokes, fields_verified, keyer_errors, verifier_errors."""
_SETTING = re.compile(r"(every \d{1,7}|share \d{1,3}\.\d\d% seed \d{1,19}); tolerance "
                      r"\d{1,3}\.\d\d%")


def session_rows_of(body: Mapping[str, Any]) -> list[list[Any]]:
    """The operator sessions of a bundle, each value checked (counts, codes, times: never a
    key's value nor a name)."""
    out = []
    for row in rows_of(body, "sessions", SESSION_WIDTH):
        try:
            origin, number = as_code(row[0], "origin"), as_int(row[1], 1, 1 << 62, "origin_id")
            operator = as_code(row[2], "operator")
            if row[3] not in SESSION_MODES:
                raise Bad(_("mode has an unknown code: {value}").format(value=shown(row[3])))
            area = as_opt_code(row[4], "area")
            setting = row[5]
            if setting is not None and not (isinstance(setting, str)
                                            and _SETTING.fullmatch(setting)):
                raise Bad(_("setting is not a verify setting: {value}").format(
                    value=shown(setting)))
            started, ended = as_time(row[6], "started_at"), as_time(row[7], "ended_at")
            if ended < started:
                raise Bad(_("ended_at is before started_at"))
            counts = [as_int(v, 0, 1 << 40, name) for v, name in zip(
                row[8:], ("pause_seconds", "forms", "keystrokes", "bad_keystrokes",
                          "fields_verified", "keyer_errors", "verifier_errors"), strict=True)]
        except Bad as bad:
            raise PayloadError(_("a session row is wrong: {why}").format(why=bad)) from bad
        out.append([origin, number, operator, row[3], area, setting,
                    started.strftime("%Y-%m-%dT%H:%M:%S"), ended.strftime("%Y-%m-%dT%H:%M:%S"),
                    *counts])
    return out
