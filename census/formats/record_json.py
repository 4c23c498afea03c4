"""The JSON form of a dwelling record (one line of `census forms import`), both ways. Pure.

Parsing reports every problem it finds with a rule ID and a field path, like the rule engine,
so a user fixes a file in one pass. A household's secret seed never appears in this format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from census.domain.config import SurveyConfig
from census.domain.ids import is_code, is_id, new_seed
from census.domain.model import (
    Cell,
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Respondent,
    Visit,
)
from census.i18n import N_, Msg, field_key
from census.validation.engine import (
    parse_code,
    parse_count,
    parse_datetime,
    parse_number,
)
from census.validation.rules import Problem

DWELLING_FIELDS = {"id", "revision", "area", "structure", "dwelling", "type", "occupancy",
                   "locator", "enumerator", "visits", "households", "overrides"}
DWELLING_REQUIRED = ("id", "area", "structure", "dwelling")
VISIT_FIELDS = {"attempt", "at", "outcome", "callback_at", "enumerator"}
VISIT_REQUIRED = ("attempt", "at", "outcome")
HOUSEHOLD_FIELDS = {"id", "number", "revision", "status", "respondent", "residents", "away",
                    "visitors", "declared_total", "overrides", "completed_at"}
HOUSEHOLD_REQUIRED = ("id", "number")
MAX_CODE = 40
REVISION = Msg(N_("revision"))
A_DWELLING, A_VISIT, A_HOUSEHOLD = Msg(N_("a dwelling")), Msg(N_("a visit")), Msg(N_("a household"))
T = TypeVar("T")


class _Collector:
    """Gathers problems while reading one JSON object."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def take(self, result: T | Problem, default: T) -> T:
        if isinstance(result, Problem):
            self.problems.append(result)
            return default
        return result

    def fields(self, obj: Mapping[str, Any], allowed: set[str], required: tuple[str, ...],
               kind: str, where: str) -> None:
        for key in sorted(set(obj) - allowed):
            self.problems.append(Problem("E031", f"{where}{field_key(key)}", {
                "value": _quoted(key), "kind": kind, "allowed": ", ".join(sorted(allowed))}))
        for key in required:
            if key not in obj:
                self.problems.append(Problem("E032", f"{where}{key}", {"value": repr(key),
                                                                        "kind": kind}))

    def text_code(self, value: object, field: str, kind: str, required: bool = False
                  ) -> str | None:
        if value is None and not required:
            return None
        if not is_code(value):
            self.problems.append(Problem("E033", field, {
                "value": field, "kind": Msg(N_("a code of letters, digits, - and _ (at most 40), "
                                               "never a name"))}))
            return None
        return value

    def record_id(self, value: object, field: str) -> str:
        if not is_id(value):
            self.problems.append(Problem("E033", field, {
                "value": field, "kind": Msg(N_("a UUID in lower case, e.g. "
                                               "0192f6c4-3b1e-7a2c-9f00-1234567890ab"))}))
            return ""
        assert isinstance(value, str)
        return value

    def overrides(self, value: object, field: str) -> dict[str, OverrideReason]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(Problem("E033", field, {
                "value": field,
                "kind": Msg(N_('an object such as {"W001": "confirmed_with_respondent"}'))}))
            return {}
        out = {}
        for rule_id, reason in value.items():
            parsed = parse_code(reason, f"{field}.{field_key(rule_id)}", OverrideReason,
                                Msg(N_("confirmation reason")))
            if isinstance(parsed, Problem):
                self.problems.append(parsed)
            else:
                out[str(rule_id)] = parsed
        return out


def _is_obj(value: object) -> bool:
    return isinstance(value, dict)


def _quoted(key: str) -> str:
    """A key quoted in a message (bounded, control characters escaped)."""
    shown = field_key(key)
    return shown if shown.startswith("'") else repr(shown)


def _parse_visit(c: _Collector, raw: object, where: str) -> Visit | None:
    if not _is_obj(raw):
        c.problems.append(Problem("E033", where.rstrip("."), {
            "value": where.rstrip("."), "kind": Msg(N_("a JSON object (a visit)"))}))
        return None
    assert isinstance(raw, dict)
    c.fields(raw, VISIT_FIELDS, VISIT_REQUIRED, A_VISIT, where)
    attempt = c.take(parse_number(raw.get("attempt"), f"{where}attempt",
                                  Msg(N_("visit attempt number")), 1, 99, strict=True), 0)
    at = c.take(parse_datetime(raw.get("at"), f"{where}at"), None)
    outcome = c.take(parse_code(raw.get("outcome"), f"{where}outcome", Outcome,
                                Msg(N_("visit outcome"))), None)
    callback: datetime | None = None
    if raw.get("callback_at") is not None:
        callback = c.take(parse_datetime(raw["callback_at"], f"{where}callback_at"), None)
    enumerator = c.text_code(raw.get("enumerator"), f"{where}enumerator", "enumerator code")
    if at is None or outcome is None or not attempt:
        return None
    return Visit(attempt=attempt, at=at, outcome=outcome, callback_at=callback,
                 enumerator=enumerator)


def _parse_residents(c: _Collector, raw: object, where: str, cfg: SurveyConfig
                     ) -> dict[Cell, int]:
    field = f"{where}residents"
    if raw is None:
        return {}
    if not _is_obj(raw):
        c.problems.append(Problem("E033", field, {
            "value": field, "kind": Msg(N_('an object of sex → age band → count, e.g. '
                                           '{"female": {"0-4": 1}}'))}))
        return {}
    assert isinstance(raw, dict)
    sexes = [s.code for s in cfg.sexes]
    bands = [b.code for b in cfg.age_bands]
    counts: dict[Cell, int] = {}
    for sex, by_band in raw.items():
        if sex not in sexes:
            c.problems.append(Problem("E011", f"{field}.{field_key(sex)}", {
                "value": _quoted(sex), "kind": Msg(N_("sex category")),
                "allowed": ", ".join(sexes)}))
            continue
        if not _is_obj(by_band):
            c.problems.append(Problem("E033", f"{field}.{sex}", {
                "value": f"{field}.{sex}", "kind": Msg(N_('an object of age band → count'))}))
            continue
        for band, value in by_band.items():
            if band not in bands:
                c.problems.append(Problem("E011", f"{field}.{sex}.{field_key(band)}", {
                    "value": _quoted(band), "kind": Msg(N_("age band")),
                    "allowed": ", ".join(bands)}))
                continue
            n = c.take(parse_count(value, f"{field}.{sex}.{band}", cfg.max_household_size,
                                   strict=True), 0)
            if n:
                counts[(sex, band)] = n
    return counts


def _parse_household(c: _Collector, raw: object, where: str, cfg: SurveyConfig
                     ) -> Household | None:
    if not _is_obj(raw):
        c.problems.append(Problem("E033", where.rstrip("."), {
            "value": where.rstrip("."), "kind": Msg(N_("a JSON object (a household)"))}))
        return None
    assert isinstance(raw, dict)
    c.fields(raw, HOUSEHOLD_FIELDS, HOUSEHOLD_REQUIRED, A_HOUSEHOLD, where)
    cap = cfg.max_household_size
    hid = c.record_id(raw.get("id"), f"{where}id")
    number = c.take(parse_number(raw.get("number"), f"{where}number",
                                 Msg(N_("household number")), 1, 99, strict=True), 0)
    revision = c.take(parse_number(raw.get("revision", 1), f"{where}revision", REVISION,
                                   1, 10**9, strict=True), 1)
    status = c.take(parse_code(raw.get("status", "complete"), f"{where}status",
                               HouseholdStatus, Msg(N_("household status"))), HouseholdStatus.DRAFT)
    respondent = c.take(parse_code(raw.get("respondent", "member"), f"{where}respondent",
                                   Respondent, Msg(N_("respondent type"))), Respondent.MEMBER)
    residents = _parse_residents(c, raw.get("residents"), where, cfg)
    away = c.take(parse_count(raw.get("away", 0), f"{where}away", cap, strict=True), 0)
    visitors = c.take(parse_count(raw.get("visitors", 0), f"{where}visitors", cap,
                                  strict=True), 0)
    declared: int | None = None
    if raw.get("declared_total") is not None:
        declared = c.take(parse_count(raw["declared_total"], f"{where}declared_total", cap * 2,
                                      strict=True),
                          None)
    overrides = c.overrides(raw.get("overrides"), f"{where}overrides")
    completed: datetime | None = None
    if raw.get("completed_at") is not None:
        completed = c.take(parse_datetime(raw["completed_at"], f"{where}completed_at"), None)
    if not hid or not number:
        return None
    return Household(id=hid, number=number, seed=b"", status=status, revision=revision,
                     respondent=respondent, residents=residents, away=away, visitors=visitors,
                     declared_total=declared, overrides=overrides, completed_at=completed)


def dwelling_from_json(raw: object, cfg: SurveyConfig) -> tuple[Dwelling | None, list[Problem]]:
    """Read one record. Returns the dwelling (None when unreadable) and every parse problem.

    Households come back with an empty seed: the store keeps the seed of a known household and
    draws a new one for a new household (`with_seeds`).
    """
    c = _Collector()
    if not _is_obj(raw):
        return None, [Problem("E033", "", {"value": Msg(N_("the line")),
                                           "kind": Msg(N_("a JSON object (one dwelling)"))})]
    assert isinstance(raw, dict)
    c.fields(raw, DWELLING_FIELDS, DWELLING_REQUIRED, A_DWELLING, "")
    did = c.record_id(raw.get("id"), "id")
    revision = c.take(parse_number(raw.get("revision", 1), "revision", REVISION, 1, 10**9,
                                   strict=True), 1)
    area = c.text_code(raw.get("area"), "area", Msg(N_("area code")), required="area" in raw) or ""
    structure = c.take(parse_number(raw.get("structure"), "structure",
                                    Msg(N_("structure number")), strict=True), 0)
    number = c.take(parse_number(raw.get("dwelling"), "dwelling", Msg(N_("dwelling number")),
                                 strict=True), 0)
    dtype = c.take(parse_code(raw.get("type", "house"), "type", DwellingType,
                              Msg(N_("dwelling type"))),
                   DwellingType.OTHER)
    occupancy = c.take(parse_code(raw.get("occupancy", "occupied"), "occupancy", Occupancy,
                                  Msg(N_("occupancy"))), Occupancy.OCCUPIED)
    locator = raw.get("locator")
    if isinstance(locator, str):
        locator = locator.strip() or None
    if locator is not None and not isinstance(locator, str):
        c.problems.append(Problem("E033", "locator", {"value": "locator", "kind": Msg(N_("text"))}))
        locator = None
    enumerator = c.text_code(raw.get("enumerator"), "enumerator", Msg(N_("enumerator code")))
    visits: list[Visit] = []
    households: list[Household] = []
    for name in ("visits", "households"):
        items = raw.get(name, [])
        if not isinstance(items, list):
            c.problems.append(Problem("E033", name, {"value": name,
                                                     "kind": Msg(N_("a JSON list"))}))
            continue
        if len(items) > 99:
            kind = N_("number of visits") if name == "visits" else N_("number of households")
            c.problems.append(Problem("E014", name, {"value": len(items), "min": 0, "max": 99,
                                                     "kind": Msg(kind)}))
            continue
        for i, item in enumerate(items):
            where = f"{name}[{i}]."
            if name == "visits":
                visit = _parse_visit(c, item, where)
                if visit is not None:
                    visits.append(visit)
            else:
                household = _parse_household(c, item, where, cfg)
                if household is not None and any(h.id == household.id for h in households):
                    # One household given twice would be judged twice but stored once.
                    c.problems.append(Problem("E034", f"{where}id", {"value": repr(household.id)}))
                elif household is not None:
                    households.append(household)
    overrides = c.overrides(raw.get("overrides"), "overrides")
    if c.problems:
        return None, c.problems
    return Dwelling(id=did, area=area, structure=structure, number=number, type=dtype,
                    occupancy=occupancy, locator=locator or None, revision=revision,
                    enumerator=enumerator, visits=tuple(visits), households=tuple(households),
                    overrides=overrides), []


def _dt(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def household_to_json(h: Household, cfg: SurveyConfig, completion: bool = False
                      ) -> dict[str, Any]:
    """The JSON form of a household (no seed); with `completion`, also when it was first
    completed (`completed_at`, when known): not part of its content, so not in its digest."""
    residents: dict[str, dict[str, int]] = {}
    for (sex, band) in cfg.cells:
        n = h.residents.get((sex, band), 0)
        if n:
            residents.setdefault(sex, {})[band] = n
    out: dict[str, Any] = {"id": h.id, "number": h.number, "revision": h.revision,
                           "status": str(h.status), "respondent": str(h.respondent),
                           "residents": residents, "away": h.away, "visitors": h.visitors}
    if h.declared_total is not None:
        out["declared_total"] = h.declared_total
    if h.overrides:
        out["overrides"] = {k: str(v) for k, v in sorted(h.overrides.items())}
    if completion and h.completed_at is not None:
        out["completed_at"] = _dt(h.completed_at)
    return out


def dwelling_to_json(d: Dwelling, cfg: SurveyConfig, with_households: bool = True
                     ) -> dict[str, Any]:
    """The JSON form of a dwelling record, as `census forms import` reads it."""
    out: dict[str, Any] = {"id": d.id, "revision": d.revision, "area": d.area,
                           "structure": d.structure, "dwelling": d.number, "type": str(d.type),
                           "occupancy": str(d.occupancy)}
    if d.locator:
        out["locator"] = d.locator
    if d.enumerator:
        out["enumerator"] = d.enumerator
    visits = []
    for v in sorted(d.visits, key=lambda v: v.attempt):
        item: dict[str, Any] = {"attempt": v.attempt, "at": _dt(v.at), "outcome": str(v.outcome)}
        if v.callback_at:
            item["callback_at"] = _dt(v.callback_at)
        if v.enumerator:
            item["enumerator"] = v.enumerator
        visits.append(item)
    out["visits"] = visits
    if d.overrides:
        out["overrides"] = {k: str(v) for k, v in sorted(d.overrides.items())}
    if with_households:
        out["households"] = [household_to_json(h, cfg, completion=True) for h in d.households]
    return out


def canonical(obj: Mapping[str, Any]) -> str:
    """The canonical JSON text of an object (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(obj: Mapping[str, Any]) -> str:
    """SHA-256 of a canonical JSON form: equal digests mean equal content."""
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def household_text(h: Household, cfg: SurveyConfig, dwelling_id: str) -> str:
    """Canonical text of a household's content (revision excluded, its dwelling included):
    hashed for change detection and kept as the audit entry of a new household."""
    body = household_to_json(h, cfg)
    body.pop("revision")
    body["dwelling"] = dwelling_id
    return canonical(body)


def dwelling_text(d: Dwelling, cfg: SurveyConfig) -> str:
    """Canonical text of the listing line and visits, revision excluded (households are
    records of their own)."""
    body = dwelling_to_json(d, cfg, with_households=False)
    body.pop("revision")
    return canonical(body)


def dwelling_digest(d: Dwelling, cfg: SurveyConfig) -> str:
    """Digest of the listing line and visits."""
    return hashlib.sha256(dwelling_text(d, cfg).encode()).hexdigest()


def household_digest(h: Household, cfg: SurveyConfig, dwelling_id: str) -> str:
    """Digest of a household's content, including which dwelling it belongs to."""
    return hashlib.sha256(household_text(h, cfg, dwelling_id).encode()).hexdigest()


def with_seed(h: Household, seed: bytes | None) -> Household:
    """The household with `seed`, or a new random seed when it has none yet."""
    from dataclasses import replace

    return replace(h, seed=seed or h.seed or new_seed())
