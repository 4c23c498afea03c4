"""Records (dwellings with their visits, households) in the store: versions, natural keys, loads
and the one writer of dwelling and household rows.

`write_records` writes what the intake decided (`census.usecases.intake`), inside the caller's
`Store.write()` transaction, with the audit entries of each change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from census.domain.keys import key_sums
from census.domain.model import (
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Respondent,
    Visit,
)
from census.domain.revisions import Base, Held
from census.formats.payload import override_rows, visit_rows
from census.formats.record_json import dwelling_to_json, household_to_json
from census.storage import audit
from census.storage.store import BATCH, Store, in_query


def _dt(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


@dataclass(frozen=True)
class StoredDwelling:
    """What the store holds of a dwelling record: its version and its area."""

    held: Held
    area: str


@dataclass(frozen=True)
class StoredHousehold:
    """What the store holds of a household: its version, dwelling, secret seed, area and state."""

    held: Held
    dwelling_id: str
    seed: bytes
    area: str
    status: HouseholdStatus
    completed_at: str | None = None
    """Its first completion as stored (`2026-11-28T12:00`), None before one."""


@dataclass(frozen=True)
class DwellingRow:
    """A dwelling record (listing line and visits) to write, as the intake decided it."""

    dwelling: Dwelling
    digest: str
    new: bool
    who: str
    """Who the audit names for it."""
    text: str = ""
    """Its canonical text: the audit entry of a new record written here (fields audit)."""
    base: Base | None = None
    updated_at: str | None = None
    """When its sender changed it (a file from another level); None: now."""


@dataclass(frozen=True)
class HouseholdRow:
    """A household to write (with the seed it is stored with), as the intake decided it."""

    household: Household
    dwelling_id: str
    digest: str
    new: bool
    who: str
    """Who the audit names, and the household's `updated_by` unless given."""
    text: str = ""
    base: Base | None = None
    updated_at: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where written records come from, and so how they are stored and audited.

    A record made or edited here (the default) keeps no `source`, keeps the base it had, and is
    audited field by field. A record taken from another level's file keeps that peer as its
    `source` and the base the file gives; its audit entries name the revision it moved to, with
    `reason` (the file), and a new one is covered by the file's own entry unless `audit_new`."""

    source: str | None = None
    reason: str | None = None
    fields: bool = True
    """Audit field by field (else one entry per record: the revision it moved to)."""
    keep_base: bool = True
    """Keep the stored base (else store the rows' base)."""
    audit_new: bool = True


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = obj
    return out


def _redact(record: dict[str, Any]) -> dict[str, Any]:
    """The audit log records that a locator changed, never its text (it is purged at close-out)."""
    if record.get("locator"):
        record = {**record, "locator": "[locator]"}
    return record


def _value(v: Any) -> str | None:
    return None if v is None else str(v)


def override_reasons(overrides: Mapping[str, Any] | None) -> str | None:
    """`W001=confirmed_with_respondent;…` for the audit's reason column, or None."""
    return ";".join(f"{k}={v}" for k, v in sorted((overrides or {}).items()))[:200] or None


def changes(record_type: str, record_id: str, old: dict[str, Any] | None,
            new: dict[str, Any], who: str, at: str) -> list[audit.Entry]:
    """Audit entries for a record: one entry for a new record, one per changed field otherwise.
    A confirmed warning's reason code also goes into the entry's reason column."""
    if old is None:
        body = {k: v for k, v in _redact(new).items() if k != "id"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return [audit.Entry(at, who, record_type, record_id, "*", None, text[:4000],
                            override_reasons(new.get("overrides")))]
    # Compare the real values, write the redacted ones: a changed locator is recorded as a
    # change without its text.
    before, after = _flatten(old), _flatten(new)
    shown_before, shown_after = _flatten(_redact(old)), _flatten(_redact(new))
    entries = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            reason = after.get(key) if key.startswith("overrides.") else None
            entries.append(audit.Entry(at, who, record_type, record_id, key[:80],
                                       _value(shown_before.get(key)),
                                       _value(shown_after.get(key)), _value(reason)))
    return entries


def dwelling_versions(store: Store, ids: Sequence[str]) -> dict[str, StoredDwelling]:
    rows = in_query(store, "SELECT id, revision, digest, source, area FROM dwelling "
                           "WHERE id IN ({marks})", ids)
    return {r[0]: StoredDwelling(Held(r[1], r[2], r[3]), r[4]) for r in rows}


def household_versions(store: Store, ids: Sequence[str]) -> dict[str, StoredHousehold]:
    rows = in_query(store, "SELECT id, revision, digest, source, dwelling_id, seed, area, status, "
                           "completed_at FROM household WHERE id IN ({marks})", ids)
    return {r[0]: StoredHousehold(Held(r[1], r[2], r[3]), r[4], r[5], r[6], HouseholdStatus(r[7]),
                                  r[8]) for r in rows}


def dwelling_areas(store: Store, ids: Sequence[str]) -> dict[str, str]:
    """The area of each stored dwelling among `ids`."""
    return dict(in_query(store, "SELECT id, area FROM dwelling WHERE id IN ({marks})", ids))


def natural_key_owners(store: Store, keys: Sequence[tuple[str, int, int]]
                       ) -> dict[tuple[str, int, int], str]:
    """Which stored dwelling id holds each (area, structure, dwelling number)."""
    out: dict[tuple[str, int, int], str] = {}
    for i in range(0, len(keys), 300):
        part = keys[i:i + 300]
        values = ",".join("(?, ?, ?)" for _ in part)
        params = [x for k in part for x in k]
        rows = store.conn.execute(
            f"WITH k(area, structure, number) AS (VALUES {values}) "
            "SELECT d.area, d.structure, d.number, d.id FROM dwelling d JOIN k USING "
            "(area, structure, number)", params).fetchall()
        out.update({(r[0], r[1], r[2]): r[3] for r in rows})
    return out


def households_of(store: Store, dwelling_ids: Sequence[str]) -> dict[str, list[Household]]:
    """The stored households of each dwelling."""
    out: dict[str, list[Household]] = {}
    for part in range(0, len(dwelling_ids), BATCH):
        chunk = dwelling_ids[part:part + BATCH]
        marks = ",".join("?" * len(chunk))
        for dwelling_id, h in select_households(store, f"h.dwelling_id IN ({marks})", chunk):
            out.setdefault(dwelling_id, []).append(h)
    return out


def household_numbers(store: Store, dwelling_ids: Sequence[str]) -> dict[tuple[str, int], str]:
    """Which household id holds each (dwelling id, household number)."""
    rows = in_query(store, "SELECT dwelling_id, number, id FROM household "
                          "WHERE dwelling_id IN ({marks})", dwelling_ids)
    return {(r[0], r[1]): r[2] for r in rows}


HOUSEHOLD_COLUMNS = ("id", "dwelling_id", "area", "number", "status", "respondent",
                     "revision", "digest", "seed", "away", "visitors", "declared_total",
                     "usual_residents", "updated_at", "updated_by", "source", "completed_at")
DWELLING_COLUMNS = ("id", "area", "structure", "number", "type", "occupancy", "locator",
                    "enumerator", "revision", "digest", "updated_at", "source")
BASE_COLUMNS = ("base_rev", "base_digest")


#: A household's first completion is kept: a later save (a draft, a correction completed
#: again, a copy from another device) moves it only to an earlier time.
_KEEP = {"completed_at": "coalesce(min(completed_at, excluded.completed_at), completed_at, "
                         "excluded.completed_at)"}
#: Statuses of a form that was completed (a decision keeps the status it decided on).
DONE = (HouseholdStatus.COMPLETE, HouseholdStatus.RETURNED, HouseholdStatus.APPROVED)


def local_minutes(stamp: str) -> str:
    """A UTC stamp of the store (`2026-11-20T09:12:40Z`) as this computer's local time to the
    minute (`2026-11-20T10:12`), the form of visits' and completions' times."""
    t = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return t.astimezone().strftime("%Y-%m-%dT%H:%M")


def _upsert(table: str, columns: Sequence[str]) -> str:
    updates = ", ".join(f"{col} = {_KEEP.get(col, f'excluded.{col}')}" for col in columns[1:])
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({','.join('?' * len(columns))}) ON CONFLICT (id) DO UPDATE SET {updates}")


def write_records(store: Store, chain: audit.Chain, dwellings: Sequence[DwellingRow],
                  households: Sequence[HouseholdRow], origin: Origin, now: str,
                  local_now: str | None = None) -> None:
    """Write dwellings (with their visits and overrides) and households (with their counts, key
    sums and overrides) in the caller's transaction, with their audit entries. The one writer
    of records: the intake decided what is written, `origin` says how it is recorded.

    `now` is the UTC stamp of the write; `local_now` the device's local time to the minute (by
    default `now` in this computer's time zone): a form stored complete (or decided) for the
    first time gets it as its `completed_at`, unless it carries its own; a stored one keeps
    the earliest."""
    cfg = store.config
    conn = store.conn
    keep_base = origin.keep_base
    entries: list[audit.Entry] = []
    replaced: list[tuple[str]] = []
    d_rows, v_rows, o_rows = [], [], []
    updated_d = [r.dwelling.id for r in dwellings if not r.new]
    updated_h = [r.household.id for r in households if not r.new]
    if origin.fields:  # field by field: the stored versions, as JSON
        old_json = {i: record_json(store, "dwelling", i) for i in updated_d}
        old_json.update({i: record_json(store, "household", i) for i in updated_h})
    else:  # the revision each record moves from
        old_rev = dict(in_query(store, "SELECT id, revision FROM dwelling WHERE id IN ({marks})",
                                updated_d))
        old_rev.update(in_query(store, "SELECT id, revision FROM household WHERE id IN "
                                       "({marks})", updated_h))
    for r in dwellings:
        d = r.dwelling
        row = [d.id, d.area, d.structure, d.number, str(d.type), str(d.occupancy), d.locator,
               d.enumerator, d.revision, r.digest, r.updated_at or now, origin.source]
        if not keep_base:
            row += [r.base.revision if r.base else None, r.base.digest if r.base else None]
        d_rows.append(row)
        if not r.new:
            replaced.append((d.id,))
        v_rows += [tuple(v) for v in visit_rows(d)]
        o_rows += [tuple(o) for o in override_rows(d.id, d.overrides)]
        if origin.fields:
            if r.new and not d.locator:
                # The canonical text is the audit entry (it has no locator to redact).
                entries.append(audit.Entry(now, r.who, "dwelling", d.id, "*", None,
                                           r.text[:4000], override_reasons(d.overrides)))
            else:
                entries += changes("dwelling", d.id, None if r.new else old_json[d.id],
                                   dwelling_to_json(d, cfg, with_households=False), r.who, now)
        elif origin.audit_new or not r.new:
            entries.append(audit.Entry(now, r.who, "dwelling", d.id, "revision",
                                       None if r.new else str(old_rev.get(d.id)),
                                       str(d.revision), origin.reason))
    if d_rows:
        columns = (*DWELLING_COLUMNS, *(() if keep_base else BASE_COLUMNS))
        conn.executemany(_upsert("dwelling", columns), d_rows)
        # A dwelling moved to another area takes its households along.
        conn.executemany("UPDATE household SET area = ? WHERE dwelling_id = ? AND area != ?",
                         [(r.dwelling.area, r.dwelling.id, r.dwelling.area)
                          for r in dwellings if not r.new])
    # A household's area is its dwelling's: known for the dwellings written here, read for the
    # others.
    area_of = {r.dwelling.id: r.dwelling.area for r in dwellings}
    area_of.update(dwelling_areas(store, sorted({r.dwelling_id for r in households}
                                                - set(area_of))))
    h_rows = []
    for hr in households:
        h = hr.household
        counts = [h.residents.get(c, 0) for c in cfg.cells]
        sums = key_sums(h.seed, cfg.cells, h.residents)
        completed = _dt(h.completed_at)
        if completed is None and h.status in DONE:
            completed = local_now = local_now or local_minutes(now)
        row = [h.id, hr.dwelling_id, area_of[hr.dwelling_id], h.number, str(h.status),
               str(h.respondent), h.revision, hr.digest, h.seed, h.away, h.visitors,
               h.declared_total, h.usual_residents, hr.updated_at or now,
               (hr.updated_by or hr.who) if origin.fields else hr.updated_by,
               origin.source, completed]
        if not keep_base:
            row += [hr.base.revision if hr.base else None, hr.base.digest if hr.base else None]
        h_rows.append([*row, *counts, *sums])
        if not hr.new:
            replaced.append((h.id,))
        o_rows += [tuple(o) for o in override_rows(h.id, h.overrides)]
        if origin.fields:
            if hr.new:  # the canonical text is the audit entry of a new household
                entries.append(audit.Entry(now, hr.who, "household", h.id, "*", None,
                                           hr.text[:4000], override_reasons(h.overrides)))
            else:
                new_h = {**household_to_json(h, cfg), "dwelling": hr.dwelling_id}
                entries += changes("household", h.id, old_json[h.id], new_h, hr.who, now)
        elif origin.audit_new or not hr.new:
            entries.append(audit.Entry(now, hr.who, "household", h.id, "revision",
                                       None if hr.new else str(old_rev.get(h.id)),
                                       str(h.revision), origin.reason))
    if replaced:
        conn.executemany("DELETE FROM visit WHERE dwelling_id = ?", replaced)
        conn.executemany("DELETE FROM override WHERE record_id = ?", replaced)
    if v_rows:
        conn.executemany("INSERT INTO visit VALUES (?, ?, ?, ?, ?, ?)", v_rows)
    if h_rows:
        columns = (*HOUSEHOLD_COLUMNS, *(() if keep_base else BASE_COLUMNS), *store.counts,
                   *store.keys)
        conn.executemany(_upsert("household", columns), h_rows)
    if o_rows:
        conn.executemany("INSERT INTO override VALUES (?, ?, ?)", o_rows)
    chain.add(entries)


def earlier_completions(store: Store, chain: audit.Chain,
                        moves: Sequence[tuple[str, str | None, str]], now: str, who: str) -> None:
    """(household id, stored first completion, an earlier one known from another copy of the
    stored version): each is written, in one statement, and logged (old → new)."""
    store.conn.executemany("UPDATE household SET completed_at = ? WHERE id = ?",
                           [(at, household_id) for household_id, _old, at in moves])
    chain.add([audit.Entry(now, who, "household", household_id, "completed_at", old, at)
               for household_id, old, at in moves])


def set_base(store: Store, record_type: str, record_id: str, base: Base) -> None:
    """Record the upstream version a record here was edited from (a form returned again)."""
    table = "dwelling" if record_type == "dwelling" else "household"
    store.conn.execute(f"UPDATE {table} SET base_rev = ?, base_digest = ? WHERE id = ?",
                       (base.revision, base.digest, record_id))


def record_json(store: Store, record_type: str, record_id: str) -> dict[str, Any] | None:
    """The JSON form of a stored dwelling (listing line and visits) or household (with its
    dwelling's id), or None when there is no such record."""
    if record_type == "dwelling":
        d = load_dwelling(store, record_id, with_households=False)
        return None if d is None else dwelling_to_json(d, store.config, with_households=False)
    for dwelling_id, h in select_households(store, "h.id = ?", (record_id,)):
        return {**household_to_json(h, store.config), "dwelling": dwelling_id}
    return None


def select_households(store: Store, where: str, params: Sequence[Any]
                      ) -> list[tuple[str, Household]]:
    """(dwelling id, household) pairs matching `where`."""
    cols = ", ".join(f"h.{c}" for c in store.counts)
    rows = store.conn.execute(
        "SELECT h.id, h.number, h.seed, h.status, h.revision, h.respondent, h.away, "
        f"h.visitors, h.declared_total, h.dwelling_id, h.completed_at, {cols} FROM household h "
        f"WHERE {where} ORDER BY h.dwelling_id, h.number", params).fetchall()
    ids = [r[0] for r in rows]
    overrides: dict[str, dict[str, OverrideReason]] = {}
    for rid, rule_id, reason in in_query(store,
            "SELECT record_id, rule_id, reason FROM override WHERE record_id IN ({marks})",
            ids):
        overrides.setdefault(rid, {})[rule_id] = OverrideReason(reason)
    out = []
    cells = store.config.cells
    for r in rows:
        residents = {cells[i]: n for i, n in enumerate(r[11:]) if n}
        out.append((r[9], Household(
            id=r[0], number=r[1], seed=r[2], status=HouseholdStatus(r[3]), revision=r[4],
            respondent=Respondent(r[5]), residents=residents, away=r[6], visitors=r[7],
            declared_total=r[8], overrides=overrides.get(r[0], {}),
            completed_at=datetime.fromisoformat(r[10]) if r[10] else None)))
    return out


def select_dwellings(store: Store, where: str, params: Sequence[Any], with_households: bool = True
               ) -> list[Dwelling]:
    rows = store.conn.execute(
        "SELECT id, area, structure, number, type, occupancy, locator, revision, enumerator "
        f"FROM dwelling d WHERE {where} ORDER BY area, structure, number", params).fetchall()
    ids = [r[0] for r in rows]
    visits: dict[str, list[Visit]] = {}
    for did, attempt, at, outcome, cb, enum in in_query(store,
            "SELECT dwelling_id, attempt, at, outcome, callback_at, enumerator FROM visit "
            "WHERE dwelling_id IN ({marks}) ORDER BY dwelling_id, attempt", ids):
        visits.setdefault(did, []).append(Visit(
            attempt, datetime.fromisoformat(at), Outcome(outcome),
            datetime.fromisoformat(cb) if cb else None, enum))
    overrides: dict[str, dict[str, OverrideReason]] = {}
    for rid, rule_id, reason in in_query(store,
            "SELECT record_id, rule_id, reason FROM override WHERE record_id IN ({marks})",
            ids):
        overrides.setdefault(rid, {})[rule_id] = OverrideReason(reason)
    households: dict[str, list[Household]] = {}
    if with_households and ids:
        for part in range(0, len(ids), BATCH):
            chunk = ids[part:part + BATCH]
            marks = ",".join("?" * len(chunk))
            for dwelling_id, h in select_households(store, f"h.dwelling_id IN ({marks})", chunk):
                households.setdefault(dwelling_id, []).append(h)
    return [Dwelling(id=r[0], area=r[1], structure=r[2], number=r[3],
                     type=DwellingType(r[4]), occupancy=Occupancy(r[5]), locator=r[6],
                     revision=r[7], enumerator=r[8], visits=tuple(visits.get(r[0], [])),
                     households=tuple(households.get(r[0], [])),
                     overrides=overrides.get(r[0], {}))
            for r in rows]


def load_dwelling(store: Store, dwelling_id: str, with_households: bool = True) -> Dwelling | None:
    found = select_dwellings(store, "id = ?", (dwelling_id,), with_households)
    return found[0] if found else None


def iter_dwellings(store: Store, areas: Iterable[str] | None = None) -> Iterator[Dwelling]:
    """Every dwelling with visits and households, one area at a time (bounded memory)."""
    codes = list(areas) if areas is not None else [
        r[0] for r in store.conn.execute("SELECT DISTINCT area FROM dwelling ORDER BY area")]
    for code in codes:
        yield from select_dwellings(store, "area = ?", (code,))


def count_rows(store: Store, table: str) -> int:
    if table not in {"area", "dwelling", "visit", "household", "audit", "override"}:
        raise ValueError(table)
    return int(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def load_household(store: Store, household_id: str) -> tuple[str, Household] | None:
    """(dwelling id, household) of a stored household, or None."""
    found = select_households(store, "h.id = ?", (household_id,))
    return found[0] if found else None
