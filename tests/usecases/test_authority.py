"""Who may change what, and when, through the real command line: each finding of the adversarial
review (issue 13) as that user found it, with the shipped commands only; each of these tests
failed on the code before the lifecycle policy (commit 5c3b04d)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from census.storage.areas import get_area
from census.storage.exchange.peers import peer
from census.storage.exchange.review import review_items
from census.storage.records import count_rows, load_household
from tests.usecases.levels import (
    EA1,
    KEY,
    Level,
    assign,
    dwelling,
    forms,
    household,
    level,
    opened,
    run,
    send,
    uid,
)


@pytest.fixture
def field(tmp_path: Path) -> tuple[Level, Level, Level]:
    """An office HQ with the register, a supervisor S01 given the district, an enumerator E001
    given EA001."""
    office = level(tmp_path, "office", "HQ", register=True)
    sup = level(tmp_path, "supervisor", "S01")
    enu = level(tmp_path, "enumerator", "E001")
    assign(office, sup, ["R01-D01"])
    assign(sup, enu, [EA1])
    return office, sup, enu


# -- 1. an enumerator approves its own forms ---------------------------------------------------


def test_a_form_cannot_say_approved(field: tuple[Level, Level, Level]) -> None:
    _office, _sup, enu = field
    got = forms(enu, dwelling(uid(1), 1, [household(uid(101), status="approved")]), ok=False)
    assert got.exit_code == 1
    assert ":1: E042 households[0].status:" in got.output
    with opened(enu) as store:
        assert count_rows(store, "household") == 0


def test_an_enumerators_bundle_cannot_approve_or_name_another_editor(
        field: tuple[Level, Level, Level]) -> None:
    """E001's device is tampered with (it holds the passphrase): one household set approved,
    another set as last edited by S01. Its signed bundle does neither at the supervisor."""
    _office, sup, enu = field
    forms(enu, dwelling(uid(1), 1, [household(uid(101))]),
          dwelling(uid(2), 2, [household(uid(102))]))
    with opened(enu) as store:
        store.conn.execute("UPDATE household SET status = 'approved', revision = 2 "
                           "WHERE id = ?", (uid(101),))
        store.conn.execute("UPDATE household SET updated_by = 'S01' WHERE id = ?", (uid(102),))
        # the digest of the forged version, as the device's own code would compute it
        from census.formats.record_json import household_digest
        _did, h = load_household(store, uid(101)) or ("", None)
        assert h is not None
        store.conn.execute("UPDATE household SET digest = ? WHERE id = ?",
                           (household_digest(h, store.config, uid(1)), uid(101)))
        store.conn.commit()
    send(enu, sup)
    with opened(sup) as store:
        found = load_household(store, uid(101))
        assert found is None or str(found[1].status) != "approved"
        held = [i for i in review_items(store) if i.record_id == uid(101)]
        assert held and held[0].detail == "decision_only"
        editor = store.conn.execute("SELECT updated_by FROM household WHERE id = ?",
                                    (uid(102),)).fetchone()[0]
        assert editor == "E001"
    listed = sup("review", "list")
    assert uid(101)[:8] in listed.output or "decision_only" in listed.output


# -- 2. a revoked key is trusted again without a word ------------------------------------------


def test_assign_does_not_trust_a_revoked_key_again(field: tuple[Level, Level, Level]) -> None:
    _office, sup, enu = field
    sup("keys", "revoke", "E001")
    out = sup.out("assignment")
    again = sup("assign", "--user", "E001", "--areas", EA1, "--to", enu.card, "--out", out,
                ok=False)
    assert again.exit_code == 2 and "keys trust" in again.output and not out.exists()
    with opened(sup) as store:
        found = peer(store, "E001")
        assert found is not None and found.status == "revoked"
    forms(enu, dwelling(uid(1), 1, [household(uid(101))]))
    refused = send(enu, sup, ok=False)
    assert refused.exit_code == 2 and "revoked" in refused.output


# -- 3. closed areas still change --------------------------------------------------------------


def test_forms_import_into_a_closed_area_is_refused(tmp_path: Path) -> None:
    sup = level(tmp_path, "supervisor", "S01", register=True)
    vacant = dwelling(uid(1), 1, [], visits=[{"attempt": 1, "at": "2026-11-20T10:00",
                                              "outcome": "vacant"}])
    forms(sup, vacant)
    sup("area", "close", EA1)
    got = forms(sup, dwelling(uid(2), 2, [household(uid(102))]), ok=False)
    assert got.exit_code == 1 and "E040" in got.output
    with opened(sup) as store:
        assert count_rows(store, "dwelling") == 1 and count_rows(store, "household") == 0


# -- 4. a receipt deletes the only copy of a version -------------------------------------------


def test_a_receipt_never_acknowledges_a_version_set_aside(
        field: tuple[Level, Level, Level]) -> None:
    _office, sup, enu = field
    forms(enu, dwelling(uid(1), 1, [household(uid(101))]))
    send(enu, sup)
    sup("review", "return", uid(101), "--reason", "counts_wrong")  # revision 2 there
    # Meanwhile the enumerator corrects it on its own: its revision 2, other counts.
    forms(enu, dwelling(uid(1), 1, [household(uid(101), revision=2, residents={
        "female": {"25-34": 2}, "male": {"25-34": 1}})]))
    send(enu, sup)
    with opened(sup) as store:
        (item,) = [i for i in review_items(store) if i.record_id == uid(101)]
        assert item.detail == "same_revision"
    sup("review", "resolve", str(item.id), "--keep")
    out = sup.out("receipt")
    sup("receipt", "export", "--enumerator", "E001", "--out", out)
    enu("receipt", "import", out)
    with opened(enu) as store:  # the enumerator's version exists nowhere else: it stays
        found = load_household(store, uid(101))
        assert found is not None and found[1].residents[("female", "25-34")] == 2


# -- 5. reassignment is undone -----------------------------------------------------------------


def test_an_old_enumerators_bundle_never_changes_the_assignment(
        field: tuple[Level, Level, Level], tmp_path: Path) -> None:
    office, sup, enu = field
    forms(enu, dwelling(uid(1), 1, [household(uid(101))]))
    other = level(tmp_path, "enumerator", "E002")
    assign(sup, other, [EA1])  # EA001 reassigned to E002
    send(enu, sup)  # E001's work from before still arrives...
    with opened(sup) as store:
        area = get_area(store, EA1)
        assert area is not None and area.enumerator == "E002"  # ...and changes nothing else
        assert load_household(store, uid(101)) is not None
    send(sup, office)
    with opened(office) as store:
        area = get_area(store, EA1)
        assert area is not None and area.enumerator == "E002"


# -- 6. assignments roll back ------------------------------------------------------------------


def test_an_older_assignment_is_refused_and_a_new_one_keeps_the_teams(
        tmp_path: Path) -> None:
    office = level(tmp_path, "office", "HQ", register=True)
    sup = level(tmp_path, "supervisor", "S01")
    enu = level(tmp_path, "enumerator", "E001")
    first = assign(office, sup, ["R01-D01"], take=False)
    csv = office.folder / "renamed.csv"
    csv.write_text(office.folder.joinpath("areas.csv").read_text().replace(
        "Riverside 1,20", "Riverside One,35"))
    office("area", "import", csv)
    second = assign(office, sup, ["R01-D01"], take=False)
    fp = office.fingerprint()
    sup("assignment", "import", second, "--expect-fingerprint", fp)
    older = sup("assignment", "import", first, ok=False)
    assert older.exit_code == 2 and "older" in older.output
    with opened(sup) as store:
        area = get_area(store, EA1)
        assert area is not None and (area.name, area.expected_dwellings) == ("Riverside One", 35)
    assign(sup, enu, [EA1])
    third = assign(office, sup, ["R01-D01"], take=False)
    sup("assignment", "import", third)
    by = json.loads(sup("progress", "--by", "enumerator", "--json").output)
    assert "E001" in [r["enumerator"] for r in by]


# -- 7. "deleted" before it is -----------------------------------------------------------------

READER = """
import sys, time
from pathlib import Path
from census.storage.store import Store
store = Store.open(Path(sys.argv[1]), sys.argv[2])
store.conn.execute("BEGIN")
store.conn.execute("SELECT count(*) FROM dwelling").fetchone()
print("reading", flush=True)
time.sleep(float(sys.argv[3]))
store.conn.execute("COMMIT")
store.close()
"""


def test_a_purge_another_program_holds_up_is_pending_until_done(
        field: tuple[Level, Level, Level], tmp_path: Path) -> None:
    _office, sup, enu = field
    forms(enu, dwelling(uid(1), 1, [household(uid(101))]))
    send(enu, sup)
    out = sup.out("receipt")
    sup("receipt", "export", "--enumerator", "E001", "--out", out)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(enu.db), KEY, "6"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        told = enu("receipt", "import", out)
        copy = tmp_path / "copy.db"
        shutil.copyfile(enu.db, copy)  # the main file alone, as a thief would copy it
        with opened(copy) as stolen:
            left = count_rows(stolen, "dwelling")
        assert left == 1  # SQLite could not fold the deletion into the main file yet...
        assert "Deleted" not in told.output and "pending" in told.output  # ...and says so
    finally:
        reader.wait(timeout=30)
    time.sleep(0.1)
    status = enu("status")  # the next open finishes the purge
    assert "pending" not in status.output
    shutil.copyfile(enu.db, copy)
    for suffix in ("-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    with opened(copy) as stolen:
        assert count_rows(stolen, "dwelling") == 0


# -- 8. the audit chain has no key -------------------------------------------------------------


def rewrite_history(db: Path) -> None:
    """What anyone with the passphrase can do: drop the append-only triggers, change the `who`
    of an entry, recompute every hash after it and the recorded head, restore the triggers."""
    from census.storage.audit import Entry, entry_hash
    from census.storage.schema import GENESIS

    with opened(db) as store:
        conn = store.conn
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                "AND tbl_name = 'audit'").fetchall()
        for name, _sql in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        rows = conn.execute("SELECT seq, at, who, record_type, record_id, field, old, new, "
                            "reason FROM audit ORDER BY seq").fetchall()
        prev = GENESIS
        for seq, at, who, *rest in rows:
            who = "S01" if seq == 3 else who
            e = Entry(at, who, *rest)
            h = entry_hash(prev, e)
            conn.execute("UPDATE audit SET who = ?, prev = ?, hash = ? WHERE seq = ?",
                         (who, prev, h, seq))
            prev = h
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'",
                     (f"{rows[-1][0]}:{prev}",))
        for _name, sql in triggers:
            conn.execute(sql)
        conn.commit()


def test_a_rewrite_of_history_already_sent_up_is_detected(
        field: tuple[Level, Level, Level]) -> None:
    _office, sup, enu = field
    forms(enu, dwelling(uid(1), 1, [household(uid(101))]))
    send(enu, sup)  # the bundle carries the device's audit head
    rewrite_history(enu.db)
    verify = enu("audit", "verify", ok=False)
    assert verify.exit_code == 1 and "BROKEN" in verify.output
    forms(enu, dwelling(uid(2), 2, [household(uid(102))]))
    refused = send(enu, sup, ok=False)  # the supervisor sees the rewrite too
    assert refused.exit_code == 2 and "audit" in refused.output


# -- 9. the office trusts any first assignment --------------------------------------------------


def test_the_office_takes_no_assignment(field: tuple[Level, Level, Level],
                                         tmp_path: Path) -> None:
    office, _sup, _enu = field
    rogue = level(tmp_path, "office", "HQ0", register=True)
    # A card for the office's key under the role the rogue may assign to.
    forged = office.card.read_text().replace(" office HQ ", " supervisor HQ ")
    card = rogue.folder / "forged.card"
    card.write_text(forged)
    out = rogue.out("assignment")
    rogue("assign", "--user", "HQ", "--areas", "R01-D01", "--to", card, "--out", out)
    got = office("assignment", "import", out, "--expect-fingerprint", rogue.fingerprint(),
                 ok=False)
    assert got.exit_code == 2 and "office" in got.output
    with opened(office) as store:
        assert peer(store, "HQ0") is None


def test_a_first_assignment_needs_its_fingerprint_confirmed(tmp_path: Path) -> None:
    sup = level(tmp_path, "supervisor", "S01", register=True)
    enu = level(tmp_path, "enumerator", "E001")
    out = assign(sup, enu, [EA1], take=False)
    blind = enu("assignment", "import", out, ok=False)  # not a terminal: nobody confirmed it
    assert blind.exit_code == 2 and "--expect-fingerprint" in blind.output
    with opened(enu) as store:
        assert peer(store, "S01") is None
    enu("assignment", "import", out, "--expect-fingerprint", sup.fingerprint())


def test_a_new_upstream_key_needs_keys_trust_replace_key(tmp_path: Path) -> None:
    sup = level(tmp_path, "supervisor", "S01", register=True)
    enu = level(tmp_path, "enumerator", "E001")
    assign(sup, enu, [EA1])
    new = level(tmp_path / "new", "supervisor", "S01", register=True)  # S01's new device
    out = assign(new, enu, [EA1], take=False)
    refused = enu("assignment", "import", out, "--expect-fingerprint", new.fingerprint(),
                  ok=False)
    assert refused.exit_code == 2 and "keys trust" in refused.output
    enu("keys", "trust", "S01", "--card", new.card, "--replace-key",
        "--expect-fingerprint", new.fingerprint())
    enu("assignment", "import", out)
    run("audit", "verify", "--db", enu.db)


# -- reopening: the only way to write in a closed area, and it travels up ------------------------


def test_a_reopened_area_takes_late_forms_and_its_status_travels_up_in_any_order(
        field: tuple[Level, Level, Level]) -> None:
    office, sup, enu = field
    vacant = dwelling(uid(1), 1, [], visits=[{"attempt": 1, "at": "2026-11-20T10:00",
                                              "outcome": "vacant"}])
    forms(enu, vacant)
    send(enu, sup)
    sup("area", "close", EA1)
    first = sup.out("bundle")
    sup("bundle", "export", "--out", first)  # closed
    refused = enu("area", "reopen", EA1, "--reason", "late_forms", ok=False)
    assert refused.exit_code == 2 and "supervisor" in refused.output
    sup("area", "reopen", EA1, "--reason", "late_forms")
    forms(sup, dwelling(uid(2), 2, [household(uid(102))]))  # the late form goes in
    second = sup.out("bundle")
    sup("bundle", "export", "--out", second)  # reopened, with the late form
    sup("area", "close", EA1)
    third = sup.out("bundle")
    sup("bundle", "export", "--out", third)  # closed again
    # The office gets them out of order: the latest status wins, and the late form is there.
    office("bundle", "import", first)
    office("bundle", "import", third)
    office("bundle", "import", second)
    with opened(office) as store:
        area = get_area(store, EA1)
        assert area is not None and str(area.status) == "closed"
        assert load_household(store, uid(102)) is not None
        reasons = [r[0] for r in store.conn.execute(
            "SELECT reason FROM audit WHERE record_type = 'area' AND field = 'status' AND "
            "new = 'open'")]
        assert reasons == ["late_forms"]
