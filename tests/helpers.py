"""What tests in every folder share that is not a fixture: the database keys, a small area
register, records as JSON, an enumerator's database, and one `census` command run in-process."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from census.cli import cli
from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.model import Area, Role
from census.storage.areas import import_areas
from census.storage.store import Store

#: A raw SQLCipher key ("x'" + 64 hex digits + "'"): SQLCipher takes it as the key itself and
#: skips the PBKDF2 derivation a passphrase costs (about 0.1 s per open). Every database of the
#: tests is made and opened with it, in-process and through CENSUS_PASSPHRASE, unless the
#: passphrase itself is under test.
RAW_KEY = "x'" + "2b" * 32 + "'"
#: A real passphrase, for the tests of passphrases: the prompt, a wrong one, the file, the
#: derivation, and the search for it in what census writes.
PASSPHRASE = "correct horse battery staple"

AREAS = [
    Area("R01", "region", "North"),
    Area("R01-D01", "district", "Riverside District", "R01"),
    Area("R01-D01-EA001", "ea", "Riverside 1", "R01-D01", 120, "E001"),
    Area("R01-D01-EA002", "ea", "Riverside 2", "R01-D01", 80, "E002"),
]
EA = "R01-D01-EA001"


def key_pragma(key: str) -> str:
    """`PRAGMA key = '…'` for a connection opened with sqlcipher3 directly, the key quoted as
    census.storage.connection quotes it (a raw key's own quotes doubled)."""
    return "PRAGMA key = '" + key.replace("'", "''") + "'"


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


def enumerator_db(path: Path, key: str = RAW_KEY) -> Path:
    """An enumerator's database (E001) at `path` with one enumeration area, EA001 (40
    dwellings expected), closed: what the app and the processes of the hardening suite open."""
    store = Store.create(path, key, default_config(), Role.ENUMERATOR, "E001")
    import_areas(store, [Area("R01", "region", "North"),
                         Area("R01-D01", "district", "Riverside", "R01"),
                         Area(EA, "ea", "Riverside 1", "R01-D01", 40, "E001")], "E001")
    store.close()
    return path


def run_cli(runner: CliRunner, *args: str | Path) -> Result:
    """One `census` command in-process: no traceback, no exception but click's exit."""
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unexpected exception: {result.exception!r}\n{result.output}")
    return result


class Ticking:
    """A clock that moves `step` seconds at each reading, from `start`."""

    def __init__(self, start: datetime, step: int = 5) -> None:
        self.at = start
        self.step = timedelta(seconds=step)

    def __call__(self) -> datetime:
        self.at += self.step
        return self.at
