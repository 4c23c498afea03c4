"""Person record keys for disclosure control (DESIGN §6), derived from a household's seed.

The key of the i-th person of a (sex, age band) cell is a keyed BLAKE2b of the cell and i, so
raising a count from 2 to 3 keeps the first two persons' keys and adds one; the store keeps,
per household and cell, the sum of its person keys mod 2^32. A cell key of a published table is
the sum of these sums over its records, an aggregate that composes in plain SQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from census.domain.model import Cell

MOD = 2**32


def person_key(seed: bytes, cell: Cell, index: int) -> int:
    """Key in [0, 2^32) of the `index`-th (0-based) person of `cell` in the household."""
    message = f"{cell[0]}|{cell[1]}|{index}".encode()
    return int.from_bytes(hashlib.blake2b(message, key=seed, digest_size=4).digest(), "big")


def cell_key_sum(seed: bytes, cell: Cell, count: int) -> int:
    """Sum mod 2^32 of the keys of the first `count` persons of `cell`."""
    total = 0
    for i in range(count):
        total += person_key(seed, cell, i)
    return total % MOD


def key_sums(seed: bytes, cells: tuple[Cell, ...], counts: Mapping[Cell, int]) -> list[int]:
    """Key sums of every cell, in `cells` order (0 for an empty cell)."""
    return [cell_key_sum(seed, cell, counts[cell]) if counts.get(cell) else 0 for cell in cells]
