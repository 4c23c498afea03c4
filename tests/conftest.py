"""Shared fixtures: an encrypted store in a temporary folder, with a small area register."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.model import Area, Role
from census.storage.areas import import_areas
from census.storage.store import Store

# CI runs the same examples every time (a failure there is reproducible); locally, Hypothesis
# explores new ones on each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PASSPHRASE = "correct horse battery staple"
AREAS = [
    Area("R01", "region", "North"),
    Area("R01-D01", "district", "Riverside District", "R01"),
    Area("R01-D01-EA001", "ea", "Riverside 1", "R01-D01", 120, "E001"),
    Area("R01-D01-EA002", "ea", "Riverside 2", "R01-D01", 80, "E002"),
]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the real user's data folder or a passphrase from the environment."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CENSUS_PASSPHRASE", raising=False)
    monkeypatch.delenv("CENSUS_LANG", raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "census.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store.create(db_path, PASSPHRASE, default_config(), Role.ENUMERATOR, "E001")
    import_areas(s, AREAS, "E001")
    yield s
    s.close()


def household(number: int = 1, **over: Any) -> dict[str, Any]:
    """A valid complete household (2 adults, 1 child) as JSON."""
    h: dict[str, Any] = {"id": new_id(), "number": number, "revision": 1, "status": "complete",
                         "respondent": "member",
                         "residents": {"female": {"25-34": 1, "0-4": 1}, "male": {"25-34": 1}},
                         "away": 0, "visitors": 0}
    h.update(over)
    return h


def dwelling(structure: int = 1, number: int = 1, households: list[dict[str, Any]] | None = None,
             **over: Any) -> dict[str, Any]:
    """A valid dwelling record with one completed visit and one household, as JSON."""
    d: dict[str, Any] = {
        "id": new_id(), "revision": 1, "area": "R01-D01-EA001", "structure": structure,
        "dwelling": number, "type": "house", "occupancy": "occupied",
        "locator": "blue gate by the water tower", "enumerator": "E001",
        "visits": [{"attempt": 1, "at": "2026-11-20T10:00", "outcome": "completed"}],
        "households": households if households is not None else [household()]}
    d.update(over)
    return d


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the hardening figures (trials, fuzz cases, attack results) when any ran."""
    from tests.hardening.tally import NOTES, TALLY

    if not TALLY and not NOTES:
        return
    terminalreporter.section("hardening figures")
    for what, n in sorted(TALLY.items()):
        terminalreporter.write_line(f"{what}: {n}")
    for line in NOTES:
        terminalreporter.write_line(line)
