"""Operator statistics (issue 16, as CSPro's): per operator, day and mode, from the session log
and the verification of keyed forms. Operators are codes (clerks, enumerators), never names.

- keying (`key`): keystrokes per hour of keying (pauses of more than 2 minutes left out),
  bad keystrokes (erasures, refused characters) per 1,000 keystrokes, and the keyer error % —
  keyer errors the verifiers found in this operator's forms keyed that day, per 100 fields
  verified;
- verifying (`verify`): the same rates, and the verifier error %: this operator's own
  mistakes found by keying a field again, per 100 fields verified;
- door to door (`entry`, an enumerator's app): keys per form and minutes per form completed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from census.domain.keying import per_hour, per_thousand, share_percent
from census.storage.keying import operator_days
from census.storage.store import Store


@dataclass(frozen=True)
class OperatorFigures:
    operator: str
    day: str
    mode: str
    sessions: int
    minutes: float
    """Minutes of work: the sessions' time without their pauses."""
    pause_minutes: float
    forms: int
    keystrokes: int
    bad_keystrokes: int
    keystrokes_per_hour: float | None
    errors_per_1000: float | None
    fields_verified: int
    errors: int
    """Keying: keyer errors found in this operator's forms; verifying: verifier errors."""
    error_percent: float | None
    keys_per_form: float | None
    minutes_per_form: float | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def operator_figures(store: Store, operators: Sequence[str] | None = None
                     ) -> list[OperatorFigures]:
    """Every operator's figures per day and mode (operator, day, mode order)."""
    out = []
    for d in operator_days(store, operators):
        active = max(0, d.seconds - d.pause_seconds)
        out.append(OperatorFigures(
            d.operator, d.day, d.mode, d.sessions, round(active / 60, 1),
            round(d.pause_seconds / 60, 1), d.forms, d.keystrokes, d.bad_keystrokes,
            per_hour(d.keystrokes, active), per_thousand(d.bad_keystrokes, d.keystrokes),
            d.fields_verified, d.errors, share_percent(d.errors, d.fields_verified),
            None if not d.forms else round(d.keystrokes / d.forms, 1),
            None if not d.forms else round(active / 60 / d.forms, 2)))
    return out
