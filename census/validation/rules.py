"""The rule catalogue: stable IDs, severities, stages and translatable messages (DESIGN §3).

A message template says what is wrong, where, and how to fix it; it is translated when shown.
"value" rules guard what the store can hold and block even a draft; "complete" rules block only
completing a form. Warnings block completing until confirmed with a reason from a fixed list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from census.i18n import N_, Msg, _


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Stage(StrEnum):
    VALUE = "value"
    COMPLETE = "complete"


@dataclass(frozen=True)
class Rule:
    """One validation rule. `template` uses str.format fields filled from a Problem's params."""

    id: str
    severity: Severity
    stage: Stage
    title: str
    template: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.id: r for r in rules}


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741
V, C = Stage.VALUE, Stage.COMPLETE

RULES: dict[str, Rule] = _rules(
    Rule("E001", E, V, N_("Count out of range"),
         N_("{value} is outside 0 to {max}; enter the number of persons, from 0 to {max}.")),
    Rule("E002", E, V, N_("Not a whole number"),
         N_("{value} is not a whole number; type digits only (0 to {max}).")),
    Rule("E003", E, C, N_("Completed without a usual resident"),
         N_("the outcome is 'completed' but {what} has no usual resident; count the persons "
            "who usually live here, or record another outcome.")),
    Rule("E004", E, C, N_("Persons in a dwelling recorded as empty"),
         N_("the dwelling is recorded as '{state}' but household {number} counts {count} "
            "persons; remove the counts or correct the outcome.")),
    Rule("E005", E, V, N_("Duplicate number"),
         N_("{key} is entered twice (also {other}); correct the structure, dwelling or "
            "household number.")),
    Rule("E006", E, V, N_("Callback in the past"),
         N_("the callback appointment {callback} is before the visit at {at}; enter a later "
            "date and time.")),
    Rule("E007", E, C, N_("Declared total differs from the counts"),
         N_("the household was said to have {declared} usual residents but {counted} are "
            "counted (present plus away); correct the counts or the declared total.")),
    Rule("E008", E, V, N_("Household too large"),
         N_("{count} usual residents is more than the limit of {max}; check the counts "
            "(a group dwelling is listed as several households).")),
    Rule("E009", E, V, N_("Locator too long"),
         N_("the locator has {length} characters; shorten it to at most {max} (a landmark "
            "only, e.g. 'blue gate by the water tower').")),
    Rule("E010", E, V, N_("Personal data in the locator"),
         N_("the locator looks like it holds {what}; describe the place only (a landmark), "
            "never a phone number, e-mail address or a person.")),
    Rule("E011", E, V, N_("Unknown code"),
         N_("{value} is not a known {kind}; use one of: {allowed}.")),
    Rule("E012", E, V, N_("Callback without a time"),
         N_("the outcome is 'callback' but no appointment is given; enter the date and time "
            "agreed (YYYY-MM-DDTHH:MM).")),
    Rule("E013", E, C, N_("Counts without contact"),
         N_("household {number} has counts but no visit made contact; record a visit with "
            "outcome 'completed' or 'partial' first.")),
    Rule("E014", E, V, N_("Number out of range"),
         N_("{value} is not a whole number from {min} to {max}; enter the {kind}.")),
    Rule("E015", E, V, N_("Duplicate visit"),
         N_("visit attempt {attempt} is entered twice; number the visits 1, 2, 3, ...")),
    Rule("E016", E, V, N_("Unreadable date and time"),
         N_("{value} is not a date and time; write it as YYYY-MM-DDTHH:MM, e.g. "
            "2026-11-28T17:30.")),
    Rule("E017", E, V, N_("Unknown area"),
         N_("area {value} is not registered in this database; import the area list first "
            "(census area import) or correct the code.")),
    Rule("E018", E, V, N_("Invalid confirmation"),
         N_("{value} cannot be confirmed: {why}; confirm only warnings (W-codes) that apply.")),
    Rule("E019", E, V, N_("Revision conflict"),
         N_("record {id} is already stored at revision {revision} with different content; "
            "give the changed record a higher revision.")),
    Rule("E020", E, V, N_("Visit in the future"),
         N_("the visit time {at} is later than now ({now}); check the device clock and the "
            "date typed.")),
    Rule("E021", E, V, N_("Household in another dwelling"),
         N_("household {id} is stored in another dwelling ({other}); a household cannot move: "
            "record it as a new household here.")),
    Rule("E022", E, V, N_("Visits out of order"),
         N_("visit {attempt} at {at} is before visit {previous} at {previous_at}; number the "
            "visits in the order they were made, or correct the date.")),
    Rule("E023", E, V, N_("Unreadable date"),
         N_("{value} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-28.")),
    Rule("E024", E, V, N_("Unreadable time"),
         N_("{value} is not a time of day; write it as HH:MM (0:00 to 23:59), e.g. 17:30.")),
    Rule("E025", E, V, N_("Completion time out of range"),
         N_("the form's completion time {at} is later than now ({now}) or before {earliest}; "
            "check the device clock and the date given.")),
    Rule("E030", E, V, N_("Not valid JSON"),
         N_("the line is not valid JSON ({error}); write one JSON object per line.")),
    Rule("E031", E, V, N_("Unknown field"),
         N_("{value} is not a field of {kind}; remove it (allowed: {allowed}).")),
    Rule("E032", E, V, N_("Missing field"),
         N_("{kind} needs the field {value}; add it.")),
    Rule("E033", E, V, N_("Wrong type"),
         N_("{value} must be {kind}.")),
    Rule("E034", E, V, N_("Field given twice"),
         N_("{value} is given twice in the same object; keep one.")),
    Rule("E040", E, V, N_("Area closed"),
         N_("area {area} is closed: nothing more is written in it. A supervisor reopens it with "
            "a reason (census area reopen {area} --reason ...) if it must change.")),
    Rule("E041", E, V, N_("Not your area"),
         N_("area {area} is not assigned to {user}; only the areas assigned to you can be "
            "entered. Ask your supervisor to assign it.")),
    Rule("E042", E, V, N_("Approval and return are decisions"),
         N_("a household becomes '{status}' only by a supervisor's decision (census review "
            "approve or return), never by a form or a file; give it as 'draft' or 'complete'.")),
    Rule("E043", E, V, N_("Approved household"),
         N_("household {id} is approved; it changes only if its supervisor returns it for "
            "correction.")),
    Rule("E044", E, V, N_("Not complete"),
         N_("household {id} is '{status}'; only a complete household can be approved.")),
    Rule("E045", E, V, N_("Not your role"),
         N_("a {role} cannot do this; it is a supervisor's or the office's step.")),
    Rule("W001", W, C, N_("Large household"),
         N_("{count} usual residents is more than {threshold}; confirm with the respondent "
            "that all usually live here.")),
    Rule("W002", W, C, N_("No adult present"),
         N_("no one present is aged {age} or over; confirm the ages with the respondent.")),
    Rule("W003", W, C, N_("Many visits without contact"),
         N_("{count} visits without contact (more than {threshold}); confirm, and tell your "
            "supervisor if the dwelling cannot be reached.")),
    Rule("W004", W, C, N_("More visitors than residents"),
         N_("{visitors} visitors but {residents} usual residents; confirm the visitors stay "
            "here tonight and usually live elsewhere.")),
    Rule("W005", W, C, N_("Persons in a dwelling listed as empty"),
         N_("the dwelling was listed as '{state}' but household {number} was counted; "
            "confirm that it is occupied now.")),
    Rule("I001", I, C, N_("Proxy respondent"),
         N_("household {number} was answered by a proxy (not a member).")),
    Rule("I002", I, C, N_("More dwellings than expected"),
         N_("area {area} lists {listed} dwellings, {percent}% more than the {expected} "
            "expected; check for dwellings listed twice.")),
)


@dataclass(frozen=True)
class Problem:
    """One rule hit: which rule, which field (a path such as `households[0].away`) and values."""

    rule_id: str
    field: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    confirmed: bool = False
    blocks: bool = True

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    def message(self) -> str:
        """The message in the current language."""
        params = {k: _(v) if isinstance(v, Msg) else v for k, v in self.params.items()}
        return _(self.rule.template).format(**params)

    def at(self, prefix: str) -> Problem:
        """The same problem with its field placed under `prefix` (e.g. `households[1]`)."""
        path = f"{prefix}.{self.field}" if self.field else prefix
        return Problem(self.rule_id, path, self.params, self.confirmed, self.blocks)

    def __str__(self) -> str:
        return f"{self.rule_id} {self.field}: {self.message()}"
