"""A small field operation for tests: an office, supervisors and enumerators, each with an
encrypted database of its own (opened with the raw key, tests.helpers.RAW_KEY), and the steps
that move files between them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.model import Area, Outcome, Role
from census.formats.payload import encode
from census.storage.areas import import_areas
from census.storage.exchange.peers import peer
from census.storage.store import Store, utc_now
from census.transfer.keys import PublicKey
from census.transfer.seal import seal
from census.usecases.assign import assign_areas, import_assignment
from census.usecases.bundles import audit_statement, export_bundle, import_bundle
from census.usecases.entry import Entry
from census.usecases.keys import card, init_keys, keypair
from tests.helpers import RAW_KEY, run_cli

NOW = datetime(2026, 11, 28, 12, 0)
EA1 = "R01-D01-EA001"
EA2 = "R01-D01-EA002"
REGISTER = [
    Area("R01", "region", "North"),
    Area("R01-D01", "district", "Riverside District", "R01"),
    Area("R01-D01-EA001", "ea", "Riverside 1", "R01-D01", 120),
    Area("R01-D01-EA002", "ea", "Riverside 2", "R01-D01", 80),
    Area("R01-D02", "district", "Hill District", "R01"),
    Area("R01-D02-EA001", "ea", "Hilltop 1", "R01-D02", 100),
    Area("R01-D02-EA002", "ea", "Hilltop 2", "R01-D02", 90),
]


@dataclass
class Site:
    """One level's database and a folder for the files it writes."""

    store: Store
    folder: Path
    counter: int = 0
    files: list[Path] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.store.user

    def out(self, stem: str) -> Path:
        self.counter += 1
        path = self.folder / f"{self.code}-{stem}-{self.counter:03d}.census"
        self.files.append(path)
        return path

    def card(self) -> str:
        return card(self.store).to_text()


def site(tmp: Path, role: Role, code: str, register: bool = False) -> Site:
    folder = tmp / code
    folder.mkdir(parents=True, exist_ok=True)
    s = Store.create(folder / "census.db", RAW_KEY, default_config(), role, code)
    if register:
        import_areas(s, REGISTER, code)
    init_keys(s)
    return Site(s, folder)


def assign(boss: Site, worker: Site, areas: list[str]) -> Path:
    """`boss` assigns `areas` to `worker`, who imports the file with the boss's fingerprint
    (read aloud in real life; the first file is refused without it)."""
    out = boss.out("assignment")
    assign_areas(boss.store, worker.code, areas, worker.card(), out)
    import_assignment(worker.store, out, fingerprint(boss))
    return out


def fingerprint(at: Site) -> str:
    """The fingerprint of a site's key, as its user reads it aloud."""
    return card(at.store).key.fingerprint()


def bundle(sender: Site, receiver: Site | None = None, everything: bool = False) -> Path:
    out = sender.out("bundle")
    export_bundle(sender.store, out, everything)
    if receiver is not None:
        import_bundle(receiver.store, out, NOW)
    return out


def enter(worker: Site, area: str, structures: range, people: int = 3) -> list[str]:
    """List, visit and complete a dwelling per structure (one household of `people`)."""
    entry = Entry(worker.store, clock=lambda: NOW)
    ids = []
    for s in structures:
        saved = entry.add_dwelling(area, s, 1, locator=f"gate {s}")
        assert saved.ok, saved.problems
        did = saved.dwelling.id
        visited = entry.record_visit(did, Outcome.COMPLETED)
        assert visited.dwelling is not None
        h = visited.dwelling.households[0]
        residents = {("female", "25-34"): 1, ("male", "25-34"): 1}
        if people > 2:
            residents[("female", "0-4")] = people - 2
        saved = entry.save_household(did, replace(h, residents=residents), complete=True)
        assert saved.ok, saved.problems
        ids.append(did)
    return ids


def household_states(s: Site) -> dict[str, tuple[str, int]]:
    """Each household's status and revision on a site, by id."""
    return {r[0]: (r[1], r[2]) for r in s.store.conn.execute(
        "SELECT id, status, revision FROM household")}


def seal_rows(sender: Site, receiver: Site, body: dict[str, Any], path: Path) -> Path:
    """A bundle with hand-made rows, sealed by `sender` as census would."""
    to = peer(sender.store, receiver.code)
    assert to is not None
    header = {"id": new_id(), "sender": sender.code, "sender_role": "enumerator",
              "recipient_code": receiver.code, "created": utc_now(), "seq": 99,
              "counts": {}}
    # A device's bundle states its audit log, as census writes it.
    payload = encode({"dwellings": [], "visits": [], "households": [], "overrides": [],
                      "audit": audit_statement(sender.store, receiver.code), **body},
                     sender.store.config)
    path.write_bytes(seal("bundle", header, payload, keypair(sender.store),
                          PublicKey(to.enc_key, to.sign_key)))
    return path


def snapshot(store: Store) -> dict[str, object]:
    """The merged state that must not depend on the order of imports."""
    c = store.conn
    return {
        "dwellings": c.execute("SELECT id, area, structure, number, locator, revision, digest "
                               "FROM dwelling ORDER BY id").fetchall(),
        "visits": c.execute("SELECT * FROM visit ORDER BY dwelling_id, attempt").fetchall(),
        "households": c.execute("SELECT id, dwelling_id, status, revision, digest, completed_at, "
                                + ", ".join(store.counts + store.keys)
                                + " FROM household ORDER BY id").fetchall(),
        "review": c.execute("SELECT kind, record_id, revision, digest, status FROM review "
                            "ORDER BY record_id, digest").fetchall(),
    }


def dump(store: Store) -> dict[str, list[str]]:
    """Every row of every table, in a stable order (meta holds the audit chain's head): two
    dumps are equal exactly when nothing stored changed."""
    names = [r[0] for r in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {n: sorted(repr(r) for r in store.conn.execute(f'SELECT * FROM "{n}"'))
            for n in names}


def tables_holding(store: Store, text: str) -> list[str]:
    """The tables with a value containing `text`."""
    found = []
    for (table,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [r[1] for r in store.conn.execute(f'PRAGMA table_info("{table}")')]
        test = " OR ".join(f'instr(CAST("{c}" AS TEXT), ?)' for c in columns)
        if store.conn.execute(f'SELECT count(*) FROM "{table}" WHERE {test}',
                              [text] * len(columns)).fetchone()[0]:
            found.append(table)
    return sorted(found)


def census(*args: str | Path) -> Result:
    """One `census` command in-process, with the database key in the environment."""
    return run_cli(CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}), *args)


def held_for_review(sup: Site, enu: Site, tmp: Path, area: str) -> Site:
    """E001 (`enu`) completed 1/1/1 and 2/1/1 in `area`; E002, given the same area, listed a
    dwelling 2/1 of its own with a household of four: held for review as a duplicate, with its
    household. Then the supervisor and E001 both changed dwelling 1/1's type: a conflict held
    too. The supervisor's site."""
    from census.domain.model import DwellingType

    other = site(tmp, Role.ENUMERATOR, "E002")
    assign(sup, other, [area])
    dids = enter(enu, area, range(1, 3))
    enter(other, area, range(2, 3), people=4)
    import_bundle(sup.store, bundle(enu), NOW)
    assert import_bundle(sup.store, bundle(other), NOW).report.duplicates >= 1
    assert Entry(sup.store, clock=lambda: NOW).edit_dwelling(
        dids[0], type=DwellingType.APARTMENT).ok
    assert Entry(enu.store, clock=lambda: NOW).edit_dwelling(
        dids[0], type=DwellingType.TRADITIONAL).ok
    assert import_bundle(sup.store, bundle(enu), NOW).report.conflicts == 1
    return sup
