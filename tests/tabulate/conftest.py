"""Fixtures of the table tests: a supervisor's database (the level that tabulates), so records
of every area of the register can be entered into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from census.domain.config import default_config
from census.domain.model import Role
from census.storage.areas import import_areas
from census.storage.store import Store
from tests.helpers import AREAS, RAW_KEY


@pytest.fixture
def tabulating(db_path: Path) -> Iterator[Store]:
    """Supervisor S01's database at `db_path` with the area register, open (raw key)."""
    s = Store.create(db_path, RAW_KEY, default_config(), Role.SUPERVISOR, "S01")
    import_areas(s, AREAS, "S01")
    yield s
    s.close()
