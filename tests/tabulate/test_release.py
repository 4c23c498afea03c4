"""Publication units (pure): every closed area is published exactly once, alone when big enough,
else inside a group of its parent's (or a higher ancestor's) small areas; never alone below the
minimum; the same areas are always cut the same way."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from census.tabulate.release import COMBINED, Place, plan_units

MIN_P, MIN_H = 100, 40


@st.composite
def geographies(draw: st.DrawFn) -> tuple[list[Place], dict[str, tuple[int, int]]]:
    places: list[Place] = []
    sizes: dict[str, tuple[int, int]] = {}
    for r in range(draw(st.integers(1, 3))):
        for d in range(draw(st.integers(1, 4))):
            for e in range(draw(st.integers(1, 6))):
                code = f"R{r}-D{d}-E{e}"
                places.append(Place(code, (f"R{r}-D{d}", f"R{r}")))
                households = draw(st.integers(0, 120))
                sizes[code] = (households * draw(st.integers(1, 5)) if households else 0,
                               households)
    return places, sizes


def big(size: tuple[int, int]) -> bool:
    return size[0] >= MIN_P and size[1] >= MIN_H


@given(geographies())
def test_every_area_once_and_no_unit_below_the_minimum(
        geo: tuple[list[Place], dict[str, tuple[int, int]]]) -> None:
    places, sizes = geo
    result = plan_units(places, sizes, MIN_P, MIN_H)
    members = [m for u in result.units for m in u.members]
    assert sorted(members + list(result.withheld)) == sorted(p.code for p in places)
    for unit in result.units:
        total = (sum(sizes[m][0] for m in unit.members), sum(sizes[m][1] for m in unit.members))
        assert big(total), unit
        if unit.combined:
            assert all(not big(sizes[m]) for m in unit.members)
            parent = unit.code.removesuffix(COMBINED)
            assert all(parent in next(p.ancestors for p in places if p.code == m)
                       for m in unit.members)
        else:
            assert unit.members == (unit.code,) and big(sizes[unit.code])
    # What is withheld is too small even with every other small area of its region.
    for code in result.withheld:
        region = code.split("-")[0]
        assert not big(sizes[code])
        grouped = [m for u in result.units if u.code == region + COMBINED for m in u.members]
        assert grouped == []
    assert plan_units(list(reversed(places)), sizes, MIN_P, MIN_H) == result


def test_groups_climb_to_the_grandparent_only_when_needed() -> None:
    places = [Place("R-A-1", ("R-A", "R")), Place("R-A-2", ("R-A", "R")),
              Place("R-B-1", ("R-B", "R")), Place("R-C-1", ("R-C", "R"))]
    sizes = {"R-A-1": (60, 25), "R-A-2": (60, 25), "R-B-1": (50, 20), "R-C-1": (60, 25)}
    result = plan_units(places, sizes, MIN_P, MIN_H)
    assert [(u.code, u.members) for u in result.units] == [
        ("R-A:other", ("R-A-1", "R-A-2")), ("R:other", ("R-B-1", "R-C-1"))]
    assert result.withheld == ()
    alone = plan_units(places[2:3], sizes, MIN_P, MIN_H)
    assert alone.units == () and alone.withheld == ("R-B-1",)


def test_fast_rows_equal_the_cells_of_the_persons_table() -> None:
    """The export lays out persons rows from plain lists; they are exactly the cells and
    margins of `census.tabulate.persons.cells`, protected by exactly `rr3` and `apply`."""
    import random

    from census.domain.config import default_config
    from census.privacy.ptable.generate import generate
    from census.privacy.ptable.table import apply
    from census.privacy.rounding import rr3
    from census.tabulate.persons import ALL, cells
    from census.tabulate.release import TOTAL, Sums, person_rows, protector

    cfg = default_config()
    rng = random.Random(5)
    table = generate(5, 3.0, 2)
    for _ in range(50):
        counts = [rng.choice([0, 0, 1, 2, 3, 7, 40, 800]) for _c in cfg.cells]
        keys = [rng.randrange(2**36) if n else 0 for n in counts]
        sums = Sums(households=3, counts=counts, keys=keys)
        expected = [(c.sex, c.band, c.count, c.key) for c in cells(cfg, [("A", counts, keys)])]
        for method, reference in (("rr3", rr3), ("ckm", lambda n, k: apply(table, n, k))):
            got = list(person_rows(cfg, "ea", "A", sums, protector(method, table)))
            assert [(r[2], r[3]) for r in got] == [
                (TOTAL if s == ALL else s, TOTAL if b == ALL else b) for s, b, _n, _k in expected]
            assert [r[4] for r in got] == [reference(n, k) for _s, _b, n, k in expected]


@settings(max_examples=200, deadline=None)
@given(sizes=st.dictionaries(st.integers(1, 8), st.tuples(st.integers(0, 500),
                                                          st.integers(0, 2**40)), max_size=8))
def test_the_households_digest_is_that_of_the_table_cells(sizes: dict[int, tuple[int, int]]
                                                          ) -> None:
    """The ledger's digest of a unit's households table is made without the cells (it runs
    once per area); it must stay the digest of the cells' values, as stored in ledgers."""
    import hashlib
    import json

    from census.domain.config import default_config
    from census.tabulate.release import Sums, Unit, exact_digest, household_cells

    sums = Sums(sizes=dict(sizes))
    cells = [[c.size, c.count, c.key] for c in household_cells("", sums)]
    expected = hashlib.sha256(json.dumps([["A1"], cells], separators=(",", ":")).encode()
                              ).hexdigest()
    assert exact_digest("households", default_config(), Unit("A1", ("A1",)), sums) == expected
