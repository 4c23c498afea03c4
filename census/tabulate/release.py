"""What a release publishes: which areas, combined how, protected how, in which rows. Pure.

The store hands over, per area at the publication level, exact sums (counts and cell keys);
this module decides the publication units (DESIGN §6: only closed areas; an area below the
minimum size is combined with the other small areas of its parent, never published alone),
sums the members of each unit (counts and keys compose by addition, so a unit's cells and
margins are still computed from records), applies the protection method to every cell of the
persons and households tables, and lays out the rows of the three tables. The dwellings table
is operational and exact.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from census.domain.config import SurveyConfig
from census.domain.model import LAST_VISIT_STATES, NOT_VISITED
from census.privacy.ptable.table import ONS_PCV_LIMIT, ONS_WRAP_PERIOD, ONS_WRAP_START, PTable
from census.privacy.rounding import rr3_unchecked
from census.tabulate import households as hh_table
from census.tabulate import persons as person_table

TABLES = ("persons", "households", "dwellings")
PROTECTED = frozenset({"persons", "households"})
"""Tables of people and households: protected. The dwellings table is exact (DESIGN §6)."""
METHODS = ("rr3", "ckm", "dp", "none")
TOTAL = "total"
"""The category of a margin in published files ("all sexes", "all ages", "all sizes")."""
COMBINED = ":other"
"""Suffix of a unit that combines the small areas of one parent: "R01-D01:other"."""
OUTCOMES = LAST_VISIT_STATES
MOD = 2**32

COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": ("area", "level", "sex", "age_band", "persons"),
    "households": ("area", "level", "size", "households"),
    "dwellings": ("area", "level", "listed", "visited", *OUTCOMES, "response_rate"),
}


# -------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class Place:
    """An area at the publication level: its code and its ancestors, parent first."""

    code: str
    ancestors: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """What one row group of a published table stands for: one area, or the small areas of
    one parent (or grandparent …) combined."""

    code: str
    members: tuple[str, ...]

    @property
    def combined(self) -> bool:
        return self.code.endswith(COMBINED)


@dataclass(frozen=True)
class Units:
    units: tuple[Unit, ...]
    withheld: tuple[str, ...]
    """Areas below the minimum even combined up to the top of the hierarchy: not published."""


def plan_units(places: Sequence[Place], sizes: Mapping[str, tuple[int, int]],
               min_persons: int, min_households: int) -> Units:
    """Publication units of the closed `places`. `sizes` gives (persons, households) per place
    (absent: 0, 0). A place at or above both minimums is a unit of its own; the others are
    combined per parent, and a parent's group still below the minimum moves up to the
    grandparent's group, and so on; what is still too small at the top is withheld.

    The units depend only on the places and their sizes, never on which areas a user asked
    for, so every release cuts the same areas the same way."""
    def big(persons: int, households: int) -> bool:
        return persons >= min_persons and households >= min_households

    ancestors = {p.code: p.ancestors for p in places}
    units = [Unit(p.code, (p.code,)) for p in places if big(*sizes.get(p.code, (0, 0)))]
    pending = sorted(p.code for p in places if not big(*sizes.get(p.code, (0, 0))))
    withheld: list[str] = []
    depth = 0
    while pending:
        groups: dict[str, list[str]] = defaultdict(list)
        for code in pending:
            chain = ancestors[code]
            if depth < len(chain):
                groups[chain[depth]].append(code)
            else:
                withheld.append(code)
        pending = []
        for parent in sorted(groups):
            members = groups[parent]
            persons = sum(sizes.get(m, (0, 0))[0] for m in members)
            households = sum(sizes.get(m, (0, 0))[1] for m in members)
            if big(persons, households):
                units.append(Unit(parent + COMBINED, tuple(sorted(members))))
            else:
                pending.extend(members)
        pending.sort()
        depth += 1
    return Units(tuple(sorted(units, key=lambda u: u.code)), tuple(sorted(withheld)))


# -------------------------------------------------------------------------- protection


Protect = Callable[[int, int], int]


def protector(method: str, ptable: PTable | None = None) -> Protect:
    """The published value of a cell (count, cell key) under `method`: the same results as
    `census.privacy.rr3` and `census.privacy.ptable.apply` (tests hold them equal), without
    their argument checks, which the store's integers need not pass once per cell."""
    if method == "rr3":
        return rr3_unchecked
    if method == "ckm":
        if ptable is None:
            raise ValueError("the cell key method needs a perturbation table")
        grid, ckeys, top = ptable.grid(), ptable.ckey_range, ptable.max_pcv

        def perturbed(count: int, key: int) -> int:
            pcv = count if count <= ONS_PCV_LIMIT else \
                (count - 1) % ONS_WRAP_PERIOD + ONS_WRAP_START
            # pcv 0 (a zero count) and pcvs the table lacks are not perturbed (ONS rule).
            return count + grid[pcv][key % ckeys] if pcv <= top else count

        return perturbed
    if method == "none":
        return lambda count, key: count
    raise ValueError(f"unknown method {method!r}")


# -------------------------------------------------------------------------- exact sums


@dataclass
class Sums:
    """Exact sums of one unit, as they come from the store (keys not yet reduced)."""

    households: int = 0
    counts: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    def add_persons(self, households: int, counts: Sequence[int], keys: Sequence[int]) -> None:
        self.households += households
        if not self.counts:
            self.counts, self.keys = list(counts), list(keys)
            return
        self.counts = [a + b for a, b in zip(self.counts, counts, strict=True)]
        self.keys = [a + b for a, b in zip(self.keys, keys, strict=True)]

    def add_size(self, size: int, households: int, key: int) -> None:
        n, k = self.sizes.get(size, (0, 0))
        self.sizes[size] = (n + households, k + key)

    def add_outcome(self, outcome: str, dwellings: int) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + dwellings


# -------------------------------------------------------------------------- table rows


Row = tuple[str | int | float | None, ...]


def household_cells(unit: str, sums: Sums) -> Iterator[hh_table.HouseholdCell]:
    rows = [(unit, size, n, k) for size, (n, k) in sorted(sums.sizes.items())]
    if rows:
        yield from hh_table.cells(rows)
    else:
        yield from hh_table.cells([(unit, 1, 0, 0)])


def _label(code: str) -> str:
    return TOTAL if code == person_table.ALL else code


def person_rows(config: SurveyConfig, level: str, unit: str, sums: Sums, protect: Protect
                ) -> Iterator[Row]:
    """The rows of `person_table.cells` (inner cells, sex margins, age margins, total; the
    same counts and keys, tests hold them equal), built from plain lists: this runs once per
    published cell."""
    sexes = [x.code for x in config.sexes]
    bands = [b.code for b in config.age_bands]
    nb = len(bands)
    counts = sums.counts or [0] * len(config.cells)
    keys = sums.keys or [0] * len(config.cells)
    for i, sex in enumerate(sexes):
        for j, band in enumerate(bands):
            yield (unit, level, sex, band, protect(counts[i * nb + j], keys[i * nb + j] % MOD))
    for i, sex in enumerate(sexes):
        part = slice(i * nb, (i + 1) * nb)
        yield (unit, level, sex, TOTAL, protect(sum(counts[part]), sum(keys[part]) % MOD))
    for j, band in enumerate(bands):
        yield (unit, level, TOTAL, band, protect(sum(counts[j::nb]), sum(keys[j::nb]) % MOD))
    yield (unit, level, TOTAL, TOTAL, protect(sum(counts), sum(keys) % MOD))


def household_rows(level: str, unit: str, sums: Sums, protect: Protect) -> Iterator[Row]:
    for c in household_cells(unit, sums):
        yield (unit, level, _label(c.size), protect(c.count, c.key))


def dwelling_row(level: str, unit: str, sums: Sums) -> Row:
    """Coverage, exact: listed, visited (at least once), each last outcome, and the response
    rate (completed over listed dwellings less vacant and not found, in percent, as in
    `census progress`)."""
    o = sums.outcomes
    listed = sum(o.values())
    eligible = listed - o.get("vacant", 0) - o.get("not_found", 0)
    rate = round(100 * o.get("completed", 0) / eligible, 1) if eligible > 0 else None
    return (unit, level, listed, listed - o.get(NOT_VISITED, 0),
            *(o.get(k, 0) for k in OUTCOMES), rate)


SIZE_CELLS = tuple(range(1, hh_table.LARGEST + 1))
"""The inner cells of the households table: sizes 1 … LARGEST (the last: that or more)."""


def exact_cells(table: str, config: SurveyConfig, sums: Sums) -> list[int]:
    """The inner cells of a protected table, exact, in publication order: persons by sex ×
    age band; households by size 1 … LARGEST (the last: that size or more); zeros for a unit
    without households."""
    if table == "persons":
        return list(sums.counts) or [0] * len(config.cells)
    found: dict[int, int] = {}
    for size, (n, _key) in sums.sizes.items():
        found[min(size, hh_table.LARGEST)] = found.get(min(size, hh_table.LARGEST), 0) + n
    return [found.get(size, 0) for size in SIZE_CELLS]


def noisy_rows(table: str, config: SurveyConfig, level: str, unit: str, sums: Sums,
               noisy: Mapping[str, Sequence[int]]) -> list[Row]:
    """The rows of one unit under differential privacy: the inner cells are `noisy` (sums of
    the noisy counts of the unit's enumeration areas) and every margin is the sum of the
    cells it covers, so a table adds up. The dwellings table stays exact."""
    if table == "persons":
        sexes = [x.code for x in config.sexes]
        bands = [b.code for b in config.age_bands]
        nb = len(bands)
        cells = list(noisy["persons"])
        out: list[Row] = [(unit, level, sex, band, cells[i * nb + j])
                          for i, sex in enumerate(sexes) for j, band in enumerate(bands)]
        out += [(unit, level, sex, TOTAL, sum(cells[i * nb:(i + 1) * nb]))
                for i, sex in enumerate(sexes)]
        out += [(unit, level, TOTAL, band, sum(cells[j::nb])) for j, band in enumerate(bands)]
        out.append((unit, level, TOTAL, TOTAL, sum(cells)))
        return out
    if table == "households":
        sizes = list(noisy["households"])
        out = [(unit, level, hh_table.size_label(size), n)
               for size, n in zip(SIZE_CELLS, sizes, strict=True)]
        out.append((unit, level, TOTAL, sum(sizes)))
        return out
    return [dwelling_row(level, unit, sums)]


def rows(table: str, config: SurveyConfig, level: str, unit: str, sums: Sums, protect: Protect
         ) -> list[Row]:
    """The rows of one unit in one table (a few dozen: written in one call)."""
    if table == "persons":
        return list(person_rows(config, level, unit, sums, protect))
    if table == "households":
        return list(household_rows(level, unit, sums, protect))
    return [dwelling_row(level, unit, sums)]


# -------------------------------------------------------------------------- digests


def exact_digest(table: str, config: SurveyConfig, unit: Unit, sums: Sums) -> str:
    """SHA-256 of everything a unit contributes to one table before protection (members,
    counts, and cell keys, which change with any person added or removed). Kept in the ledger
    only: a digest of small true counts must never be published."""
    if table == "persons":
        # The inner cells' exact counts and key sums fix every margin too.
        data: object = [sums.households, sums.counts, [k % MOD for k in sums.keys]]
    elif table == "households":
        # household_cells' values, size by size then the margin, without making the cells
        # (this runs once per enumeration area of an export).
        found = sums.sizes
        data = [[hh_table.size_label(size), *_reduced(found.get(size, (0, 0)))]
                for size in SIZE_CELLS]
        data.append([person_table.ALL, sum(n for n, _k in found.values()),
                     sum(k for _n, k in found.values()) % MOD])
    else:
        data = sorted(sums.outcomes.items())
    text = json.dumps([unit.members, data], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _reduced(cell: tuple[int, int]) -> tuple[int, int]:
    return cell[0], cell[1] % MOD


def release_digest(parts: Mapping[str, object]) -> str:
    """SHA-256 of what fixes every published value: two exports with the same digest publish
    the same files."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()
