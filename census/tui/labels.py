"""Words shown for codes, and how a problem is shown: a symbol and a word, never colour alone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from census.domain.config import SurveyConfig
from census.domain.model import (
    OVERRIDE_REASON_LABELS,
    RETURN_REASON_LABELS,
    DwellingType,
    Occupancy,
    Outcome,
    OverrideReason,
    ReturnReason,
    ReviewKind,
    Role,
)
from census.formats.payload import Decision
from census.i18n import N_, WEEKDAYS, _
from census.storage.progress import APPOINTMENT_DAYS
from census.validation.rules import RULES, Problem, Severity

OUTCOMES: dict[Outcome, str] = {
    Outcome.COMPLETED: N_("Completed"),
    Outcome.PARTIAL: N_("Partly completed"),
    Outcome.NO_ONE_HOME: N_("No one home"),
    Outcome.CALLBACK: N_("Callback appointment"),
    Outcome.REFUSED: N_("Refused"),
    Outcome.VACANT: N_("Vacant"),
    Outcome.NOT_FOUND: N_("Not found / destroyed"),
    Outcome.OTHER: N_("Other"),
}
TYPES: dict[DwellingType, str] = {
    DwellingType.HOUSE: N_("House"),
    DwellingType.APARTMENT: N_("Apartment"),
    DwellingType.TRADITIONAL: N_("Traditional dwelling"),
    DwellingType.IMPROVISED: N_("Improvised dwelling"),
    DwellingType.COLLECTIVE: N_("Collective living quarters"),
    DwellingType.OTHER: N_("Other"),
}
OCCUPANCY: dict[Occupancy, str] = {
    Occupancy.OCCUPIED: N_("Occupied"),
    Occupancy.VACANT: N_("Vacant"),
    Occupancy.UNDER_CONSTRUCTION: N_("Under construction"),
    Occupancy.NOT_DWELLING: N_("Not a dwelling"),
}
STATUSES: dict[str, str] = {
    "to_visit": N_("to visit"),
    "callback": N_("callback"),
    "in_progress": N_("in progress"),
    "done": N_("done"),
    "refused": N_("refused"),
    "vacant": N_("vacant/gone"),
    "other": N_("other"),
}
HOUSEHOLD_STATUS: dict[str, str] = {
    "draft": N_("draft"),
    "complete": N_("complete"),
    "returned": N_("returned"),
    "approved": N_("approved"),
}
ROLES: dict[Role, str] = {
    Role.ENUMERATOR: N_("enumerator"),
    Role.SUPERVISOR: N_("supervisor"),
    Role.OFFICE: N_("office"),
}
REVIEW_KINDS: dict[ReviewKind, str] = {
    ReviewKind.CONFLICT: N_("conflict"),
    ReviewKind.DUPLICATE: N_("duplicate"),
    ReviewKind.FLAGGED: N_("flagged"),
    ReviewKind.INVALID: N_("invalid"),
}
RECORD_TYPES: dict[str, str] = {"dwelling": N_("dwelling"), "household": N_("household")}
#: Why merge held a record (the review item's detail code); rule ids and messages show as they are.
REVIEW_DETAILS: dict[str, str] = {
    "same_revision": N_("same revision, other content"),
    "both_edited": N_("changed here and on the device"),
    "area_closed": N_("arrived after the area was closed"),
    "moved_dwelling": N_("moved to another dwelling"),
    "dwelling_held": N_("its dwelling is held for review"),
    "same_numbers": N_("the same numbers as another record"),
    "unknown_dwelling": N_("its dwelling is not known here"),
    "decision_only": N_("approved or returned by its sender, who may not decide"),
    "approved": N_("the household is approved here"),
    "not_assigned": N_("its area is not its sender's"),
}
#: An area's status, as the dashboard and the listing show it (a word and a symbol).
AREA_STATUS: dict[str, str] = {"open": N_("open"), "closed": N_("■ closed")}
SYMBOL = {Severity.ERROR: "✗", Severity.WARNING: "⚠", Severity.INFO: "ℹ"}
WORD = {Severity.ERROR: N_("Error"), Severity.WARNING: N_("Warning"), Severity.INFO: N_("Note")}


#: The form's fields, named as the screens label them (a problem's path is shown in these words).
FIELDS: dict[str, str] = {
    "residents": N_("Usual residents"),
    "away": N_("Usual residents away"),
    "visitors": N_("Visitors tonight"),
    "respondent": N_("Respondent"),
    "declared_total": N_("Declared total"),
    "status": N_("Status"),
    "completed_at": N_("Completion time"),
    "overrides": N_("Confirmations"),
    "callback_at": N_("Callback date and time"),
    "callback_at.date": N_("Callback date"),
    "callback_at.time": N_("Callback time"),
    "at": N_("Visit date and time"),
    "attempt": N_("Visit number"),
    "outcome": N_("Outcome"),
    "locator": N_("Locator"),
    "occupancy": N_("Occupancy"),
    "type": N_("Dwelling type"),
    "visits": N_("Visits"),
    "households": N_("Households"),
    "area": N_("Area"),
    "structure": N_("Structure"),
    "number": N_("Number"),
    "listing": N_("Listing"),
}
_PLACE = re.compile(r"(?:(households|visits)\[(\d+)\]\.?)?(.*)")


def field_label(path: str, config: SurveyConfig | None = None) -> str:
    """A problem's field in the words of the screen: `residents.female.0-4` → `Female 0-4`,
    `households[0].away` → `Household 1: Usual residents away`, `visits[1].callback_at` →
    `Visit 2: Callback date and time`. Sex labels come from `config` (built-in ones are
    translated); a path not known here is shown as it is."""
    match = _PLACE.fullmatch(path)
    if not match:
        return path
    kind, index, rest = match.groups()
    parts = rest.split(".")
    if parts[0] == "residents" and len(parts) == 3:
        labels = {c.code: c.label for c in config.sexes} if config else {}
        name = f"{_(labels.get(parts[1], parts[1].capitalize()))} {parts[2]}"
    elif rest in FIELDS:
        name = _(FIELDS[rest])
    elif parts[0] in FIELDS and len(parts) == 2:
        name = f"{_(FIELDS[parts[0]])} {parts[1]}"
    else:
        name = rest
    if kind is None:
        return name
    place = (_("Household {n}") if kind == "households" else _("Visit {n}")).format(
        n=int(index) + 1)
    return _("{place}: {name}").format(place=place, name=name) if name else place


def problem_line(p: Problem, config: SurveyConfig | None = None) -> str:
    """`✗ Error E001 Female 0-4: message` (symbol and word: not colour alone; the field as the
    screen names it)."""
    where = f" {field_label(p.field, config)}" if p.field else ""
    # The colon is the language's ("：" in Chinese), so the line is one translatable pattern.
    return _("{symbol} {severity} {rule}{field}: {message}").format(
        symbol=SYMBOL[p.severity], severity=_(WORD[p.severity]), rule=p.rule_id, field=where,
        message=p.message())


def bar(done: int, total: int, width: int = 12) -> str:
    """A text progress bar with its percentage, e.g. `██████░░░░░░  50%`."""
    if total <= 0:
        return "░" * width + "   -"
    share = min(1.0, done / total)
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {round(share * 100):3d}%"


def review_detail(detail: str) -> str:
    """The words for a review item's detail code; other details (rule ids) as they are."""
    return _(REVIEW_DETAILS[detail]) if detail in REVIEW_DETAILS else detail


def override_reason(code: str | None) -> str:
    """The words for a warning's confirmation reason (an unknown code as it is)."""
    if code is None:
        return ""
    try:
        return _(OVERRIDE_REASON_LABELS[OverrideReason(code)])
    except ValueError:
        return code


def confirmed_lines(overrides: Mapping[str, str]) -> list[str]:
    """`⚠ W002 No adult present — confirmed: <reason>`, a line per confirmed warning."""
    return [_("⚠ {rule} {title} — confirmed: {reason}").format(
        rule=rule, title=_(RULES[rule].title) if rule in RULES else "",
        reason=override_reason(reason)) for rule, reason in sorted(overrides.items())]


def returned_line(decision: Decision | None) -> str:
    """Why the supervisor sent a form back: the reason, the note and the rules that flagged it
    (`decision`: the newest return)."""
    if decision is None or decision.reason is None:
        return _("Returned by the supervisor for correction.")
    text = _("Returned by the supervisor: {reason}").format(
        reason=return_reason(decision.reason))
    if decision.note:
        text += f" — {decision.note}"
    if decision.rules:
        text += " " + _("(rules: {rules})").format(rules=", ".join(
            r for r in decision.rules.split(",") if r))
    return text


def return_reason(code: str | None) -> str:
    """The words for a return reason code (an unknown code is shown as it is)."""
    if code is None:
        return ""
    try:
        return _(RETURN_REASON_LABELS[ReturnReason(code)])
    except ValueError:
        return code




def appointment_day(group: str, at: datetime) -> str:
    """The day of an appointment in words: `⚠ overdue`, `today`, `tomorrow`, or the weekday."""
    if group == "overdue":
        return "⚠ " + _("overdue")
    if group == "today":
        return _("today")
    if group == "tomorrow":
        return _("tomorrow")
    return _(WEEKDAYS[at.weekday()])


def appointments_line(counts: dict[str, int]) -> str:
    """The appointments ahead in one line: `Appointments: ⚠ 1 overdue · 2 today · …`."""
    return _("Appointments: ⚠ {overdue} overdue · {today} today · {tomorrow} tomorrow · "
             "{later} in 2-{days} days").format(days=APPOINTMENT_DAYS, **counts)


#: How keys are written everywhere (footer, help, messages): one way for each.
KEY_NAMES = {"enter": "Enter", "escape": "Esc", "tab": "Tab", "pagedown": "PgDn",
             "pageup": "PgUp", "delete": "Delete", "backspace": "Backspace", "home": "Home",
             "end": "End", "space": "Space", "up": "↑", "down": "↓", "left": "←",
             "right": "→", "insert": "Ins"}


def key_name(key: str) -> str:
    """A key as written to users: `Enter`, `Esc`, `F1`, `Ctrl+Q`, `PgDn`, `a`; several keys
    bound to one action are joined by ` / `."""
    names = []
    for one in key.split(","):
        *modifiers, last = one.strip().split("+")
        last = KEY_NAMES.get(last, last)
        if (last[:1] == "f" and last[1:].isdigit()) or (modifiers and len(last) == 1):
            last = last.upper()
        names.append("+".join([*(m.capitalize() for m in modifiers), last]))
    return " / ".join(names)
