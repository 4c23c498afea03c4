"""Households by size, and tables rolled up to a level of the hierarchy: counts add up, cell
keys are the sums of the persons' keys, margins come from the records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from census.domain.keys import MOD, person_key
from census.storage.records import count_rows
from census.storage.store import Store
from census.storage.sums import dwelling_outcomes, household_sizes, person_sums
from census.tabulate import households as hh
from census.tabulate.persons import ALL
from census.usecases.forms import import_lines
from tests.helpers import dwelling, household, jsonl

NOW = datetime(2026, 11, 28, 12, 0)


def _residents(n: int) -> dict[str, dict[str, int]]:
    adults = min(n, 2)
    out: dict[str, dict[str, int]] = {"female": {"25-34": adults}}
    if n > adults:
        out["male"] = {"5-14": n - adults}
    return out


def fill(store: Store) -> None:
    sizes = {"R01-D01-EA001": [3, 4, 1, 9, 3], "R01-D01-EA002": [2, 12]}
    records: list[dict[str, Any]] = []
    for area, ns in sizes.items():
        for i, n in enumerate(ns):
            h = household(residents=_residents(n))
            if n > 15:
                h["overrides"] = {"W001": "confirmed_with_respondent"}
            records.append(dwelling(i + 1, households=[h], area=area,
                                    enumerator="E001" if area.endswith("1") else "E002"))
    draft = household(residents=_residents(5), status="draft")
    records.append(dwelling(99, households=[draft]))
    report = import_lines(store, jsonl(*records).splitlines(), now=NOW, sink=lambda n, p: None)
    assert report.invalid_lines == 0


def household_key(store: Store, hid: str) -> int:
    seed, *counts = store.conn.execute(
        "SELECT seed, " + ", ".join(store.counts) + " FROM household WHERE id = ?",
        (hid,)).fetchone()
    return sum(person_key(seed, cell, i) for cell, n in zip(store.config.cells, counts,
                                                            strict=True) for i in range(n))


def test_households_by_size_with_keys_and_margin(tabulating: Store) -> None:
    fill(tabulating)
    table = {(c.area, c.size): c for c in hh.cells(household_sizes(tabulating))}
    ea1 = {size: table[("R01-D01-EA001", size)].count for size in
           ["1", "2", "3", "4", "5", "6", "7", "8+", ALL]}
    assert ea1 == {"1": 1, "2": 0, "3": 2, "4": 1, "5": 0, "6": 0, "7": 0, "8+": 1, ALL: 5}
    assert table[("R01-D01-EA002", "8+")].count == 1  # 12 residents
    for (area, size), cell in table.items():
        ids = [r[0] for r in tabulating.conn.execute(
            "SELECT id, usual_residents FROM household WHERE area = ? AND status = 'complete'",
            (area,)) if size == ALL or hh.size_label(r[1]) == size]
        assert cell.count == len(ids)
        assert cell.key == sum(household_key(tabulating, i) for i in ids) % MOD
    assert table[("R01-D01-EA002", "1")] == hh.HouseholdCell("R01-D01-EA002", "1", 0, 0)


def test_a_level_rolls_up_its_areas(tabulating: Store) -> None:
    fill(tabulating)
    eas = list(person_sums(tabulating))
    (district,) = list(person_sums(tabulating, level="district"))
    assert district[0] == "R01-D01"
    width = len(tabulating.counts)
    assert district[1] == [sum(r[1][i] for r in eas) for i in range(width)]
    assert [k % MOD for k in district[2]] == [sum(r[2][i] for r in eas) % MOD
                                              for i in range(width)]
    (region,) = list(person_sums(tabulating, level="region"))
    assert region[1] == district[1]
    sizes = {(c.area, c.size): c.count
             for c in hh.cells(household_sizes(tabulating, level="region"))}
    assert sizes[("R01", ALL)] == 7 and sizes[("R01", "8+")] == 2
    assert list(person_sums(tabulating, ["R01-D01"], level="district")) == [district]
    assert list(household_sizes(tabulating, ["NOPE"], level="district")) == []


def test_dwellings_by_outcome_are_exact_and_roll_up(tabulating: Store) -> None:
    fill(tabulating)
    records = [dwelling(50, visits=[{"attempt": 1, "at": "2026-11-20T10:00",
                                     "outcome": "refused"}], households=[]),
               dwelling(51, visits=[], households=[], area="R01-D01-EA002",
                        enumerator="E002")]
    import_lines(tabulating, jsonl(*records).splitlines(), now=NOW, sink=lambda n, p: None)
    by_ea = {(a, o): n for a, o, n in dwelling_outcomes(tabulating)}
    assert by_ea == {("R01-D01-EA001", "completed"): 6, ("R01-D01-EA001", "refused"): 1,
                     ("R01-D01-EA002", "completed"): 2, ("R01-D01-EA002", "not_visited"): 1}
    by_district = {(a, o): n for a, o, n in dwelling_outcomes(tabulating, level="district")}
    assert by_district == {("R01-D01", "completed"): 8, ("R01-D01", "not_visited"): 1,
                           ("R01-D01", "refused"): 1}
    assert sum(by_district.values()) == count_rows(tabulating, "dwelling")
    assert list(dwelling_outcomes(tabulating, ["R01-D01-EA002"])) == [
        ("R01-D01-EA002", "completed", 2), ("R01-D01-EA002", "not_visited", 1)]
