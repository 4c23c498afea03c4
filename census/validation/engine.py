"""The rule engine: pure functions from values and records to Problems (DESIGN §3).

One engine serves entry as typed (`parse_count`, `check_locator`), whole forms
(`check_household`, `check_dwelling`), and whole areas (`check_area`). No I/O: whatever needs
the store (known areas, stored revisions) arrives in a `Context`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from census.domain.config import SurveyConfig
from census.domain.model import (
    CONTACT_OUTCOMES,
    NO_CONTACT_OUTCOMES,
    Dwelling,
    Household,
    HouseholdStatus,
    Occupancy,
    OverrideReason,
    Respondent,
)
from census.i18n import N_, Msg, field_key, show_value
from census.validation.rules import RULES, Problem, Severity

#: How a dwelling's state reads inside a message.
STATE_WORDS = {"vacant": N_("vacant"), "not_found": N_("not found"),
               "not_dwelling": N_("not a dwelling"),
               "under_construction": N_("under construction")}
#: Clock skew tolerated before a visit counts as "in the future".
FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1)
"""No form was completed before this (a completion time earlier is a wrong clock or a typo)."""
MAX_NUMBER = 9999
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")

# Seven or more digits, allowing spaces, dots, dashes, slashes and brackets between them.
_PHONE = re.compile(r"(?:\+?\d[\s\-./()_,–—]*){7,}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


@dataclass(frozen=True)
class Context:
    """What the rules need beyond the record: the config, the clock, and what the store knows."""

    config: SurveyConfig
    now: datetime | None = None
    area_known: Callable[[str], bool] | None = None


_fmt = show_value


def parse_count(value: object, field: str, maximum: int, strict: bool = False
                ) -> int | Problem:
    """A count as typed (text of digits, empty = 0) or, with `strict`, as a JSON integer;
    0..maximum. Returns the int or the Problem."""
    if isinstance(value, bool) or (strict and not isinstance(value, int)):
        return Problem("E002", field, {"value": _fmt(value), "max": maximum})
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if not text.isascii() or not text.isdigit():
            return Problem("E002", field, {"value": _fmt(value), "max": maximum})
        digits = text.lstrip("0") or "0"
        if len(digits) > 6:
            return Problem("E001", field, {"value": text[:16], "max": maximum})
        value = int(digits)
    if isinstance(value, float):
        if not value.is_integer():
            return Problem("E002", field, {"value": _fmt(value), "max": maximum})
        value = int(value)
    if not isinstance(value, int):
        return Problem("E002", field, {"value": _fmt(value), "max": maximum})
    if not 0 <= value <= maximum:
        shown = value if abs(value) < 10**12 else ("-" if value < 0 else "") + "10^12+"
        return Problem("E001", field, {"value": shown, "max": maximum})
    return value


def parse_number(value: object, field: str, kind: str, low: int = 1,
                 high: int = MAX_NUMBER, strict: bool = False) -> int | Problem:
    """A structure, dwelling, household or attempt number: a whole number low..high (with
    `strict`, only a JSON integer)."""
    if strict and (isinstance(value, bool) or not isinstance(value, int)):
        shown = _fmt(value) if not isinstance(value, str) else repr(value[:16])
        return Problem("E014", field, {"value": shown, "min": low, "max": high, "kind": kind})
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip().lstrip("0") or "0"
        if len(text) > 12:  # int() of thousands of digits raises; no number is that long
            return Problem("E014", field, {"value": repr(value[:16] + "…"), "min": low,
                                           "max": high, "kind": kind})
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return Problem("E014", field, {"value": _fmt(value), "min": low, "max": high,
                                       "kind": kind})
    return value


_TIME = re.compile(r"(\d{1,2})(?:[:.h]?(\d{2}))?")


def parse_date_and_time(date: str, time: str, field: str) -> datetime | list[Problem]:
    """A date and a time of day typed in two fields, as on the visit screen: the date as
    YYYY-MM-DD, the time as HH:MM (also 17.30, 17h30, 1730, or 17 for the full hour). Each
    field's own problem is named (`{field}.date`, `{field}.time`: E023, E024)."""
    problems: list[Problem] = []
    day = None
    try:
        day = datetime.strptime(date.strip(), "%Y-%m-%d")
    except ValueError:
        problems.append(Problem("E023", f"{field}.date", {"value": _fmt(date.strip())}))
    match = _TIME.fullmatch(time.strip())
    hour, minute = (int(match[1]), int(match[2] or 0)) if match else (99, 99)
    if hour > 23 or minute > 59:
        problems.append(Problem("E024", f"{field}.time", {"value": _fmt(time.strip())}))
    if problems or day is None:
        return problems
    return day.replace(hour=hour, minute=minute)


def parse_datetime(value: object, field: str) -> datetime | Problem:
    """A local date and time written as YYYY-MM-DDTHH:MM (seconds are accepted and dropped:
    visits and appointments are kept to the minute)."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 16 and text[10] in "T " and text[4] == "-" and text[13] == ":":
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        for fmt in DATETIME_FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(second=0)
            except ValueError:
                continue
    return Problem("E016", field, {"value": _fmt(value)})


CodeT = TypeVar("CodeT", bound=StrEnum)


def parse_code(value: object, field: str, codes: type[CodeT], kind: str) -> CodeT | Problem:
    """One value of a code list (an enum of strings)."""
    if isinstance(value, str):
        try:
            return codes(value)
        except ValueError:
            pass
    allowed = [str(c) for c in codes]
    return Problem("E011", field, {"value": _fmt(value), "kind": kind,
                                   "allowed": ", ".join(allowed)})


def personal_data(text: str) -> str | None:
    """What in a short text looks like personal data ("a phone number", "an e-mail address",
    "control characters"), or None. Scans a bounded prefix: the patterns stay linear."""
    head = text[:240]
    if _PHONE.search(head):
        return N_("a phone number")
    if _EMAIL.search(head):
        return N_("an e-mail address")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in head):
        return N_("control characters")
    return None


def check_locator(text: str | None, config: SurveyConfig, field: str = "locator"
                  ) -> list[Problem]:
    """A locator is a short landmark: bounded, with nothing that looks like a phone or e-mail."""
    if not text:
        return []
    problems = []
    limit = config.rules.locator_max_length
    if len(text) > limit:
        problems.append(Problem("E009", field, {"length": len(text), "max": limit}))
    what = personal_data(text)
    if what is not None:
        problems.append(Problem("E010", field, {"what": Msg(what)}))
    return problems


def check_callback(callback: datetime, now: datetime, field: str = "callback_at"
                   ) -> list[Problem]:
    """An appointment being made now must be later than now (E006)."""
    if callback <= now:
        # Said as the visit screen's date and time fields show them (no "T").
        return [Problem("E006", field, {"callback": callback.strftime("%Y-%m-%d %H:%M"),
                                        "at": now.strftime("%Y-%m-%d %H:%M")})]
    return []


def _confirm(problems: list[Problem], overrides: dict[str, OverrideReason] | object,
             draft: bool) -> list[Problem]:
    """Mark warnings confirmed by an override; decide which problems block."""
    out = []
    keys = set(overrides) if isinstance(overrides, dict) else set()
    for p in problems:
        if p.severity is Severity.WARNING:
            confirmed = p.rule_id in keys
            out.append(Problem(p.rule_id, p.field, p.params, confirmed,
                               blocks=not confirmed and not draft))
        elif p.severity is Severity.INFO:
            out.append(Problem(p.rule_id, p.field, p.params, False, blocks=False))
        else:
            out.append(p)
    return out


def _check_overrides(overrides: dict[str, OverrideReason], raised: set[str],
                     field: str) -> list[Problem]:
    problems = []
    for rule_id in sorted(overrides):
        rule = RULES.get(rule_id)
        if rule is None or rule.severity is not Severity.WARNING:
            why = Msg(N_("it is not a warning rule"))
        elif rule_id not in raised:
            why = Msg(N_("that warning does not apply to this record"))
        else:
            continue
        problems.append(Problem("E018", f"{field}.{field_key(rule_id)}",
                                {"value": field_key(rule_id), "why": why}))
    return problems


def check_household(h: Household, ctx: Context) -> list[Problem]:
    """Rules of one household form. Drafts get value rules only; their warnings do not block."""
    cfg = ctx.config
    cap = cfg.max_household_size
    problems: list[Problem] = []
    draft = h.status is HouseholdStatus.DRAFT
    done = h.completed_at
    if done is not None and (done < EARLIEST or (
            ctx.now is not None and done > ctx.now + FUTURE_TOLERANCE)):
        problems.append(Problem("E025", "completed_at", {
            "at": done.isoformat(timespec="minutes"), "earliest": EARLIEST.date().isoformat(),
            "now": ctx.now.isoformat(timespec="minutes") if ctx.now else "—"}))
    for (sex, band), n in h.residents.items():
        where = f"residents.{field_key(sex)}.{field_key(band)}"
        if (sex, band) not in cfg.cell_set:
            problems.append(Problem("E011", where, {
                "value": _fmt(f"{sex}.{band}"), "kind": Msg(N_("sex and age band")),
                "allowed": ", ".join(f"{s}.{b}" for s, b in cfg.cells)}))
        elif not 0 <= n <= cap:
            problems.append(Problem("E001", where, {"value": _fmt(n), "max": cap}))
    for name, n in (("away", h.away), ("visitors", h.visitors)):
        if not 0 <= n <= cap:
            problems.append(Problem("E001", name, {"value": _fmt(n), "max": cap}))
    if h.usual_residents > cap:
        problems.append(Problem("E008", "residents", {"count": h.usual_residents, "max": cap}))
    if not draft:
        if h.usual_residents == 0:
            problems.append(Problem("E003", "residents", {"what": Msg(N_("this household"))}))
        if h.declared_total is not None and h.declared_total != h.usual_residents:
            problems.append(Problem("E007", "declared_total", {
                "declared": h.declared_total, "counted": h.usual_residents}))
    if h.usual_residents > cfg.rules.large_household:
        problems.append(Problem("W001", "residents", {
            "count": h.usual_residents, "threshold": cfg.rules.large_household}))
    adult_bands = {b.code for b in cfg.age_bands if b.low >= cfg.rules.adult_age}
    if h.present > 0 and not any(n for (_s, b), n in h.residents.items() if b in adult_bands):
        problems.append(Problem("W002", "residents", {"age": cfg.rules.adult_age}))
    if h.visitors > h.usual_residents and h.visitors > 0:
        problems.append(Problem("W004", "visitors", {
            "visitors": h.visitors, "residents": h.usual_residents}))
    if h.respondent is Respondent.PROXY:
        problems.append(Problem("I001", "respondent", {"number": h.number}))
    raised = {p.rule_id for p in problems}
    problems += _check_overrides(dict(h.overrides), raised, "overrides")
    return _confirm(problems, dict(h.overrides), draft)


def check_dwelling(d: Dwelling, ctx: Context) -> list[Problem]:
    """Rules of a dwelling record: its listing line, visits, and every household in it."""
    cfg = ctx.config
    problems: list[Problem] = []
    if ctx.area_known is not None and not ctx.area_known(d.area):
        problems.append(Problem("E017", "area", {"value": field_key(d.area)}))
    problems += check_locator(d.locator, cfg)

    seen_attempts: set[int] = set()
    by_attempt = sorted(d.visits, key=lambda v: v.attempt)
    for before, after in itertools.pairwise(by_attempt):
        if after.at < before.at:
            i = d.visits.index(after)
            problems.append(Problem("E022", f"visits[{i}].at", {
                "attempt": after.attempt, "at": after.at.isoformat(timespec="minutes"),
                "previous": before.attempt,
                "previous_at": before.at.isoformat(timespec="minutes")}))
    for i, v in enumerate(d.visits):
        where = f"visits[{i}]"
        if v.attempt in seen_attempts:
            problems.append(Problem("E015", f"{where}.attempt", {"attempt": v.attempt}))
        seen_attempts.add(v.attempt)
        if ctx.now is not None and v.at > ctx.now + FUTURE_TOLERANCE:
            problems.append(Problem("E020", f"{where}.at", {
                "at": v.at.isoformat(timespec="minutes"),
                "now": ctx.now.isoformat(timespec="minutes")}))
        if v.outcome == "callback" and v.callback_at is None:
            problems.append(Problem("E012", f"{where}.callback_at"))
        if v.callback_at is not None and v.callback_at <= v.at:
            problems.append(Problem("E006", f"{where}.callback_at", {
                "callback": v.callback_at.isoformat(timespec="minutes"),
                "at": v.at.isoformat(timespec="minutes")}))

    dwelling_problems: list[Problem] = []
    no_contact = sum(1 for v in d.visits if v.outcome in NO_CONTACT_OUTCOMES)
    if no_contact > cfg.rules.max_callbacks_without_contact:
        dwelling_problems.append(Problem("W003", "visits", {
            "count": no_contact, "threshold": cfg.rules.max_callbacks_without_contact}))

    contact = any(v.outcome in CONTACT_OUTCOMES for v in d.visits)
    last = d.last_outcome
    numbers: dict[int, int] = {}
    for i, h in enumerate(d.households):
        where = f"households[{i}]"
        if h.number in numbers:
            problems.append(Problem("E005", f"{where}.number", {
                "key": f"#{h.number}", "other": f"households[{numbers[h.number]}]"}))
        numbers.setdefault(h.number, i)
        problems += [p.at(where) for p in check_household(h, ctx)]
        if h.usual_residents + h.visitors == 0:
            continue
        if last in ("vacant", "not_found") or d.occupancy is Occupancy.NOT_DWELLING:
            state = last if last in ("vacant", "not_found") else d.occupancy
            problems.append(Problem("E004", f"{where}.residents", {
                "state": Msg(STATE_WORDS[str(state)]), "number": h.number,
                "count": h.usual_residents + h.visitors}))
        elif not contact:
            problems.append(Problem("E013", f"{where}.residents", {"number": h.number}))
        elif d.occupancy in (Occupancy.VACANT, Occupancy.UNDER_CONSTRUCTION):
            dwelling_problems.append(Problem("W005", "occupancy", {
                "state": Msg(STATE_WORDS[str(d.occupancy)]), "number": h.number}))
    if last == "completed" and not any(h.usual_residents for h in d.households) and not any(
            h.status is HouseholdStatus.DRAFT for h in d.households):
        problems.append(Problem("E003", "households", {"what": Msg(N_("the dwelling"))}))
    raised = {p.rule_id for p in dwelling_problems}
    problems += _check_overrides(dict(d.overrides), raised, "overrides")
    problems += _confirm(dwelling_problems, dict(d.overrides), draft=False)
    return problems


@dataclass(frozen=True)
class NaturalKey:
    """What identifies a household for people: area, structure, dwelling and household number."""

    area: str
    structure: int
    dwelling: int
    household: int
    record: str

    def label(self) -> str:
        return f"{self.area} {self.structure}/{self.dwelling} #{self.household}"


def check_area(keys: Iterable[NaturalKey]) -> list[Problem]:
    """Area-wide rules: the same natural key under two records is a duplicate (E005)."""
    first: dict[tuple[str, int, int, int], NaturalKey] = {}
    problems = []
    for k in keys:
        nk = (k.area, k.structure, k.dwelling, k.household)
        if nk in first and first[nk].record != k.record:
            problems.append(Problem("E005", k.record, {"key": k.label(),
                                                       "other": first[nk].record}))
        first.setdefault(nk, k)
    return problems


def check_listing_size(area: str, listed: int, expected: int | None) -> list[Problem]:
    """I002: far more dwellings listed than expected hints at double listing."""
    if expected and listed > expected * 1.2:
        percent = round(100 * (listed - expected) / expected)
        return [Problem("I002", "listing", {"area": area, "listed": listed,
                                            "expected": expected, "percent": percent},
                        blocks=False)]
    return []


def blocking(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a record from being stored as it stands."""
    return [p for p in problems if p.blocks]
