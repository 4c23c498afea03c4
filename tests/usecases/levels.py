"""A field operation driven through the real command line (click's runner, in process), for the
black-box tests of authority: an office, supervisors and enumerators, each a database of its
own, moving sealed files as README's walk-through does (raw keys: the passphrase is not under
test)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from census.cli import cli
from census.storage.store import Store
from tests.helpers import RAW_KEY as KEY

EA1, EA2 = "R01-D01-EA001", "R01-D01-EA002"
REGISTER = """code,parent,level,name,expected_dwellings,enumerator
R01,,region,North,,
R01-D01,R01,district,Riverside District,,
R01-D01-EA001,R01-D01,ea,Riverside 1,20,
R01-D01-EA002,R01-D01,ea,Riverside 2,20,
"""
FINGERPRINT = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")


def run(*args: str | Path, ok: bool = True, env: dict[str, str] | None = None) -> Result:
    """One `census` command; with `ok` it must succeed. Never a traceback."""
    runner = CliRunner(env={"CENSUS_PASSPHRASE": KEY, **(env or {})})
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unexpected exception: {result.exception!r}\n{result.output}")
    if ok:
        assert result.exit_code == 0, f"census {' '.join(map(str, args))}:\n{result.output}"
    return result


@dataclass
class Level:
    """One database of the field operation."""

    folder: Path
    role: str
    code: str
    files: list[Path] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.folder / f"{self.code}.db"

    @property
    def card(self) -> Path:
        return self.folder / f"{self.code}.card"

    def fingerprint(self) -> str:
        found = FINGERPRINT.search(run("keys", "show", "--db", self.db).output)
        assert found is not None
        return found.group(0)

    def out(self, kind: str) -> Path:
        path = self.folder / f"{self.code}-{kind}-{len(self.files) + 1}.census"
        self.files.append(path)
        return path

    def __call__(self, *args: str | Path, ok: bool = True) -> Result:
        """A command on this database (`--db` added after the command words)."""
        words = [a for a in args if not str(a).startswith("-")][:2]
        cut = len(words) if words and words[0] in GROUPS else 1
        return run(*args[:cut], "--db", self.db, *args[cut:], ok=ok)


GROUPS = {"area", "forms", "keys", "assignment", "bundle", "receipt", "review", "export",
          "audit"}


def level(tmp: Path, role: str, code: str, register: bool = False) -> Level:
    folder = tmp / code
    folder.mkdir(parents=True, exist_ok=True)
    at = Level(folder, role, code)
    run("init", "--db", at.db, "--role", role, "--user", code)
    if register:
        csv = folder / "areas.csv"
        csv.write_text(REGISTER)
        at("area", "import", csv)
    at("keys", "init")
    at("keys", "show", "--out", at.card)
    return at


def assign(boss: Level, worker: Level, areas: Sequence[str], *, ok: bool = True,
           take: bool = True) -> Path:
    """`census assign` by `boss`, then `census assignment import` by `worker` with the boss's
    fingerprint (compared aloud in real life)."""
    out = boss.out("assignment")
    boss("assign", "--user", worker.code, "--areas", ",".join(areas), "--to", worker.card,
         "--out", out, ok=ok)
    if take and ok:
        worker("assignment", "import", out, "--expect-fingerprint", boss.fingerprint())
    return out


def household(hid: str, revision: int = 1, status: str = "complete", **over: Any
              ) -> dict[str, Any]:
    h: dict[str, Any] = {"id": hid, "number": 1, "revision": revision, "status": status,
                         "residents": {"female": {"25-34": 1, "0-4": 1}, "male": {"25-34": 1}}}
    h.update(over)
    return h


def dwelling(did: str, structure: int, households: list[dict[str, Any]], area: str = EA1,
             revision: int = 1, **over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"id": did, "revision": revision, "area": area, "structure": structure,
                         "dwelling": 1, "locator": "blue gate by the water tower",
                         "visits": [{"attempt": 1, "at": "2026-11-20T10:00",
                                     "outcome": "completed"}],
                         "households": households}
    d.update(over)
    return d


def forms(at: Level, *records: dict[str, Any], ok: bool = True) -> Result:
    path = at.folder / f"forms-{len(at.files) + 1}.jsonl"
    at.files.append(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return at("forms", "import", path, ok=ok)


def send(worker: Level, boss: Level, *, ok: bool = True) -> Result:
    """A bundle from `worker`, imported by `boss`."""
    out = worker.out("bundle")
    worker("bundle", "export", "--out", out)
    return boss("bundle", "import", out, ok=ok)


def uid(n: int) -> str:
    return f"0193a5b2-7c10-7def-8a11-{n:012x}"


@contextmanager
def opened(where: Level | Path) -> Iterator[Store]:
    """The database of a level (or any database file), open for a look, then closed."""
    store = Store.open(where.db if isinstance(where, Level) else where, KEY)
    try:
        yield store
    finally:
        store.close()
