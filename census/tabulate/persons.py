"""The persons table: usual residents present by area × sex × age band, with margins.

Every cell, inner or margin, carries its count and its cell key, the sum of the person keys of
the persons it counts mod 2^32. Margins are cells of their own: their count and key come from
the records (sums of the stored per-household sums), never from adding protected cells, so a
margin is protected consistently wherever it appears. Pure: rows come from `Store.person_sums`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from census.domain.config import SurveyConfig
from census.privacy.rounding import rr3

MOD = 2**32
ALL = "*"
"""The category code of a margin ("all sexes", "all ages")."""


@dataclass(frozen=True)
class PersonCell:
    """One cell of the persons table; `sex` or `band` is ALL in a margin."""

    area: str
    sex: str
    band: str
    count: int
    key: int


def cells(config: SurveyConfig, rows: Iterable[tuple[str, list[int], list[int]]]
          ) -> Iterator[PersonCell]:
    """Inner cells and margins of each area, from (area, counts, key sums) in config.cells
    order (the stored columns n_NN and k_NN summed over the area's households)."""
    sexes = [s.code for s in config.sexes]
    bands = [b.code for b in config.age_bands]
    for area, counts, keys in rows:
        by_cell = dict(zip(config.cells, zip(counts, keys, strict=True), strict=True))
        for sex in sexes:
            for band in bands:
                n, k = by_cell[(sex, band)]
                yield PersonCell(area, sex, band, n, k % MOD)
        for sex in sexes:
            yield PersonCell(area, sex, ALL, sum(by_cell[(sex, b)][0] for b in bands),
                             sum(by_cell[(sex, b)][1] for b in bands) % MOD)
        for band in bands:
            yield PersonCell(area, ALL, band, sum(by_cell[(s, band)][0] for s in sexes),
                             sum(by_cell[(s, band)][1] for s in sexes) % MOD)
        yield PersonCell(area, ALL, ALL, sum(counts), sum(keys) % MOD)


def protect_rr3(table: Iterable[PersonCell]) -> Iterator[tuple[PersonCell, int]]:
    """Each cell with its published value under consistent random rounding to base 3."""
    for cell in table:
        yield cell, rr3(cell.count, cell.key)
