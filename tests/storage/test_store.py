"""The encrypted store: encryption at rest, opening errors, pragmas, CHECKs, import semantics."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from census.domain.config import default_config
from census.domain.keys import cell_key_sum, person_key
from census.domain.model import Role
from census.storage.areas import all_areas
from census.storage.connection import StoreError
from census.storage.progress import area_progress, callbacks_due
from census.storage.records import count_rows
from census.storage.store import Store
from census.usecases.forms import import_lines
from census.validation.rules import Problem
from tests.helpers import PASSPHRASE, RAW_KEY, dwelling, household, jsonl, key_pragma

NOW = datetime(2026, 11, 28, 12, 0)


def run_import(store: Store, text: str, all_or_nothing: bool = False
               ) -> tuple[object, list[tuple[int, Problem]]]:
    found: list[tuple[int, Problem]] = []
    report = import_lines(store, text.splitlines(keepends=True), now=NOW,
                          sink=lambda line, p: found.append((line, p)),
                          all_or_nothing=all_or_nothing)
    return report, found


def files_of(db_path: Path) -> list[Path]:
    return [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]


def test_canary_and_count_pattern_never_in_plaintext_on_disk(store: Store, db_path: Path) -> None:
    canary = "CANARY-QZX gate"
    pattern = {"female": {"0-4": 7, "5-14": 3, "65+": 1}, "male": {"45-54": 9}}
    run_import(store, jsonl(dwelling(locator=canary,
                                     households=[household(residents=pattern,
                                                           overrides={"W001":
                                                                      "observed_by_enumerator"})])))
    assert store.conn.execute("SELECT locator FROM dwelling").fetchone()[0] == canary
    files = files_of(db_path)
    assert any(p.name.endswith("-wal") for p in files), "the WAL must be checked too"
    for p in files:
        data = p.read_bytes()
        assert b"CANARY-QZX" not in data, p
        assert "CANARY-QZX".encode("utf-16-le") not in data, p
        assert b"SQLite format 3" not in data, p
        assert b"female" not in data and b"R01-D01-EA001" not in data, p


def test_wrong_passphrase_is_refused_with_a_clear_message(passphrase_store: Store,
                                                          db_path: Path) -> None:
    passphrase_store.close()
    with pytest.raises(StoreError, match="passphrase is wrong"):
        Store.open(db_path, "not the passphrase")


def test_right_passphrase_reopens(passphrase_store: Store, db_path: Path) -> None:
    passphrase_store.close()
    again = Store.open(db_path, PASSPHRASE)
    assert [a.code for a in all_areas(again)][-1] == "R01-D01-EA002"
    again.close()


def test_plain_sqlite_file_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="plain, unencrypted"):
        Store.open(plain, RAW_KEY)


def test_corrupt_file_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match=r"not a census database|damaged"):
        Store.open(junk, RAW_KEY)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no census database"):
        Store.open(tmp_path / "nope.db", RAW_KEY)
    with pytest.raises(StoreError, match="folder"):
        Store.open(tmp_path, RAW_KEY)


def test_create_refuses_existing_file(store: Store, db_path: Path) -> None:
    with pytest.raises(StoreError, match="already exists"):
        Store.create(db_path, RAW_KEY, default_config(), Role.ENUMERATOR, "E001")


def test_encrypted_but_not_census(tmp_path: Path) -> None:
    import sqlcipher3

    path = tmp_path / "other.db"
    conn = sqlcipher3.connect(str(path))
    conn.execute(key_pragma(RAW_KEY))
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a census database"):
        Store.open(path, RAW_KEY)


def test_every_connection_has_the_durability_and_privacy_pragmas(store: Store) -> None:
    pragma = store.conn.execute
    assert pragma("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert pragma("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert pragma("PRAGMA secure_delete").fetchone()[0] == 1
    assert pragma("PRAGMA foreign_keys").fetchone()[0] == 1


def test_tables_are_strict_and_migrated_once(store: Store, db_path: Path) -> None:
    for name in ("area", "dwelling", "visit", "household", "override", "audit", "cell", "peer",
                 "peer_area", "transfer", "review", "decision", "handed_over", "release",
                 "release_state", "release_cells", "area_sums", "area_size_sums",
                 "keying_batch", "keying_session", "keyed_form"):
        sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                                 (name,)).fetchone()[0]
        assert sql.rstrip().endswith("STRICT"), name
    store.close()
    again = Store.open(db_path, RAW_KEY)
    applied = again.conn.execute("SELECT name FROM _sqlite_migrations").fetchall()
    assert applied == [("0001_initial",), ("0002_transfers",), ("0003_release_ledger",),
                       ("0004_release_cells",), ("0005_lifecycle",),
                       ("0006_transfer_files",), ("0007_release_units",),
                       ("0008_dp",), ("0009_completed_at",), ("0010_area_sums",),
                       ("0011_keying",)]
    again.close()


@pytest.mark.parametrize("sql", [
    "UPDATE household SET n_00 = -1",
    "UPDATE household SET n_00 = 61",
    "UPDATE household SET status = 'finished'",
    "UPDATE dwelling SET locator = '" + "x" * 61 + "'",
    "UPDATE visit SET outcome = 'maybe'",
    "UPDATE visit SET at = 'yesterday'",
    "UPDATE dwelling SET area = 'NOWHERE'",
    "INSERT INTO override VALUES ('" + "0" * 36 + "', 'E001', 'confirmed_with_respondent')",
])
def test_check_constraints_are_a_second_line(store: Store, sql: str) -> None:
    run_import(store, jsonl(dwelling()))
    import sqlcipher3

    with pytest.raises(sqlcipher3.IntegrityError):
        store.conn.execute(sql)
    store.conn.rollback()


def test_import_is_idempotent(store: Store) -> None:
    text = jsonl(dwelling(), dwelling(structure=2), dwelling(structure=3, households=[
        household(1), household(2)]))
    first, problems = run_import(store, text)
    assert problems == []
    assert first.dwellings.added == 3 and first.households.added == 4  # type: ignore[attr-defined]
    counts = {t: count_rows(store, t) for t in ("dwelling", "visit", "household", "audit")}
    second, problems = run_import(store, text)
    assert problems == []
    assert second.dwellings.unchanged == 3  # type: ignore[attr-defined]
    assert second.households.unchanged == 4  # type: ignore[attr-defined]
    assert second.dwellings.added == 0 and second.households.added == 0  # type: ignore[attr-defined]
    assert {t: count_rows(store, t) for t in counts} == counts


def test_higher_revision_updates_and_keeps_person_keys(store: Store) -> None:
    h = household(residents={"female": {"25-34": 2}})
    d = dwelling(households=[h])
    run_import(store, jsonl(d))
    seed, k_before = store.conn.execute("SELECT seed, k_03 FROM household").fetchone()
    cell = ("female", "25-34")
    assert default_config().cells[3] == cell
    assert k_before == cell_key_sum(seed, cell, 2)
    h2 = {**h, "revision": 2, "residents": {"female": {"25-34": 3}}}
    report, problems = run_import(store, jsonl({**d, "households": [h2]}))
    assert problems == []
    assert report.households.updated == 1  # type: ignore[attr-defined]
    seed2, n, k_after = store.conn.execute("SELECT seed, n_03, k_03 FROM household").fetchone()
    assert seed2 == seed and n == 3
    assert k_after == (k_before + person_key(seed, cell, 2)) % 2**32
    audit = store.conn.execute(
        "SELECT field, old, new FROM audit WHERE record_type = 'household' AND field != '*'"
    ).fetchall()
    assert ("residents.female.25-34", "2", "3") in audit


def test_older_revision_never_overwrites(store: Store) -> None:
    h = household(revision=3, away=1)
    d = dwelling(households=[h])
    run_import(store, jsonl(d))
    report, problems = run_import(store, jsonl({**d, "households": [{**h, "revision": 2,
                                                                     "away": 0}]}))
    assert problems == []
    assert report.households.older == 1  # type: ignore[attr-defined]
    assert store.conn.execute("SELECT away, revision FROM household").fetchone() == (1, 3)


def test_same_revision_other_content_is_a_conflict(store: Store) -> None:
    h = household()
    d = dwelling(households=[h])
    run_import(store, jsonl(d))
    report, problems = run_import(store, jsonl({**d, "households": [{**h, "away": 2}]}))
    assert [p.rule_id for _, p in problems] == ["E019"]
    assert report.invalid_lines == 1  # type: ignore[attr-defined]
    assert store.conn.execute("SELECT away FROM household").fetchone() == (0,)


def test_duplicate_natural_key_is_refused_within_and_across_imports(store: Store) -> None:
    _, problems = run_import(store, jsonl(dwelling(structure=5), dwelling(structure=5)))
    assert [(line, p.rule_id) for line, p in problems] == [(2, "E005")]
    _, problems = run_import(store, jsonl(dwelling(structure=5)))
    assert [p.rule_id for _, p in problems] == ["E005"]
    assert count_rows(store, "dwelling") == 1


def test_all_or_nothing_stores_nothing_when_a_line_is_invalid(store: Store) -> None:
    bad = dwelling(structure=2, households=[household(away=-1)])
    report, problems = run_import(store, jsonl(dwelling(), bad, dwelling(structure=3)),
                                  all_or_nothing=True)
    assert [(line, p.rule_id) for line, p in problems] == [(2, "E001")]
    assert report.stored is False  # type: ignore[attr-defined]
    assert count_rows(store, "dwelling") == 0 and count_rows(store, "household") == 0
    report, _ = run_import(store, jsonl(dwelling(), bad, dwelling(structure=3)))
    assert count_rows(store, "dwelling") == 2


def test_unknown_area_and_not_an_ea(store: Store) -> None:
    _, problems = run_import(store, jsonl(dwelling(area="R09-D09-EA999"),
                                          dwelling(area="R01-D01")))
    assert [(line, p.rule_id, p.field) for line, p in problems] == [
        (1, "E017", "area"), (2, "E017", "area")]


def test_malformed_json_reports_the_line(store: Store) -> None:
    _, problems = run_import(store, jsonl(dwelling()) + "{not json\n" + "[1, 2]\n")
    assert [(line, p.rule_id) for line, p in problems] == [(2, "E030"), (3, "E033")]
    assert "column" in problems[0][1].message()
    assert count_rows(store, "dwelling") == 1


def test_audit_chain_verifies_and_detects_tampering(store: Store) -> None:
    run_import(store, jsonl(dwelling(), dwelling(structure=2)))
    result = store.verify_audit()
    assert result.ok and result.entries >= 5
    import sqlcipher3

    with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE audit SET who = 'X' WHERE seq = 2")
    store.conn.rollback()
    store.conn.execute("DROP TRIGGER audit_append_only_update")
    store.conn.execute("UPDATE audit SET new = '{}' WHERE seq = 3")
    store.conn.commit()
    broken = store.verify_audit()
    assert not broken.ok and broken.broken_at == 3 and "changed" in broken.reason


def test_audit_detects_removed_entries(store: Store) -> None:
    run_import(store, jsonl(dwelling(), dwelling(structure=2)))
    store.conn.execute("DROP TRIGGER audit_append_only_delete")
    store.conn.execute("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
    store.conn.commit()
    result = store.verify_audit()
    assert not result.ok and "cut off" in result.reason
    store.conn.execute("DELETE FROM audit WHERE seq = 2")
    store.conn.commit()
    result = store.verify_audit()
    assert not result.ok and result.broken_at == 3


def test_audit_never_holds_a_locator(store: Store) -> None:
    d = dwelling(locator="mango tree LOCATOR-ONE")
    run_import(store, jsonl(d))
    run_import(store, jsonl({**d, "revision": 2, "locator": "red roof LOCATOR-TWO"}))
    rows = store.conn.execute("SELECT coalesce(old, ''), coalesce(new, '') FROM audit").fetchall()
    assert not any("LOCATOR-" in old + new for old, new in rows)
    assert ("[locator]", "[locator]") in rows  # the change itself is recorded


def test_override_reasons_are_stored(store: Store) -> None:
    big = household(residents={"female": {"25-34": 9}, "male": {"25-34": 8}},
                    overrides={"W001": "confirmed_with_respondent"})
    _, problems = run_import(store, jsonl(dwelling(households=[big])))
    assert problems == []
    assert store.conn.execute("SELECT rule_id, reason FROM override").fetchall() == [
        ("W001", "confirmed_with_respondent")]
    unconfirmed = household(residents={"female": {"25-34": 9}, "male": {"25-34": 8}})
    _, problems = run_import(store, jsonl(dwelling(structure=2, households=[unconfirmed])))
    assert [p.rule_id for _, p in problems] == ["W001"]


def test_progress_counts(store: Store) -> None:
    records = [
        dwelling(1),
        dwelling(2, households=[], visits=[{"attempt": 1, "at": "2026-11-27T10:00",
                                            "outcome": "refused"}]),
        dwelling(3, households=[], visits=[{"attempt": 1, "at": "2026-11-27T10:00",
                                            "outcome": "vacant"}], occupancy="vacant"),
        dwelling(4, households=[], visits=[{"attempt": 1, "at": "2026-11-27T10:00",
                                            "outcome": "callback",
                                            "callback_at": "2026-11-28T17:00"}]),
        dwelling(5, households=[], visits=[]),
    ]
    run_import(store, jsonl(*records))
    rows = {r.area: r for r in area_progress(store, NOW)}
    r = rows["R01-D01-EA001"]
    assert (r.expected, r.listed, r.visited, r.completed, r.callbacks_due, r.refused,
            r.vacant, r.households, r.persons) == (120, 5, 4, 1, 1, 1, 1, 1, 3)
    assert r.response_rate == 25.0  # 1 completed of 4 eligible (the vacant one excluded)
    assert rows["R01-D01-EA002"].listed == 0
    assert [(c[0], c[2], c[3]) for c in callbacks_due(store, NOW)] == [
        ("R01-D01-EA001", datetime(2026, 11, 28, 17, 0), 4)]
