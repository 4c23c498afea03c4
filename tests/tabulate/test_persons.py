"""The persons table from stored counts and keys: keys compose, margins are cells of their own,
one household changes only its cells, and RR3 publishes multiples of 3 with zeros kept."""

from __future__ import annotations

from datetime import datetime

from census.domain.keys import MOD, person_key
from census.storage.store import Store
from census.storage.sums import person_sums
from census.tabulate.persons import ALL, PersonCell, cells, protect_rr3
from census.usecases.forms import import_lines
from tests.helpers import dwelling, household, jsonl

NOW = datetime(2026, 11, 28, 12, 0)
EA = "R01-D01-EA001"


def table(store: Store) -> dict[tuple[str, str, str], PersonCell]:
    return {(c.area, c.sex, c.band): c for c in cells(store.config, person_sums(store))}


def fill(store: Store) -> list[dict[str, object]]:
    hhs = [household(residents={"female": {"0-4": 2, "25-34": 1}, "male": {"25-34": 1}}),
           household(residents={"female": {"25-34": 3}, "male": {"65+": 1}}),
           household(residents={"male": {"0-4": 1, "25-34": 2}})]
    records = [dwelling(i + 1, households=[h]) for i, h in enumerate(hhs)]
    import_lines(store, jsonl(*records).splitlines(), now=NOW, sink=lambda n, p: None)
    return records


def person_keys(store: Store, sex: str | None, band: str | None) -> int:
    """The sum of the person keys of every person in the cell, from the households' seeds."""
    total = 0
    cells_ = store.config.cells
    for seed, *counts in store.conn.execute(
            "SELECT seed, " + ", ".join(store.counts) + " FROM household"):
        for (s, b), n in zip(cells_, counts, strict=True):
            if (sex is None or s == sex) and (band is None or b == band):
                total += sum(person_key(seed, (s, b), i) for i in range(n))
    return total % MOD


def test_counts_and_margins(store: Store) -> None:
    fill(store)
    t = table(store)
    assert t[(EA, "female", "25-34")].count == 4
    assert t[(EA, "male", "0-4")].count == 1
    assert t[(EA, "female", ALL)].count == 6
    assert t[(EA, ALL, "25-34")].count == 7
    assert t[(EA, ALL, ALL)].count == 11
    assert len(t) == 16 + 2 + 8 + 1


def test_cell_keys_compose_from_person_keys(store: Store) -> None:
    fill(store)
    t = table(store)
    assert t[(EA, "female", "25-34")].key == person_keys(store, "female", "25-34")
    assert t[(EA, "male", ALL)].key == person_keys(store, "male", None)
    assert t[(EA, ALL, "0-4")].key == person_keys(store, None, "0-4")
    assert t[(EA, ALL, ALL)].key == person_keys(store, None, None)


def test_changing_one_household_changes_only_its_cells(store: Store) -> None:
    records = fill(store)
    before = table(store)
    changed = dict(records[1])
    h = dict(changed["households"][0])  # type: ignore[index]
    h["revision"] = 2
    h["residents"] = {"female": {"25-34": 4}, "male": {"65+": 1}}
    changed["households"] = [h]
    import_lines(store, jsonl(changed).splitlines(), now=NOW, sink=lambda n, p: None)
    after = table(store)
    differ = {k for k in before if before[k] != after[k]}
    assert differ == {(EA, "female", "25-34"), (EA, "female", ALL), (EA, ALL, "25-34"),
                      (EA, ALL, ALL)}
    # The persons already counted keep their keys: the cell key moves by the new person's key.
    seed = store.conn.execute("SELECT seed FROM household WHERE id = ?", (h["id"],)).fetchone()[0]
    added = person_key(seed, ("female", "25-34"), 3)
    assert after[(EA, "female", "25-34")].key == (before[(EA, "female", "25-34")].key + added) % MOD


def test_rr3_publishes_multiples_of_three_and_keeps_zeros(store: Store) -> None:
    fill(store)
    published = list(protect_rr3(table(store).values()))
    assert all(value % 3 == 0 and abs(value - cell.count) < 3 for cell, value in published)
    assert all(value == 0 for cell, value in published if cell.count == 0)
    again = list(protect_rr3(table(store).values()))
    assert again == published  # the same cell is published the same way every time


def test_only_completed_households_and_requested_areas_count(store: Store) -> None:
    fill(store)
    draft = dwelling(9, households=[household(status="draft", residents={"male": {"0-4": 5}})])
    import_lines(store, jsonl(draft).splitlines(), now=NOW, sink=lambda n, p: None)
    assert table(store)[(EA, "male", "0-4")].count == 1
    assert list(person_sums(store, ["R01-D01-EA002"])) == []
