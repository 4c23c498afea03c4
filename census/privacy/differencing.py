"""Differencing between published units (issue 17): a unit is the set of enumeration areas it
covers, whatever its name or level. When some units published inside a unit are disjoint and
cover all of it but a few areas too small to publish, subtracting them from it gives those
areas' counts (exactly with weak protection or in the exact dwellings table, approximately
otherwise): the areas withheld as too small, or the small areas of a group published under the
same name at two levels. Pure: sets in, the remainders found out.

The search is exact for subtractions of disjoint units: for every unit concerned, every set
R of its small areas (an area below the minimum size on its own, holding people or dwellings)
is tried as a remainder, and R is found when the rest of the unit can be tiled exactly by
disjoint units published inside it (an exact cover, searched depth first with memory, the
most constrained area first). Units overlapping each other cannot hide a remainder this way (a
reviewer found that a union of all the inner units did). Not searched: combinations that add
overlapping units (A + B - C, whose result is the areas A and B share); a second review found
one (README, "What the protection does not do"). When a unit has more small areas, or more
ways to tile it, than the search may try, the unit is reported as not checked, and the caller
refuses: a release that cannot be checked is not published.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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


def leftovers(units: Mapping[str, frozenset[str]], new: Collection[str],
              sizes: Mapping[str, tuple[int, int]], min_persons: int, min_households: int,
              holds: Collection[str] | None = None) -> list[Leftover]:
    """For every unit that is new, or has a new unit inside it: a set of its areas that
    disjoint units published inside it leave over, when that set holds something (people, or
    with `holds` any area listed there, e.g. one with dwellings) and is below the minimum
    size (`sizes`: persons and households per area). `units` maps a unit's key to its areas,
    published and new alike."""
    holding: dict[str, list[str]] = {}
    for key, members in units.items():
        for area in members:
            holding.setdefault(area, []).append(key)
    for keys in holding.values():
        keys.sort(key=lambda k: (-len(units[k]), k))

    def size(areas: Collection[str]) -> tuple[int, int]:
        return (sum(sizes.get(a, (0, 0))[0] for a in areas),
                sum(sizes.get(a, (0, 0))[1] for a in areas))

    def something(areas: Collection[str]) -> bool:
        return any(sizes.get(a, (0, 0)) != (0, 0) or (holds is not None and a in holds)
                   for a in areas)

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
