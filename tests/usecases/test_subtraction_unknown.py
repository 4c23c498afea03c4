"""The subtraction check when the sums come from a collection of aggregates (issue 18, from a
review): an area of a unit published before that the collection does not hold closed has no
sums; it must never hide a small known area, nor switch the checks off, and the message says
which areas are unknown."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from census.privacy import differencing
from census.storage.releases import PublishedUnit
from census.usecases.publish import subtraction
from census.usecases.publish.subtraction import SubtractionError, refuse_leftovers

MIN_PERSONS, MIN_HOUSEHOLDS = 100, 40


def _plan(new_units: dict[str, set[str]], sizes: dict[str, tuple[int, int]],
          statuses: dict[str, str]) -> Any:
    """A plan and a collection as refuse_leftovers reads them."""
    class Source:
        def __init__(self) -> None:
            self.statuses = statuses

        def person_totals(self, areas: list[str]) -> Any:
            for a in areas:
                if a in sizes:
                    yield a, sizes[a][1], [sizes[a][0]], [0]

        def listed_areas(self, areas: list[str]) -> list[str]:
            return [a for a in areas if a in sizes]

    return SimpleNamespace(
        config=SimpleNamespace(disclosure=SimpleNamespace(min_persons=MIN_PERSONS,
                                                          min_households=MIN_HOUSEHOLDS)),
        cells={u: f"new-{u}" for u in new_units},
        unit_areas={u: sorted(m) for u, m in new_units.items()},
        request=SimpleNamespace(level="ea"),
        area_sizes={}, area_listed=set(), area_seen=set(), listing_seen=set(),
        source=Source())


def _check(monkeypatch: pytest.MonkeyPatch, published: dict[str, set[str]],
           new_units: dict[str, set[str]], sizes: dict[str, tuple[int, int]],
           statuses: dict[str, str]) -> None:
    monkeypatch.setattr(subtraction, "published_units", lambda store: [
        PublishedUnit(f"old-{c}", "district", c, frozenset(m)) for c, m in published.items()])
    refuse_leftovers(None, _plan(new_units, sizes, statuses))  # type: ignore[arg-type]


def test_an_unknown_area_does_not_hide_a_small_known_one(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """D = {A, K, U} published before; now A alone. K is small (39 households); U is open in
    the collection. Taken as one person and one household, U made K + U large enough and the
    release passed; if U has no household, D - A gives K exactly."""
    with pytest.raises(SubtractionError, match="could give away U by subtraction"):
        _check(monkeypatch, {"D": {"A", "K", "U"}}, {"A": {"A"}},
               {"A": (500, 200), "K": (150, 39)},
               {"A": "closed", "K": "closed", "U": "open"})


def test_many_unknown_areas_are_said_to_be_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A district not collected (17 areas) left of a unit: refused as unknown areas (collect
    them), not as "too many small areas" (publish fewer)."""
    missing = {f"U{i:02}" for i in range(17)}
    with pytest.raises(SubtractionError, match="not in the aggregates"):
        _check(monkeypatch, {"D": {"A"} | missing}, {"A": {"A"}}, {"A": (500, 200)},
               {"A": "closed"})


def test_unknown_areas_do_not_switch_the_linear_check_off(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """P + Q - N gives K (small, known): only the linear check sees it. Published units
    elsewhere whose areas the collection does not hold closed, counted as atoms, pushed the
    check past its limit, and the release passed."""
    monkeypatch.setattr(differencing, "MAX_LINEAR", 6)
    published = {"P": {"X", "K"}, "Q": {"K", "Y"}}
    published.update({f"O{i}": {f"U{i}", f"U{i + 1}"} for i in range(3)})
    new_units = {"N": {"X", "K", "Y"}}
    sizes = {"X": (500, 200), "Y": (500, 200), "K": (30, 10)}
    with pytest.raises(SubtractionError, match="adding and subtracting"):
        _check(monkeypatch, published, new_units, sizes,
               {"X": "closed", "Y": "closed", "K": "closed"})
