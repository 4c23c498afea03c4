"""The schema has no place for who people are (DESIGN §2): this test fails if one is added."""

from __future__ import annotations

import re

from census.storage.store import Store

FORBIDDEN = re.compile(
    r"name|birth|dob|phone|mobile|tel|email|mail|address|street|gps|lat|lon|photo|image|"
    r"religio|ethnic|tribe|caste|race|politic|party|vote|criminal|prison|detain|arrest|"
    r"health|disab|hiv|sexual|trust|risk|score|key_person|national_id|passport|id_number",
    re.IGNORECASE)

# Every TEXT column, and why it cannot carry free text about a person.
TEXT_ALLOWED = {
    ("meta", "key"): "fixed setting names written by the program",
    ("meta", "value"): "settings: format, role, user code, survey config, audit head",
    ("cell", "sex"): "category code from the survey config",
    ("cell", "band"): "age band code from the survey config",
    ("enumerator", "code"): "enumerator code (never a name), CHECK length <= 40",
    ("area", "code"): "area code, CHECK length <= 40",
    ("area", "parent"): "area code",
    ("area", "level"): "level code from the config",
    ("area", "name"): "name of the PLACE (not a person), CHECK length <= 80",
    ("area", "enumerator"): "enumerator code",
    ("area", "status"): "CHECK IN (open, closed)",
    ("dwelling", "id"): "UUID",
    ("dwelling", "area"): "area code",
    ("dwelling", "type"): "CHECK IN code list",
    ("dwelling", "occupancy"): "CHECK IN code list",
    ("dwelling", "locator"): "THE bounded landmark, CHECK length <= 60, purged at close-out",
    ("dwelling", "enumerator"): "enumerator code",
    ("dwelling", "digest"): "SHA-256 hex of the record",
    ("dwelling", "updated_at"): "timestamp",
    ("visit", "dwelling_id"): "UUID",
    ("visit", "at"): "timestamp, CHECK GLOB date pattern",
    ("visit", "outcome"): "CHECK IN code list",
    ("visit", "callback_at"): "timestamp (a callback is a time, never a phone number)",
    ("visit", "enumerator"): "enumerator code",
    ("household", "id"): "UUID",
    ("household", "dwelling_id"): "UUID",
    ("household", "area"): "area code",
    ("household", "status"): "CHECK IN code list",
    ("household", "respondent"): "CHECK IN (member, proxy)",
    ("household", "digest"): "SHA-256 hex",
    ("household", "updated_at"): "timestamp",
    ("household", "updated_by"): "enumerator code",
    ("household", "completed_at"): "timestamp of the first completion, CHECK GLOB date pattern",
    ("area_sums", "area"): "area code (the household's, copied by a trigger)",
    ("area_size_sums", "area"): "area code (the household's, copied by a trigger)",
    ("keying_batch", "area"): "area code (a batch of paper forms), CHECK length <= 40",
    ("keying_batch", "set_by"): "operator code (never a name), CHECK length <= 40",
    ("keying_batch", "set_at"): "timestamp, CHECK GLOB date pattern",
    ("keying_session", "operator"): "operator code (a clerk or an enumerator, never a name), "
                                    "CHECK length <= 40",
    ("keying_session", "origin"): "user code of the database the session was logged in, "
                                  "CHECK length <= 40",
    ("keying_session", "mode"): "CHECK IN (key, verify, entry)",
    ("keying_session", "area"): "area code, CHECK length <= 40",
    ("keying_session", "setting"): "the verify setting as census writes it (`every 5; "
                                   "tolerance 1.00%`), CHECK length <= 80",
    ("keying_session", "started_at"): "timestamp, CHECK GLOB date pattern",
    ("keying_session", "ended_at"): "timestamp, CHECK GLOB date pattern",
    ("keyed_form", "record_id"): "UUID, CHECK length = 36",
    ("keyed_form", "dwelling_id"): "UUID, CHECK length = 36",
    ("keyed_form", "area"): "area code, CHECK length <= 40",
    ("keyed_form", "operator"): "operator code, CHECK length <= 40",
    ("keyed_form", "keyed_at"): "timestamp, CHECK GLOB date pattern",
    ("keyed_form", "day"): "the visit's day as keyed, CHECK GLOB date pattern",
    ("keyed_form", "outcome"): "CHECK IN the outcome code list",
    ("keyed_form", "verified_by"): "operator code, CHECK length <= 40",
    ("keyed_form", "verified_at"): "timestamp, CHECK GLOB date pattern",
    ("override", "record_id"): "UUID",
    ("override", "rule_id"): "CHECK GLOB W###",
    ("override", "reason"): "CHECK IN fixed reason list",
    ("audit", "at"): "timestamp",
    ("audit", "who"): "user code",
    ("audit", "record_type"): "CHECK IN code list",
    ("audit", "record_id"): "UUID or area code",
    ("audit", "field"): "field path",
    ("audit", "old"): "previous value of a coded/count field (locators redacted)",
    ("audit", "new"): "new value of a coded/count field (locators redacted)",
    ("audit", "reason"): "reason code",
    ("audit", "prev"): "SHA-256 hex",
    ("audit", "hash"): "SHA-256 hex",
    ("dwelling", "source"): "user code of the level it came from",
    ("dwelling", "base_digest"): "SHA-256 hex",
    ("household", "source"): "user code of the level it came from",
    ("household", "base_digest"): "SHA-256 hex",
    ("peer", "code"): "user code (never a name)",
    ("peer", "role"): "CHECK IN role list",
    ("peer", "direction"): "CHECK IN (upstream, downstream)",
    ("peer", "key_id"): "hex of a public key hash",
    ("peer", "status"): "CHECK IN (trusted, revoked)",
    ("peer", "added_at"): "timestamp",
    ("area", "status_reason"): "CHECK IN fixed reopen reasons (never free text)",
    ("audit_anchor", "peer"): "user code",
    ("audit_anchor", "direction"): "CHECK IN (sent, received, confirmed)",
    ("audit_anchor", "hash"): "SHA-256 hex of an audit entry",
    ("audit_anchor", "transfer"): "UUID of a bundle or receipt",
    ("audit_anchor", "at"): "timestamp",
    ("peer_area", "peer"): "user code",
    ("peer_area", "area"): "area code",
    ("transfer", "id"): "UUID of a bundle, assignment or receipt",
    ("transfer", "kind"): "CHECK IN code list",
    ("transfer", "direction"): "CHECK IN (in, out)",
    ("transfer", "peer"): "user code",
    ("transfer", "created"): "timestamp",
    ("transfer", "at"): "timestamp",
    ("transfer", "payload_sha256"): "SHA-256 hex",
    ("transfer", "summary"): "counts written by the program (JSON of integers)",
    ("transfer", "file_sha256"): "SHA-256 hex of the sealed file's bytes",
    ("release", "last_written_at"): "timestamp",
    ("release_members", "cells"): "SHA-256 hex of a set of area codes",
    ("release_members", "level"): "level code from the config",
    ("release_members", "code"): "area code, or PARENT:other",
    ("release_members", "members"): "JSON list of enumeration area codes (CHECK json_valid)",
    ("dp_cells", "area"): "area code",
    ("dp_cells", "tbl"): "CHECK IN (persons, households)",
    ("dp_cells", "digest"): "SHA-256 hex",
    ("dp_cells", "cells"): "JSON list of noisy integer counts (CHECK json_valid)",
    ("dp_cells", "drawn_at"): "timestamp",
    ("dp_cells", "release"): "release id",
    ("dp_spent", "area"): "area code",
    ("transfer", "acked_at"): "timestamp",
    ("transfer", "ack_sent_at"): "timestamp",
    ("review", "kind"): "CHECK IN code list",
    ("review", "record_type"): "CHECK IN code list",
    ("review", "record_id"): "UUID",
    ("review", "area"): "area code",
    ("review", "other_id"): "UUID",
    ("review", "digest"): "SHA-256 hex",
    ("review", "source"): "user code",
    ("review", "transfer"): "UUID",
    ("review", "detail"): "rule ids and reason codes written by the program",
    ("review", "incoming"): "the held record's JSON (same fields as the tables); dropped when the "
                            "item is resolved and at close-out",
    ("review", "status"): "CHECK IN (open, resolved)",
    ("review", "resolution"): "CHECK IN code list",
    ("review", "created_at"): "timestamp",
    ("review", "resolved_by"): "user code",
    ("review", "resolved_at"): "timestamp",
    ("decision", "household_id"): "UUID",
    ("decision", "action"): "CHECK IN (approved, returned)",
    ("decision", "reason"): "CHECK IN fixed return reasons",
    ("decision", "note"): "short note to the enumerator, CHECK length <= 80, checked for personal "
                          "data like the locator, purged at close-out",
    ("decision", "rules"): "rule ids",
    ("decision", "who"): "user code",
    ("decision", "at"): "timestamp",
    ("decision", "prior_digest"): "SHA-256 hex of the version decided on",
    ("decision", "prior_source"): "user code it came from",
    ("handed_over", "area"): "area code",
    ("handed_over", "outcome"): "CHECK IN code list",
    ("_sqlite_migrations", "migration_set"): "sqlite-utils bookkeeping",
    ("_sqlite_migrations", "name"): "sqlite-utils bookkeeping",
    ("_sqlite_migrations", "applied_at"): "sqlite-utils bookkeeping",
    ("release", "id"): "release id, CHECK GLOB R-XXXXXXXX",
    ("release", "created_at"): "timestamp",
    ("release", "user"): "user code",
    ("release", "level"): "level code from the config",
    ("release", "method"): "CHECK IN (rr3, ckm, none)",
    ("release", "ptable"): "SHA-256 hex of the perturbation table",
    ("release", "tables"): "table names, CHECK length <= 40",
    ("release", "format"): "CHECK IN (csv, json, parquet)",
    ("release", "content"): "SHA-256 hex",
    ("release", "override"): "CHECK IN fixed reason list (never free text)",
    ("release_state", "kind"): "CHECK IN (unit, area)",
    ("release_state", "code"): "area code or AREA:other",
    ("release_state", "tbl"): "CHECK IN table names",
    ("release_state", "digest"): "SHA-256 hex",
    ("release_cells", "cells"): "SHA-256 hex prefix of a set of area codes",
    ("release_cells", "tbl"): "CHECK IN table names",
}
# Column names that contain a forbidden fragment but are harmless.
NAME_EXCEPTIONS = {("area", "name"), ("_sqlite_migrations", "name"), ("area", "level"),
                   ("cell", "idx")}


def columns(store: Store) -> list[tuple[str, str, str]]:
    out = []
    for (table,) in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
        for _cid, col, ctype, *_ in store.conn.execute(f"PRAGMA table_info('{table}')"):
            out.append((table, col, ctype.upper()))
    return out


def test_no_column_for_personal_or_sensitive_data(store: Store) -> None:
    bad = [(t, c) for t, c, _ in columns(store)
           if FORBIDDEN.search(c) and (t, c) not in NAME_EXCEPTIONS]
    assert bad == []


def test_every_text_column_is_justified(store: Store) -> None:
    text = {(t, c) for t, c, ctype in columns(store) if ctype in ("TEXT", "ANY", "")}
    unexplained = sorted(text - set(TEXT_ALLOWED))
    assert unexplained == [], "a new TEXT column needs a reason in TEXT_ALLOWED"


def test_the_locator_is_the_only_free_text_and_is_bounded(store: Store) -> None:
    sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'dwelling'").fetchone()[0]
    assert "length(locator) BETWEEN 1 AND 60" in sql
    area_sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'area'").fetchone()[0]
    assert "length(name) BETWEEN 1 AND 80" in area_sql
    decision_sql = store.conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'decision'").fetchone()[0]
    assert "length(note) BETWEEN 1 AND 80" in decision_sql


def test_the_guard_itself_catches_a_forbidden_column(store: Store) -> None:
    store.conn.execute("ALTER TABLE household ADD COLUMN head_name TEXT")
    bad = [(t, c) for t, c, _ in columns(store)
           if FORBIDDEN.search(c) and (t, c) not in NAME_EXCEPTIONS]
    assert bad == [("household", "head_name")]
