"""A supervisor's database with a synthetic population (the demo generator), most areas closed:
what protected tables are exported from. Opened with the raw key (tests.helpers.RAW_KEY)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from census.domain.config import SurveyConfig, default_config
from census.domain.model import Role
from census.storage.areas import all_areas, import_areas
from census.storage.store import Store
from census.usecases import demo
from census.usecases.areas import close_area
from census.usecases.forms import store_dwellings
from tests.helpers import RAW_KEY

NOW = datetime(2026, 11, 28, 12, 0)


def supervisor(path: Path, households: int = 1500, config: SurveyConfig | None = None,
               keep_open: int = 1, seed: int = 2026) -> Store:
    """A supervisor store holding the demo population; every enumeration area but the last
    `keep_open` is closed."""
    cfg = config or default_config()
    plan = demo.plan(cfg, households)
    store = Store.create(path, RAW_KEY, cfg, Role.SUPERVISOR, "S01")
    import_areas(store, plan.areas, "S01")
    problems: list[str] = []
    with store.bulk():
        store_dwellings(store, demo.dwellings(cfg, plan, NOW, seed=seed), now=NOW,
                        sink=lambda line, p: problems.append(str(p)))
    assert not problems, problems[:3]
    eas = sorted(a.code for a in plan.areas if a.level == cfg.levels[-1])
    for code in eas[:len(eas) - keep_open]:
        close_area(store, code, leave_open_work=True)
    return store


def eas(store: Store) -> list[str]:
    return sorted(a.code for a in all_areas(store) if a.level == store.config.levels[-1])
