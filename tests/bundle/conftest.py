"""Fixtures shared by the bundle tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from census.domain.model import Role
from tests.bundle.fieldwork import Site, assign, site


@pytest.fixture
def team(tmp_path: Path) -> tuple[Site, Site]:
    """A supervisor S01 with the register, and enumerator E001 assigned R01-D01-EA001."""
    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(sup, enu, ["R01-D01-EA001"])
    return sup, enu
