"""Fixtures shared by the folders: an isolated environment for every test, an encrypted store
with a small area register (opened with a raw key; one with a real passphrase for the tests of
passphrases), and a supervisor with an enumerator. Also the hardening figures printed at the
end of a run, summed over the xdist workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from census.domain.config import default_config
from census.domain.model import Role
from census.storage.areas import import_areas
from census.storage.store import Store
from tests.helpers import AREAS, PASSPHRASE, RAW_KEY
from tests.usecases.fieldwork import Site, assign, site

# CI runs the same examples every time (a failure there is reproducible); locally, Hypothesis
# explores new ones on each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the real user's data folder or a passphrase from the environment."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CENSUS_PASSPHRASE", raising=False)
    monkeypatch.delenv("CENSUS_LANG", raising=False)


_DRIFT: list[str] = []
_close = Store.close


def _recounted_close(self: Store) -> None:
    """Every database a test closes: its sums kept per area must equal a recount of its
    households (issue 18), whatever path wrote them. A test that damages them on purpose is
    marked `sums_damaged`."""
    try:
        kept = self.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                                 "'area_sums'").fetchone()[0]
        if kept and not self.conn.in_transaction:
            from census.storage.area_sums import missing_triggers, recount

            wrong = list(recount(self))
            if wrong or missing_triggers(self):
                _DRIFT.append(f"{self.path.name}: {wrong[:5]} {missing_triggers(self)}")
    except Exception:  # a closed or broken connection: the test says what went wrong
        pass
    _close(self)


Store.close = _recounted_close  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _sums_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    _DRIFT.clear()
    yield
    if request.node.get_closest_marker("sums_damaged") is None:
        assert not _DRIFT, f"sums kept per area differ from a recount: {_DRIFT}"
    _DRIFT.clear()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "census.db"


def _store(path: Path, key: str) -> Store:
    s = Store.create(path, key, default_config(), Role.ENUMERATOR, "E001")
    import_areas(s, AREAS, "E001")
    return s


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """Enumerator E001's database at `db_path` with the area register, open (raw key)."""
    s = _store(db_path, RAW_KEY)
    yield s
    s.close()


@pytest.fixture
def passphrase_store(db_path: Path) -> Iterator[Store]:
    """The same database made with the real PASSPHRASE (its key derived from it), for the
    tests of passphrases."""
    s = _store(db_path, PASSPHRASE)
    yield s
    s.close()


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    """A supervisor S01 with the register, and enumerator E001 assigned R01-D01-EA001; both
    databases closed after the test."""
    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(sup, enu, ["R01-D01-EA001"])
    yield sup, enu
    sup.store.close()
    enu.store.close()


# -- the hardening figures (tests/hardening/tally.py) ---------------------------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand this worker's figures to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is None:
        return
    from tests.hardening.tally import NOTES, TALLY

    output["hardening_tally"] = dict(TALLY)
    output["hardening_notes"] = list(NOTES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the xdist controller: add a finished worker's figures to the run's."""
    from tests.hardening.tally import NOTES, TALLY

    output = getattr(node, "workeroutput", None) or {}
    TALLY.update(output.get("hardening_tally", {}))
    NOTES.extend(output.get("hardening_notes", []))


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
