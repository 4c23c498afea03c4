"""Differencing between published units (issue 17): a unit is the set of enumeration areas it
covers, whatever its name or level. When some units published inside a unit are disjoint and
cover all of it but a few areas too small to publish, subtracting them from it gives those
areas' counts (exactly with weak protection or in the exact dwellings table, approximately
otherwise): the areas withheld as too small, or the small areas of a group published under the
same name at two levels. Pure: sets in, the remainders found out.

The search is exact for subtractions of disjoint units: for every unit concerned, every set R
of its small areas (an area below the minimum size on its own, holding people or dwellings) is
tried as a remainder, and R is found when the rest of the unit can be tiled exactly by disjoint
units published inside it (an exact cover, searched depth first with memory, the most
constrained area first). Units overlapping each other cannot hide a remainder this way (a
reviewer found that a union of all the inner units did). Combinations that add overlapping
units (A + B - C, whose result is the areas A and B share; a second review found one) are found
by `combinations_found`: linear algebra on the units' indicators over atoms of areas. When a
unit has more small areas, or more ways to tile it, than the search may try, the unit is
reported as not checked, and the caller refuses: a release that cannot be checked is not
published. (The linear check is not made beyond MAX_LINEAR units or atoms: a national office's
ledger; README says so.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import combinations

#: The most small areas of one unit whose subsets are tried as remainders (2^16 sets).
MAX_SMALL = 16
#: The most steps of the exact-cover search for one unit.
MAX_STEPS = 200_000


@dataclass(frozen=True)
class Leftover:
    """What is left of unit `outer` once the disjoint units `inner` are taken away (with
    `checked` False: the unit could not be checked within the limits)."""

    outer: str
    inner: tuple[str, ...]
    areas: frozenset[str]
    persons: int
    households: int
    checked: bool = True


class _TooMany(Exception):
    pass


def _measures(sizes: Mapping[str, tuple[int, int]], holds: Collection[str] | None
              ) -> tuple[Callable[[Collection[str]], tuple[int, int]],
                         Callable[[Collection[str]], bool]]:
    """The persons and households of a set of areas, and whether it holds anything (people,
    or with `holds` an area listed there)."""
    def size(areas: Collection[str]) -> tuple[int, int]:
        return (sum(sizes.get(a, (0, 0))[0] for a in areas),
                sum(sizes.get(a, (0, 0))[1] for a in areas))

    def something(areas: Collection[str]) -> bool:
        return any(sizes.get(a, (0, 0)) != (0, 0) or (holds is not None and a in holds)
                   for a in areas)

    return size, something


def _tiling(rest: frozenset[str], inside: list[str], units: Mapping[str, frozenset[str]],
            holding: Mapping[str, list[str]], memo: dict[frozenset[str], tuple[str, ...] | None],
            steps: list[int]) -> tuple[str, ...] | None:
    """Disjoint units among `inside` whose union is exactly `rest`, or None."""
    if not rest:
        return ()
    if rest in memo:
        return memo[rest]
    steps[0] += 1
    if steps[0] > MAX_STEPS:
        raise _TooMany
    # The area with the fewest units that fit (none: no tiling), as exact-cover searches do:
    # a dead end shows at once, whatever the order of the codes.
    options: list[str] | None = None
    for area in sorted(rest):
        fit = [key for key in holding.get(area, ()) if key in inside and units[key] <= rest]
        if options is None or len(fit) < len(options):
            options = fit
            if not fit:
                break
    found: tuple[str, ...] | None = None
    for key in options or ():
        below = _tiling(rest - units[key], inside, units, holding, memo, steps)
        if below is not None:
            found = (key, *below)
            break
    memo[rest] = found
    return found


def _without_empty(units: Mapping[str, frozenset[str]], sizes: Mapping[str, tuple[int, int]],
                   holds: Collection[str] | None) -> dict[str, frozenset[str]]:
    """The units without the areas that hold nothing (no people, no dwellings): such an area
    changes no published value, so a combination that isolates a set of areas with it
    isolates the same counts without it (a reviewer found that an empty area kept in its own
    atom hid a small remainder)."""
    _size, something = _measures(sizes, holds)
    return {k: frozenset(a for a in members if something([a])) for k, members in units.items()}


def leftovers(units: Mapping[str, frozenset[str]], new: Collection[str],
              sizes: Mapping[str, tuple[int, int]], min_persons: int, min_households: int,
              holds: Collection[str] | None = None) -> list[Leftover]:
    """For every unit that is new, or has a new unit inside it: a set of its areas that
    disjoint units published inside it leave over, when that set holds something (people, or
    with `holds` any area listed there, e.g. one with dwellings) and is below the minimum
    size (`sizes`: persons and households per area). `units` maps a unit's key to its areas,
    published and new alike."""
    units = _without_empty(units, sizes, holds)
    holding: dict[str, list[str]] = {}
    for key, members in units.items():
        for area in members:
            holding.setdefault(area, []).append(key)
    for keys in holding.values():
        keys.sort(key=lambda k: (-len(units[k]), k))

    size, something = _measures(sizes, holds)

    found: list[Leftover] = []
    for key in sorted(units):
        members = units[key]
        inside = sorted({k for area in members for k in holding[area]
                         if k != key and len(units[k]) < len(members)
                         and units[k] <= members})
        if not inside or (key not in new and not any(k in new for k in inside)):
            continue
        # Areas holding nothing (no people, no dwellings) give nothing away: left out.
        small = sorted(a for a in members if something([a])
                       and (size([a])[0] < min_persons or size([a])[1] < min_households))
        if len(small) > MAX_SMALL:
            found.append(Leftover(key, tuple(inside), frozenset(small), *size(small), False))
            continue
        memo: dict[frozenset[str], tuple[str, ...] | None] = {}
        steps = [0]
        try:
            for n in range(1, len(small) + 1):
                hit = None
                for rest in combinations(small, n):
                    persons, households = size(rest)
                    if persons >= min_persons and households >= min_households:
                        continue
                    if not something(rest):
                        continue
                    tiles = _tiling(members.difference(rest), inside, units, holding, memo,
                                    steps)
                    if tiles is not None:
                        hit = Leftover(key, tiles, frozenset(rest), persons, households)
                        break
                if hit is not None:
                    found.append(hit)
                    break
        except _TooMany:
            found.append(Leftover(key, tuple(inside), frozenset(small), *size(small), False))
    return found


#: A prime for exact linear algebra on the units' area indicators (2^61 - 1).
PRIME = (1 << 61) - 1
#: The most units or atoms a linear check takes on; beyond, only the tiling check runs.
MAX_LINEAR = 2_000


def _subtract(target: dict[int, int], factor: int, row: Mapping[int, int]) -> None:
    """target -= factor * row, modulo PRIME, keeping only non-zero entries."""
    if not factor:
        return
    for c, v in row.items():
        value = (target.get(c, 0) - factor * v) % PRIME
        if value:
            target[c] = value
        else:
            target.pop(c, None)


def _reduced(rows: list[dict[int, int]], priority: Mapping[int, int]) -> dict[int, dict[int, int]]:
    """The rows in reduced row echelon form modulo PRIME, a column's `priority` (lower first)
    deciding which column leads: pivot column -> its row (pivot value 1, zero in every other
    pivot column and in every column of lower priority)."""
    pivots: dict[int, dict[int, int]] = {}
    for original in rows:
        row = {c: v % PRIME for c, v in original.items() if v % PRIME}
        for col in sorted(set(row) & set(pivots), key=priority.__getitem__):
            _subtract(row, row.get(col, 0), pivots[col])
        if not row:
            continue
        lead = min(row, key=priority.__getitem__)
        inverse = pow(row[lead], PRIME - 2, PRIME)
        row = {c: v * inverse % PRIME for c, v in row.items()}
        for other in pivots.values():  # keep the other pivot rows reduced
            _subtract(other, other.get(lead, 0), row)
        pivots[lead] = row
    return pivots


def _member(vector: dict[int, int], pivots: Mapping[int, dict[int, int]],
            priority: Mapping[int, int]) -> bool:
    """`vector` lies in the span of the reduced `pivots`."""
    v = dict(vector)
    for lead in sorted(pivots, key=priority.__getitem__):
        _subtract(v, v.get(lead, 0), pivots[lead])
    return not v


def combinations_found(units: Mapping[str, frozenset[str]], new: Collection[str],
                       sizes: Mapping[str, tuple[int, int]], min_persons: int,
                       min_households: int, holds: Collection[str] | None = None
                       ) -> list[Leftover]:
    """Sets of small areas holding something that some combination of units (adding and
    subtracting, e.g. A + B - C) gives exactly once the new units are published, and did not
    before: the indicator of the set lies in the span of the units' indicators (rationals,
    computed modulo a large prime). Areas are grouped into atoms (the same units hold them);
    a set is a union of small atoms. Only the small atoms that some combination isolates from
    every other atom are tried (the span's part on small atoms, from the echelon form with the
    other atoms leading); when they are too many, a Leftover with `checked` False is returned
    for the caller to refuse; beyond MAX_LINEAR units or atoms, nothing is checked (the
    Leftover has no areas)."""
    units = _without_empty(units, sizes, holds)
    signature: dict[str, frozenset[str]] = {}
    for key, members in units.items():
        for area in members:
            signature[area] = signature.get(area, frozenset()) | {key}
    atoms: dict[frozenset[str], list[str]] = {}
    for area, sig in signature.items():
        atoms.setdefault(sig, []).append(area)
    order = sorted(atoms, key=lambda sig: min(atoms[sig]))
    if len(units) > MAX_LINEAR or len(order) > MAX_LINEAR:
        return [Leftover("*", (), frozenset(), 0, 0, False)]
    column = {sig: i for i, sig in enumerate(order)}

    size, something = _measures(sizes, holds)

    def small(areas: Collection[str]) -> bool:
        persons, households = size(areas)
        return persons < min_persons or households < min_households

    candidates = {column[sig] for sig in order if something(atoms[sig]) and small(atoms[sig])}
    if not candidates:
        return []
    # The other atoms lead: a reduced row led by a small atom is zero on every other atom.
    priority = {c: (c in candidates, c) for c in range(len(order))}
    rank = {c: i for i, c in enumerate(sorted(priority, key=priority.__getitem__))}

    def reduced(keys: Collection[str]) -> dict[int, dict[int, int]]:
        rows = [{column[signature[a]]: 1 for a in units[k]} for k in sorted(keys)]
        every = _reduced(rows, rank)
        return {lead: row for lead, row in every.items() if lead in candidates}

    after = reduced(units)
    if not after:
        return []
    # Rows that share no atom span independent pieces: a set derivable now and not before has
    # a piece in one group that is too (small, holding something), so each group is tried
    # alone (a reviewer found 9 unrelated pairs refusing a release as "not checkable").
    group: dict[int, int] = {}

    def root(c: int) -> int:
        while group.setdefault(c, c) != c:
            c = group[c]
        return c

    for row in after.values():
        first, *rest_cols = list(row)
        for c in rest_cols:
            group[root(c)] = root(first)
    pieces: dict[int, list[int]] = {}
    for c in {c for row in after.values() for c in row}:
        pieces.setdefault(root(c), []).append(c)
    before = reduced([k for k in units if k not in new])
    found: list[Leftover] = []
    for support in sorted(sorted(p) for p in pieces.values()):
        if len(support) > MAX_SMALL:
            areas = frozenset(a for c in support for a in atoms[order[c]])
            return [Leftover("*", (), areas, *size(areas), False)]
        for n in range(1, len(support) + 1):
            for chosen in combinations(support, n):
                areas = frozenset(a for c in chosen for a in atoms[order[c]])
                if not small(areas) or not something(areas):
                    continue
                vector = dict.fromkeys(chosen, 1)
                if _member(vector, after, rank) and not _member(vector, before, rank):
                    holders = sorted({k for c in chosen for k in order[c]})
                    found.append(Leftover("*", tuple(holders), areas, *size(areas)))
                    return found
    return found
