"""Privacy at rest (issue 6, part 4): a whole field operation with the real `census` command, in a
sandbox whose HOME, TMPDIR and XDG folders are its own, then a search of every byte of every file
the program wrote (databases, -wal and -shm files, bundles, assignments, receipts, key cards,
exported tables in CSV, JSON and Parquet, anything in the temp, cache, state or config folders)
for three things planted at the start:
- a canary locator (a dwelling's landmark);
- a distinctive count pattern (one household of 2, 3, 4 … 9 women across the age bands), as the
  JSON text a form carries, as the bytes SQLite writes for such a row, and as a table row would
  print it;
- the passphrase.
None may appear in plaintext anywhere (the passphrase file and the forms file are the user's
input, not the program's output), nor the passphrase in any output or process title. After the
receipt and the area's close-out, the canary is in no table of any database either: the purge
reached every level. (That the purged bytes are gone from the database files, not only from the
tables, is tests/usecases/test_purge.py, on unencrypted databases, where a search can see.)

Each needle is first shown to be findable: the forms file holds the JSON, a plain SQLite file
the row bytes; so an empty search means the bytes are absent, not that the search is blind.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import string
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from census.domain.ids import new_id
from census.storage.settings import put_setting
from census.storage.store import Store
from tests.hardening import crash
from tests.hardening.tally import count
from tests.helpers import PASSPHRASE
from tests.usecases.fieldwork import tables_holding

EA = "R01-D01-EA001"
BANDS = ["0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65+"]
PATTERN = dict(zip(BANDS, range(2, 10), strict=True))  # women: 2, 3, 4 … 9 by age band
PATTERN_HOUSEHOLD = new_id()
# The sandbox's own folders: where a program puts its data, caches, logs and temporary files.
FOLDERS = ("HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
           "XDG_STATE_HOME", "XDG_RUNTIME_DIR")


def token(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


@dataclass
class Sandbox:
    root: Path
    passphrase: str
    canary: str
    inputs: set[Path] = field(default_factory=set)
    outputs: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.root / "work"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "CENSUS_"))}
        for name in FOLDERS:
            env[name] = str(self.root / name.lower())
        return env

    def census(self, *args: str | Path) -> str:
        """One real command with --passphrase-file; its process title is read while it runs."""
        argv = crash.census_argv(*args, "--passphrase-file", self.work / "pass.txt")
        proc = subprocess.Popen(argv, cwd=self.work, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            self.titles.append(Path(f"/proc/{proc.pid}/cmdline").read_bytes()
                               .replace(b"\0", b" ").decode(errors="replace"))
            self.titles.append(Path(f"/proc/{proc.pid}/comm").read_text(errors="replace"))
        except OSError:  # it ended already
            pass
        out, err = proc.communicate(timeout=120)
        self.outputs.append(out + err)
        assert proc.returncode == 0, (args, out, err)
        count("at rest: commands run")
        return out

    def written(self) -> Iterator[Path]:
        """Every file under the sandbox but the user's own input files."""
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path not in self.inputs:
                yield path


def needles(box: Sandbox) -> dict[str, bytes]:
    women = json.dumps(PATTERN)[1:-1]  # "0-4": 2, "5-14": 3, …
    return {
        "canary": box.canary.encode(),
        "canary (UTF-16)": box.canary.encode("utf-16-le"),
        "count pattern (JSON)": women.encode(),
        "count pattern (compact JSON)": women.replace(": ", ":").replace(", ", ",").encode(),
        "count pattern (a table row)": b"2,3,4,5,6,7,8,9",
        "count pattern (SQLite row bytes)": bytes(range(2, 10)),
        "passphrase": box.passphrase.encode(),
        "passphrase (UTF-16)": box.passphrase.encode("utf-16-le"),
    }


def search(box: Sandbox) -> dict[str, list[str]]:
    """Which needles are in which written files."""
    found: dict[str, list[str]] = {}
    wanted = needles(box)
    for path in box.written():
        data = path.read_bytes()
        count("at rest: file searches")
        for name, needle in wanted.items():
            if needle in data:
                found.setdefault(name, []).append(str(path.relative_to(box.root)))
    return found


def forms_lines(canary: str) -> str:
    """The canary's dwelling with the pattern household, and 49 ordinary ones (2 adults, a
    child), so that the area is large enough to be published (100 persons, 40 households)."""
    lines = [{
        "id": new_id(), "area": EA, "structure": 1, "dwelling": 1, "locator": canary,
        "visits": [{"attempt": 1, "at": "2026-11-20T10:00", "outcome": "completed"}],
        "households": [{"id": PATTERN_HOUSEHOLD, "number": 1, "status": "complete",
                        "residents": {"female": PATTERN},
                        "overrides": {"W001": "observed_by_enumerator"}}]}]
    for s in range(2, 51):
        lines.append({
            "id": new_id(), "area": EA, "structure": s, "dwelling": 1,
            "visits": [{"attempt": 1, "at": "2026-11-20T11:00", "outcome": "completed"}],
            "households": [{"id": new_id(), "number": 1, "status": "complete",
                            "residents": {"female": {"25-34": 1, "0-4": 1},
                                          "male": {"25-34": 1}}}]})
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    root = tmp_path_factory.mktemp("rest")
    sandbox = Sandbox(root, token("pass-phrase-"), token("CANARY-"))
    for name in FOLDERS:
        (root / name.lower()).mkdir()
    sandbox.work.mkdir()
    inputs = {"pass.txt": sandbox.passphrase + "\n",
              "areas.csv": "code,parent,level,name,expected_dwellings,enumerator\n"
                           "R01,,region,North,,\nR01-D01,R01,district,Riverside District,,\n"
                           f"{EA},R01-D01,ea,Riverside 1,50,\n",
              "forms.jsonl": forms_lines(sandbox.canary)}
    for name, text in inputs.items():
        (sandbox.work / name).write_text(text)
        (sandbox.work / name).chmod(0o600)  # a passphrase file must be the owner's only
        sandbox.inputs.add(sandbox.work / name)
    return sandbox


def test_the_needles_are_findable(box: Sandbox, tmp_path: Path) -> None:
    """The search finds each pattern where it is in the clear: the JSON in the forms file, the
    row bytes in a plain SQLite file holding the counts as census stores them."""
    forms = (box.work / "forms.jsonl").read_bytes()
    wanted = needles(box)
    assert wanted["canary"] in forms and wanted["count pattern (JSON)"] in forms
    plain = tmp_path / "plain.db"
    with sqlite3.connect(plain) as conn:
        cols = ", ".join(f"n_{i:02d} INTEGER" for i in range(16))
        conn.execute(f"CREATE TABLE household (id TEXT, {cols})")
        conn.execute("INSERT INTO household VALUES (?" + ", ?" * 16 + ")",
                     ["x", *range(2, 10), *[0] * 8])
    conn.close()
    assert wanted["count pattern (SQLite row bytes)"] in plain.read_bytes()


def test_a_field_operation_leaves_nothing_in_the_clear(box: Sandbox) -> None:
    """Office, supervisor and enumerator, from the area register to published tables (the
    walk-through of README, with a canary): nothing planted is in the clear in any file, at any
    step; the passphrase is in no file, output or process title; no log or temp file is left."""
    c = box.census
    c("init", "--db", "office.db", "--role", "office", "--user", "HQ")
    c("area", "import", "--db", "office.db", "areas.csv")
    c("keys", "init", "--db", "office.db")
    for db, role, user in (("supervisor.db", "supervisor", "S01"),
                           ("enumerator.db", "enumerator", "E001")):
        c("init", "--db", db, "--role", role, "--user", user)
        c("keys", "init", "--db", db)
        c("keys", "show", "--db", db, "--out", f"{user}.card")
    c("assign", "--db", "office.db", "--user", "S01", "--areas", "R01-D01", "--to", "S01.card",
      "--out", "S01.assignment")
    # The first file from the level above needs its sender's fingerprint (read aloud).
    c("assignment", "import", "--db", "supervisor.db", "S01.assignment", "--expect-fingerprint",
      c("keys", "show", "--db", "office.db", "--fingerprint").strip())
    c("assign", "--db", "supervisor.db", "--enumerator", "E001", "--areas", EA, "--to",
      "E001.card", "--out", "E001.assignment")
    c("assignment", "import", "--db", "enumerator.db", "E001.assignment", "--expect-fingerprint",
      c("keys", "show", "--db", "supervisor.db", "--fingerprint").strip())
    c("forms", "import", "--db", "enumerator.db", "forms.jsonl")
    steps = {"after the forms were entered": search(box)}
    with crash.opened(box.work / "enumerator.db", box.passphrase) as store:
        assert tables_holding(store, box.canary) == ["dwelling"]  # it is there, encrypted
    c("bundle", "export", "--db", "enumerator.db", "--out", "E001-1.bundle")
    c("bundle", "import", "--db", "supervisor.db", "E001-1.bundle")
    c("review", "approve", "--db", "supervisor.db", PATTERN_HOUSEHOLD)
    steps["after the bundle was merged"] = search(box)
    c("receipt", "export", "--db", "supervisor.db", "--enumerator", "E001", "--out",
      "E001-1.receipt")
    c("receipt", "import", "--db", "enumerator.db", "E001-1.receipt")
    c("area", "close", "--db", "supervisor.db", EA)
    c("bundle", "export", "--db", "supervisor.db", "--out", "S01-1.bundle")
    c("bundle", "import", "--db", "office.db", "S01-1.bundle")
    for fmt in ("csv", "json", "parquet"):
        for db in ("supervisor.db", "office.db"):
            c("export", "tables", "--db", db, "--level", "ea", "--format", fmt, "--out",
              f"{db}-{fmt}")
    c("export", "tables", "--db", "office.db", "--level", "ea", "--method", "none",
      "--not-for-publication", "--out", "exact")
    c("export", "ledger", "--db", "office.db")
    c("progress", "--db", "office.db")
    steps["at the end"] = search(box)

    # With the databases open and written to, their -wal and -shm files are there too.
    stores = [Store.open(box.work / db, box.passphrase)
              for db in ("office.db", "supervisor.db", "enumerator.db")]
    try:
        for store in stores:
            put_setting(store, "at-rest-test", "1")
            assert tables_holding(store, box.canary) == [], store.path  # purged everywhere
            assert store.conn.execute("PRAGMA temp_store").fetchone() == (2,)  # memory
        wal = [p.name for p in box.work.iterdir() if p.name.endswith(("-wal", "-shm"))]
        assert len(wal) == 6, wal
        steps["with the databases open"] = search(box)
    finally:
        for store in stores:
            store.close()

    assert steps == {name: {} for name in steps}, steps
    outputs = "\n".join(box.outputs + box.titles)
    assert box.passphrase not in outputs
    assert any("census" in t for t in box.titles), box.titles  # the titles were read
    written = {str(p.relative_to(box.root)) for p in box.written()}
    assert not [p for p in written if not p.startswith("work/")], written  # no log, no temp
    kinds = {Path(p).suffix for p in written}
    assert {".db", ".bundle", ".receipt", ".assignment", ".card", ".csv", ".json",
            ".parquet"} <= kinds, kinds
    count("at rest: files written and searched", len(written))


def test_the_passphrase_is_not_in_a_running_process_title(box: Sandbox) -> None:
    """A longer command (an import of 1,500 forms) is watched while it runs: its command line
    and name never hold the passphrase (it comes from a file, the environment or a prompt,
    never an argument). A real passphrase: it is what is searched for."""
    world = crash.forms_world(box.root / "big", 1200, PASSPHRASE)
    env = {**box.env(), "CENSUS_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen(crash.census_argv("forms", "import", world.forms, "--db",
                                              world.pristine), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = set()
    while proc.poll() is None:
        try:
            seen.add(Path(f"/proc/{proc.pid}/cmdline").read_bytes())
            seen.add(Path(f"/proc/{proc.pid}/comm").read_bytes())
        except OSError:
            break
        time.sleep(0.01)
    assert proc.wait() == 0
    assert seen and not any(PASSPHRASE.encode() in s for s in seen)
