"""The supervisor's count grids in 80×24 whatever the survey's categories: with 18 five-year age
bands and a third sex "Another sex or not stated", the read-only household shows the age bands
in rows (the sexes in rows do not fit), and a review item puts the stored grid above the
incoming one when the two do not fit side by side; every count and every ◆ is within the
width, and a long sex label is shortened with … only when the width requires it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

import tests.usecases.fieldwork as fieldwork
from census.domain.config import SurveyConfig, parse_config
from census.domain.model import Cell, Outcome, Role
from census.storage.exchange.review import review_items
from census.storage.records import select_households
from census.tui.app import CensusApp
from census.tui.screens.pending import HouseholdViewScreen
from census.tui.screens.review import ReviewItemScreen
from census.tui.widgets.count_view import CountView
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.review import decide
from tests.tui import driving
from tests.usecases.fieldwork import NOW, Site

EA = "R01-D01-EA001"
BANDS = [f"{i}-{i + 4}" for i in range(0, 85, 5)] + ["85+"]
OTHER = "Another sex or not stated"
CONFIG = f"""
[persons]
sexes = [
  {{ code = "female", label = "Female" }},
  {{ code = "male", label = "Male" }},
  {{ code = "other", label = "{OTHER}" }},
]
age_bands = [{", ".join(f'"{b}"' for b in BANDS)}]
"""
RESIDENTS: dict[Cell, int] = {("female", "25-29"): 1, ("male", "85+"): 1, ("other", "40-44"): 1}


def custom() -> SurveyConfig:
    return parse_config(CONFIG, "custom")


@pytest.fixture
def crew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, Site]]:
    """A supervisor and its enumerator, both on the custom config; E001 completed household
    4/1/1 (female 25-29, male 85+, other 40-44) and the supervisor has it."""
    monkeypatch.setattr(fieldwork, "default_config", custom)
    sup = fieldwork.site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = fieldwork.site(tmp_path, Role.ENUMERATOR, "E001")
    fieldwork.assign(sup, enu, [EA])
    entry = Entry(enu.store, clock=lambda: NOW)
    did = entry.add_dwelling(EA, 4, 1).dwelling.id
    visited = entry.record_visit(did, Outcome.COMPLETED).dwelling
    assert visited is not None
    h = visited.households[0]
    assert entry.save_household(did, replace(h, residents=RESIDENTS), complete=True).ok
    import_bundle(sup.store, fieldwork.bundle(enu), NOW)
    yield sup, enu
    sup.store.close()
    enu.store.close()


def drawn(grid: CountView) -> list[str]:
    """The grid's lines as drawn in the width it was given."""
    out = io.StringIO()
    Console(file=out, width=grid.content_region.width, color_system=None).print(grid.render())
    return out.getvalue().splitlines()


def line(lines: list[str], first: str) -> list[str]:
    (found,) = [x for x in lines if x.strip().startswith(first)]
    return found.split()


def whole(grid: CountView, width: int, total: int) -> None:
    """The grid is within the terminal's width and draws every band and the total."""
    assert grid.region.x >= 0 and grid.outer_size.width <= width - 2
    assert grid.region.right <= width
    lines = drawn(grid)
    for band in BANDS:
        assert line(lines, band)[0] == band  # never `10…`
    assert line(lines, "Total")[-1] == str(total)


def test_the_read_only_household_puts_the_age_bands_in_rows_when_the_sexes_do_not_fit(
        crew: tuple[Site, Site]) -> None:
    sup, _enu = crew
    ((did, h),) = select_households(sup.store, "1", ())

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(HouseholdViewScreen(did, h.id))
        await pilot.pause()
        grid = app.screen.query_one("#grid", CountView)
        whole(grid, 80, 3)
        lines = drawn(grid)
        assert line(lines, "Age") == ["Age", "Female", "Male", *OTHER.split(), "Total"]
        assert line(lines, "25-29") == ["25-29", "1", "·", "·", "1"]
        assert line(lines, "40-44") == ["40-44", "·", "·", "1", "1"]
        assert line(lines, "85+") == ["85+", "·", "1", "·", "1"]

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))


def test_the_built_in_config_keeps_the_sexes_in_rows(team: tuple[Site, Site]) -> None:
    sup, enu = team
    fieldwork.enter(enu, EA, range(1, 2))
    import_bundle(sup.store, fieldwork.bundle(enu), NOW)
    ((did, h),) = select_households(sup.store, "1", ())

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(HouseholdViewScreen(did, h.id))
        await pilot.pause()
        lines = drawn(app.screen.query_one("#grid", CountView))
        assert line(lines, "Age")[:3] == ["Age", "0-4", "5-14"]
        assert line(lines, "Female")[-1] == "2"

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))


@pytest.fixture
def conflict(crew: tuple[Site, Site]) -> tuple[Site, int]:
    """The supervisor approved 4/1/1 while E001 added two persons of the third sex aged 85+:
    a conflict; the review item's id."""
    sup, enu = crew
    ((did, h),) = select_households(enu.store, "1", ())
    decide(sup.store, h.id, "approved")
    more = {**h.residents, ("other", "85+"): 2}
    assert Entry(enu.store, clock=lambda: NOW).save_household(
        did, replace(h, residents=more), complete=True).ok
    assert import_bundle(sup.store, fieldwork.bundle(enu), NOW).report.conflicts == 1
    (item,) = review_items(sup.store)
    return sup, item.id


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_a_review_item_stacks_the_grids_when_they_do_not_fit_side_by_side(
        conflict: tuple[Site, int], size: tuple[int, int]) -> None:
    sup, item = conflict
    width = size[0]

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReviewItemScreen(item))
        await pilot.pause()
        screen = app.screen
        stored = screen.query_one("#stored-grid", CountView)
        held = screen.query_one("#held-grid", CountView)
        whole(stored, width, 3)
        whole(held, width, 5)
        assert held.region.y >= stored.region.bottom  # stored above incoming
        assert line(drawn(stored), "85+") == ["85+", "·", "1", "·◆", "1"]
        assert line(drawn(held), "85+") == ["85+", "·", "1", "2◆", "3"]
        assert line(drawn(held), "Age") == ["Age", "Female", "Male", *OTHER.split(), "Total"]
        words = str(screen.query_one("#differences", Static).render())
        assert f"{OTHER} 85+: stored 0, incoming 2" in words
        # Every ◆ can be scrolled to: the body scrolls down to the incoming grid's end.
        body = screen.query_one("#body")
        assert body.virtual_size.height >= held.region.bottom - body.region.y
        assert body.virtual_size.width <= body.size.width  # nothing hidden to the right

    driving.drive(sup.store.path, script, now=NOW, size=size)


def test_two_grids_that_fit_stay_side_by_side(conflict: tuple[Site, int]) -> None:
    sup, item = conflict

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReviewItemScreen(item))
        await pilot.pause()
        stored = app.screen.query_one("#stored-grid", CountView)
        held = app.screen.query_one("#held-grid", CountView)
        assert stored.region.right <= held.region.x and held.region.y == stored.region.y
        assert held.region.right <= 140

    driving.drive(sup.store.path, script, now=NOW, size=(140, 40))


def test_a_long_sex_label_is_shortened_only_as_far_as_the_width_requires(
        conflict: tuple[Site, int]) -> None:
    sup, item = conflict

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        app.push_screen(ReviewItemScreen(item))
        await pilot.pause()
        held = app.screen.query_one("#held-grid", CountView)
        lines = drawn(held)
        header = line(lines, "Age")
        assert header[:3] == ["Age", "Female", "Male"] and header[-1] == "Total"
        label = " ".join(header[3:-1])
        assert label.endswith("…") and OTHER.startswith(label[:-1])
        assert held.region.right <= 50
        # One column more would not have fitted: shortened only as far as needed.
        assert max(len(x) for x in lines) >= held.content_region.width - 1
        assert line(lines, "85+") == ["85+", "·", "1", "2◆", "3"]

    driving.drive(sup.store.path, script, now=NOW, size=(50, 24))
