"""Person record keys: stable under raising a count, bounded, seed-dependent, in cell order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from census.domain.config import default_config
from census.domain.keys import MOD, cell_key_sum, key_sums, person_key

CFG = default_config()
SEED = bytes(range(16))
CELL = ("female", "0-4")


def test_raising_a_count_keeps_the_first_persons_keys() -> None:
    two = cell_key_sum(SEED, CELL, 2)
    three = cell_key_sum(SEED, CELL, 3)
    assert three == (two + person_key(SEED, CELL, 2)) % 2**32
    assert two == (person_key(SEED, CELL, 0) + person_key(SEED, CELL, 1)) % 2**32


def test_zero_count_is_zero() -> None:
    assert cell_key_sum(SEED, CELL, 0) == 0
    assert key_sums(SEED, CFG.cells, {}) == [0] * len(CFG.cells)


def test_keys_are_deterministic_and_bounded() -> None:
    assert MOD == 2**32
    keys = [person_key(SEED, cell, i) for cell in CFG.cells for i in range(5)]
    assert all(0 <= k < 2**32 for k in keys)
    assert keys == [person_key(SEED, cell, i) for cell in CFG.cells for i in range(5)]
    # Distinct (cell, index) pairs give distinct keys here (a 32-bit clash is very unlikely).
    assert len(set(keys)) == len(keys)


def test_different_seeds_give_different_keys() -> None:
    other = bytes(range(1, 17))
    assert person_key(SEED, CELL, 0) != person_key(other, CELL, 0)
    assert cell_key_sum(SEED, CELL, 4) != cell_key_sum(other, CELL, 4)
    assert key_sums(SEED, CFG.cells, {CELL: 1}) != key_sums(other, CFG.cells, {CELL: 1})


def test_same_index_in_different_cells_differs() -> None:
    assert person_key(SEED, ("female", "0-4"), 0) != person_key(SEED, ("male", "0-4"), 0)
    assert person_key(SEED, ("female", "0-4"), 0) != person_key(SEED, ("female", "5-14"), 0)


def test_key_sums_follow_config_cell_order() -> None:
    counts = {("male", "65+"): 2, ("female", "0-4"): 1, ("female", "15-24"): 3}
    sums = key_sums(SEED, CFG.cells, counts)
    assert len(sums) == len(CFG.cells)
    for i, cell in enumerate(CFG.cells):
        assert sums[i] == cell_key_sum(SEED, cell, counts.get(cell, 0))
    assert sums[0] != 0 and sums[-1] != 0
    assert sums[1] == 0
    reversed_cells = tuple(reversed(CFG.cells))
    assert key_sums(SEED, reversed_cells, counts) == list(reversed(sums))


@settings(max_examples=200)
@given(seed=st.binary(min_size=16, max_size=16), cell=st.sampled_from(CFG.cells),
       count=st.integers(min_value=0, max_value=60))
def test_count_raise_property(seed: bytes, cell: tuple[str, str], count: int) -> None:
    total = cell_key_sum(seed, cell, count)
    assert 0 <= total < 2**32
    assert cell_key_sum(seed, cell, count + 1) == (total + person_key(seed, cell, count)) % 2**32
    assert total == sum(person_key(seed, cell, i) for i in range(count)) % 2**32
    assert 0 <= person_key(seed, cell, count) < 2**32
