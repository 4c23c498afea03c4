"""The households table: completed households by area × size (1, 2, … 7, 8 or more), with the
all-sizes margin. Each cell carries its count and cell key (the sum of its households' person
keys mod 2^32); the margin is a cell of its own, from the same records. Pure: rows come from
`Store.household_sizes`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

from census.tabulate.persons import ALL, MOD

LARGEST = 8
"""The last size class: "8 or more" usual residents."""


@dataclass(frozen=True)
class HouseholdCell:
    """One cell of the households table; `size` is "1" … "7", "8+" or ALL (the margin)."""

    area: str
    size: str
    count: int
    key: int


def size_label(size: int, largest: int = LARGEST) -> str:
    return f"{largest}+" if size >= largest else str(size)


def cells(rows: Iterable[tuple[str, int, int, int]], largest: int = LARGEST
          ) -> Iterator[HouseholdCell]:
    """Every size class of each area (empty ones as zero cells) and the area's margin."""
    for area, group in groupby(rows, key=lambda r: r[0]):
        found = {size: (n, key) for _a, size, n, key in group}
        for size in range(1, largest + 1):
            n, key = found.get(size, (0, 0))
            yield HouseholdCell(area, size_label(size, largest), n, key % MOD)
        yield HouseholdCell(area, ALL, sum(n for n, _k in found.values()),
                            sum(k for _n, k in found.values()) % MOD)
