"""Differential privacy for published counts (issue 17): OpenDP's discrete Gaussian mechanism
under zero-concentrated differential privacy (zCDP), on integer counts.

The privacy unit is a person: adding or removing one person changes one inner cell of the
persons table by 1 (L2 sensitivity 1) and at most two cells of the households-by-size table by
1 each (a household changes size, or appears or disappears: L2 sensitivity sqrt 2, charged
here as 2, since OpenDP's integer L2 metric takes whole distances: a conservative charge).
Noise is drawn once per enumeration area and table (disjoint areas: parallel composition, so a
person's privacy loss is the sum of the rho of the draws of their own area), kept, and every
published value is a sum of those noisy area counts after post-processing (never below 0):
tables are consistent within a unit and across levels, and re-running a release publishes
the very same values. OpenDP draws from a cryptographically secure generator that cannot be
seeded, by design; nothing here substitutes a sampler of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

#: The L2 sensitivity charged per table (see above).
SENSITIVITY = {"persons": 1, "households": 2}
#: The delta at which the (epsilon, delta) equivalent of a rho is stated.
DELTA = 1e-10
#: The two-sided 95 % quantile of a normal distribution (the discrete Gaussian of scale >= 1
#: is within a fraction of a percent of it).
Z95 = 1.959963984540054


def scale(table: str, rho: float) -> float:
    """The noise scale (standard deviation of the continuous Gaussian it discretises) that
    spends `rho` on `table`."""
    return SENSITIVITY[table] / math.sqrt(2 * rho)


def margin95(table: str, rho: float) -> float:
    """The 95 % margin of error of one noisy area cell (before clipping at 0)."""
    return Z95 * scale(table, rho)


def _prelude() -> Any:
    try:
        import opendp.prelude as dp
    except ImportError as exc:  # pragma: no cover - the extra is installed by the tests
        raise RuntimeError("differential privacy needs the opendp package: pip install "
                           "'census[dp]'") from exc
    dp.enable_features("contrib")
    return dp


def available() -> bool:
    """The opendp package can be imported."""
    try:
        _prelude()
    except RuntimeError:
        return False
    return True


def mechanism(table: str, rho: float) -> Callable[[Sequence[int]], list[int]]:
    """What adds discrete Gaussian noise spending `rho` (zCDP) on `table` to an area's counts
    (clipped at 0): made once, used for every area."""
    dp = _prelude()
    measurement = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)),
                                     dp.l2_distance(T=int), scale=scale(table, rho))
    spent = measurement.map(SENSITIVITY[table])
    if spent > rho * (1 + 1e-9):  # pragma: no cover - OpenDP's map is exact here
        raise AssertionError(f"the mechanism spends {spent}, more than {rho}")
    return lambda counts: [max(0, int(v)) for v in measurement([int(c) for c in counts])]


def noisy(table: str, counts: Sequence[int], rho: float) -> list[int]:
    """`counts` with discrete Gaussian noise spending `rho` (zCDP) on `table`, clipped at 0."""
    return mechanism(table, rho)(counts)


def epsilon(rho: float, delta: float = DELTA) -> float:
    """The epsilon of the (epsilon, delta)-DP that rho-zCDP implies, by OpenDP's conversion."""
    dp = _prelude()
    unit = dp.m.make_gaussian(dp.atom_domain(T=int), dp.absolute_distance(T=int),
                              scale=1 / math.sqrt(2 * rho))
    return float(dp.c.make_zCDP_to_approxDP(unit).map(1).epsilon(delta))
