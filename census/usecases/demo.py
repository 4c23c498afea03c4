"""A synthetic census for trying the app and for benchmarks: areas and dwelling records (pure
generators), and `make_demo`, which writes them into a new database through the intake.

Household sizes and ages follow a young population (mean size about 4.3, one in three persons
under 15); most dwellings are completed, some vacant, refused or waiting for a callback, and the
last area is still being worked, so every screen has something to show. Deterministic per seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from census.domain.config import SurveyConfig, default_config
from census.domain.errors import CensusError
from census.domain.ids import uuid7
from census.domain.model import (
    Area,
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Respondent,
    Role,
    Visit,
)
from census.i18n import _
from census.storage.areas import import_areas
from census.storage.store import Store
from census.usecases.areas import close_area
from census.usecases.forms import store_dwellings
from census.usecases.sources import Via

PLACES = ["Riverside", "Hilltop", "Market Square", "Old Mill", "Lakeview", "Station Road",
          "Green Valley", "North Gate", "Palm Grove", "Stone Bridge", "Sunrise", "Cedar Park",
          "Harbour", "Twin Wells", "Red Cliffs", "Millbrook", "Eastfield", "Kingsway"]
LANDMARKS = ["blue gate by the water tower", "behind the clinic", "corner shop, green door",
             "next to the football ground", "yellow house past the bridge", "near the big tree",
             "opposite the bus stop", "end of the dirt road", None, None, None, None]
SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
SIZE_WEIGHTS = [9, 14, 16, 18, 15, 11, 7, 4, 3, 1.5, 1, 0.5]
DWELLINGS_PER_EA = 150
EAS_PER_DISTRICT = 40
DISTRICTS_PER_REGION = 25

DEMO_PASSPHRASE = "demo"
"""The passphrase of a demo database made without one (it protects nothing: a demo only)."""


@dataclass(frozen=True)
class DemoPlan:
    """How big the demo is."""

    households: int
    areas: list[Area]
    enumerator: str


def _ids(rng: random.Random, when: datetime) -> str:
    return uuid7(int(when.timestamp() * 1000), rng.getrandbits(80))


def plan(config: SurveyConfig, households: int, enumerator: str = "E001",
         mine_only: bool = False) -> DemoPlan:
    """The area hierarchy for about `households` households (three levels, as in the default):
    three enumeration areas per enumerator, or, with `mine_only` (an enumerator's device, which
    holds only the areas assigned to it), every one given to `enumerator`."""
    dwellings = math.ceil(households / 0.84)
    eas = max(3, math.ceil(dwellings / DWELLINGS_PER_EA))
    districts = max(1, math.ceil(eas / EAS_PER_DISTRICT))
    regions = max(1, math.ceil(districts / DISTRICTS_PER_REGION))
    levels = list(config.levels)
    areas: list[Area] = []
    top = levels[0]
    mid = levels[1] if len(levels) > 2 else None
    low = levels[-1]
    for r in range(regions):
        rcode = f"R{r + 1:02d}"
        areas.append(Area(rcode, top, f"{PLACES[r % len(PLACES)]} Region"))
    for d in range(districts):
        rcode = f"R{d // DISTRICTS_PER_REGION + 1:02d}"
        dcode = f"{rcode}-D{d % DISTRICTS_PER_REGION + 1:02d}"
        if mid:
            areas.append(Area(dcode, mid, f"{PLACES[(d + 3) % len(PLACES)]} District", rcode))
    ea_areas = []
    per_ea = math.ceil(dwellings / eas)
    for e in range(eas):
        d = e // EAS_PER_DISTRICT
        rcode = f"R{d // DISTRICTS_PER_REGION + 1:02d}"
        parent = f"{rcode}-D{d % DISTRICTS_PER_REGION + 1:02d}" if mid else rcode
        code = f"{parent}-EA{e % EAS_PER_DISTRICT + 1:03d}"
        who = enumerator if e < 3 or mine_only else f"E{e // 3 + 1:03d}"
        ea_areas.append(Area(code, low, f"{PLACES[e % len(PLACES)]} {e + 1}", parent,
                             expected_dwellings=per_ea + 5, enumerator=who))
    return DemoPlan(households, areas + ea_areas, enumerator)


def _household(rng: random.Random, config: SurveyConfig, number: int, when: datetime
               ) -> Household:
    size = rng.choices(SIZES, SIZE_WEIGHTS)[0]
    bands = config.age_bands
    adult = [b for b in bands if b.low >= config.rules.adult_age]
    # A young population: more weight on the first bands, falling off with age.
    weights = [max(0.4, 3.0 - i * 0.35) for i in range(len(bands))]
    residents: dict[tuple[str, str], int] = {}
    sexes = [s.code for s in config.sexes]
    for i in range(size):
        band = rng.choice(adult[: max(1, len(adult) - 1)]) if i == 0 else rng.choices(
            bands, weights)[0]
        sex = rng.choice(sexes)
        residents[(sex, band.code)] = residents.get((sex, band.code), 0) + 1
    away = 1 if rng.random() < 0.08 and size > 1 else 0
    visitors = 1 if rng.random() < 0.05 else 0
    overrides: dict[str, OverrideReason] = {}
    if size + away > config.rules.large_household:
        overrides["W001"] = OverrideReason.CONFIRMED_WITH_RESPONDENT
    return Household(
        id=_ids(rng, when), number=number, seed=rng.randbytes(16), status=HouseholdStatus.COMPLETE,
        respondent=Respondent.PROXY if rng.random() < 0.07 else Respondent.MEMBER,
        residents=residents, away=away, visitors=visitors, overrides=overrides)


def dwellings(config: SurveyConfig, demo: DemoPlan, now: datetime, seed: int = 2026
              ) -> Iterator[Dwelling]:
    """Dwelling records until about `demo.households` households are counted."""
    rng = random.Random(seed)
    eas = [a for a in demo.areas if a.level == config.levels[-1]]
    target = demo.households
    counted = 0
    per_ea = math.ceil(target / 0.84 / len(eas))
    start = now - timedelta(days=6)
    created = start  # records are created one after another: time-ordered ids, as in the field
    for e, area in enumerate(eas):
        last_area = e == len(eas) - 1
        for n in range(per_ea):
            created += timedelta(milliseconds=rng.randint(5, 50))
            structure, number = n // 2 + 1, n % 2 + 1
            at = start + timedelta(days=rng.randint(0, 5), hours=rng.randint(8, 17),
                                   minutes=rng.randint(0, 59))
            roll = rng.random()
            if (last_area and n >= per_ea * 0.6) or counted >= target:
                visits: tuple[Visit, ...] = ()
                households: tuple[Household, ...] = ()
            elif roll < 0.05:
                visits, households = (Visit(1, at, Outcome.VACANT),), ()
            elif roll < 0.08:
                visits, households = (Visit(1, at, Outcome.REFUSED),), ()
            elif roll < 0.13:
                callback = now.replace(hour=rng.randint(9, 18), minute=0, second=0,
                                       microsecond=0) + timedelta(days=rng.choice([-1, 0, 0, 1]))
                if callback <= at:
                    callback = at + timedelta(hours=3)
                visits, households = (Visit(1, at, Outcome.CALLBACK, callback),), ()
            else:
                count = 2 if rng.random() < 0.04 else 1
                households = tuple(_household(rng, config, i + 1, created) for i in range(count))
                counted += count
                visits = (Visit(1, at, Outcome.COMPLETED),)
                if rng.random() < 0.15:
                    visits = (Visit(1, at - timedelta(days=1), Outcome.NO_ONE_HOME),
                              Visit(2, at, Outcome.COMPLETED))
                # Completed 10 to 59 minutes after the visit (no draw: the demo stays the same).
                households = tuple(replace(h, completed_at=at + timedelta(
                    minutes=10 + (7 * h.number + at.minute) % 50)) for h in households)
            occupancy = Occupancy.VACANT if visits and visits[-1].outcome == "vacant" else (
                Occupancy.OCCUPIED)
            yield Dwelling(
                id=_ids(rng, created), area=area.code, structure=structure, number=number,
                type=rng.choices(list(DwellingType)[:4], [6, 2, 2, 1])[0], occupancy=occupancy,
                locator=rng.choice(LANDMARKS), enumerator=area.enumerator,
                visits=tuple(Visit(v.attempt, v.at, v.outcome, v.callback_at, area.enumerator)
                             for v in visits),
                households=households)


class DemoError(CensusError):
    """The generator made a record the rules refuse (a bug of the generator)."""


@dataclass(frozen=True)
class DemoReport:
    """What a new demo database holds."""

    areas: int
    dwellings: int
    households: int


def make_demo(path: Path, passphrase: str, households: int, role: Role, now: datetime
              ) -> DemoReport:
    """Create the demo database at `path`: the area tree, then the synthetic records through
    the same intake as every other write; a supervisor's demo has every enumeration area but
    the last closed. On any failure the half-made files are removed."""
    config = default_config()
    demo = plan(config, households, mine_only=role is Role.ENUMERATOR)
    supervisor = role is Role.SUPERVISOR
    store = Store.create(path, passphrase, config, role, "S01" if supervisor else demo.enumerator)
    problems: list[str] = []
    try:
        import_areas(store, demo.areas, demo.enumerator)
        with store.bulk():
            report = store_dwellings(store, dwellings(config, demo, now), now=now, via=Via.DEMO,
                                     sink=lambda _line, p: problems.append(str(p)))
        if problems:
            raise DemoError(_("The demo generator made invalid records: {first}").format(
                first=problems[0]))
        if supervisor:
            eas = sorted(a.code for a in demo.areas if a.level == config.levels[-1])
            for code in eas[:-1]:
                close_area(store, code, leave_open_work=True)
    except BaseException:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    store.close()
    return DemoReport(len(demo.areas), report.dwellings.added, report.households.added)
