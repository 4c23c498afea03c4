"""The maximum-entropy generator of perturbation tables, following sdcTools `ptable` (see the
package docstring)."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence

from census.privacy.ptable.table import (
    KEY_MODULUS,
    MAX_NEWTON_STEPS,
    MOMENT_TOLERANCE,
    ONS_PCV_LIMIT,
    PTable,
    check_nonneg_int,
)
from census.privacy.ptable.table import (
    floor_problem as table_floor_problem,
)

# Maximum-entropy noise distributions


def support(count: int, D: int, js: int) -> tuple[int, ...]:
    """Allowed noise values for ``count >= 1``: v in [-D, D], count+v >= 0, not in 1..js."""
    return tuple(v for v in range(-D, D + 1) if count + v >= 0 and not 1 <= count + v <= js)


Feature = tuple[float, float]
"""(v, v^2) of a noise value, or their averages over a block of tied values."""


def _tilted(features: Sequence[Feature], a: float, b: float) -> tuple[list[float], float]:
    """Probabilities ∝ exp(a f1 + b f2) and log of the normaliser."""
    exps = [a * f1 + b * f2 for f1, f2 in features]
    top = max(exps)
    weights = [math.exp(e - top) for e in exps]
    total = math.fsum(weights)
    return [w / total for w in weights], top + math.log(total)


def _expect(p: Sequence[float], xs: Sequence[float]) -> float:
    return math.fsum(pi * x for pi, x in zip(p, xs, strict=True))


def min_variance_mean_zero(values: Sequence[int]) -> float:
    """Smallest variance of a mean-0 distribution on ``values`` (inf if none has mean 0).

    A vertex of {p >= 0, sum p = 1, sum v p = 0} has at most two non-zero entries, so the
    minimum is 0 if 0 is allowed, else min over u < 0 < w of the two-point variance ``-u w``.
    """
    if 0 in values:
        return 0.0
    neg = [v for v in values if v < 0]
    pos = [v for v in values if v > 0]
    if not neg or not pos:
        return math.inf
    return float(-max(neg) * min(pos))


def _newton(features: Sequence[Feature], V: float | None) -> list[float]:
    """Max-entropy p with E[f1] = 0 (and E[f2] = V if given), by damped Newton.

    Minimises the convex dual ``log Z(a, b) - b V`` (b fixed at 0 when V is None); its
    gradient is the moment residual and its Hessian the covariance of (f1, f2). Without
    ties ``f = (v, v^2)``; a block of values tied by the monotony constraint shares the
    block averages of v and v^2 (stationarity of the entropy over a block of equal p).
    """
    f1s = [f[0] for f in features]
    f2s = [f[1] for f in features]
    a = b = 0.0
    p, log_z = _tilted(features, a, b)
    target = 0.0 if V is None else V
    for _ in range(MAX_NEWTON_STEPS):
        m1 = _expect(p, f1s)
        m2 = _expect(p, f2s)
        g1 = m1
        g2 = m2 - target if V is not None else 0.0
        if abs(g1) <= MOMENT_TOLERANCE and abs(g2) <= MOMENT_TOLERANCE:
            return p
        var1 = _expect(p, [(x - m1) ** 2 for x in f1s])
        if V is None:
            if not var1 > 0.0:
                break
            da, db = -g1 / var1, 0.0
        else:
            cov = _expect(p, [(x - m1) * (y - m2) for x, y in zip(f1s, f2s, strict=True)])
            var2 = _expect(p, [(y - m2) ** 2 for y in f2s])
            det = var1 * var2 - cov * cov
            if not det > 0.0:
                break
            da = -(var2 * g1 - cov * g2) / det
            db = -(-cov * g1 + var1 * g2) / det
        objective = log_z - b * target
        slope = g1 * da + g2 * db
        step = 1.0
        na, nb = a + da, b + db
        np_, nlog_z = _tilted(features, na, nb)
        if -slope > 1e-10:
            # Far from the optimum: backtrack until the dual decreases enough (Armijo).
            # Close to it the decrease is below float resolution and the full Newton step
            # (quadratically convergent there) is taken as is.
            for _ in range(80):
                if nlog_z - nb * target <= objective + 1e-4 * step * slope:
                    break
                step /= 2
                na, nb = a + step * da, b + step * db
                np_, nlog_z = _tilted(features, na, nb)
        a, b, p, log_z = na, nb, np_, nlog_z
    raise ValueError(
        "the variance parameter is too small: the maximum-entropy solve did not converge "
        f"(variance {V}), the constraints are (nearly) infeasible"
    )


def _solve(values: Sequence[int], blocks: Sequence[Sequence[int]], V: float) -> list[float]:
    """Max entropy, mean 0, variance <= V, values in each block tied (equal p)."""
    block_of = {v: blk for blk in blocks for v in blk}
    features: list[Feature] = []
    for v in values:
        blk = block_of.get(v, (v,))
        features.append(
            (math.fsum(blk) / len(blk), math.fsum(float(x * x) for x in blk) / len(blk))
        )
    p = _newton(features, None)
    if _expect(p, [float(v * v) for v in values]) > V:
        p = _newton(features, V)
    return p


def _monotone_blocks(values: Sequence[int], V: float) -> tuple[list[float], list[list[int]]]:
    """Solve with sdcTools' ``mono`` constraint by pooling adjacent violators.

    The chain is the allowed values ``v <= 0`` in increasing order (only when 0 is allowed,
    as in sdcTools). While some consecutive blocks on it have decreasing probability, they
    are merged (tied) and the problem is solved again.
    """
    chain = [v for v in values if v <= 0] if 0 in values else []
    blocks: list[list[int]] = [[v] for v in chain]
    while True:
        p = _solve(values, [b for b in blocks if len(b) > 1], V)
        prob = dict(zip(values, p, strict=True))
        for k in range(len(blocks) - 1):
            if prob[blocks[k][0]] > prob[blocks[k + 1][0]] * (1 + 1e-12):
                blocks[k : k + 2] = [blocks[k] + blocks[k + 1]]
                break
        else:
            return p, [b for b in blocks if len(b) > 1]


def noise_distribution(count: int, D: int, V: float, js: int) -> dict[int, float]:
    """Maximum-entropy noise probabilities for one count (see module docstring).

    ``count == 0`` gives ``{0: 1.0}``. Raises ValueError if mean 0 and variance <= V
    cannot both hold on the allowed noise values.
    """
    _check_params(D, V, js)
    check_nonneg_int("count", count)
    if count == 0:
        return {0: 1.0}
    values = support(count, D, js)
    floor = min_variance_mean_zero(values)
    if floor >= V:
        raise ValueError(
            f"the variance parameter is too small: for count {count} the noise may only take "
            f"the values {list(values)} (D={D}, js={js}), and every mean-0 distribution on "
            f"them has variance >= {floor:g} >= V={V:g} (sdcTools ptable refuses this too: "
            f"'The variance parameter you set is too small!')"
        )
    p, _ = _monotone_blocks(values, V)
    return dict(zip(values, p, strict=True))


def _check_params(D: int, V: float, js: int) -> None:
    if isinstance(D, bool) or not isinstance(D, int):
        raise ValueError(f"D must be an int, got {type(D).__name__}")
    if isinstance(js, bool) or not isinstance(js, int):
        raise ValueError(f"js must be an int, got {type(js).__name__}")
    if isinstance(V, bool) or not isinstance(V, int | float) or not math.isfinite(V):
        raise ValueError(f"V must be a finite number, got {V!r}")
    if D < 1:
        raise ValueError(f"D (maximum noise) must be >= 1, got {D}")
    if js < 0:
        raise ValueError(f"js (smallest published non-zero count is js+1) must be >= 0, got {js}")
    if V <= 0:
        raise ValueError(f"V (noise variance) must be > 0, got {V}")
    if js + 1 > D:
        raise ValueError(
            f"D must be >= js + 1 (got D={D}, js={js}): a count of 1 must be able to move "
            f"to 0 or above js"
        )


def check_parameters(D: int, V: float, js: int) -> str | None:
    """Why (D, V, js) cannot make a ptable, or None when it can (cheap: no table is built)."""
    try:
        _check_params(D, V, js)
        for count in range(1, D + js + 2):
            values = support(count, D, js)
            floor = min_variance_mean_zero(values)
            if floor >= V:
                return (f"the variance V={V:g} is too small for D={D}, js={js}: a count of "
                        f"{count} may only move by {list(values)}, and any unbiased mix of "
                        f"those has variance >= {floor:g} (sdcTools ptable refuses this too)")
    except ValueError as exc:
        return str(exc)
    return None


def _is_monotone(dist: Mapping[int, float]) -> bool:
    """sdcTools' ``mono`` constraint: p non-decreasing over allowed v < 0 up to v = 0."""
    if 0 not in dist:
        return True
    left = [dist[v] for v in sorted(dist) if v <= 0]
    return all(x <= y * (1 + 1e-9) for x, y in itertools.pairwise(left))


def allocate(
    probabilities: Sequence[float], total: int, values: Sequence[int] | None = None,
    max_variance: float | None = None,
) -> list[int]:
    """Whole numbers summing to ``total``, each the floor or ceiling of ``p * total``.

    Which entries are rounded up: if ``values`` is given and there are at most
    :data:`_EXHAUSTIVE_LIMIT` ways to choose them, the choice that makes the rounded mean
    ``sum(values * counts)`` closest to the exact one (so quantising keeps the noise as close
    to unbiased as the ckey range allows), among those whose variance stays within
    ``max_variance`` when any does; ties broken by the largest remainders. Otherwise plain
    largest-remainder rounding (ties to the earlier entry), then, if the variance exceeds
    ``max_variance``, keys moved one at a time from the outermost values to the next value
    inwards on the same side, which lowers the variance (the mean moves by at most one key's
    share per move).
    """
    s = math.fsum(probabilities)
    exact = [p / s * total for p in probabilities]
    counts = [math.floor(x) for x in exact]
    short = total - sum(counts)
    candidates = [k for k in range(len(exact)) if exact[k] > counts[k]]
    if values is not None and math.comb(len(candidates), short) <= _EXHAUSTIVE_LIMIT:
        target = math.fsum(v * x for v, x in zip(values, exact, strict=True))
        base = sum(v * c for v, c in zip(values, counts, strict=True))
        base2 = sum(v * v * c for v, c in zip(values, counts, strict=True))

        def cost(up: tuple[int, ...]) -> tuple[bool, float, float, tuple[int, ...]]:
            first = base + sum(values[k] for k in up)
            bias = abs(first - target)
            second = base2 + sum(values[k] ** 2 for k in up)
            variance = second / total - (first / total) ** 2
            over = max_variance is not None and variance > max_variance + 1e-12
            squares = math.fsum((counts[k] + (k in up) - exact[k]) ** 2 for k in range(len(exact)))
            return (over, round(bias, 9), squares, up)

        chosen = min(itertools.combinations(candidates, short), key=cost)
    else:
        order = sorted(candidates, key=lambda k: (-(exact[k] - counts[k]), k))
        chosen = tuple(order[:short])
    for k in chosen:
        counts[k] += 1
    if values is not None and max_variance is not None:
        _narrow(counts, values, max_variance)
        _center(counts, values, max_variance,
                round(math.fsum(v * x for v, x in zip(values, exact, strict=True))))
    return counts


def _variance(counts: Sequence[int], values: Sequence[int]) -> float:
    total = sum(counts)
    mean = sum(v * c for v, c in zip(values, counts, strict=True)) / total
    return sum(v * v * c for v, c in zip(values, counts, strict=True)) / total - mean * mean


def _moves(counts: Sequence[int], values: Sequence[int]) -> list[tuple[int, int]]:
    """Every move of one key to another allowed value: (from, to)."""
    return [(k, j) for k in range(len(values)) if counts[k]
            for j in range(len(values)) if j != k]


def _center(counts: list[int], values: Sequence[int], max_variance: float, target: int) -> None:
    """Move keys between allowed values, one or two at a time, while that brings the sum
    of the noise closer to `target` (0: mean 0) and keeps the variance within
    `max_variance`."""
    for _ in range(sum(counts)):
        now = sum(v * c for v, c in zip(values, counts, strict=True))
        if now == target:
            return
        best: tuple[float, float, tuple[tuple[int, int], ...]] | None = None
        singles = [(m,) for m in _moves(counts, values)]
        for group in (singles, [a + b for a in singles for b in singles if a < b]):
            for flat in group:
                after = now + sum(values[j] - values[k] for k, j in flat)
                if abs(after - target) >= abs(now - target):
                    continue
                for k, j in flat:
                    counts[k] -= 1
                    counts[j] += 1
                ok = min(counts) >= 0
                variance = _variance(counts, values) if ok else math.inf
                for k, j in flat:
                    counts[k] += 1
                    counts[j] -= 1
                if variance <= max_variance + 1e-12:
                    score = (abs(after - target), variance, flat)
                    if best is None or score[:2] < best[:2]:
                        best = score
            if best is not None:
                break
        if best is None:
            return
        for k, j in best[2]:
            counts[k] -= 1
            counts[j] += 1


def _narrow(counts: list[int], values: Sequence[int], max_variance: float) -> None:
    """Move keys from the outermost values inwards until the variance is within
    ``max_variance`` (values sorted increasingly; never past 0, never emptying the middle)."""
    while _variance(counts, values) > max_variance + 1e-12:
        ends = [k for k in (next((i for i, c in enumerate(counts) if c), None),
                            next((i for i in range(len(counts) - 1, -1, -1) if counts[i]), None))
                if k is not None and values[k] != 0]
        if not ends:
            return
        k = max(ends, key=lambda i: abs(values[i]))
        inward = k + 1 if values[k] < 0 else k - 1
        counts[k] -= 1
        counts[inward] += 1


_EXHAUSTIVE_LIMIT = 20000


def _layout(dist: Mapping[int, float], ckey_range: int, max_variance: float) -> list[int]:
    values = sorted(dist)
    counts = allocate([dist[v] for v in values], ckey_range, values, max_variance)
    out: list[int] = []
    for v, n in zip(values, counts, strict=True):
        out.extend([v] * n)
    return out


def generate(
    D: int, V: float, js: int, max_pcv: int = ONS_PCV_LIMIT, ckey_range: int = 256
) -> PTable:
    """Build an ONS-format ptable from sdcTools-style parameters (see module docstring).

    ``max_pcv`` defaults to 750 so that every count is covered by the ONS lookup rule; it
    must be at least ``D + js + 1`` (the first count with the full symmetric noise range).
    """
    _check_params(D, V, js)
    if isinstance(max_pcv, bool) or not isinstance(max_pcv, int):
        raise ValueError("max_pcv must be an int")
    if isinstance(ckey_range, bool) or not isinstance(ckey_range, int):
        raise ValueError("ckey_range must be an int")
    if max_pcv < D + js + 1:
        raise ValueError(
            f"max_pcv must be >= D + js + 1 = {D + js + 1} so the table contains the "
            f"full-range noise row, got {max_pcv}"
        )
    if not 1 <= ckey_range <= KEY_MODULUS:
        raise ValueError(f"ckey_range must be in 1..2^32, got {ckey_range}")
    symmetric = D + js + 1
    layouts: dict[int, list[int]] = {}
    for count in range(1, symmetric + 1):
        dist = noise_distribution(count, D, V, js)
        if not _is_monotone(dist):
            raise ValueError(
                f"for count {count} the maximum-entropy noise probabilities are not "
                f"non-decreasing towards 0 on the negative side (sdcTools' 'mono' "
                f"constraint); this generator does not handle that case"
            )
        layouts[count] = _layout(dist, ckey_range, V)
    rows: dict[tuple[int, int], int] = {}
    for pcv in range(1, max_pcv + 1):
        layout = layouts[min(pcv, symmetric)]
        for ckey, v in enumerate(layout):
            rows[(pcv, ckey)] = v
    return PTable._built(max_pcv, ckey_range, rows)


@functools.lru_cache(maxsize=32)
def floor_problem(D: int, V: float, js: int, min_variance: float, max_unchanged: float
                  ) -> str | None:
    """Why the table made from (D, V, js) would be below the protection floor, or None (made
    once per parameter set: a config is parsed often)."""
    return table_floor_problem(generate(D, V, js), js, min_variance, max_unchanged)
