"""Differencing between published units (issue 17): a unit is the set of enumeration areas it
covers, whatever its name or level. When the units already published inside a unit leave a
remainder that is too small to publish, subtracting them from it gives that remainder's counts
(exactly with weak protection, approximately otherwise): the areas withheld as too small, or
the small areas of a group published under the same name at two levels. Pure: sets in, the
remainders found out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Leftover:
    """What is left of unit `outer` once the units inside it are taken away."""

    outer: str
    inner: tuple[str, ...]
    areas: frozenset[str]
    persons: int
    households: int


def leftovers(units: Mapping[str, frozenset[str]], new: Collection[str],
              sizes: Mapping[str, tuple[int, int]], min_persons: int,
              min_households: int) -> list[Leftover]:
    """For every unit that is new, or has a new unit inside it: the areas of it not covered
    by the units strictly inside it, when there are some, they hold people, and they are
    below the minimum size (`sizes`: persons and households per area). `units` maps a unit's
    key to its areas, published and new alike."""
    holding: dict[str, list[str]] = {}
    for key, members in units.items():
        for area in members:
            holding.setdefault(area, []).append(key)
    found: list[Leftover] = []
    for key in sorted(units):
        members = units[key]
        inside = sorted({k for area in members for k in holding[area]
                         if k != key and len(units[k]) < len(members)
                         and units[k] <= members})
        if not inside or (key not in new and not any(k in new for k in inside)):
            continue
        rest = members.difference(*(units[k] for k in inside))
        persons = sum(sizes.get(a, (0, 0))[0] for a in rest)
        households = sum(sizes.get(a, (0, 0))[1] for a in rest)
        if rest and (persons or households) and (persons < min_persons
                                                 or households < min_households):
            found.append(Leftover(key, tuple(inside), frozenset(rest), persons, households))
    return found
