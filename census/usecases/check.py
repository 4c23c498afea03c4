"""`census check`: every rule over the stored data, an area at a time (the same engine as entry
and merge), with the checks that need a whole area (numbers used twice, more dwellings listed
than expected)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from census.domain.errors import CensusError
from census.i18n import _
from census.storage.area_sums import missing_triggers, rebuild, recount
from census.storage.areas import area_levels, subtree
from census.storage.progress import area_progress
from census.storage.records import iter_dwellings
from census.storage.store import Store
from census.usecases.sources import context
from census.validation.engine import NaturalKey, check_area, check_dwelling, check_listing_size
from census.validation.rules import Problem


class UnknownArea(CensusError):
    """The area asked for is not in the register."""


@dataclass(frozen=True)
class Found:
    """One problem of the stored data: its area, the dwelling ("structure/number", or "" for
    the area as a whole) and the rule's problem."""

    area: str
    dwelling: str
    problem: Problem


def check_stored(store: Store, area_code: str | None, now: datetime) -> Iterator[Found]:
    """Every unconfirmed problem in `area_code` and below (every area when None), streamed an
    area at a time, in the order of the area codes."""
    levels = area_levels(store)
    if area_code is not None and area_code not in levels:
        raise UnknownArea(_("Unknown area {code}; see `census area list`.").format(
            code=area_code))
    ctx = context(store, None)
    scope = subtree(store, area_code) if area_code else sorted(levels)
    rows = {r.area: r for r in area_progress(store, now, area_code)}
    for code in scope:
        keys = []
        where: dict[str, str] = {}
        problems: list[tuple[str, Problem]] = []
        for d in iter_dwellings(store, [code]):
            for p in check_dwelling(d, ctx):
                problems.append((f"{d.structure}/{d.number}", p))
            for h in d.households:
                keys.append(NaturalKey(d.area, d.structure, d.number, h.number, h.id))
                where[h.id] = f"{d.structure}/{d.number}"
        for p in check_area(keys):
            problems.append((where.get(p.field, ""), p))
        if code in rows:
            r = rows[code]
            problems += [("", p) for p in check_listing_size(code, r.listed, r.expected)]
        for place, p in problems:
            if not p.confirmed:
                yield Found(code, place, p)


@dataclass(frozen=True)
class SumsState:
    """What a recount found of the sums kept for tabulation: the triggers that keep them and
    are missing, and the areas whose sums differ from their households (none of either,
    unless the file was changed outside census)."""

    triggers_missing: tuple[str, ...]
    areas: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.triggers_missing or self.areas)


def sums_differ(store: Store, area_code: str | None = None) -> SumsState:
    """The recount of the kept sums in `area_code` and below (or everywhere)."""
    scope = None if area_code is None else subtree(store, area_code)
    return SumsState(tuple(missing_triggers(store)), tuple(recount(store, scope)))


def repair_sums(store: Store, area_code: str | None = None) -> SumsState:
    """Put back missing triggers and recount the kept sums where they differ (in `area_code`
    and below, or everywhere); what was repaired."""
    with store.write():
        found = sums_differ(store, area_code)
        rebuild(store, found.areas, found.triggers_missing)
    return found
