"""Attack: rebuild the households of a published unit from its tables (issue 6, part 5b).

An attacker takes every table the program publishes for one unit (the rows of
`census.usecases.publish.plan.plan_export`, as `write_export` writes them: persons present by
sex × age band
with margins, households by size 1 … 7, 8+ and total, and the exact dwellings table) and tries
to rebuild the household grid: each completed household's vector of usual residents present per
sex × age cell. The score is the share of true households recovered exactly: the multiset
intersection of the rebuilt vectors with the true ones, over the true number of households.

Population (not timed): tiny enumeration areas (household targets drawn from 1..15; the demo
generator `census.usecases.demo.dwellings` fills each with dwellings and households, so the
members of a
household are drawn independently, the first one aged 15-64), added to a district until their
targets reach 48, so that a district's small areas together pass the minimum size. The same
population (same seed; checked) goes into two supervisor databases, every area closed:

* regime `published`: the default `[disclosure]` (min_persons 100, min_households 40), so the
  tiny areas are published as combined units `DISTRICT:other` of about 50-75 households, the
  smallest units the program publishes; --units of them are attacked;
* regime `tiny`: min_persons = min_households = 0, every tiny area published alone; --tiny
  areas of 3-15 households are attacked (`tiny`), and every area of 1 or 2 households
  (`tiny 1-2`), where the tables leave little room.

Methods: `none` (exact), `rr3` and `ckm` (default D=5, V=3, js=2), the program's own rows. The
attacker knows the method and its parameters: under `none` a published value is the true one;
under `rr3` the true value is within ±2 of it (never negative: a published 0 may hide a true 1
or 2); under `ckm` it is one that the perturbation table (generated from the survey's
parameters) can turn into the published value, e.g. 0 → 0..5, 7 → 3..12, always within ±5;
under `dp` (rho 0.25, a release of `census export tables --method dp`) it is within 6 noise
scales of the published value (never negative), the scale of a sum of k area cells being
sqrt(k) times that of one (2 for a persons cell, 4 for a households cell).
Every unit's true households are checked to satisfy all the attacker assumes (`consistent`).

Attacker `tables`: mixed-integer programs (`scipy.optimize.milp`, HiGHS, --time-limit each).

* Under protection, step 1 (`estimate`): true tables T_c (16 cells), S_k (8 size classes), each
  in its interval, margins and totals (their own published cells) within theirs, the
  households total at least the completed dwellings (exact; a completed dwelling holds a
  household, E003), persons present at most the sizes allow (8+: up to 60 each), at least one
  person aged 15+ per household; minimise the total deviation from the published values, plus
  0.1 × residents away. Step 2 treats the estimate as exact tables. (If step 2 finds nothing,
  one program over the intervals instead, the slot model below with deviations d⁺, d⁻.)
* Slot model: H slots (the households total). Slot h: x[h,c] >= 0 integer (persons present in
  cell c), z[h,k] binary (size class k = 1 … 7, 8 for "8+"), a[h] >= 0 integer (away);
  sum_k z[h,k] = 1; sum_c x[h,c] + a[h] >= sum_k k z[h,k] and <= sum_{k<8} k z[h,k] +
  60 z[h,8]; sum of x[h,c] over cells aged 15+ >= 1 (rule W002; every demo household has one);
  every published count equal to its sum over the slots. Symmetry breaking: slots sorted by
  size class, non-increasing (with exact size counts this fixes every z), then by persons
  present within a class. Objective: minimise 0.1 × sum(a) (few residents away).
* The best solution found is scored (none found: nothing recovered); `fit` counts the units
  whose rebuilt households give back every published table (all of them, if the model is
  right).

Attacker `screened`: the tables and the frequencies of household kinds in the other units (what
a public sample or an earlier census would give an attacker). As many guesses as the estimated
households, spent where they most likely match, knowing from the tables how many households of
each size the unit has and which kinds it cannot hold (a cell above its largest possible true
count). Attacker `prior` (not run by default; slower): a set of households that gives the
tables, as `tables`, but built from kinds seen elsewhere where it can: the slot model (its slots
now optional, worth nothing) plus a binary column per copy j of each kind seen elsewhere with
frequency f, worth P(Binomial(H, f) >= j), the chance it matches; maximise the worth.

Baselines, which use no table of the attacked unit (but are told its true number of households
H, which favours them, and put forward as many households as the attacker did: H when it put
forward none; under protection its estimate of H, which noise can make larger than H, and each
household more is one more chance to match): `draw`, the expected score of that many households
drawn at random from the other units' (hypergeometric, exact expectation); `guess`, that many
household kinds with the largest expected score under the other units' frequencies (common kinds
first, several copies of a very common one), scored as it comes out. Common households match by
chance; the ratios to the baselines show what the tables add.

    .venv/bin/python bench/reconstruct.py                      # about 1.5 minutes
    .venv/bin/python bench/reconstruct.py --seed 7 --tiny 300 --districts 60
    .venv/bin/python bench/reconstruct.py --attackers tables,prior,screened --units 6
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import math
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp
from scipy.sparse import coo_array
from scipy.stats import binom, hypergeom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from census.domain.config import SurveyConfig, default_config
from census.domain.model import Area, Dwelling, Role
from census.privacy import dp
from census.privacy.ptable.generate import generate
from census.storage.areas import import_areas
from census.storage.store import Store
from census.tabulate import release as rel
from census.usecases import demo
from census.usecases.areas import close_area
from census.usecases.forms import store_dwellings
from census.usecases.publish.plan import Request, plan_export

NOW = datetime(2026, 11, 28, 12, 0)
PASSPHRASE = "bench-reconstruct"
METHODS = ("none", "rr3", "ckm", "dp")
DP_RHO = 0.25
"""dp: the rho of the release attacked (0.125 a table; the noise of each area cell then has
scale 2 in the persons table, 4 in the households table)."""
DP_Z = 6.0
"""dp: the attacker takes the true count to lie within DP_Z noise scales of the published
value (a chance of 2e-9 per value of being wrong)."""
REGIMES = ("published", "tiny")
SIZE_CLASSES = 8
"""Size classes of the households table: 1 … 7 and "8+"."""
BIG = 60
"""Largest household the attacker allows in "8+" (the default max_household_size)."""
AWAY_WEIGHT = 0.1
GROUP_TARGET = 48
"""Tiny areas are added to a district until their household targets reach this."""
DISTRICTS_PER_REGION = 25

Household = tuple[int, ...]
"""Persons present per cell of the grid, in config.cells order."""
Kind = tuple[Household, int]
"""A household's grid and its size class (1 … 8) in the households table."""
MIN_GAIN = 1e-3
"""Attacker `prior`: copies of a kind less likely than this to match are left out."""


# ----------------------------------------------------------------------------- population


def config(min_persons: int, min_households: int) -> SurveyConfig:
    """The default survey config with these minimum sizes of a unit published alone."""
    cfg = default_config()
    return dataclasses.replace(cfg, disclosure=dataclasses.replace(
        cfg.disclosure, min_persons=min_persons, min_households=min_households))


def layout(districts: int, seed: int) -> list[tuple[Area, int]]:
    """Areas (regions, districts, tiny EAs) and each EA's household target (0 for the others)."""
    rng = random.Random(seed)
    out: list[tuple[Area, int]] = []
    for r in range(math.ceil(districts / DISTRICTS_PER_REGION)):
        out.append((Area(f"R{r + 1:02d}", "region", f"Region {r + 1}"), 0))
    for d in range(districts):
        region = f"R{d // DISTRICTS_PER_REGION + 1:02d}"
        code = f"{region}-D{d % DISTRICTS_PER_REGION + 1:02d}"
        out.append((Area(code, "district", f"District {d + 1}", region), 0))
        total, e = 0, 0
        while total < GROUP_TARGET:
            target = rng.randint(1, 15)
            total += target
            e += 1
            out.append((Area(f"{code}-EA{e:03d}", "ea", f"Hamlet {d + 1}.{e}", code,
                             math.ceil(target / 0.84) + 2, f"E{d + 1:03d}"), target))
    return out


def dwellings(cfg: SurveyConfig, areas: Sequence[tuple[Area, int]], seed: int
              ) -> Iterator[Dwelling]:
    """The demo generator's dwellings, area by area, about `target` households in each. The
    generator spreads a target evenly over its areas and leaves part of its last area unvisited,
    so each area is generated with a spare area after it, whose dwellings are dropped."""
    for i, (area, target) in enumerate(areas):
        if area.level != cfg.levels[-1]:
            continue
        spare = dataclasses.replace(area, code=area.code + "X")
        plan = demo.DemoPlan(2 * target, [area, spare], area.enumerator or "E001")
        for d in demo.dwellings(cfg, plan, NOW, seed=seed * 100_003 + i):
            if d.area == area.code:
                yield d


def build(path: Path, cfg: SurveyConfig, districts: int, seed: int) -> Store:
    """A supervisor database of the tiny-area population, every area closed."""
    areas = layout(districts, seed)
    store = Store.create(path, PASSPHRASE, cfg, Role.SUPERVISOR, "S01")
    import_areas(store, [a for a, _t in areas], "S01")
    problems: list[str] = []
    with store.bulk():
        store_dwellings(store, dwellings(cfg, areas, seed), now=NOW,
                        sink=lambda line, p: problems.append(str(p)))
    if problems:
        raise RuntimeError(f"demo records refused: {problems[:3]}")
    for area, _t in areas:
        if area.level == cfg.levels[-1]:
            close_area(store, area.code, leave_open_work=True)
    return store


# ----------------------------------------------------------------------------- what is published


@dataclass(frozen=True)
class Published:
    """Every published count of one unit, as the program writes it."""

    unit: str
    counts: dict[tuple[str, str], int]
    """(sex, band) -> persons, margins under rel.TOTAL."""
    sizes: dict[str, int]
    """"1" … "7", "8+", rel.TOTAL -> households."""
    completed: int
    """Completed dwellings (the dwellings table: exact)."""
    sigma: dict[tuple[str, object], float] = field(default_factory=dict)
    """dp: the noise scale of each published value (("persons", (sex, band)) or ("sizes",
    label)): a sum of k noisy area cells has sqrt(k) times the scale of one."""


def published(store: Store, method: str) -> dict[str, Published]:
    """The rows the program would publish at the EA level under `method`, per unit."""
    plan = plan_export(store, Request(level="ea", method=method,
                                      not_for_publication=method == "none",
                                      rho=DP_RHO if method == "dp" else None))
    completed_at = rel.COLUMNS["dwellings"].index("completed")
    out: dict[str, Published] = {}
    persons = plan.unit_rows("persons")
    households = plan.unit_rows("households")
    dwelling_rows = plan.unit_rows("dwellings")
    for unit, p_rows, h_rows, d_rows in zip(plan.units, persons, households, dwelling_rows,
                                            strict=True):
        counts = {(str(r[2]), str(r[3])): int(r[4] or 0) for r in p_rows}
        sizes = {str(r[2]): int(r[3] or 0) for r in h_rows}
        sigma: dict[tuple[str, object], float] = {}
        if method == "dp":
            areas = len(plan.unit_areas[unit.code])
            nb, ns = len(store.config.age_bands), len(store.config.sexes)
            one_p = dp.scale("persons", DP_RHO / 2)
            one_h = dp.scale("households", DP_RHO / 2)
            for sex, band in counts:
                k = (1 if rel.TOTAL not in (sex, band) else nb * ns if sex == band
                     else nb if band == rel.TOTAL else ns)
                sigma[("persons", (sex, band))] = one_p * math.sqrt(k * areas)
            for label in sizes:
                k = SIZE_CLASSES if label == rel.TOTAL else 1
                sigma[("sizes", label)] = one_h * math.sqrt(k * areas)
        out[unit.code] = Published(unit.code, counts, sizes, int(d_rows[0][completed_at] or 0),
                                   sigma)
    return out


def members(store: Store) -> dict[str, tuple[str, ...]]:
    """The published units and the enumeration areas each one covers."""
    plan = plan_export(store, Request(level="ea", method="none", not_for_publication=True))
    return {u.code: u.members for u in plan.units}


def true_households(store: Store, units: dict[str, tuple[str, ...]]) -> dict[str, list[Kind]]:
    """Each unit's completed households (those the households table counts): grid and size
    class."""
    unit_of = {m: u for u, ms in units.items() for m in ms}
    cols = ", ".join(store.counts)
    out: dict[str, list[Kind]] = {u: [] for u in units}
    for area, size, *grid in store.conn.execute(
            f"SELECT area, usual_residents, {cols} FROM household WHERE status IN "
            "('complete', 'approved') AND usual_residents > 0"):
        if area in unit_of:
            out[unit_of[area]].append((tuple(int(n) for n in grid), min(size, SIZE_CLASSES)))
    return out


# ----------------------------------------------------------------------------- the attacker


def intervals(cfg: SurveyConfig, method: str) -> dict[int, tuple[int, int]] | None:
    """Published value -> (lowest, highest) true value under `method` for small values (None:
    the rule ±2 of rr3, or exact)."""
    if method != "ckm":
        return None
    d = cfg.disclosure
    table = generate(d.ckm_max_change, d.ckm_variance, d.ckm_threshold)
    found: dict[int, list[int]] = {0: [0]}
    for (count, _key), change in table.rows.items():
        found.setdefault(count + change, []).append(count)
    return {p: (min(ns), max(ns)) for p, ns in found.items()}


def interval(cfg: SurveyConfig, method: str, value: int,
             ckm: dict[int, tuple[int, int]] | None, sigma: float = 0.0) -> tuple[int, int]:
    """Where the true count lies when `value` is published (`sigma`: dp, its noise scale)."""
    if method == "none":
        return value, value
    if method == "dp":
        spread = math.ceil(DP_Z * sigma)
        return max(0, value - spread), value + spread
    if method == "rr3":
        return max(0, value - 2), value + 2
    if ckm is not None and value in ckm:
        return ckm[value]
    d = cfg.disclosure.ckm_max_change
    return max(0, value - d), value + d


@dataclass
class Attack:
    households: list[Kind]
    """What the attacker puts forward: grids with their size class."""
    seconds: float
    status: str
    """"optimal", "time limit" (best found), "none found"."""


class _Rows:
    """Sparse rows of a linear program: lb <= A x <= ub."""

    def __init__(self) -> None:
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def add(self, terms: Sequence[tuple[int, float]], lb: float, ub: float) -> None:
        row = len(self.lb)
        for col, value in terms:
            self.r.append(row)
            self.c.append(col)
            self.v.append(value)
        self.lb.append(lb)
        self.ub.append(ub)

    def constraint(self, n: int) -> LinearConstraint:
        a = coo_array((self.v, (self.r, self.c)), shape=(len(self.lb), n)).tocsr()
        return LinearConstraint(a, np.array(self.lb), np.array(self.ub))


def solve(cost: np.ndarray, rows: LinearConstraint, integral: np.ndarray, bounds: Bounds,
          time_limit: float) -> OptimizeResult:
    """`milp` (HiGHS); on a solve error (HiGHS status 4, seen now and then after its presolve;
    HiGHS prints a line of its own then), once more without presolve."""
    options = {"time_limit": float(time_limit), "disp": False}
    res = milp(cost, constraints=rows, integrality=integral, bounds=bounds, options=options)
    if res.status == 4:
        res = milp(cost, constraints=rows, integrality=integral, bounds=bounds,
                   options={**options, "presolve": False})
    return res


def estimate(cfg: SurveyConfig, pub: Published, method: str,
             ckm: dict[int, tuple[int, int]] | None = None) -> Published | None:
    """Step 1 under protection: the true tables closest to the published ones (least total
    deviation, few residents away) that some set of households could have; None if none."""
    cells = list(cfg.cells)
    nc = len(cells)
    labels = [str(k) for k in range(1, SIZE_CLASSES)] + [f"{SIZE_CLASSES}+"]
    adult = [i for i, (_s, b) in enumerate(cells)
             if next(x for x in cfg.age_bands if x.code == b).low >= cfg.rules.adult_age]
    keys = ([(sex.code, rel.TOTAL) for sex in cfg.sexes]
            + [(rel.TOTAL, band.code) for band in cfg.age_bands] + [(rel.TOTAL, rel.TOTAL)])
    def persons_span(key: tuple[str, str]) -> tuple[int, int]:
        return interval(cfg, method, pub.counts[key], ckm, pub.sigma.get(("persons", key), 0.0))

    def sizes_span(label: str) -> tuple[int, int]:
        return interval(cfg, method, pub.sizes[label], ckm, pub.sigma.get(("sizes", label), 0.0))

    # Columns: T_c (nc), S_k (8), away (1), then d+ and d- per published count.
    away = nc + SIZE_CLASSES
    checks: list[tuple[list[tuple[int, float]], int, tuple[int, int]]] = []
    for i, cell in enumerate(cells):
        checks.append(([(i, 1.0)], pub.counts[cell], persons_span(cell)))
    for key in keys:
        terms = [(i, 1.0) for i, cell in enumerate(cells)
                 if key[0] in (rel.TOTAL, cell[0]) and key[1] in (rel.TOTAL, cell[1])]
        checks.append((terms, pub.counts[key], persons_span(key)))
    for k, label in enumerate(labels):
        checks.append(([(nc + k, 1.0)], pub.sizes[label], sizes_span(label)))
    lo_t, hi_t = sizes_span(rel.TOTAL)
    checks.append(([(nc + k, 1.0) for k in range(SIZE_CLASSES)], pub.sizes[rel.TOTAL],
                   (max(lo_t, pub.completed), hi_t)))
    first_dev = away + 1
    n = first_dev + 2 * len(checks)
    lower, upper, cost = np.zeros(n), np.zeros(n), np.zeros(n)
    for i, cell in enumerate(cells):
        lower[i], upper[i] = persons_span(cell)
    for k, label in enumerate(labels):
        lower[nc + k], upper[nc + k] = sizes_span(label)
    upper[away] = BIG * hi_t
    cost[away] = AWAY_WEIGHT
    rows = _Rows()
    for j, (terms, value, (lo, hi)) in enumerate(checks):
        if lo > hi:
            return None
        dp, dm = first_dev + 2 * j, first_dev + 2 * j + 1
        lower[dp], upper[dp] = max(0, lo - value), max(0, hi - value)
        lower[dm], upper[dm] = 0, max(0, value - lo)
        cost[dp] = cost[dm] = 1.0
        rows.add([*terms, (dp, -1.0), (dm, 1.0)], value, value)
    sizes = [(nc + k, float(k + 1)) for k in range(SIZE_CLASSES)]
    present = [(i, 1.0) for i in range(nc)]
    households = [(nc + k, 1.0) for k in range(SIZE_CLASSES)]
    # Residents away: at least the sizes (8 for "8+") less the persons present; persons present
    # at most the sizes ("8+" up to BIG); a person aged 15+ present in every household.
    rows.add([(away, 1.0), *present] + [(c, -v) for c, v in sizes], 0.0, np.inf)
    rows.add([*present] + [(c, -v) for c, v in sizes[:-1]]
             + [(nc + SIZE_CLASSES - 1, -float(BIG))], -np.inf, 0.0)
    rows.add([(i, 1.0) for i in adult] + [(c, -v) for c, v in households], 0.0, np.inf)
    res = solve(cost, rows.constraint(n), np.r_[np.ones(first_dev), np.zeros(n - first_dev)],
                Bounds(lower, upper), 10.0)
    if res.x is None:
        return None
    sol = [int(v) for v in np.rint(res.x)]
    counts = {cell: sol[i] for i, cell in enumerate(cells)}
    for key in keys:
        counts[key] = sum(sol[i] for i, cell in enumerate(cells)
                          if key[0] in (rel.TOTAL, cell[0]) and key[1] in (rel.TOTAL, cell[1]))
    sized = {label: sol[nc + k] for k, label in enumerate(labels)}
    sized[rel.TOTAL] = sum(sol[nc:nc + SIZE_CLASSES])
    return Published(pub.unit, counts, sized, min(pub.completed, sized[rel.TOTAL]))


def attack(cfg: SurveyConfig, pub: Published, method: str, time_limit: float,
           ckm: dict[int, tuple[int, int]] | None = None, prior: Counter[Kind] | None = None
           ) -> Attack:
    """Rebuild the households of `pub`. Under protection in two steps: `estimate` the true
    tables, then rebuild households that give exactly those (as under `none`); if that fails,
    one program over the intervals (`joint`)."""
    if method == "none":
        return joint(cfg, pub, method, time_limit, ckm, prior)
    start = time.perf_counter()
    guessed = estimate(cfg, pub, method, ckm)
    spent = time.perf_counter() - start
    if guessed is not None:
        got = joint(cfg, guessed, "none", time_limit, ckm, prior)
        if got.status != "none found":
            got.seconds += spent
            return got
    got = joint(cfg, pub, method, time_limit, ckm, prior)
    got.seconds = time.perf_counter() - start
    return got


def joint(cfg: SurveyConfig, pub: Published, method: str, time_limit: float,
          ckm: dict[int, tuple[int, int]] | None = None, prior: Counter[Kind] | None = None
          ) -> Attack:
    """Rebuild the households of `pub` in one program (the model is in the module docstring);
    with `prior` (household kinds seen elsewhere and how often), the attacker prefers common
    kinds."""
    sexes = [s.code for s in cfg.sexes]
    bands = [b.code for b in cfg.age_bands]
    cells = list(cfg.cells)
    nc = len(cells)
    adult = [i for i, (_s, b) in enumerate(cells)
             if next(x for x in cfg.age_bands if x.code == b).low >= cfg.rules.adult_age]

    def span(value: int, what: tuple[str, object]) -> tuple[int, int]:
        return interval(cfg, method, value, ckm, pub.sigma.get(what, 0.0))

    labels = [str(k) for k in range(1, SIZE_CLASSES)] + [f"{SIZE_CLASSES}+"]
    lo_t, hi_t = span(pub.sizes[rel.TOTAL], ("sizes", rel.TOTAL))
    lo_t = max(lo_t, pub.completed)
    if hi_t <= 0 or lo_t > hi_t:
        return Attack([], 0.0, "none found")
    cell_hi = [span(pub.counts[cell], ("persons", cell))[1] for cell in cells]
    size_hi = [span(pub.sizes[label], ("sizes", label))[1] for label in labels]
    persons_hi = span(pub.counts[(rel.TOTAL, rel.TOTAL)], ("persons", (rel.TOTAL, rel.TOTAL)))[1]
    # With a prior: a binary column per copy j of each kind seen elsewhere (frequency f),
    # worth its chance of matching, P(Binomial(H, f) >= j); free slots are worth nothing.
    catalogue: list[tuple[Kind, float, int]] = []
    if prior:
        seen = sum(prior.values())
        for (grid, k), times in sorted(prior.items()):
            most = min([size_hi[k - 1], persons_hi // max(1, sum(grid))]
                       + [hi // n for n, hi in zip(grid, cell_hi, strict=True) if n])
            for j in range(1, most + 1):
                gain = float(binom.sf(j - 1, pub.sizes[rel.TOTAL], times / seen))
                if gain < MIN_GAIN:
                    break
                catalogue.append(((grid, k), -gain, 1))
    slots = hi_t if prior or method != "none" else pub.sizes[rel.TOTAL]
    per = nc + SIZE_CLASSES + 1  # x, z, a per slot
    n_slot = slots * per
    first_kind = n_slot

    def x(h: int, c: int) -> int:
        return h * per + c

    def z(h: int, k: int) -> int:  # k = 1 … SIZE_CLASSES
        return h * per + nc + k - 1

    def a(h: int) -> int:
        return h * per + nc + SIZE_CLASSES

    def persons(keep: Sequence[int]) -> list[tuple[int, float]]:
        """The persons present in cells `keep`, over slots and catalogue kinds."""
        terms = [(x(h, i), 1.0) for h in range(slots) for i in keep]
        for t, ((grid, _k), _cost, _most) in enumerate(catalogue):
            n = sum(grid[i] for i in keep)
            if n:
                terms.append((first_kind + t, float(n)))
        return terms

    def of_size(sizes: Sequence[int]) -> list[tuple[int, float]]:
        terms = [(z(h, k), 1.0) for h in range(slots) for k in sizes]
        terms += [(first_kind + t, 1.0) for t, ((_g, k), _c, _m) in enumerate(catalogue)
                  if k in sizes]
        return terms

    # The published counts, each with its expression and the interval of its true value.
    checks: list[tuple[list[tuple[int, float]], int, tuple[int, int]]] = []
    for i, cell in enumerate(cells):
        checks.append((persons([i]), pub.counts[cell], span(pub.counts[cell], ("persons", cell))))
    for key in [(sex, rel.TOTAL) for sex in sexes] + [(rel.TOTAL, band) for band in bands] + [
            (rel.TOTAL, rel.TOTAL)]:
        keep = [i for i, cell in enumerate(cells) if key[0] in (rel.TOTAL, cell[0])
                and key[1] in (rel.TOTAL, cell[1])]
        checks.append((persons(keep), pub.counts[key], span(pub.counts[key], ("persons", key))))
    for k, label in enumerate(labels, start=1):
        checks.append((of_size([k]), pub.sizes[label], span(pub.sizes[label], ("sizes", label))))
    # The households total: at least the completed dwellings too.
    checks.append((of_size(range(1, SIZE_CLASSES + 1)), pub.sizes[rel.TOTAL], (lo_t, hi_t)))
    first_dev = first_kind + len(catalogue)
    n = first_dev + 2 * len(checks)  # d+, d- per check

    lower = np.zeros(n)
    upper = np.zeros(n)
    integral = np.zeros(n)
    cost = np.zeros(n)
    # Exact sizes and no catalogue: slots sorted by size have known sizes.
    known = [k for k in range(SIZE_CLASSES, 0, -1) for _ in range(pub.sizes[labels[k - 1]])] \
        if method == "none" and not prior and pub.sizes[rel.TOTAL] == sum(
            pub.sizes[label] for label in labels) else None
    for h in range(slots):
        for i in range(nc):
            upper[x(h, i)] = cell_hi[i]
        for k in range(1, SIZE_CLASSES + 1):
            upper[z(h, k)] = 1
            if known is not None:
                lower[z(h, k)] = upper[z(h, k)] = float(known[h] == k)
        upper[a(h)] = BIG
        cost[a(h)] = AWAY_WEIGHT
    for t, (_kind, kind_cost, most) in enumerate(catalogue):
        upper[first_kind + t] = most
        cost[first_kind + t] = kind_cost
    integral[:first_dev] = 1
    rows = _Rows()
    for j, (terms, value, (lo, hi)) in enumerate(checks):
        dp, dm = first_dev + 2 * j, first_dev + 2 * j + 1
        lower[dp], upper[dp] = max(0, lo - value), max(0, hi - value)
        upper[dm] = max(0, value - lo)
        cost[dp] = cost[dm] = 1.0
        rows.add([*terms, (dp, -1.0), (dm, 1.0)], value, value)
    for h in range(slots):
        one = [(z(h, k), 1.0) for k in range(1, SIZE_CLASSES + 1)]
        rows.add(one, 1.0 if method == "none" and not prior else 0.0, 1.0)
        present = [(x(h, i), 1.0) for i in range(nc)]
        rows.add([*present, (a(h), 1.0)] + [(z(h, k), -float(k))
                                            for k in range(1, SIZE_CLASSES + 1)], 0.0, np.inf)
        rows.add([*present, (a(h), 1.0)] + [(z(h, k), -float(k))
                                            for k in range(1, SIZE_CLASSES)]
                 + [(z(h, SIZE_CLASSES), -float(BIG))], -np.inf, 0.0)
        rows.add([(x(h, i), 1.0) for i in adult] + [(t, -v) for t, v in one], 0.0, np.inf)
        if h + 1 < slots:
            size = [(z(h, k), float(k)) for k in range(1, SIZE_CLASSES + 1)]
            after = [(z(h + 1, k), -float(k)) for k in range(1, SIZE_CLASSES + 1)]
            rows.add(size + after, 0.0, np.inf)
            # Equal size: more persons present first.
            rows.add(present + [(x(h + 1, i), -1.0) for i in range(nc)]
                     + [(t, BIG * v) for t, v in size] + [(t, BIG * v) for t, v in after],
                     0.0, np.inf)
    start = time.perf_counter()
    res = solve(cost, rows.constraint(n), integral, Bounds(lower, upper), time_limit)
    seconds = time.perf_counter() - start
    if res.x is None:
        return Attack([], seconds, "none found")
    sol = np.rint(res.x).astype(int)
    found: list[Kind] = [
        (tuple(int(sol[x(h, i)]) for i in range(nc)),
         sum(k * int(sol[z(h, k)]) for k in range(1, SIZE_CLASSES + 1)))
        for h in range(slots) if sum(sol[z(h, k)] for k in range(1, SIZE_CLASSES + 1)) > 0]
    for t, (kind, _cost, _most) in enumerate(catalogue):
        found += [kind] * int(sol[first_kind + t])
    return Attack(found, seconds, "optimal" if res.status == 0 else "time limit")


def screened(cfg: SurveyConfig, pub: Published, method: str, prior: Counter[Kind],
             ckm: dict[int, tuple[int, int]] | None = None) -> Attack:
    """The tables used as a screen on the prior: as many guesses as (estimated) households,
    spent where they are most likely to match, as in `best_guess`, but knowing from the tables
    how many households of each size the unit has (S_k) and which kinds it cannot hold (a cell
    above its largest possible true count): copy j+1 of a kind of size k is worth
    P(Binomial(S_k, f) > j), f its frequency among the allowed kinds of size k. Not a set of
    households that gives the tables: a guess that scores."""
    start = time.perf_counter()
    est = pub if method == "none" else estimate(cfg, pub, method, ckm)
    if est is None:
        return Attack([], time.perf_counter() - start, "none found")
    labels = [str(k) for k in range(1, SIZE_CLASSES)] + [f"{SIZE_CLASSES}+"]
    cell_hi = [interval(cfg, method, pub.counts[cell], ckm,
                        pub.sigma.get(("persons", cell), 0.0))[1] for cell in cfg.cells]
    allowed: list[Counter[Household]] = [Counter() for _ in labels]
    for (grid, size), times in prior.items():
        if all(n <= hi for n, hi in zip(grid, cell_hi, strict=True)):
            allowed[size - 1][grid] += times
    heap: list[tuple[float, int, Kind, int, float]] = []
    for k, label in enumerate(labels):
        draws, seen = est.sizes[label], sum(allowed[k].values())
        if draws and seen:
            heap += [(-float(binom.sf(0, draws, times / seen)), 0, (grid, k + 1), draws,
                      times / seen) for grid, times in allowed[k].items()]
    heapq.heapify(heap)
    found: list[Kind] = []
    while heap and len(found) < est.sizes[rel.TOTAL]:
        _gain, copies, kind, draws, f = heapq.heappop(heap)
        found.append(kind)
        heapq.heappush(heap, (-float(binom.sf(copies + 1, draws, f)), copies + 1, kind, draws, f))
    return Attack(found, time.perf_counter() - start, "optimal")


# ----------------------------------------------------------------------------- scores


def recovered(found: Sequence[Household], truth: Sequence[Household]) -> int:
    """Households rebuilt exactly: the size of the multiset intersection of the grids."""
    return sum((Counter(found) & Counter(truth)).values())


def consistent(cfg: SurveyConfig, pub: Published, method: str, households: Sequence[Kind],
               ckm: dict[int, tuple[int, int]] | None = None) -> list[str]:
    """What `households` contradict in the attacker's knowledge of `pub` (empty: they could be
    the truth): every published count's interval, the completed dwellings, a person aged 15+
    present in each household, persons present within the size class."""
    adult = {b.code for b in cfg.age_bands if b.low >= cfg.rules.adult_age}
    labels = [str(k) for k in range(1, SIZE_CLASSES)] + [f"{SIZE_CLASSES}+"]
    wrong: list[str] = []

    def within(what: str, true: int, published_value: int,
               noise: tuple[str, object] = ("", "")) -> None:
        lo, hi = interval(cfg, method, published_value, ckm, pub.sigma.get(noise, 0.0))
        if not lo <= true <= hi:
            wrong.append(f"{what}: {true} not in [{lo}, {hi}] (published {published_value})")

    for key, value in sorted(pub.counts.items()):
        true = sum(n for grid, _k in households for cell, n in zip(cfg.cells, grid, strict=True)
                   if key[0] in (rel.TOTAL, cell[0]) and key[1] in (rel.TOTAL, cell[1]))
        within(f"persons {key}", true, value, ("persons", key))
    for k, label in enumerate(labels, start=1):
        within(f"households of size {label}", sum(s == k for _g, s in households),
               pub.sizes[label], ("sizes", label))
    within("households", len(households), pub.sizes[rel.TOTAL], ("sizes", rel.TOTAL))
    if len(households) < pub.completed:
        wrong.append(f"{len(households)} households in {pub.completed} completed dwellings")
    for grid, size in households:
        if not any(n for cell, n in zip(cfg.cells, grid, strict=True) if cell[1] in adult):
            wrong.append(f"no one aged {cfg.rules.adult_age}+ present: {grid}")
        if sum(grid) > (BIG if size == SIZE_CLASSES else size):
            wrong.append(f"{sum(grid)} present in a household of size class {size}")
    return wrong


def expected_draw(truth: Sequence[Household], pool: Counter[Household],
                  draws: int | None = None) -> float:
    """Expected score of `draws` (default len(truth)) households drawn without replacement
    from `pool`."""
    size = sum(pool.values())
    draws = len(truth) if draws is None else draws
    if size == 0 or draws == 0:
        return 0.0
    draws = min(draws, size)
    score = 0.0
    for kind, wanted in Counter(truth).items():
        have = pool.get(kind, 0)
        if have:
            score += float(sum(hypergeom.sf(i - 1, size, have, draws)
                               for i in range(1, wanted + 1)))
    return score


def best_guess(households: int, pool: Counter[Household]) -> list[Household]:
    """The `households` types with the largest expected score when the unit's households are
    drawn from `pool`'s frequencies: copy j+1 of a type is worth P(Binomial(n, f) > j)."""
    size = sum(pool.values())
    if size == 0:
        return []
    heap = [(-float(binom.sf(0, households, k / size)), 0, kind) for kind, k in pool.items()]
    heapq.heapify(heap)
    out: list[Household] = []
    while heap and len(out) < households:
        _gain, copies, kind = heapq.heappop(heap)
        out.append(kind)
        nxt = float(binom.sf(copies + 1, households, pool[kind] / size))
        heapq.heappush(heap, (-nxt, copies + 1, kind))
    return out


# ----------------------------------------------------------------------------- a run


ATTACKERS = ("tables", "prior", "screened")
"""`tables`: the published tables alone (the program in the module docstring); `prior`: the
same program preferring household kinds that are common in the other units (what a public
sample or an earlier census would give); `screened`: the best guess from those frequencies,
restricted by the tables (`screened`)."""


@dataclass
class UnitResult:
    unit: str
    households: int
    recovered: int
    seconds: float
    status: str
    found: int
    fits: bool
    """The attacker's households give every published table (within the method's intervals)."""


@dataclass
class Figures:
    regime: str
    method: str
    attacker: str
    results: list[UnitResult]
    draw: list[float]
    """Per unit, the households the `draw` baseline matches (expected)."""
    guess: list[int]
    """Per unit, the households the `guess` baseline matches."""

    @property
    def households(self) -> int:
        return sum(r.households for r in self.results)

    @property
    def share(self) -> float:
        return sum(r.recovered for r in self.results) / max(1, self.households)

    @property
    def mean(self) -> float:
        return sum(r.recovered / r.households for r in self.results) / max(1, len(self.results))

    @property
    def draw_share(self) -> float:
        return sum(self.draw) / max(1, self.households)

    @property
    def guess_share(self) -> float:
        return sum(self.guess) / max(1, self.households)


@dataclass(frozen=True)
class Settings:
    districts: int = 30
    """Size of the population: districts of tiny areas (household targets summing to 48+)."""
    units: int = 24
    """Published (combined) units attacked."""
    tiny: int = 120
    """Tiny areas attacked, each published alone."""
    seed: int = 2026
    time_limit: float = 10.0
    max_households: int = 80
    methods: tuple[str, ...] = METHODS
    attackers: tuple[str, ...] = ("tables", "screened")
    regimes: tuple[str, ...] = REGIMES


def choose(truth: dict[str, list[Kind]], regime: str, units: int, seed: int,
           max_households: int) -> list[str]:
    """The units attacked: tiny areas of 3-15 households, or published units up to
    `max_households` (the combined units of the smallest areas)."""
    if regime == "tiny":
        fit = sorted(u for u, hs in truth.items() if 3 <= len(hs) <= 15)
    else:
        fit = sorted(u for u, hs in truth.items() if 0 < len(hs) <= max_households)
    return sorted(random.Random(seed).sample(fit, min(units, len(fit))))


def run_regime(store: Store, regime: str, s: Settings, log: bool = False) -> list[Figures]:
    """Publish the population under each method and attack the chosen units (regime tiny: also
    every area of 1 or 2 households, as "tiny 1-2")."""
    cfg = store.config
    groups = members(store)
    truth = true_households(store, groups)
    chosen = {regime: choose(truth, regime, s.units if regime == "published" else s.tiny,
                             s.seed, s.max_households)}
    if regime == "tiny":
        chosen["tiny 1-2"] = sorted(u for u, ks in truth.items() if 1 <= len(ks) <= 2)
    everyone = Counter(k for ks in truth.values() for k in ks)
    grids = Counter(g for g, _k in everyone.elements())
    prior, pools, grids_of = {}, {}, {}
    for u in {u for us in chosen.values() for u in us}:
        mine = [g for g, _k in truth[u]]
        others = grids - Counter(mine)
        pools[u], grids_of[u] = others, mine
        prior[u] = everyone - Counter(truth[u])

    # The baselines put forward as many households as the attacker did: an attacker whose
    # published total is noisy (dp) may put forward more than there are, and each one more is
    # one more chance to match; the baselines get the same chances.
    def guessed(r: UnitResult) -> int:
        return recovered(best_guess(r.found or r.households, pools[r.unit]),
                         grids_of[r.unit])

    def drawn(r: UnitResult) -> float:
        return expected_draw(grids_of[r.unit], pools[r.unit], r.found or r.households)
    ckm = intervals(cfg, "ckm")
    if log:
        for name, units in chosen.items():
            sizes = sorted(len(truth[u]) for u in units) or [0]
            print(f"{name}: {len(groups)} published units, {sum(everyone.values())} households; "
                  f"attacking {len(units)} units of {sizes[0]}-{sizes[-1]} households "
                  f"(median {sizes[len(sizes) // 2]})", flush=True)
    out: list[Figures] = []
    for method in s.methods:
        pubs = published(store, method)
        for name, units in chosen.items():
            for u in units:
                wrong = consistent(cfg, pubs[u], method, truth[u], ckm)
                if wrong:
                    raise AssertionError(f"the attacker's knowledge excludes the truth of {u} "
                                         f"under {method}: {wrong[:3]}")
            for attacker in s.attackers:
                results = []
                for u in units:
                    if attacker == "screened":
                        got = screened(cfg, pubs[u], method, prior[u], ckm)
                    else:
                        got = attack(cfg, pubs[u], method, s.time_limit, ckm,
                                     prior[u] if attacker == "prior" else None)
                    fits = attacker != "screened" and got.status != "none found" and not \
                        consistent(cfg, pubs[u], method, got.households, ckm)
                    results.append(UnitResult(
                        u, len(truth[u]), recovered([g for g, _k in got.households],
                                                    [g for g, _k in truth[u]]),
                        got.seconds, got.status, len(got.households), fits))
                out.append(Figures(name, method, attacker, results,
                                   [drawn(r) for r in results], [guessed(r) for r in results]))
                if log:
                    print("  " + table(out[-1:])[1], flush=True)
    return out


def run(s: Settings, log: bool = False) -> list[Figures]:
    """The same population (same seed) published in each regime, attacked."""
    out: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="census-reconstruct-") as tmp:
        kinds: list[Counter[Kind]] = []
        for regime in s.regimes:
            cfg = config(0, 0) if regime == "tiny" else config(100, 40)
            store = build(Path(tmp) / f"{regime}.db", cfg, s.districts, s.seed)
            try:
                kinds.append(Counter(k for ks in true_households(store, members(store)).values()
                                     for k in ks))
                out += run_regime(store, regime, s, log)
            finally:
                store.close()
        if len(kinds) > 1 and kinds[0] != kinds[1]:
            raise AssertionError("the two regimes do not hold the same population")
    return out


def by_size(f: Figures, buckets: Sequence[tuple[int, int]] = ((3, 6), (7, 10), (11, 15))
            ) -> list[Figures]:
    """The same figures for units of `low`-`high` households (regime tiny), named by bucket."""
    out = []
    for low, high in buckets:
        keep = [i for i, r in enumerate(f.results) if low <= r.households <= high]
        if keep:
            out.append(Figures(f"{low}-{high} hh", f.method, f.attacker,
                               [f.results[i] for i in keep], [f.draw[i] for i in keep],
                               [f.guess[i] for i in keep]))
    return out


def ratio(a: float, b: float) -> str:
    """a / b, or "-" when b (a share of households) is below 0.5 %: no ratio to speak of."""
    return f"{a / b:.1f}x" if b >= 0.005 else "-"


def table(figures: Sequence[Figures]) -> list[str]:
    head = (f"{'regime':<10}{'method':<7}{'attacker':<9}{'units':>6}{'hh':>6}{'exact':>7}"
            f"{'mean/u':>8}{'draw':>7}{'guess':>7}{'x draw':>7}{'x guess':>8}{'solve s':>8}"
            f"{'max s':>7}{'limit':>6}{'none':>5}{'fit':>5}")
    lines = [head]
    for f in figures:
        secs = [r.seconds for r in f.results]
        lines.append(
            f"{f.regime:<10}{f.method:<7}{f.attacker:<9}{len(f.results):>6}{f.households:>6}"
            f"{f.share:>7.1%}{f.mean:>8.1%}{f.draw_share:>7.1%}{f.guess_share:>7.1%}"
            f"{ratio(f.share, f.draw_share):>7}{ratio(f.share, f.guess_share):>8}"
            f"{sum(secs) / max(1, len(secs)):>8.2f}{max(secs, default=0):>7.1f}"
            f"{sum(r.status == 'time limit' for r in f.results):>6}"
            f"{sum(r.status == 'none found' for r in f.results):>5}"
            f"{sum(r.fits for r in f.results) if f.attacker != 'screened' else '-':>5}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    d = Settings()
    parser.add_argument("--units", type=int, default=d.units,
                        help="published (combined) units attacked")
    parser.add_argument("--tiny", type=int, default=d.tiny,
                        help="tiny areas attacked (each published alone)")
    parser.add_argument("--districts", type=int, default=d.districts,
                        help="population: districts of tiny areas (about 48 households each)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--time-limit", type=float, default=d.time_limit,
                        help="seconds per solve")
    parser.add_argument("--max-households", type=int, default=d.max_households,
                        help="largest published unit attacked")
    parser.add_argument("--regimes", default=",".join(d.regimes))
    parser.add_argument("--methods", default=",".join(d.methods))
    parser.add_argument("--attackers", default=",".join(d.attackers))
    args = parser.parse_args()
    chosen: dict[str, tuple[str, ...]] = {}
    for name, known in (("regimes", REGIMES), ("methods", METHODS), ("attackers", ATTACKERS)):
        chosen[name] = tuple(v for v in getattr(args, name).split(",") if v)
        for v in chosen[name]:
            if v not in known:
                parser.error(f"unknown {name[:-1]} {v!r}; choose from {', '.join(known)}")
    s = Settings(args.districts, args.units, args.tiny, args.seed, args.time_limit,
                 args.max_households, chosen["methods"], chosen["attackers"], chosen["regimes"])
    start = time.perf_counter()
    print("exact: households rebuilt exactly / true households (all units attacked); mean/u: "
          "the same per unit,\naveraged; draw, guess: the baselines (no table of the unit); "
          "x: exact / baseline; solve s: mean\nseconds per unit; limit: solves stopped by the "
          "time limit (best found scored); none: no solution found\n", flush=True)
    figures = run(s, log=True)
    print()
    for line in table(figures):
        print(line)
    tiny = [by_size(f) for f in figures if f.regime == "tiny"]
    if tiny:
        print("\nregime tiny by unit size (households):")
        for line in table([b for bucket in zip(*tiny, strict=True) for b in bucket])[1:]:
            print(line)
    print(f"\ntotal {time.perf_counter() - start:.0f} s (seed {s.seed}, {s.districts} districts, "
          f"time limit {s.time_limit:g} s per solve)")


if __name__ == "__main__":
    main()
