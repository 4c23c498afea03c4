"""Purges are for good (DESIGN §4): after a receipt, the enumerator's device holds no byte of the
forms it handed over; after `census area close`, the supervisor's holds no locator of the area
and no held record text. Proved by planting a unique canary string as a dwelling's locator and
searching every file of the database folder for its bytes.

The databases are normally encrypted, so a search for plaintext would pass whatever the purge
did. These tests therefore run the same code on unencrypted databases: the SQLCipher driver is
wrapped so that its connections never receive `PRAGMA key` (SQLCipher without a key writes plain
SQLite pages; the same library, SQL, pragmas, secure_delete and checkpoints). Every test first
shows that the search does find a canary that is there (in the database file or its WAL), so an
empty result after the purge means the bytes are gone, not that the search is blind.

(An empty key, `PRAGMA key = ''`, would be simpler, but this SQLCipher refuses it: "PRAGMA key
requires a key of one or more characters".)
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from census.domain.model import Outcome, Role
from census.storage import connection
from census.storage.areas import get_area
from census.storage.records import count_rows, load_dwelling
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.receipts import export_receipt
from census.usecases.review import decide
from tests.usecases import fieldwork as fw
from tests.usecases.fieldwork import Site, census, dump, tables_holding

EA1 = "R01-D01-EA001"
PLAIN_HEADER = b"SQLite format 3\x00"


class _Unkeyed(sqlcipher3.Connection):  # type: ignore[misc]
    """A SQLCipher connection that ignores `PRAGMA key`: the database stays plain SQLite."""

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith("PRAGMA KEY"):
            return super().execute("SELECT 1")
        return super().execute(sql, *args)


class _UnkeyedDriver:
    """Stands in for the sqlcipher3 module in census.storage.connection."""

    Error = sqlcipher3.Error
    DatabaseError = sqlcipher3.DatabaseError

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> Any:
        return sqlcipher3.connect(*args, factory=_Unkeyed, **kwargs)


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every database opened from here on is unencrypted (also by the CLI run in-process,
    which would otherwise refuse to open a plain SQLite file)."""
    monkeypatch.setattr(connection, "driver_module", lambda: _UnkeyedDriver)
    monkeypatch.setattr(connection, "SQLITE_PLAIN_HEADER", b"(census test: never matches)")


def canary() -> str:
    """A unique locator: letters only (digits could read as a phone number), 31 characters."""
    return "CANARY-" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(24))


def holders(folder: Path, text: str) -> list[str]:
    """The files of `folder` whose bytes contain `text` (UTF-8, as SQLite stores TEXT)."""
    needle = text.encode("utf-8")
    return sorted(p.name for p in folder.iterdir() if p.is_file() and needle in p.read_bytes())


def listed(worker: Site, structure: int, locator: str) -> str:
    saved = Entry(worker.store, clock=lambda: fw.NOW).add_dwelling(EA1, structure, 1,
                                                                    locator=locator)
    assert saved.ok and saved.dwelling is not None, saved.problems
    return saved.dwelling.id


def finish(worker: Site, dwelling_id: str, people: int = 2) -> None:
    """A completed visit and a completed household of `people` adults."""
    entry = Entry(worker.store, clock=lambda: fw.NOW)
    visited = entry.record_visit(dwelling_id, Outcome.COMPLETED)
    assert visited.dwelling is not None, visited.problems
    h = visited.dwelling.households[0]
    saved = entry.save_household(dwelling_id, replace(h, residents={("female", "25-34"): 1,
                                                                    ("male", "25-34"): people - 1}),
                                 complete=True)
    assert saved.ok, saved.problems


def call_back(worker: Site, dwelling_id: str) -> None:
    """No one home: an appointment tomorrow (the dwelling's work is still open)."""
    saved = Entry(worker.store, clock=lambda: fw.NOW).record_visit(
        dwelling_id, Outcome.CALLBACK, callback_at=fw.NOW + timedelta(days=1))
    assert saved.ok, saved.problems


@pytest.fixture
def plain_team(plain: None, request: pytest.FixtureRequest) -> tuple[Site, Site]:
    """The team (supervisor S01, enumerator E001 assigned EA001) made once the patch is in
    place: both databases unencrypted."""
    team: tuple[Site, Site] = request.getfixturevalue("team")
    return team


def test_the_canary_search_needs_a_plain_database(team: tuple[Site, Site]) -> None:
    """Why the other tests use plain databases: in the real, encrypted one a canary that is
    certainly stored is found nowhere, so searching it proves nothing."""
    _sup, e1 = team
    secret = canary()
    listed(e1, 1, secret)
    assert e1.store.conn.execute("SELECT count(*) FROM dwelling WHERE locator = ?",
                                 (secret,)).fetchone()[0] == 1
    assert holders(e1.folder, secret) == []
    assert e1.store.path.read_bytes()[:16] != PLAIN_HEADER


def test_a_receipt_purges_handed_over_forms_for_good(plain_team: tuple[Site, Site]) -> None:
    """E001 finishes dwelling 1, leaves dwelling 2 waiting for a callback, finishes dwelling 3;
    bundles all three to S01; then corrects dwelling 3's household (a revision the supervisor
    has not seen). S01's receipt, imported with `census receipt import`, purges dwelling 1 for
    good: its canary is in no file of E001's folder (database, WAL, shared memory, the sent
    bundle). Dwellings 2 (work open) and 3 (edited since) stay, and their canaries are still
    found: the search still works after the purge."""
    sup, e1 = plain_team
    assert e1.store.path.read_bytes()[:16] == PLAIN_HEADER  # the patch works: plain pages
    done, waiting, edited = canary(), canary(), canary()
    ids = [listed(e1, 1, done), listed(e1, 2, waiting), listed(e1, 3, edited)]
    finish(e1, ids[0])
    call_back(e1, ids[1])
    finish(e1, ids[2])
    for text in (done, waiting, edited):
        assert holders(e1.folder, text), text  # the search finds what is there

    sent = fw.bundle(e1, sup)
    assert count_rows(sup.store, "dwelling") == 3
    assert done.encode() not in sent.read_bytes()  # sealed: compressed and encrypted
    finish_again = Entry(e1.store, clock=lambda: fw.NOW)
    d = load_dwelling(e1.store, ids[2])
    assert d is not None
    saved = finish_again.save_household(ids[2], replace(d.households[0], residents={
        ("female", "25-34"): 2, ("male", "35-44"): 1}), complete=True)
    assert saved.ok, saved.problems

    receipt = sup.out("receipt")
    export_receipt(sup.store, "E001", receipt)
    result = census("receipt", "import", receipt, "--db", e1.store.path)
    assert result.exit_code == 0, result.output

    left = {r[0]: r[1] for r in e1.store.conn.execute("SELECT id, locator FROM dwelling")}
    assert left == {ids[1]: waiting, ids[2]: edited}
    assert e1.store.conn.execute("SELECT count(*) FROM household WHERE dwelling_id = ?",
                                 (ids[0],)).fetchone()[0] == 0
    assert holders(e1.folder, done) == []
    # Its id stays only where the design keeps ids: the audit log (who changed which record).
    assert tables_holding(e1.store, ids[0]) == ["audit"]
    assert holders(e1.folder, waiting) and holders(e1.folder, edited)
    assert not Path(f"{e1.store.path}-wal").exists() or Path(
        f"{e1.store.path}-wal").stat().st_size == 0
    assert e1.store.verify_audit().ok
    # What is left of dwelling 1 on the device: counts for progress, no record.
    assert e1.store.conn.execute("SELECT area, structure, number, outcome FROM handed_over"
                                 ).fetchall() == [(EA1, 1, 1, "completed")]


def test_area_close_purges_locators_notes_and_held_text(plain_team: tuple[Site, Site],
                                                         tmp_path: Path) -> None:
    """On the supervisor's side: `census area close` is refused, saying what is still open,
    while a callback is pending and while review items are open; nothing is purged then.
    Once the area is finished and everything `census review list --area` shows is resolved,
    it closes, and none of its text is found in any file of the supervisor's folder: not the
    locators of its dwellings, not the note of an approval, not the records held in its review
    queue (a duplicate listing from E002, with its household). No record of the area is left
    open in the review queue or holding text."""
    sup, e1 = plain_team
    done, waiting, duplicate, note = canary(), canary(), canary(), canary()
    first, second = listed(e1, 1, done), listed(e1, 2, waiting)
    finish(e1, first)
    call_back(e1, second)
    fw.bundle(e1, sup)
    # E002, also sent to EA001, lists structure 1 again: a duplicate, held for review.
    e2 = fw.site(tmp_path, Role.ENUMERATOR, "E002")
    fw.assign(sup, e2, [EA1])
    finish(e2, listed(e2, 1, duplicate))
    fw.bundle(e2, sup)
    held = sup.store.conn.execute("SELECT incoming FROM review WHERE status = 'open' AND "
                                  "kind = 'duplicate' AND record_type = 'dwelling'").fetchall()
    assert len(held) == 1 and duplicate in held[0][0]
    (household,) = sup.store.conn.execute("SELECT id FROM household WHERE dwelling_id = ?",
                                          (first,)).fetchone()
    decide(sup.store, household, "approved", note=note)
    for text in (done, waiting, duplicate, note):
        assert holders(sup.folder, text), text  # the search finds what is there

    before = dump(sup.store)
    refused = census("area", "close", EA1, "--db", sup.store.path)
    assert refused.exit_code == 2, refused.output
    assert f"{EA1} cannot be closed yet" in refused.output
    assert "callbacks open: 1" in refused.output and "review items open" in refused.output
    assert "Traceback" not in refused.output
    assert dump(sup.store) == before  # refused: nothing purged, nothing closed

    # The callback: E001 comes back the next day and completes the form.
    later = fw.NOW + timedelta(days=1, hours=1)
    back = Entry(e1.store, clock=lambda: later)
    visited = back.record_visit(second, Outcome.COMPLETED)
    assert visited.dwelling is not None
    saved = back.save_household(second, replace(visited.dwelling.households[0],
                                                 residents={("female", "35-44"): 1}),
                                complete=True)
    assert saved.ok, saved.problems
    import_bundle(sup.store, fw.bundle(e1), later)
    still = census("area", "close", EA1, "--db", sup.store.path)
    assert still.exit_code == 2 and "review items open" in still.output, still.output
    assert "callbacks" not in still.output

    # The supervisor resolves what the area's review list shows (keeping the stored records).
    # (keeping a held dwelling also closes the households held with it: list again each time).
    resolved = 0
    while True:
        shown = census("review", "list", "--area", EA1, "--json", "--db", sup.store.path)
        items = [i["id"] for i in json.loads(shown.output)]
        if not items:
            break
        kept = census("review", "resolve", str(items[0]), "--keep", "--db", sup.store.path)
        assert kept.exit_code == 0, kept.output
        resolved += 1
    assert resolved
    closed = census("area", "close", EA1, "--db", sup.store.path)
    assert closed.exit_code == 0, closed.output
    assert f"{EA1} closed. Purged: locators 2" in closed.output

    conn = sup.store.conn
    assert get_area(sup.store, EA1).status == "closed"  # type: ignore[union-attr]
    assert conn.execute("SELECT count(*) FROM dwelling WHERE area = ? AND locator IS NOT NULL",
                        (EA1,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM decision WHERE note IS NOT NULL").fetchone()[0] == 0
    for text in (done, waiting, duplicate, note):
        assert holders(sup.folder, text) == [], text
    assert count_rows(sup.store, "dwelling") == 2  # the records stay; only their text went
    assert sup.store.verify_audit().ok
    # Every held record came from EA001 (E002's dwelling and its household): none may stay
    # open, outside the area, holding its text (counts and the household's secret seed).
    leftover = conn.execute("SELECT id, kind, record_type, area, status, detail FROM review "
                            "WHERE status = 'open' OR incoming IS NOT NULL").fetchall()
    assert leftover == [], leftover
