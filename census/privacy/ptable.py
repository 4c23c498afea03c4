"""Cell-key perturbation tables (ptables) in the ONS ``cell-key-perturbation`` format.

Format
------
A CSV with exactly the columns ``pcv,ckey,pvalue`` and one row for every combination of
``pcv`` in ``1..max_pcv`` and ``ckey`` in ``0..ckey_range-1``. A cell with true count ``n``
and cell key ``k`` is published as ``n + pvalue(pcv(n), ckey(k))``.

Lookup (reproduces ``cell_key_perturbation.create_perturbed_table`` 3.1.0 exactly)
-----------------------------------------------------------------------------------
* ``ckey = sum of record keys mod (max ckey in the table + 1)``. The ONS package sums record
  keys (0..255 in its examples) and takes the sum modulo ``ptable["ckey"].max() + 1``.
  Our cell keys are already ``SUM(person keys) mod 2^32``; :func:`apply` takes that value
  (or any non-negative sum) modulo ``ckey_range``. When ``ckey_range`` divides ``2^32``
  (any power of two up to ``2^32``, e.g. the usual 256 or 4096), ``(S mod 2^32) mod
  ckey_range == S mod ckey_range``, so the result is identical to the ONS computation on the
  unreduced sum. For other ranges it is still consistent (same cell, same key, same value)
  but not equal to ``S mod ckey_range``.
* ``pcv = count`` if ``count <= 750``, else ``((count - 1) mod 250) + 501``: the ONS code
  hard-codes this and reuses rows 501..750 cyclically for large counts, *whatever the
  table's own max pcv is*. A ``(pcv, ckey)`` missing from the table (e.g. every count above
  ``max_pcv`` when ``max_pcv < 750``, and count 0 whose pcv 0 never has a row) gets pvalue 0,
  because the ONS code left-joins the table and fills missing pvalues with 0. Zero counts are
  therefore never perturbed. Tables meant for publication should have ``max_pcv >= 750``
  (the default of :func:`generate`), otherwise large counts go out unperturbed.

Generation (:func:`generate`)
-----------------------------
Follows the sdcTools ``ptable`` package (R, ``create_cnt_ptable``; see
``R/pt_create_pTable.R`` and ``R/pt_optim_entropy.R`` in github.com/sdcTools/ptable). For a
count ``i >= 1`` the allowed noise values are ``v`` in ``[-D, D]`` with ``i + v >= 0`` and
``i + v`` not in ``1..js``. Among distributions on those values with

* probabilities summing to 1 and mean 0 (equalities), and
* variance **at most** ``V`` (sdcTools' default ``optim = 1`` states the variance as an
  inequality, ``sum(v^2 p) - V <= 0``),

take the one of maximum entropy. By the KKT conditions it is ``p(v) ∝ exp(a v)`` if that
mean-0 distribution already has variance ``<= V``, else ``p(v) ∝ exp(a v + b v^2)`` with
variance exactly ``V``; ``(a, b)`` are found by damped Newton iteration on the convex dual
(``log Z(a, b) - b V``) to 1e-12 on the moments. For counts ``i >= D + js + 1`` the support
is the full symmetric ``[-D, D]``, the distribution is the same for all of them (sdcTools'
"symmetry" row ``ncat = D + js + 1``), and its variance is exactly ``V`` whenever
``V < D (D + 1) / 3`` (the variance of the uniform distribution on ``[-D, D]``).

If mean 0 and variance ``<= V`` cannot both hold on the allowed values (the smallest
mean-0 variance there is ``>= V``), the parameter set is refused with a ``ValueError`` --
sdcTools stops with "The variance parameter you set is too small!" in the same situation
(its nonlinear solver returns probabilities that do not sum to 1). Example: ``D=3, V=1,
js=2``: count 1 may only move by -1, +2 or +3, and any mean-0 mix of those has variance
``>= 2``.

sdcTools' default ``mono = TRUE`` constraint (probabilities non-decreasing over the allowed
``v <= 0`` towards ``v = 0``, imposed only when 0 is an allowed value) is honoured by pooling
adjacent violators: tied values share one probability, which keeps the exponential form with
``v`` and ``v^2`` replaced by their block averages; it binds for D=5, V=3, js=2 at count 4,
where ``p(-1) = p(0)``. Not reproduced: sdcTools' lower bound of 1e-8 on each probability
(the solution here is strictly positive anyway) and its optional ``pstay``.

The probabilities are then laid out on the ckeys: for each pcv the ckey range is split into
consecutive blocks, one per noise value in increasing order of ``v``. Block sizes are
``p(v) * ckey_range`` rounded down or up (each within 1 of the exact value, summing to
``ckey_range``); which ones go up is chosen to keep the table's mean noise as close to the
exact mean (0) as possible, then by largest remainder (see :func:`allocate`). For D=5, V=3,
js=2 with 256 ckeys every row's mean noise is exactly 0 and its variance within 0.05 of V.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import IO, Any

from census.validation.rules import Quoted, field_key

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
_MAX_NEWTON_STEPS = 500


# --------------------------------------------------------------------------------------
# The table


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
            missing = _first_missing(rows, self.max_pcv, self.ckey_range)
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


def _first_missing(
    rows: Mapping[tuple[int, int], int], max_pcv: int, ckey_range: int
) -> tuple[int, int]:
    for pcv in range(1, max_pcv + 1):
        for ckey in range(ckey_range):
            if (pcv, ckey) not in rows:
                return pcv, ckey
    raise AssertionError("no missing row")  # pragma: no cover


# --------------------------------------------------------------------------------------
# Lookup


def _check_nonneg_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def ons_pcv(count: int) -> int:
    """The ONS rule mapping a count to the pcv row used for it (count >= 0).

    ``count`` itself up to 750, else ``((count - 1) mod 250) + 501`` (rows 501..750 reused).
    """
    _check_nonneg_int("count", count)
    if count <= ONS_PCV_LIMIT:
        return count
    return (count - 1) % ONS_WRAP_PERIOD + ONS_WRAP_START


def ons_ckey(ckey_sum: int, ckey_range: int) -> int:
    """The ONS rule mapping a sum of record keys to a ckey: ``ckey_sum mod ckey_range``.

    ``ckey_range`` is the table's max ckey + 1. Passing our ``SUM(person keys) mod 2^32``
    gives the same ckey as the full sum whenever ``ckey_range`` divides ``2^32``.
    """
    _check_nonneg_int("ckey_sum", ckey_sum)
    if isinstance(ckey_range, bool) or not isinstance(ckey_range, int) or ckey_range < 1:
        raise ValueError(f"ckey_range must be an int >= 1, got {ckey_range!r}")
    return ckey_sum % ckey_range


def apply(table: PTable, count: int, ckey_sum: int) -> int:
    """Published value of a cell with true ``count`` and cell key ``ckey_sum``.

    Exactly what ``cell_key_perturbation.create_perturbed_table`` (3.1.0, threshold 0)
    publishes: ``count + pvalue(ons_pcv(count), ckey_sum mod ckey_range)``, with pvalue 0
    when the table has no such row. Zero counts are never perturbed.
    """
    _check_nonneg_int("count", count)
    _check_nonneg_int("ckey_sum", ckey_sum)
    if count == 0:
        return 0
    pcv = ons_pcv(count)
    ckey = ckey_sum % table.ckey_range
    return count + table.rows.get((pcv, ckey), 0)


# --------------------------------------------------------------------------------------
# CSV


_INT = re.compile(r"[+-]?[0-9]{1,12}")


def _parse_int(text: str, column: str, line: int) -> int:
    # ASCII digits only, and few of them: int() would also take "1_000", other scripts' digits
    # and thousands of digits (slowly); a message quotes at most 40 characters of the field.
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        raise ValueError(
            f"line {line}: column {column!r} must be an integer, got {Quoted(text)!r}")
    return int(stripped, 10)


def read_ons_csv(source: str | IO[str]) -> PTable:
    """Parse a ptable CSV (text, or a text file-like object) in the ONS format.

    The header must be exactly ``pcv,ckey,pvalue`` (quoted or not, as pandas writes it);
    blank lines are ignored. Raises ``ValueError`` naming the line and the problem for:
    a wrong or missing header, a row with the wrong number of fields, a non-integer value,
    pcv < 1 or ckey < 0, a duplicate (pcv, ckey), pcv + pvalue < 0, and any (pcv, ckey)
    missing from the grid ``1..max(pcv) x 0..max(ckey)``.
    """
    stream = io.StringIO(source) if isinstance(source, str) else source
    try:
        return _read_ons_csv(csv.reader(stream))
    except csv.Error as exc:  # e.g. a bare carriage return or a NUL byte inside a field
        raise ValueError(f"not a readable CSV file: {exc}") from None


def _read_ons_csv(reader: Any) -> PTable:
    header: list[str] | None = None
    for record in reader:
        if record and any(f.strip() for f in record):
            header = record
            break
    if header is None:
        raise ValueError("line 1: empty ptable: expected a header 'pcv,ckey,pvalue'")
    names = [h.strip().lstrip("\ufeff") for h in header]
    if tuple(names) != COLUMNS:
        missing = [c for c in COLUMNS if c not in names]
        extra = [field_key(c) for c in names if c not in COLUMNS][:5]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(extra)}")
        if not detail:
            detail.append("wrong order")
        raise ValueError(
            f"line {reader.line_num}: header must be exactly 'pcv,ckey,pvalue', got "
            f"{Quoted(','.join(names))!r} ({'; '.join(detail)})"
        )

    rows: dict[tuple[int, int], int] = {}
    seen_at: dict[tuple[int, int], int] = {}
    for record in reader:
        line = reader.line_num
        if not record or not any(f.strip() for f in record):
            continue
        if len(record) != len(COLUMNS):
            raise ValueError(f"line {line}: expected 3 fields (pcv,ckey,pvalue), got {len(record)}")
        pcv = _parse_int(record[0], "pcv", line)
        ckey = _parse_int(record[1], "ckey", line)
        pvalue = _parse_int(record[2], "pvalue", line)
        if pcv < 1:
            raise ValueError(
                f"line {line}: pcv must be >= 1 (zeros are never perturbed), got {pcv}"
            )
        if ckey < 0:
            raise ValueError(f"line {line}: ckey must be >= 0, got {ckey}")
        if pcv > PCV_LIMIT or ckey >= KEY_MODULUS or abs(pvalue) > PVALUE_LIMIT:
            raise ValueError(
                f"line {line}: pcv must be at most {PCV_LIMIT}, ckey below 2^32 and pvalue "
                f"between -{PVALUE_LIMIT} and {PVALUE_LIMIT}; got {pcv},{ckey},{pvalue}"
            )
        if pcv + pvalue < 0:
            raise ValueError(
                f"line {line}: pcv + pvalue = {pcv} + {pvalue} < 0 would publish a negative count"
            )
        if (pcv, ckey) in rows:
            raise ValueError(
                f"line {line}: duplicate row for pcv={pcv}, ckey={ckey} "
                f"(first on line {seen_at[(pcv, ckey)]})"
            )
        rows[(pcv, ckey)] = pvalue
        seen_at[(pcv, ckey)] = line
        if len(rows) > ROW_LIMIT:
            raise ValueError(f"line {line}: more than {ROW_LIMIT:,} rows; a ptable needs at "
                             f"most 750 counts x a few thousand cell keys")
    if not rows:
        raise ValueError("ptable has a header but no rows")

    max_pcv = max(p for p, _ in rows)
    ckey_range = max(c for _, c in rows) + 1
    if len(rows) != max_pcv * ckey_range:
        pcv, ckey = _first_missing(rows, max_pcv, ckey_range)
        n_missing = max_pcv * ckey_range - len(rows)
        raise ValueError(
            f"missing rows: {n_missing} (pcv, ckey) combinations of pcv 1..{max_pcv} x "
            f"ckey 0..{ckey_range - 1} are absent, first (pcv={pcv}, ckey={ckey})"
        )
    return PTable(max_pcv=max_pcv, ckey_range=ckey_range, rows=rows)


def publication_problem(table: PTable, js: int) -> str | None:
    """Why `table` would not protect published counts, or None: it must cover every count the
    ONS lookup uses (pcv 1..750), change every count for some cell keys, and never publish a
    count in 1..js (the survey's threshold)."""
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
    return None


def write_ons_csv(table: PTable) -> str:
    """The table as ONS-format CSV text: header, rows sorted by (pcv, ckey), ``\\n`` endings."""
    lines = [",".join(COLUMNS)]
    for pcv in range(1, table.max_pcv + 1):
        for ckey in range(table.ckey_range):
            lines.append(f"{pcv},{ckey},{table.rows[(pcv, ckey)]}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
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
    for _ in range(_MAX_NEWTON_STEPS):
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
    _check_nonneg_int("count", count)
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
    probabilities: Sequence[float], total: int, values: Sequence[int] | None = None
) -> list[int]:
    """Whole numbers summing to ``total``, each the floor or ceiling of ``p * total``.

    Which entries are rounded up: if ``values`` is given and there are at most
    :data:`_EXHAUSTIVE_LIMIT` ways to choose them, the choice that makes the rounded mean
    ``sum(values * counts)`` closest to the exact one (so quantising keeps the noise as close
    to unbiased as the ckey range allows), ties broken by the largest remainders; otherwise
    plain largest-remainder rounding (ties to the earlier entry).
    """
    s = math.fsum(probabilities)
    exact = [p / s * total for p in probabilities]
    counts = [math.floor(x) for x in exact]
    short = total - sum(counts)
    candidates = [k for k in range(len(exact)) if exact[k] > counts[k]]
    if values is not None and math.comb(len(candidates), short) <= _EXHAUSTIVE_LIMIT:
        target = math.fsum(v * x for v, x in zip(values, exact, strict=True))
        base = sum(v * c for v, c in zip(values, counts, strict=True))

        def cost(up: tuple[int, ...]) -> tuple[float, float, tuple[int, ...]]:
            bias = abs(base + sum(values[k] for k in up) - target)
            squares = math.fsum((counts[k] + (k in up) - exact[k]) ** 2 for k in range(len(exact)))
            return (round(bias, 9), squares, up)

        chosen = min(itertools.combinations(candidates, short), key=cost)
    else:
        order = sorted(candidates, key=lambda k: (-(exact[k] - counts[k]), k))
        chosen = tuple(order[:short])
    for k in chosen:
        counts[k] += 1
    return counts


_EXHAUSTIVE_LIMIT = 20000


def _layout(dist: Mapping[int, float], ckey_range: int) -> list[int]:
    values = sorted(dist)
    counts = allocate([dist[v] for v in values], ckey_range, values)
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
        layouts[count] = _layout(dist, ckey_range)
    rows: dict[tuple[int, int], int] = {}
    for pcv in range(1, max_pcv + 1):
        layout = layouts[min(pcv, symmetric)]
        for ckey, v in enumerate(layout):
            rows[(pcv, ckey)] = v
    return PTable._built(max_pcv, ckey_range, rows)


def probabilities(table: PTable, pcv: int) -> dict[int, float]:
    """Empirical noise distribution of one pcv row (share of ckeys per pvalue)."""
    tally: dict[int, int] = {}
    for v in table.row(pcv):
        tally[v] = tally.get(v, 0) + 1
    return {v: n / table.ckey_range for v, n in sorted(tally.items())}
