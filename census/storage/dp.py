"""The differential privacy ledger (issue 17): the noisy counts drawn for each enumeration
area and table (kept, so that a release is published again with the very same values and
every level sums the same noisy counts), and the privacy loss (rho, zCDP) spent on each
area's people so far, against the survey's budget."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from census.storage.store import Store, in_query, utc_now


@dataclass(frozen=True)
class Noise:
    """The noisy counts of one area and table, the digest of the exact data they were drawn
    from, and the rho spent on them."""

    digest: str
    rho: float
    cells: tuple[int, ...]


def stored_noise(store: Store, areas: Sequence[str], table: str) -> dict[str, Noise]:
    """The noisy counts kept for `areas` in `table`."""
    return {area: Noise(digest, float(rho), tuple(json.loads(cells)))
            for area, digest, rho, cells in in_query(
                store, "SELECT area, digest, rho, cells FROM dp_cells WHERE tbl = ? AND area "
                "IN ({marks})", sorted(set(areas)), (table,))}


def spent(store: Store, areas: Sequence[str]) -> dict[str, float]:
    """The rho spent so far on the people of each of `areas` (0 when none)."""
    out = dict.fromkeys(areas, 0.0)
    out.update((area, float(rho)) for area, rho in in_query(
        store, "SELECT area, rho FROM dp_spent WHERE area IN ({marks})", sorted(set(areas))))
    return out


def most_spent(store: Store) -> float:
    """The largest rho spent on any area's people so far."""
    row = store.conn.execute("SELECT max(rho) FROM dp_spent").fetchone()
    return float(row[0] or 0.0)


def save_noise(store: Store, rows: Iterable[tuple[str, str, Noise]], draw: str) -> None:
    """Keep newly drawn noisy counts ((area, table, noise)) in the caller's transaction, and
    add their rho to what each area's people have spent. `draw`: an id of the draw (in the
    form of a release id; the release that first publishes the noise may have another)."""
    now = utc_now()
    for area, table, noise in rows:
        store.conn.execute(
            "INSERT INTO dp_cells (area, tbl, digest, rho, cells, drawn_at, release) VALUES "
            "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (area, tbl) DO UPDATE SET digest = "
            "excluded.digest, rho = excluded.rho, cells = excluded.cells, drawn_at = "
            "excluded.drawn_at, release = excluded.release",
            (area, table, noise.digest, noise.rho, json.dumps(list(noise.cells)), now, draw))
        store.conn.execute(
            "INSERT INTO dp_spent (area, rho) VALUES (?, ?) ON CONFLICT (area) DO UPDATE SET "
            "rho = rho + excluded.rho", (area, noise.rho))
