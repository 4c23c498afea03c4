"""The repository: every read and write of census data goes through `Store` (only SQL here).

Writes happen inside `Store.write()`, one `BEGIN IMMEDIATE` transaction that also appends the
audit entries, so a save is all-or-nothing and two processes cannot fork the audit chain. Bulk
rows move with `executemany` inside that one transaction (DESIGN §9); sqlite-utils serves the
schema, migrations and metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from census.config import SurveyConfig
from census.domain.keys import key_sums
from census.domain.model import (
    LAST_VISIT_STATES,
    NOT_VISITED,
    Area,
    AreaStatus,
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Respondent,
    Role,
    Visit,
)
from census.i18n import _
from census.records import dwelling_to_json, household_to_json
from census.storage import audit
from census.storage.connection import StoreError, connect, explain
from census.storage.schema import cell_columns, migrations

FORMAT = "census-db-1"
BULK_CACHE_KIB = -32768
BATCH = 500


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dt(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


@dataclass(frozen=True)
class Version:
    """What the store holds of a record: revision and content digest (and a household's seed)."""

    revision: int
    digest: str
    seed: bytes = b""
    dwelling_id: str = ""


@dataclass(frozen=True)
class HouseholdWrite:
    """One household to write: with its seed, content digest and canonical text."""

    household: Household
    digest: str
    new: bool
    text: str


@dataclass(frozen=True)
class DwellingWrite:
    """One dwelling record to write; `dwelling_new`/`household_new` say insert vs update."""

    dwelling: Dwelling
    dwelling_digest: str
    dwelling_text: str
    write_dwelling: bool
    dwelling_new: bool
    households: Sequence[HouseholdWrite]
    who: str


@dataclass(frozen=True)
class ProgressRow:
    """Coverage of one area (operational counts of dwellings; exact)."""

    area: str
    name: str
    enumerator: str | None
    status: str
    expected: int | None
    listed: int
    visited: int
    completed: int
    callbacks_due: int
    refused: int
    vacant: int
    ineligible: int
    households: int
    persons: int
    last_activity: str | None = None
    handed_over: int = 0

    @property
    def response_rate(self) -> float | None:
        """Completed dwellings over eligible listed ones (vacant, gone, not dwellings excluded)."""
        eligible = self.listed - self.ineligible
        return round(100 * self.completed / eligible, 1) if eligible > 0 else None

    @property
    def refusal_rate(self) -> float | None:
        """Refused over visited dwellings, in percent."""
        return round(100 * self.refused / self.visited, 1) if self.visited else None

    @property
    def vacancy_rate(self) -> float | None:
        """Vacant over visited dwellings, in percent."""
        return round(100 * self.vacant / self.visited, 1) if self.visited else None

    @property
    def mean_household_size(self) -> float | None:
        """Usual residents per completed household."""
        return round(self.persons / self.households, 2) if self.households else None

    def days_idle(self, now: datetime) -> int | None:
        """Whole days since the last visit recorded in the area (None before the first)."""
        if not self.last_activity:
            return None
        return max(0, (now - datetime.fromisoformat(self.last_activity)).days)


def by_enumerator(rows: Sequence[ProgressRow]) -> list[ProgressRow]:
    """The same coverage summed per enumerator (`area` holds the enumerator code, `name` the
    number of areas); areas without an enumerator are summed under "-"."""
    groups: dict[str, list[ProgressRow]] = {}
    for r in rows:
        groups.setdefault(r.enumerator or "-", []).append(r)
    out = []
    for code, rs in sorted(groups.items()):
        expected = [r.expected for r in rs if r.expected is not None]
        last = max((r.last_activity for r in rs if r.last_activity), default=None)
        out.append(ProgressRow(
            area=code, name=str(len(rs)), enumerator=code, status="open"
            if any(r.status == "open" for r in rs) else "closed",
            expected=sum(expected) if expected else None,
            listed=sum(r.listed for r in rs), visited=sum(r.visited for r in rs),
            completed=sum(r.completed for r in rs),
            callbacks_due=sum(r.callbacks_due for r in rs),
            refused=sum(r.refused for r in rs), vacant=sum(r.vacant for r in rs),
            ineligible=sum(r.ineligible for r in rs), households=sum(r.households for r in rs),
            persons=sum(r.persons for r in rs), last_activity=last,
            handed_over=sum(r.handed_over for r in rs)))
    return out


@dataclass(frozen=True)
class ListingRow:
    """One line of an area's listing as the listing screen shows it."""

    id: str
    structure: int
    number: int
    type: str
    occupancy: str
    locator: str | None
    last_outcome: str | None
    callback_at: str | None
    households: int
    status: str


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


class Store:
    """An open census database: its config, role, and every query and write of its data."""

    def __init__(self, conn: Any, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.db = Database(conn)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except Exception as exc:
            raise StoreError(_("{path} opens with this passphrase but is not a census database, "
                               "or it is damaged; restore it from a backup.").format(
                path=path)) from exc
        if meta.get("format") != FORMAT:
            raise StoreError(_("{path} was made by another version of census (format {found}); "
                               "this version reads {expected}.").format(
                path=path, found=meta.get("format"), expected=FORMAT))
        self.config = SurveyConfig.from_canonical_json(meta["config"])
        self.role = Role(meta["role"])
        self.user = meta["user"]
        self.counts, self.keys = cell_columns(self.config)
        self._levels: dict[str, str] | None = None
        self._chain: audit.Chain | None = None  # the open write transaction's, if any

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, passphrase: str, config: SurveyConfig, role: Role,
               user: str) -> Store:
        """Make a new encrypted database for `config`, used by `user` (a code, never a name)."""
        conn = connect(path, passphrase, create=True)
        try:
            db = Database(conn)
            with db.atomic():
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) "
                             "STRICT")
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("format", FORMAT), ("role", str(role)), ("user", user),
                    ("config", config.canonical_json()), ("created", utc_now())])
            migrations(config).apply(db)
            store = cls(conn, path)
            with store.write() as chain:
                chain.add([audit.Entry(utc_now(), user, "survey", "config", "*", None,
                                       f"{config.name} ({config.digest()}); role {role}")])
            return store
        except BaseException:
            conn.close()
            path.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            raise

    @classmethod
    def open(cls, path: Path, passphrase: str, any_thread: bool = False) -> Store:
        """Open an existing census database and bring its schema up to date."""
        conn = connect(path, passphrase, create=False, any_thread=any_thread)
        try:
            store = cls(conn, path)
            migrations(store.config).apply(store.db)
            return store
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """A larger page cache (32 MiB) while many records are written: index pages are then
        not evicted, re-read and re-decrypted over and over. Memory stays bounded."""
        previous = int(self.conn.execute("PRAGMA cache_size").fetchone()[0])
        self.conn.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {previous}")

    @contextmanager
    def write(self) -> Iterator[audit.Chain]:
        """One write transaction (BEGIN IMMEDIATE) with an audit chain appender. Inside an
        open one it joins it: a read-modify-write (load a record, change it, save it) is then
        one transaction, so another process cannot write in between (no lost update)."""
        if self._chain is not None:
            yield self._chain
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # busy: explained below, nothing to roll back
            chain = self._chain = audit.Chain(self.conn)
            yield chain
            chain.flush()
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            message = explain(exc)
            if message is not None:  # e.g. the disk filled up: a message, not a crash
                raise StoreError(message) from exc
            raise
        finally:
            self._chain = None

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already (it does on a full disk
        or an I/O error); a failing rollback must not hide the error that caused it."""
        if self.conn.in_transaction:
            with suppress(Exception):
                self.conn.execute("ROLLBACK")

    # -- areas ---------------------------------------------------------------------------------

    def import_areas(self, areas: Sequence[Area], who: str) -> tuple[int, int, int]:
        """Add or update areas (parents first). Returns (added, updated, unchanged)."""
        added = updated = unchanged = 0
        now = utc_now()
        self._levels = None
        with self.write() as chain:
            for a in areas:
                if a.enumerator:
                    self.conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)",
                                      (a.enumerator,))
                row = self.conn.execute(
                    "SELECT code, parent, level, name, expected_dwellings, enumerator, status "
                    "FROM area WHERE code = ?", (a.code,)).fetchone()
                new = {"code": a.code, "parent": a.parent, "level": a.level, "name": a.name,
                       "expected_dwellings": a.expected_dwellings, "enumerator": a.enumerator,
                       "status": str(a.status)}
                if row is None:
                    added += 1
                    old = None
                else:
                    old = dict(zip(new, row, strict=True))
                    old["status"] = row[6]
                    new["status"] = row[6]  # status changes by closing, not by re-import
                    if old == new:
                        unchanged += 1
                        continue
                    updated += 1
                self.conn.execute(
                    "INSERT INTO area (code, parent, level, name, expected_dwellings, "
                    "enumerator, status) VALUES (:code, :parent, :level, :name, "
                    ":expected_dwellings, :enumerator, :status) ON CONFLICT (code) DO UPDATE SET "
                    "parent = excluded.parent, level = excluded.level, name = excluded.name, "
                    "expected_dwellings = excluded.expected_dwellings, "
                    "enumerator = excluded.enumerator", new)
                chain.add(changes("area", a.code, old, new, who, now))
        return added, updated, unchanged

    def areas(self) -> list[Area]:
        rows = self.conn.execute(
            "SELECT code, level, name, parent, expected_dwellings, enumerator, status FROM area "
            "ORDER BY code").fetchall()
        return [Area(r[0], r[1], r[2], r[3], r[4], r[5], AreaStatus(r[6])) for r in rows]

    def area(self, code: str) -> Area | None:
        r = self.conn.execute(
            "SELECT code, level, name, parent, expected_dwellings, enumerator, status FROM area "
            "WHERE code = ?", (code,)).fetchone()
        return None if r is None else Area(r[0], r[1], r[2], r[3], r[4], r[5], AreaStatus(r[6]))

    def has_areas_of(self, enumerator: str) -> bool:
        """True when some area is assigned to `enumerator`."""
        return self.conn.execute("SELECT 1 FROM area WHERE enumerator = ? LIMIT 1",
                                 (enumerator,)).fetchone() is not None

    def area_levels(self) -> dict[str, str]:
        """Map of area code to level, for the engine's `area_known` (cached; areas change only
        through `import_areas`)."""
        if self._levels is None:
            self._levels = dict(self.conn.execute("SELECT code, level FROM area").fetchall())
        return self._levels

    def subtree(self, code: str) -> list[str]:
        """`code` and every area below it."""
        rows = self.conn.execute(
            "WITH RECURSIVE t(code) AS (SELECT ? UNION SELECT a.code FROM area a JOIN t ON "
            "a.parent = t.code) SELECT code FROM t ORDER BY code", (code,)).fetchall()
        return [r[0] for r in rows]

    # -- records -------------------------------------------------------------------------------

    def _in_query(self, sql: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(ids), BATCH):
            part = ids[i:i + BATCH]
            marks = ",".join("?" * len(part))
            out += self.conn.execute(sql.format(marks=marks), part).fetchall()
        return out

    def dwelling_versions(self, ids: Sequence[str]) -> dict[str, Version]:
        rows = self._in_query("SELECT id, revision, digest FROM dwelling WHERE id IN ({marks})",
                              ids)
        return {r[0]: Version(r[1], r[2]) for r in rows}

    def household_versions(self, ids: Sequence[str]) -> dict[str, Version]:
        rows = self._in_query("SELECT id, revision, digest, seed, dwelling_id FROM household "
                              "WHERE id IN ({marks})", ids)
        return {r[0]: Version(r[1], r[2], r[3], r[4]) for r in rows}

    def natural_key_owners(self, keys: Sequence[tuple[str, int, int]]
                           ) -> dict[tuple[str, int, int], str]:
        """Which stored dwelling id holds each (area, structure, dwelling number)."""
        out: dict[tuple[str, int, int], str] = {}
        for i in range(0, len(keys), 300):
            part = keys[i:i + 300]
            values = ",".join("(?, ?, ?)" for _ in part)
            params = [x for k in part for x in k]
            rows = self.conn.execute(
                f"WITH k(area, structure, number) AS (VALUES {values}) "
                "SELECT d.area, d.structure, d.number, d.id FROM dwelling d JOIN k USING "
                "(area, structure, number)", params).fetchall()
            out.update({(r[0], r[1], r[2]): r[3] for r in rows})
        return out

    def households_of(self, dwelling_ids: Sequence[str]) -> dict[str, list[Household]]:
        """The stored households of each dwelling."""
        out: dict[str, list[Household]] = {}
        for part in range(0, len(dwelling_ids), BATCH):
            chunk = dwelling_ids[part:part + BATCH]
            marks = ",".join("?" * len(chunk))
            for dwelling_id, h in self._households(f"h.dwelling_id IN ({marks})", chunk):
                out.setdefault(dwelling_id, []).append(h)
        return out

    def household_numbers(self, dwelling_ids: Sequence[str]) -> dict[tuple[str, int], str]:
        """Which household id holds each (dwelling id, household number)."""
        rows = self._in_query("SELECT dwelling_id, number, id FROM household "
                              "WHERE dwelling_id IN ({marks})", dwelling_ids)
        return {(r[0], r[1]): r[2] for r in rows}

    def write_records(self, chain: audit.Chain, items: Sequence[DwellingWrite],
                      now: str) -> None:
        """Write dwellings, visits, households and overrides in the caller's transaction."""
        cfg = self.config
        dwellings, visit_rows, override_rows, household_rows = [], [], [], []
        replaced_visits: list[tuple[str]] = []
        moved: list[tuple[str, str]] = []
        replaced_overrides: list[tuple[str]] = []
        for item in items:
            d = item.dwelling
            if item.write_dwelling:
                old = None if item.dwelling_new else self.record_json("dwelling", d.id)
                dwellings.append((d.id, d.area, d.structure, d.number, str(d.type),
                                  str(d.occupancy), d.locator, d.enumerator, d.revision,
                                  item.dwelling_digest, now))
                if not item.dwelling_new:
                    replaced_visits.append((d.id,))
                    replaced_overrides.append((d.id,))
                    moved.append((d.area, d.id))
                for v in d.visits:
                    visit_rows.append((d.id, v.attempt, _dt(v.at), str(v.outcome),
                                       _dt(v.callback_at), v.enumerator))
                for rule_id, reason in d.overrides.items():
                    override_rows.append((d.id, rule_id, str(reason)))
                if old is None and not d.locator:
                    # The canonical text is the audit entry (it has no locator to redact).
                    chain.add([audit.Entry(now, item.who, "dwelling", d.id, "*", None,
                                           item.dwelling_text[:4000],
                                           override_reasons(d.overrides))])
                else:
                    chain.add(changes("dwelling", d.id, old,
                                      dwelling_to_json(d, cfg, with_households=False),
                                      item.who, now))
            for hw in item.households:
                h, digest, is_new = hw.household, hw.digest, hw.new
                old_h = None if is_new else self.record_json("household", h.id)
                if not is_new:
                    replaced_overrides.append((h.id,))
                counts = [h.residents.get(c, 0) for c in cfg.cells]
                sums = key_sums(h.seed, cfg.cells, h.residents)
                household_rows.append((h.id, d.id, d.area, h.number, str(h.status),
                                       str(h.respondent), h.revision, digest, h.seed, h.away,
                                       h.visitors, h.declared_total, h.usual_residents, now,
                                       item.who, *counts, *sums))
                for rule_id, reason in h.overrides.items():
                    override_rows.append((h.id, rule_id, str(reason)))
                if is_new:  # the canonical text is the audit entry of a new household
                    chain.add([audit.Entry(now, item.who, "household", h.id, "*", None,
                                           hw.text[:4000], override_reasons(h.overrides))])
                else:
                    new_h = household_to_json(h, cfg)
                    new_h["dwelling"] = d.id
                    chain.add(changes("household", h.id, old_h, new_h, item.who, now))
        c = self.conn
        if dwellings:
            c.executemany(
                "INSERT INTO dwelling (id, area, structure, number, type, occupancy, locator, "
                "enumerator, revision, digest, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (id) DO UPDATE SET area = excluded.area, "
                "structure = excluded.structure, number = excluded.number, type = excluded.type,"
                " occupancy = excluded.occupancy, locator = excluded.locator, "
                "enumerator = excluded.enumerator, revision = excluded.revision, "
                "digest = excluded.digest, updated_at = excluded.updated_at, "
                # A local edit: the record no longer is what its source sent (bundle merge
                # fast-forwards only records still as their source sent them).
                "source = NULL", dwellings)
        if replaced_visits:
            c.executemany("DELETE FROM visit WHERE dwelling_id = ?", replaced_visits)
        if moved:  # a dwelling moved to another area takes its households along
            c.executemany("UPDATE household SET area = ? WHERE dwelling_id = ? AND area != ?",
                          [(area, did, area) for area, did in moved])
        if replaced_overrides:
            c.executemany("DELETE FROM override WHERE record_id = ?", replaced_overrides)
        if visit_rows:
            c.executemany("INSERT INTO visit VALUES (?, ?, ?, ?, ?, ?)", visit_rows)
        if household_rows:
            # A local edit: the record no longer is what its source sent.
            self.upsert_households(household_rows, (), "source = NULL")
        if override_rows:
            c.executemany("INSERT INTO override VALUES (?, ?, ?)", override_rows)

    HOUSEHOLD_COLUMNS = ("id", "dwelling_id", "area", "number", "status", "respondent",
                         "revision", "digest", "seed", "away", "visitors", "declared_total",
                         "usual_residents", "updated_at", "updated_by")

    def upsert_households(self, rows: Sequence[Sequence[Any]], extra: Sequence[str] = (),
                          also: str = "") -> None:
        """Insert or update household rows: HOUSEHOLD_COLUMNS, then `extra` columns, then the
        counts and key sums; `also` adds an assignment to the update (e.g. `source = NULL`)."""
        grid = [*self.counts, *self.keys]
        names = [*self.HOUSEHOLD_COLUMNS, *extra, *grid]
        updates = ", ".join(f"{col} = excluded.{col}" for col in names[1:])
        if also:
            updates += ", " + also
        self.conn.executemany(
            f"INSERT INTO household ({', '.join(names)}) VALUES ({','.join('?' * len(names))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}", rows)

    def record_json(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        """The JSON form of a stored dwelling (listing line and visits) or household (with its
        dwelling's id), or None when there is no such record."""
        if record_type == "dwelling":
            d = self.load_dwelling(record_id, with_households=False)
            return None if d is None else dwelling_to_json(d, self.config, with_households=False)
        for dwelling_id, h in self._households("h.id = ?", (record_id,)):
            return {**household_to_json(h, self.config), "dwelling": dwelling_id}
        return None

    def _households(self, where: str, params: Sequence[Any]) -> list[tuple[str, Household]]:
        """(dwelling id, household) pairs matching `where`."""
        cols = ", ".join(f"h.{c}" for c in self.counts)
        rows = self.conn.execute(
            "SELECT h.id, h.number, h.seed, h.status, h.revision, h.respondent, h.away, "
            f"h.visitors, h.declared_total, h.dwelling_id, {cols} FROM household h "
            f"WHERE {where} ORDER BY h.dwelling_id, h.number", params).fetchall()
        ids = [r[0] for r in rows]
        overrides: dict[str, dict[str, OverrideReason]] = {}
        for rid, rule_id, reason in self._in_query(
                "SELECT record_id, rule_id, reason FROM override WHERE record_id IN ({marks})",
                ids):
            overrides.setdefault(rid, {})[rule_id] = OverrideReason(reason)
        out = []
        cells = self.config.cells
        for r in rows:
            residents = {cells[i]: n for i, n in enumerate(r[10:]) if n}
            out.append((r[9], Household(
                id=r[0], number=r[1], seed=r[2], status=HouseholdStatus(r[3]), revision=r[4],
                respondent=Respondent(r[5]), residents=residents, away=r[6], visitors=r[7],
                declared_total=r[8], overrides=overrides.get(r[0], {}))))
        return out

    def _dwellings(self, where: str, params: Sequence[Any], with_households: bool = True
                   ) -> list[Dwelling]:
        rows = self.conn.execute(
            "SELECT id, area, structure, number, type, occupancy, locator, revision, enumerator "
            f"FROM dwelling d WHERE {where} ORDER BY area, structure, number", params).fetchall()
        ids = [r[0] for r in rows]
        visits: dict[str, list[Visit]] = {}
        for did, attempt, at, outcome, cb, enum in self._in_query(
                "SELECT dwelling_id, attempt, at, outcome, callback_at, enumerator FROM visit "
                "WHERE dwelling_id IN ({marks}) ORDER BY dwelling_id, attempt", ids):
            visits.setdefault(did, []).append(Visit(
                attempt, datetime.fromisoformat(at), Outcome(outcome),
                datetime.fromisoformat(cb) if cb else None, enum))
        overrides: dict[str, dict[str, OverrideReason]] = {}
        for rid, rule_id, reason in self._in_query(
                "SELECT record_id, rule_id, reason FROM override WHERE record_id IN ({marks})",
                ids):
            overrides.setdefault(rid, {})[rule_id] = OverrideReason(reason)
        households: dict[str, list[Household]] = {}
        if with_households and ids:
            for part in range(0, len(ids), BATCH):
                chunk = ids[part:part + BATCH]
                marks = ",".join("?" * len(chunk))
                for dwelling_id, h in self._households(f"h.dwelling_id IN ({marks})", chunk):
                    households.setdefault(dwelling_id, []).append(h)
        return [Dwelling(id=r[0], area=r[1], structure=r[2], number=r[3],
                         type=DwellingType(r[4]), occupancy=Occupancy(r[5]), locator=r[6],
                         revision=r[7], enumerator=r[8], visits=tuple(visits.get(r[0], [])),
                         households=tuple(households.get(r[0], [])),
                         overrides=overrides.get(r[0], {}))
                for r in rows]

    def load_dwelling(self, dwelling_id: str, with_households: bool = True) -> Dwelling | None:
        found = self._dwellings("id = ?", (dwelling_id,), with_households)
        return found[0] if found else None

    def iter_dwellings(self, areas: Iterable[str] | None = None) -> Iterator[Dwelling]:
        """Every dwelling with visits and households, one area at a time (bounded memory)."""
        codes = list(areas) if areas is not None else [
            r[0] for r in self.conn.execute("SELECT DISTINCT area FROM dwelling ORDER BY area")]
        for code in codes:
            yield from self._dwellings("area = ?", (code,))

    def count(self, table: str) -> int:
        if table not in {"area", "dwelling", "visit", "household", "audit", "override"}:
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- reports -------------------------------------------------------------------------------

    def progress(self, now: datetime, area: str | None = None) -> list[ProgressRow]:
        """Coverage per area that has dwellings or is of the lowest level."""
        tomorrow = (now.date() + timedelta(days=1)).isoformat() + "T00:00"
        lowest = self.config.levels[-1]
        scope = ""
        params: dict[str, Any] = {"tomorrow": tomorrow, "lowest": lowest}
        if area is not None:
            codes = self.subtree(area)
            params.update({f"a{i}": c for i, c in enumerate(codes)})
            scope = "AND a.code IN (" + ",".join(f":a{i}" for i in range(len(codes))) + ")"
        sql = f"""
WITH last AS (
  SELECT v.dwelling_id, v.outcome, v.callback_at, v.at FROM visit v
  JOIN (SELECT dwelling_id, max(attempt) AS attempt FROM visit GROUP BY dwelling_id) m
    USING (dwelling_id, attempt)
), per_area AS (
  SELECT d.area,
    count(*) AS listed,
    sum(l.outcome IS NOT NULL) AS visited,
    sum(l.outcome = 'completed') AS completed,
    sum(l.outcome IN ('no_one_home', 'callback') AND l.callback_at IS NOT NULL
        AND l.callback_at < :tomorrow) AS callbacks_due,
    sum(l.outcome = 'refused') AS refused,
    sum(l.outcome = 'vacant') AS vacant,
    sum(l.outcome IN ('vacant', 'not_found') OR d.occupancy = 'not_dwelling') AS ineligible,
    max(l.at) AS last_activity
  FROM dwelling d LEFT JOIN last l ON l.dwelling_id = d.id GROUP BY d.area
), hh AS (
  SELECT area, count(*) AS households, sum(usual_residents) AS persons FROM household
  WHERE status IN ('complete', 'approved') GROUP BY area
), ho AS (
  -- dwellings handed over to the supervisor and purged from this device (enumerators)
  SELECT area, count(*) AS listed, sum(outcome = 'completed') AS completed,
    sum(outcome = 'refused') AS refused, sum(outcome = 'vacant') AS vacant,
    sum(outcome IN ('vacant', 'not_found')) AS ineligible, sum(households) AS households,
    sum(persons) AS persons
  FROM handed_over GROUP BY area
)
SELECT a.code, a.name, a.enumerator, a.status, a.expected_dwellings,
  coalesce(p.listed, 0) + coalesce(ho.listed, 0),
  coalesce(p.visited, 0) + coalesce(ho.listed, 0),
  coalesce(p.completed, 0) + coalesce(ho.completed, 0),
  coalesce(p.callbacks_due, 0), coalesce(p.refused, 0) + coalesce(ho.refused, 0),
  coalesce(p.vacant, 0) + coalesce(ho.vacant, 0),
  coalesce(p.ineligible, 0) + coalesce(ho.ineligible, 0),
  coalesce(hh.households, 0) + coalesce(ho.households, 0),
  coalesce(hh.persons, 0) + coalesce(ho.persons, 0),
  p.last_activity, coalesce(ho.listed, 0)
FROM area a LEFT JOIN per_area p ON p.area = a.code LEFT JOIN hh ON hh.area = a.code
  LEFT JOIN ho ON ho.area = a.code
WHERE (a.level = :lowest OR p.area IS NOT NULL OR ho.area IS NOT NULL) {scope}
ORDER BY a.code"""
        return [ProgressRow(*r) for r in self.conn.execute(sql, params).fetchall()]

    def callbacks_due(self, now: datetime, limit: int = 100, enumerator: str | None = None
                      ) -> list[tuple[str, str, datetime, int, int]]:
        """(area, dwelling id, appointment, structure, dwelling number) of callbacks due before
        tomorrow, earliest first; only in the areas of `enumerator` when given."""
        tomorrow = (now.date() + timedelta(days=1)).isoformat() + "T00:00"
        rows = self.conn.execute(
            "SELECT d.area, d.id, v.callback_at, d.structure, d.number FROM visit v "
            "JOIN dwelling d ON d.id = v.dwelling_id JOIN area a ON a.code = d.area "
            "WHERE v.callback_at < ? AND v.attempt = "
            "(SELECT max(attempt) FROM visit WHERE dwelling_id = v.dwelling_id) AND v.outcome IN "
            "('no_one_home', 'callback') AND (? IS NULL OR a.enumerator = ?) "
            "ORDER BY v.callback_at LIMIT ?",
            (tomorrow, enumerator, enumerator, limit)).fetchall()
        return [(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4]) for r in rows]

    def returned_households(self, limit: int = 200, enumerator: str | None = None
                            ) -> list[tuple[str, str, int, int, int]]:
        """(area, dwelling id, structure, dwelling number, household number) of households
        returned for correction; only in the areas of `enumerator` when given."""
        rows = self.conn.execute(
            "SELECT d.area, d.id, d.structure, d.number, h.number FROM household h JOIN dwelling "
            "d ON d.id = h.dwelling_id JOIN area a ON a.code = d.area WHERE h.status = 'returned' "
            "AND (? IS NULL OR a.enumerator = ?) ORDER BY d.area, d.structure, d.number LIMIT ?",
            (enumerator, enumerator, limit)).fetchall()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # -- listing (paged; never the whole area in memory) ----------------------------------------

    _STATUS_SQL = """
CASE
  WHEN l.outcome IS NULL THEN 'to_visit'
  WHEN l.outcome IN ('no_one_home', 'callback') THEN 'callback'
  WHEN l.outcome IN ('completed', 'partial') THEN
    CASE WHEN EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id
                      AND h.status IN ('draft', 'returned'))
           OR NOT EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id)
         THEN 'in_progress' ELSE 'done' END
  WHEN l.outcome = 'refused' THEN 'refused'
  WHEN l.outcome IN ('vacant', 'not_found') THEN 'vacant'
  ELSE 'other'
END"""
    _LAST_SQL = ("LEFT JOIN visit l ON l.dwelling_id = d.id AND l.attempt = "
                 "(SELECT max(attempt) FROM visit WHERE dwelling_id = d.id)")

    def listing_count(self, area: str, status: str | None = None) -> int:
        where = "" if status is None else f"AND ({self._STATUS_SQL}) = :status"
        row = self.conn.execute(
            f"SELECT count(*) FROM dwelling d {self._LAST_SQL} WHERE d.area = :area {where}",
            {"area": area, "status": status}).fetchone()
        return int(row[0])

    def listing_page(self, area: str, offset: int, limit: int, status: str | None = None
                     ) -> list[ListingRow]:
        """One page of an area's listing, ordered by structure and dwelling number."""
        where = "" if status is None else f"AND ({self._STATUS_SQL}) = :status"
        rows = self.conn.execute(
            f"SELECT d.id, d.structure, d.number, d.type, d.occupancy, d.locator, l.outcome, "
            f"l.callback_at, (SELECT count(*) FROM household h WHERE h.dwelling_id = d.id), "
            f"({self._STATUS_SQL}) FROM dwelling d {self._LAST_SQL} WHERE d.area = :area "
            f"{where} ORDER BY d.structure, d.number LIMIT :limit OFFSET :offset",
            {"area": area, "status": status, "limit": limit, "offset": offset}).fetchall()
        return [ListingRow(*r) for r in rows]

    def listing_position(self, area: str, dwelling_id: str, status: str | None = None
                         ) -> int | None:
        """Index of a dwelling in its area's ordered listing (None if the filter hides it)."""
        row = self.conn.execute("SELECT structure, number FROM dwelling WHERE id = ? AND "
                                "area = ?", (dwelling_id, area)).fetchone()
        if row is None:
            return None
        where = "" if status is None else f"AND ({self._STATUS_SQL}) = :status"
        if status is not None:
            visible = self.conn.execute(
                f"SELECT count(*) FROM dwelling d {self._LAST_SQL} WHERE d.id = :id {where}",
                {"id": dwelling_id, "status": status}).fetchone()[0]
            if not visible:
                return None
        before = self.conn.execute(
            f"SELECT count(*) FROM dwelling d {self._LAST_SQL} WHERE d.area = :area AND "
            f"(d.structure < :s OR (d.structure = :s AND d.number < :n)) {where}",
            {"area": area, "s": row[0], "n": row[1], "status": status}).fetchone()[0]
        return int(before)

    def next_numbers(self, area: str, structure: int | None = None) -> tuple[int, int]:
        """Proposed (structure, dwelling) numbers for a new listing line: the next dwelling of
        `structure`, or a new structure after the highest one."""
        # Dwellings handed over (purged after a receipt) keep their numbers taken.
        if structure is not None:
            row = self.conn.execute(
                "SELECT max(number) FROM (SELECT number FROM dwelling WHERE area = ?1 AND "
                "structure = ?2 UNION ALL SELECT number FROM handed_over WHERE area = ?1 AND "
                "structure = ?2)", (area, structure)).fetchone()
            return structure, (row[0] or 0) + 1
        row = self.conn.execute(
            "SELECT max(structure) FROM (SELECT structure FROM dwelling WHERE area = ?1 "
            "UNION ALL SELECT structure FROM handed_over WHERE area = ?1)", (area,)).fetchone()
        return (row[0] or 0) + 1, 1

    def setting(self, key: str) -> str | None:
        """A UI setting kept in the database (e.g. where the app was when it closed)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (f"ui.{key}",)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str | None) -> None:
        """Store a UI setting in its own small transaction (not audited: no census data)."""
        try:
            with self.db.atomic():
                if value is None:
                    self.conn.execute("DELETE FROM meta WHERE key = ?", (f"ui.{key}",))
                else:
                    self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT "
                                      "(key) DO UPDATE SET value = excluded.value",
                                      (f"ui.{key}", value))
        except Exception as exc:
            message = explain(exc)
            if message is not None:
                raise StoreError(message) from exc
            raise

    def _tabulation(self, level: str | None, areas: Sequence[str] | None,
                    alias: str = "h", counted: bool = True) -> tuple[str, str, str, list[str]]:
        """(WITH clause, area expression, joins and filter, params) that put each household
        (or dwelling, `alias` "d", `counted` False) under its area at `level` (its own area
        when None), restricted to `areas` there; households count when complete or approved."""
        params: list[str] = []
        if level is None:
            with_, area_expr, join = "", f"{alias}.area", ""
        else:
            with_ = ("WITH RECURSIVE up(code, top) AS (SELECT code, code FROM area WHERE level = ? "
                     "UNION SELECT a.code, up.top FROM area a JOIN up ON a.parent = up.code) ")
            params.append(level)
            area_expr, join = "up.top", f"JOIN up ON up.code = {alias}.area"
        where = f"{alias}.status IN ('complete', 'approved')" if counted else "1"
        if areas is not None:
            where += f" AND {area_expr} IN (" + ",".join("?" * len(areas)) + ")"
            params += list(areas)
        return with_, area_expr, f"{join} WHERE {where}", params

    def person_sums(self, areas: Sequence[str] | None = None, level: str | None = None
                    ) -> Iterator[tuple[str, list[int], list[int]]]:
        """Per area (at `level`, or each household's own area): the counts and the key sums of
        every grid cell over its completed (or approved) households, streamed from one
        GROUP BY (DESIGN §6 and §9)."""
        for area, _households, counts, keys in self.person_totals(areas, level):
            yield area, counts, keys

    def person_totals(self, areas: Sequence[str] | None = None, level: str | None = None
                      ) -> Iterator[tuple[str, int, list[int], list[int]]]:
        """As `person_sums`, with the number of households counted in each area first."""
        sums = ", ".join(f"sum(h.{c})" for c in (*self.counts, *self.keys))
        with_, area_expr, rest, params = self._tabulation(level, areas)
        n = len(self.counts)
        for row in self.conn.execute(
                f"{with_}SELECT {area_expr}, count(*), {sums} FROM household h {rest} "
                f"GROUP BY {area_expr} ORDER BY {area_expr}", params):
            yield row[0], row[1], list(row[2:2 + n]), list(row[2 + n:])

    def dwelling_outcomes(self, areas: Sequence[str] | None = None, level: str | None = None
                          ) -> Iterator[tuple[str, str, int]]:
        """(area, last visit outcome or "not_visited", dwellings): the operational table of
        dwellings, exact (DESIGN §6), rolled up to `level` when given. Grouped by area alone
        (one conditional count per outcome; each dwelling's last visit read through the visit
        key), so that nothing is sorted or held per dwelling."""
        with_, area_expr, rest, params = self._tabulation(level, areas, "d", counted=False)
        counts = ", ".join(f"sum(o = '{o}')" for o in LAST_VISIT_STATES)
        for row in self.conn.execute(
                f"{with_}SELECT a, {counts} FROM (SELECT {area_expr} AS a, coalesce((SELECT "
                "v.outcome FROM visit v WHERE v.dwelling_id = d.id ORDER BY v.attempt DESC "
                f"LIMIT 1), '{NOT_VISITED}') AS o FROM dwelling d {rest}) GROUP BY a ORDER BY a",
                params):
            for outcome, n in zip(LAST_VISIT_STATES, row[1:], strict=True):
                if n:
                    yield row[0], outcome, n

    def household_sizes(self, areas: Sequence[str] | None = None, level: str | None = None,
                        largest: int = 8) -> Iterator[tuple[str, int, int, int]]:
        """(area, size class, households, key sum) of completed households by their number of
        usual residents, `largest` standing for "`largest` or more". A household's key is the
        sum of its persons' keys, so a cell's key is the sum of its households' keys. Grouped
        by area alone (one conditional sum per size class), so that SQLite streams the areas
        through the index instead of sorting every household."""
        top = int(largest)
        total_key = " + ".join(f"h.{k}" for k in self.keys)
        with_, area_expr, rest, params = self._tabulation(level, areas)
        classes = ", ".join(f"sum(s = {n}), sum(CASE WHEN s = {n} THEN k ELSE 0 END)"
                            for n in range(1, top + 1))
        for row in self.conn.execute(
                f"{with_}SELECT a, {classes} FROM (SELECT {area_expr} AS a, "
                f"min(h.usual_residents, {top}) AS s, {total_key} AS k FROM household h {rest} "
                f"AND h.usual_residents > 0) GROUP BY a ORDER BY a", params):
            for size in range(1, top + 1):
                n = row[2 * size - 1]
                if n:
                    yield row[0], size, n, row[2 * size]

    def verify_audit(self) -> audit.Verification:
        return audit.verify(self.conn)
