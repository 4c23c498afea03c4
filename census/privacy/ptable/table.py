"""A perturbation table and the ONS lookup of a cell's change (see the package docstring)."""

from __future__ import annotations

import hashlib
import itertools
import math
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

COLUMNS = ("pcv", "ckey", "pvalue")
"""Exact header of an ONS ptable CSV."""

ONS_PCV_LIMIT = 750
"""Counts up to this value are looked up under their own pcv (ONS rule)."""
ONS_WRAP_START = 501
"""First pcv reused for counts above :data:`ONS_PCV_LIMIT`."""
ONS_WRAP_PERIOD = ONS_PCV_LIMIT - ONS_WRAP_START + 1  # 250

KEY_MODULUS = 2**32
PCV_LIMIT = 100_000
"""Largest pcv a ptable file may hold (ONS tables stop at 750)."""
PVALUE_LIMIT = 1_000
"""Largest change a ptable file may make to a count, either way."""
ROW_LIMIT = 4_000_000
FILE_LIMIT = 128 << 20
"""The largest ptable file read, in bytes (ROW_LIMIT rows of a few numbers each)."""
"""Most rows a ptable may have (750 counts x 4,096 cell keys is 3,072,000)."""

MOMENT_TOLERANCE = 1e-12
MAX_NEWTON_STEPS = 500


@dataclass(frozen=True)
class PTable:
    """A complete perturbation table: one pvalue for every (pcv, ckey).

    ``rows`` maps ``(pcv, ckey)`` to ``pvalue`` for ``pcv`` in ``1..max_pcv`` and ``ckey`` in
    ``0..ckey_range-1``; it is copied into a read-only mapping on construction.
    """

    max_pcv: int
    ckey_range: int
    rows: Mapping[tuple[int, int], int] = field(hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_pcv, bool) or not isinstance(self.max_pcv, int):
            raise ValueError("max_pcv must be an int")
        if isinstance(self.ckey_range, bool) or not isinstance(self.ckey_range, int):
            raise ValueError("ckey_range must be an int")
        if self.max_pcv < 1:
            raise ValueError(f"max_pcv must be >= 1, got {self.max_pcv}")
        if not 1 <= self.ckey_range <= KEY_MODULUS:
            raise ValueError(f"ckey_range must be in 1..2^32, got {self.ckey_range}")
        rows = dict(self.rows)
        expected = self.max_pcv * self.ckey_range
        for (pcv, ckey), pvalue in rows.items():
            if not (1 <= pcv <= self.max_pcv and 0 <= ckey < self.ckey_range):
                raise ValueError(
                    f"row (pcv={pcv}, ckey={ckey}) is outside pcv 1..{self.max_pcv}, "
                    f"ckey 0..{self.ckey_range - 1}"
                )
            if pcv + pvalue < 0:
                raise ValueError(
                    f"row (pcv={pcv}, ckey={ckey}) has pcv + pvalue = {pcv + pvalue} < 0"
                )
        if len(rows) != expected:
            missing = first_missing(rows, self.max_pcv, self.ckey_range)
            raise ValueError(
                f"table has {len(rows)} rows, expected {expected}; "
                f"missing (pcv={missing[0]}, ckey={missing[1]})"
            )
        object.__setattr__(self, "rows", MappingProxyType(rows))

    @classmethod
    def _built(cls, max_pcv: int, ckey_range: int, rows: dict[tuple[int, int], int]) -> PTable:
        """A table this module has just generated, complete by construction: the checks of
        ``__post_init__`` (one pass over every row) are skipped."""
        table = object.__new__(cls)
        object.__setattr__(table, "max_pcv", max_pcv)
        object.__setattr__(table, "ckey_range", ckey_range)
        object.__setattr__(table, "rows", MappingProxyType(rows))
        return table

    @cached_property
    def _grid(self) -> tuple[tuple[int, ...], ...]:
        rows = self.rows
        return ((0,) * self.ckey_range, *(
            tuple(rows[(pcv, c)] for c in range(self.ckey_range))
            for pcv in range(1, self.max_pcv + 1)))

    def grid(self) -> tuple[tuple[int, ...], ...]:
        """``grid()[pcv][ckey]`` is the pvalue (row 0, for pcv 0, is all zeros): a lookup
        table for applying the ptable to many cells (built once per table)."""
        return self._grid

    def digest(self) -> str:
        """SHA-256 of the table's content (its shape and every pvalue in (pcv, ckey) order)."""
        values = array("q", itertools.chain.from_iterable(self._grid[1:]))
        h = hashlib.sha256(f"ptable {self.max_pcv} {self.ckey_range}\n".encode())
        h.update(values.tobytes())
        return h.hexdigest()

    @property
    def max_ckey(self) -> int:
        return self.ckey_range - 1

    def pvalue(self, pcv: int, ckey: int) -> int:
        """The pvalue stored for ``(pcv, ckey)``; KeyError if there is no such row."""
        return self.rows[(pcv, ckey)]

    def row(self, pcv: int) -> tuple[int, ...]:
        """The pvalues of one pcv, indexed by ckey."""
        return tuple(self.rows[(pcv, c)] for c in range(self.ckey_range))


def first_missing(
    rows: Mapping[tuple[int, int], int], max_pcv: int, ckey_range: int
) -> tuple[int, int]:
    for pcv in range(1, max_pcv + 1):
        for ckey in range(ckey_range):
            if (pcv, ckey) not in rows:
                return pcv, ckey
    raise AssertionError("no missing row")  # pragma: no cover




def check_nonneg_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def ons_pcv(count: int) -> int:
    """The ONS rule mapping a count to the pcv row used for it (count >= 0).

    ``count`` itself up to 750, else ``((count - 1) mod 250) + 501`` (rows 501..750 reused).
    """
    check_nonneg_int("count", count)
    if count <= ONS_PCV_LIMIT:
        return count
    return (count - 1) % ONS_WRAP_PERIOD + ONS_WRAP_START


def ons_ckey(ckey_sum: int, ckey_range: int) -> int:
    """The ONS rule mapping a sum of record keys to a ckey: ``ckey_sum mod ckey_range``.

    ``ckey_range`` is the table's max ckey + 1. Passing our ``SUM(person keys) mod 2^32``
    gives the same ckey as the full sum whenever ``ckey_range`` divides ``2^32``.
    """
    check_nonneg_int("ckey_sum", ckey_sum)
    if isinstance(ckey_range, bool) or not isinstance(ckey_range, int) or ckey_range < 1:
        raise ValueError(f"ckey_range must be an int >= 1, got {ckey_range!r}")
    return ckey_sum % ckey_range


def apply(table: PTable, count: int, ckey_sum: int) -> int:
    """Published value of a cell with true ``count`` and cell key ``ckey_sum``.

    Exactly what ``cell_key_perturbation.create_perturbed_table`` (3.1.0, threshold 0)
    publishes: ``count + pvalue(ons_pcv(count), ckey_sum mod ckey_range)``, with pvalue 0
    when the table has no such row. Zero counts are never perturbed.
    """
    check_nonneg_int("count", count)
    check_nonneg_int("ckey_sum", ckey_sum)
    if count == 0:
        return 0
    pcv = ons_pcv(count)
    ckey = ckey_sum % table.ckey_range
    return count + table.rows.get((pcv, ckey), 0)


# --------------------------------------------------------------------------------------
# CSV


#: The largest mean change a table may make to a count above the threshold: protection
#: noise is unbiased; a shift reveals the count as well as no change does.
MAX_BIAS = 0.25
#: The share of cell keys at each end left out when the floor's variance is measured again:
#: a few keys with a huge change must not stand for a change that nearly never comes.
TRIM = 0.01


@dataclass(frozen=True)
class Floor:
    """How much a table changes the counts above the threshold, at its weakest: the smallest
    variance of a count's change, the largest share of cell keys that leave a count unchanged,
    the largest share that give a count one same change (any change: a shift applied to
    nearly every key hides nothing), and the largest mean change; each with its count."""

    min_variance: float
    variance_at: int
    max_unchanged: float
    unchanged_at: int
    max_same: float = 0.0
    same_at: int = 0
    max_bias: float = 0.0
    bias_at: int = 0
    min_trimmed: float = 0.0
    trimmed_at: int = 0


def _trimmed_variance(row: tuple[int, ...]) -> float:
    ordered = sorted(row)
    cut = math.ceil(TRIM * len(ordered))
    kept = ordered[cut:len(ordered) - cut] or ordered
    mean = sum(kept) / len(kept)
    return sum((v - mean) ** 2 for v in kept) / len(kept)


def measure(table: PTable, js: int) -> Floor | None:
    """The floor of `table` over the counts js+1 .. the last the ONS lookup uses; None when
    it has no such count."""
    grid = table.grid()
    weakest: tuple[float, int] | None = None
    stuck: tuple[float, int] = (-1.0, 0)
    same: tuple[float, int] = (-1.0, 0)
    bias: tuple[float, int] = (-1.0, 0)
    trim: tuple[float, int] | None = None
    for pcv in range(js + 1, min(table.max_pcv, ONS_PCV_LIMIT) + 1):
        row = grid[pcv]
        n = len(row)
        mean = sum(row) / n
        variance = sum((v - mean) ** 2 for v in row) / n
        if weakest is None or variance < weakest[0]:
            weakest = (variance, pcv)
        stuck = max(stuck, (row.count(0) / n, pcv), key=lambda x: x[0])
        most = max(row.count(v) for v in set(row)) / n
        same = max(same, (most, pcv), key=lambda x: x[0])
        bias = max(bias, (abs(mean), pcv), key=lambda x: x[0])
        spread = _trimmed_variance(row)
        if trim is None or spread < trim[0]:
            trim = (spread, pcv)
    if weakest is None or trim is None:
        return None
    return Floor(weakest[0], weakest[1], stuck[0], stuck[1], same[0], same[1], bias[0],
                 bias[1], trim[0], trim[1])


def floor_problem(table: PTable, js: int, min_variance: float, max_unchanged: float
                  ) -> str | None:
    """Why `table` is below the protection floor, or None."""
    found = measure(table, js)
    if found is None:
        return None
    if found.min_variance < min_variance - 1e-9:
        return (f"it changes a count of {found.variance_at} too little: the variance of the "
                f"change is {found.min_variance:.3f}, below the floor ckm_min_variance = "
                f"{min_variance:g}")
    if found.max_unchanged > max_unchanged + 1e-9:
        return (f"it leaves a count of {found.unchanged_at} unchanged for "
                f"{found.max_unchanged:.1%} of cell keys, more than the floor "
                f"ckm_max_unchanged = {max_unchanged:.0%}")
    if found.max_same > max_unchanged + 1e-9:
        return (f"it gives a count of {found.same_at} one same change for "
                f"{found.max_same:.1%} of cell keys, more than the floor ckm_max_unchanged = "
                f"{max_unchanged:.0%} (a change that is nearly always the same hides the count "
                f"no better than none)")
    if found.min_trimmed < min_variance - 1e-9:
        return (f"it changes a count of {found.trimmed_at} too little but for a few cell keys: "
                f"leaving out the {TRIM:.0%} largest changes either way, the variance is "
                f"{found.min_trimmed:.3f}, below the floor ckm_min_variance = {min_variance:g}")
    if found.max_bias > MAX_BIAS + 1e-9:
        return (f"it changes a count of {found.bias_at} by {found.max_bias:.3f} on average; "
                f"protection noise must be unbiased (at most {MAX_BIAS:g} either way)")
    return None


def publication_problem(table: PTable, js: int, min_variance: float = 1.0,
                        max_unchanged: float = 0.5) -> str | None:
    """Why `table` would not protect published counts, or None: it must cover every count the
    ONS lookup uses (pcv 1..750), change every count for some cell keys, never publish a
    count in 1..js (the survey's threshold), and meet the protection floor (every count
    above js changed with a variance of at least `min_variance`, and left unchanged for at
    most `max_unchanged` of the cell keys)."""
    if table.max_pcv < ONS_PCV_LIMIT:
        return (f"it has rows for counts 1..{table.max_pcv} only; counts above that would be "
                f"published unchanged (the ONS lookup needs rows up to {ONS_PCV_LIMIT})")
    grid = table.grid()
    for pcv in range(1, table.max_pcv + 1):
        row = grid[pcv]
        if not any(row):
            return f"it never changes a count of {pcv} (every pvalue of pcv {pcv} is 0)"
        if len(set(row)) < 2:
            return (f"it changes a count of {pcv} by the same amount ({row[0]:+d}) whatever the "
                    f"cell key, which protects nothing")
        small = sorted({pcv + v for v in row if 1 <= pcv + v <= js})
        if small:
            return (f"it publishes a count of {pcv} as {small[0]}, and counts 1..{js} must "
                    f"never be published (the survey's ckm_threshold)")
    return floor_problem(table, js, min_variance, max_unchanged)


def probabilities(table: PTable, pcv: int) -> dict[int, float]:
    """Empirical noise distribution of one pcv row (share of ckeys per pvalue)."""
    tally: dict[int, int] = {}
    for v in table.row(pcv):
        tally[v] = tally.get(v, 0) + 1
    return {v: n / table.ckey_range for v, n in sorted(tally.items())}
