"""Moving records between levels (DESIGN §5), the SQL side: device keys, peers, merge, review,
decisions, receipts and close-out. The sealing of files is `census.bundle`; this module only
reads and writes the database, always inside the caller's `Store.write()` transaction.

Merge rules, per record keyed by UUID with a revision:
- unknown id → added, unless another id holds its natural key (a **duplicate**, held for review);
- same revision and digest → unchanged; an older revision → unchanged (never a rollback);
- a newer revision → updated when the stored version is still what this sender sent, or is the
  version the sender edited from (`base`, a returned form); otherwise a **conflict**;
- same revision with other content → **conflict**.
Conflicts and duplicates keep the stored record and hold the incoming one in `review` with its
full content, so nothing is lost and nothing is overwritten without a person deciding.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from census.bundle.payload import (
    Base,
    Decision,
    IncomingDwelling,
    IncomingHousehold,
    Records,
    area_row,
    dwelling_row,
    household_row,
    override_rows,
    visit_rows,
)
from census.domain.keys import key_sums
from census.domain.model import (
    NO_CONTACT_OUTCOMES,
    AreaStatus,
    Dwelling,
    Household,
    HouseholdStatus,
    Outcome,
    Resolution,
    ReturnReason,
    ReviewKind,
    Role,
)
from census.i18n import _
from census.records import dwelling_digest, dwelling_to_json, household_digest, household_to_json
from census.storage import audit
from census.storage.connection import StoreError
from census.storage.schema import NOTE_LIMIT
from census.storage.store import Store, utc_now
from census.validation.engine import Context, blocking, check_dwelling, personal_data

#: Last outcomes after which a dwelling needs no more visits (it may be handed over).
FINAL_OUTCOMES = tuple(str(o) for o in Outcome if o not in NO_CONTACT_OUTCOMES)


# -- device keys and peers ----------------------------------------------------------------------


def device_keys(store: Store) -> tuple[bytes, bytes] | None:
    """This database's private keys (X25519 for decryption, Ed25519 for signing), if made."""
    rows = dict(store.conn.execute(
        "SELECT key, value FROM meta WHERE key IN ('key.enc', 'key.sign')").fetchall())
    if len(rows) != 2:
        return None
    return bytes.fromhex(rows["key.enc"]), bytes.fromhex(rows["key.sign"])


def set_device_keys(store: Store, enc: bytes, sign: bytes, fingerprint: str) -> None:
    """Keep new private keys inside the encrypted database (once; never replaced silently)."""
    with store.write() as chain:
        if device_keys(store) is not None:
            raise StoreError(_("This database already has its keys; `census keys show` prints "
                               "them."))
        store.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                               [("key.enc", enc.hex()), ("key.sign", sign.hex())])
        chain.add([audit.Entry(utc_now(), store.user, "survey", "keys", "keys", None,
                               fingerprint)])


@dataclass(frozen=True)
class Peer:
    """Another level this database exchanges files with: its user code, role and keys."""

    code: str
    role: Role
    direction: str
    enc_key: bytes
    sign_key: bytes
    key_id: str
    status: str
    added_at: str
    seq_out: int
    seq_in: int


_PEER = ("SELECT code, role, direction, enc_key, sign_key, key_id, status, added_at, seq_out, "
         "seq_in FROM peer")


def _peer(row: Sequence[Any] | None) -> Peer | None:
    if row is None:
        return None
    return Peer(row[0], Role(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                row[9])


def peers(store: Store) -> list[Peer]:
    return [p for p in (_peer(r) for r in store.conn.execute(_PEER + " ORDER BY direction, code"))
            if p is not None]


def peer(store: Store, code: str) -> Peer | None:
    return _peer(store.conn.execute(_PEER + " WHERE code = ?", (code,)).fetchone())


def peer_by_sign_key(store: Store, sign_key: bytes) -> Peer | None:
    return _peer(store.conn.execute(_PEER + " WHERE sign_key = ?", (sign_key,)).fetchone())


def upstream(store: Store) -> Peer | None:
    """The level this database reports to (known from the assignment file it imported)."""
    return _peer(store.conn.execute(_PEER + " WHERE direction = 'upstream' AND status = "
                                            "'trusted'").fetchone())


def save_peer(store: Store, chain: audit.Chain, code: str, role: Role, direction: str,
              enc_key: bytes, sign_key: bytes, key_id: str, fingerprint: str) -> None:
    """Add a peer, or give a known one new keys (the caller has checked that this is wanted)."""
    now = utc_now()
    old = peer(store, code)
    store.conn.execute(
        "INSERT INTO peer (code, role, direction, enc_key, sign_key, key_id, status, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'trusted', ?) ON CONFLICT (code) DO UPDATE SET "
        "role = excluded.role, direction = excluded.direction, enc_key = excluded.enc_key, "
        "sign_key = excluded.sign_key, key_id = excluded.key_id, status = 'trusted'",
        (code, str(role), direction, enc_key, sign_key, key_id, now))
    if old is None or old.sign_key != sign_key or old.enc_key != enc_key:
        chain.add([audit.Entry(now, store.user, "survey", f"peer.{code}"[:40], "key",
                               old.key_id if old else None, f"{key_id} {fingerprint}"[:4000])])


def revoke_peer(store: Store, code: str) -> None:
    with store.write() as chain:
        found = peer(store, code)
        if found is None:
            raise StoreError(_("No user {code} is known here; `census keys list` shows who "
                               "is.").format(code=code))
        store.conn.execute("UPDATE peer SET status = 'revoked' WHERE code = ?", (code,))
        chain.add([audit.Entry(utc_now(), store.user, "survey", f"peer.{code}"[:40], "status",
                               found.status, "revoked")])


def forget_peer(store: Store, code: str) -> Peer:
    """Forget a peer's key (so a new key can be trusted on first use); its records stay."""
    with store.write() as chain:
        found = peer(store, code)
        if found is None:
            raise StoreError(_("No user {code} is known here; `census keys list` shows who "
                               "is.").format(code=code))
        store.conn.execute("DELETE FROM peer_area WHERE peer = ?", (code,))
        store.conn.execute("DELETE FROM peer WHERE code = ?", (code,))
        chain.add([audit.Entry(utc_now(), store.user, "survey", f"peer.{code}"[:40], "key",
                               found.key_id, None, "forgotten")])
    return found


def peer_areas(store: Store, code: str) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT area FROM peer_area WHERE peer = ?",
                                             (code,))}


def grant_areas(store: Store, chain: audit.Chain, code: str, areas: Iterable[str],
                set_enumerator: bool) -> list[str]:
    """Let `code` send records for `areas` and everything below them; with `set_enumerator`,
    the lowest-level areas among them become that enumerator's. Returns the granted codes."""
    granted: list[str] = []
    for a in areas:
        granted += store.subtree(a)
    granted = sorted(set(granted))
    store.conn.executemany("INSERT OR IGNORE INTO peer_area (peer, area) VALUES (?, ?)",
                           [(code, a) for a in granted])
    if set_enumerator:
        lowest = store.config.levels[-1]
        store.conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)", (code,))
        now = utc_now()
        for a in granted:
            row = store.conn.execute("SELECT enumerator, level FROM area WHERE code = ?",
                                     (a,)).fetchone()
            if row[1] == lowest and row[0] != code:
                # The previous enumerator keeps the right to send for it: work done before the
                # change must still arrive (a lost device is stopped with `census keys revoke`).
                store.conn.execute("UPDATE area SET enumerator = ? WHERE code = ?", (code, a))
                chain.add([audit.Entry(now, store.user, "area", a, "enumerator", row[0], code)])
    return granted


# -- transfers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    id: str
    kind: str
    direction: str
    peer: str
    seq: int
    created: str
    at: str
    summary: str


def transfer(store: Store, transfer_id: str) -> Transfer | None:
    row = store.conn.execute("SELECT id, kind, direction, peer, seq, created, at, summary FROM "
                             "transfer WHERE id = ?", (transfer_id,)).fetchone()
    return None if row is None else Transfer(*row)


def missing_seqs(store: Store, code: str, kind: str = "bundle", limit: int = 1000
                 ) -> list[int]:
    """Sequence numbers below the highest received from `code` that have not arrived: files
    made by that device that are missing here (lost on the way, or not yet copied). At most
    `limit` of them, the lowest: the work goes by the gaps between the numbers received, never
    by every number up to the highest (a file may carry a huge one)."""
    got = sorted({r[0] for r in store.conn.execute(
        "SELECT seq FROM transfer WHERE peer = ? AND kind = ? AND direction = 'in'",
        (code, kind))})
    out: list[int] = []
    expected = 1
    for n in got:
        if n > expected:
            out.extend(range(expected, min(n, expected + limit - len(out))))
            if len(out) >= limit:
                break
        expected = max(expected, n + 1)
    return out


def next_seq(store: Store, code: str) -> int:
    """Number the next file sent to `code` (inside the caller's transaction)."""
    store.conn.execute("UPDATE peer SET seq_out = seq_out + 1 WHERE code = ?", (code,))
    return int(store.conn.execute("SELECT seq_out FROM peer WHERE code = ?",
                                  (code,)).fetchone()[0])


def log_transfer(store: Store, chain: audit.Chain, *, transfer_id: str, kind: str,
                 direction: str, peer_code: str, seq: int, created: str, payload: bytes,
                 summary: dict[str, int]) -> None:
    now = utc_now()
    text = json.dumps(summary, sort_keys=True, separators=(",", ":"))[:400]
    sha = hashlib.sha256(payload).hexdigest()
    store.conn.execute(
        "INSERT INTO transfer (id, kind, direction, peer, seq, created, at, payload_sha256, "
        "summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (transfer_id, kind, direction, peer_code, seq, created, now,
         sha, text))
    if direction == "in":
        store.conn.execute("UPDATE peer SET seq_in = max(seq_in, ?) WHERE code = ?",
                           (seq, peer_code))
    chain.add([audit.Entry(now, store.user, "survey", transfer_id, f"{kind}.{direction}",
                           peer_code, f"{text} sha256={sha}", f"seq {seq}")])


# -- what goes out ------------------------------------------------------------------------------


def _dwelling_base(row: Sequence[Any]) -> Base | None:
    return Base(row[0], row[1]) if row[0] is not None else None


def records_body(store: Store, where_d: str, where_h: str, params: Sequence[Any] = ()
                 ) -> tuple[dict[str, Any], dict[str, int]]:
    """Payload rows of the dwellings and households selected by the two WHERE clauses."""
    cfg = store.config
    body: dict[str, list[Any]] = {"dwellings": [], "visits": [], "households": [],
                                  "overrides": [], "decisions": []}
    ids: list[str] = []
    for d in _select_dwellings(store, where_d, params):
        dw, base, updated_at = d
        body["dwellings"].append(dwelling_row(dw, base, updated_at))
        body["visits"] += visit_rows(dw)
        body["overrides"] += override_rows(dw.id, dw.overrides)
    for h, dwelling_id, base, updated_at, updated_by in _select_households(store, where_h,
                                                                          params):
        body["households"].append(household_row(h, dwelling_id, base, updated_at, updated_by,
                                                cfg))
        body["overrides"] += override_rows(h.id, h.overrides)
        ids.append(h.id)
    for row in store._in_query(
            "SELECT household_id, revision, action, reason, note, rules, who, at FROM decision "
            "WHERE household_id IN ({marks}) ORDER BY household_id, revision", ids):
        body["decisions"].append(list(row))
    counts = {"dwellings": len(body["dwellings"]), "households": len(body["households"])}
    return body, counts


def _select_dwellings(store: Store, where: str, params: Sequence[Any]
                      ) -> list[tuple[Dwelling, Base | None, str]]:
    rows = store.conn.execute(f"SELECT id, base_rev, base_digest, updated_at FROM dwelling "
                              f"WHERE {where} ORDER BY id", params).fetchall()
    extra = {r[0]: (_dwelling_base(r[1:3]), r[3]) for r in rows}
    out = []
    for i in range(0, len(rows), 500):
        chunk = [r[0] for r in rows[i:i + 500]]
        marks = ",".join("?" * len(chunk))
        for d in store._dwellings(f"id IN ({marks})", chunk, with_households=False):
            base, updated_at = extra[d.id]
            out.append((d, base, updated_at))
    return out


def _select_households(store: Store, where: str, params: Sequence[Any]
                       ) -> list[tuple[Household, str, Base | None, str, str | None]]:
    rows = store.conn.execute(f"SELECT id, base_rev, base_digest, updated_at, updated_by FROM "
                              f"household WHERE {where} ORDER BY id", params).fetchall()
    extra = {r[0]: (_dwelling_base(r[1:3]), r[3], r[4]) for r in rows}
    out = []
    for i in range(0, len(rows), 500):
        chunk = [r[0] for r in rows[i:i + 500]]
        marks = ",".join("?" * len(chunk))
        for dwelling_id, h in store._households(f"h.id IN ({marks})", chunk):
            base, updated_at, updated_by = extra[h.id]
            out.append((h, dwelling_id, base, updated_at, updated_by))
    return out


def bundle_body(store: Store, everything: bool) -> tuple[dict[str, Any], dict[str, int]]:
    """Every record not yet acknowledged at its current revision (or every record)."""
    where = "1" if everything else "acked IS NULL OR acked < revision"
    body, counts = records_body(store, where, where)
    body["closed"] = [r[0] for r in store.conn.execute(
        "SELECT code FROM area WHERE status = 'closed' ORDER BY code")]
    # Who works each area, so the level above can follow progress per enumerator.
    body["enumerators"] = [list(r) for r in store.conn.execute(
        "SELECT code, enumerator FROM area WHERE enumerator IS NOT NULL ORDER BY code")]
    return body, counts


def assignment_body(store: Store, areas: Sequence[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """Areas (with their ancestors) and the forms returned for correction in them."""
    by_code = {a.code: a for a in store.areas()}
    codes: set[str] = set()
    for code in areas:
        codes.update(store.subtree(code))
        parent = by_code[code].parent
        while parent and parent not in codes:  # (stops even on a cycle of parents)
            codes.add(parent)
            parent = by_code[parent].parent
    levels = store.config.levels
    # Parents first: a parent is always of the level above its children.
    ordered = [area_row(by_code[c]) for c in sorted(
        codes, key=lambda c: (levels.index(by_code[c].level), c))]
    marks = ",".join("?" * len(codes)) or "NULL"
    returned_dwellings = (f"id IN (SELECT dwelling_id FROM household WHERE status = 'returned' "
                          f"AND area IN ({marks}))")
    body, counts = records_body(
        store, returned_dwellings,
        f"dwelling_id IN (SELECT dwelling_id FROM household WHERE status = 'returned' AND "
        f"area IN ({marks}))", [*sorted(codes)])
    body["areas"] = ordered
    counts["areas"] = len(ordered)
    counts["returned"] = sum(1 for row in body["households"] if row[3] == "returned")
    return body, counts


# -- merge --------------------------------------------------------------------------------------


@dataclass
class MergeReport:
    """What a merge did, per kind of outcome (counts of records)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    conflicts: int = 0
    duplicates: int = 0
    flagged: int = 0
    invalid: int = 0
    closed: list[str] = field(default_factory=list)

    def count(self, what: str) -> None:
        """One more record of an outcome (a merge action or a review kind)."""
        name = {"unchanged": "unchanged", "older": "older", "conflict": "conflicts",
                "duplicate": "duplicates", "invalid": "invalid", "flagged": "flagged"}.get(what)
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "older": self.older, "conflicts": self.conflicts, "duplicates": self.duplicates,
                "flagged": self.flagged, "invalid": self.invalid}


def _decide(stored: Sequence[Any] | None, revision: int, digest: str, base: Base | None,
            sender: str) -> str:
    """new | unchanged | older | update | conflict (see the module docstring)."""
    if stored is None:
        return "new"
    s_rev, s_digest, s_source = stored[0], stored[1], stored[2]
    if revision == s_rev:
        return "unchanged" if digest == s_digest else "conflict"
    if revision < s_rev:
        return "older"
    if s_source == sender or (base is not None and (base.revision, base.digest) ==
                              (s_rev, s_digest)):
        return "update"
    return "conflict"


def _verdict(stored: Sequence[Any] | None, revision: int, digest: str, base: Base | None,
             sender: str, other: str | None) -> tuple[str, ReviewKind | None, str]:
    """(what to do, review kind, detail): a record to write whose natural key another record
    holds is a duplicate; a conflict says whether both sides edited or one revision differs."""
    act = _decide(stored, revision, digest, base, sender)
    if act in ("new", "update") and other is not None:
        return "held", ReviewKind.DUPLICATE, "same_numbers"
    if act == "conflict":
        same = stored is not None and stored[0] == revision
        return "held", ReviewKind.CONFLICT, "same_revision" if same else "both_edited"
    return act, None, ""


def _held(kind: ReviewKind, record_type: str, record_id: str, area: str, revision: int,
          digest: str, source: str, transfer_id: str | None, detail: str,
          incoming: dict[str, Any] | None, other: str | None, now: str) -> tuple[Any, ...]:
    text = None if incoming is None else json.dumps(incoming, sort_keys=True,
                                                    separators=(",", ":"), ensure_ascii=False)
    return (str(kind), record_type, record_id, area, other, revision, digest, source,
            transfer_id, detail[:400], text, now)


def _dwelling_incoming(inc: IncomingDwelling, cfg: Any) -> dict[str, Any]:
    out = dwelling_to_json(inc.dwelling, cfg, with_households=False)
    if inc.base:
        out["base"] = [inc.base.revision, inc.base.digest]
    out["updated_at"] = inc.updated_at
    return out


def _household_incoming(inc: IncomingHousehold, cfg: Any) -> dict[str, Any]:
    out = household_to_json(inc.household, cfg)
    out["dwelling"] = inc.dwelling_id
    out["seed"] = inc.household.seed.hex()
    if inc.base:
        out["base"] = [inc.base.revision, inc.base.digest]
    out["updated_at"] = inc.updated_at
    out["updated_by"] = inc.updated_by
    return out


def check_areas(store: Store, sender: str, recs: Records) -> list[str]:
    """Areas of the records that `sender` was never assigned (empty when all are allowed)."""
    allowed = peer_areas(store, sender)
    areas = set(recs.areas_touched)
    in_bundle = {i.dwelling.id for i in recs.dwellings}
    outside = [i.dwelling_id for i in recs.households if i.dwelling_id not in in_bundle]
    # Where the records stand now counts too: no sender moves a record out of an area that
    # is not theirs.
    stored = sorted(set(outside) | in_bundle)
    for (area,) in store._in_query("SELECT DISTINCT area FROM dwelling WHERE id IN ({marks})",
                                   stored):
        areas.add(area)
    for (area,) in store._in_query("SELECT DISTINCT area FROM household WHERE id IN ({marks})",
                                   sorted({i.household.id for i in recs.households})):
        areas.add(area)
    areas.update(recs.closed)
    areas.update(code for code, _e in recs.enumerators)
    return sorted(areas - allowed)


def merge(store: Store, chain: audit.Chain, sender: str, transfer_id: str, recs: Records,
          now: datetime, sender_role: Role = Role.ENUMERATOR) -> MergeReport:
    """Merge decoded records from `sender` in the caller's transaction (see module docstring).
    Records that fail a rule are stored and flagged for review, never dropped."""
    cfg = store.config
    conn = store.conn
    stamp = utc_now()
    rep = MergeReport()
    held: list[tuple[Any, ...]] = []
    closed = {r[0] for r in conn.execute("SELECT code FROM area WHERE status = 'closed'")}

    for bad in recs.invalid:
        held.append(_held(ReviewKind.INVALID, bad.record_type, bad.record_id,
                          bad.area or "?", 1, hashlib.sha256(json.dumps(
                              bad.row, sort_keys=True, default=str).encode()).hexdigest(),
                          sender, transfer_id, bad.detail, {"row": bad.row}, None, stamp))
        rep.invalid += 1

    d_ids = [i.dwelling.id for i in recs.dwellings]
    d_stored = {r[0]: r[1:] for r in store._in_query(
        "SELECT id, revision, digest, source, area FROM dwelling WHERE id IN ({marks})", d_ids)}
    owners = store.natural_key_owners(sorted({(i.dwelling.area, i.dwelling.structure,
                                               i.dwelling.number) for i in recs.dwellings}))
    write_d: list[tuple[IncomingDwelling, str, bool]] = []
    held_d: dict[str, ReviewKind] = {}
    held_area: dict[str, str] = {}
    claimed: dict[tuple[str, int, int], str] = {}
    for inc in recs.dwellings:
        d = inc.dwelling
        digest = dwelling_digest(d, cfg)
        stored = d_stored.get(d.id)
        key = (d.area, d.structure, d.number)
        other = owners.get(key)
        if other == d.id:
            other = None
        if other is None and claimed.get(key, d.id) != d.id:
            other = claimed[key]
        act, kind, detail = _verdict(stored, d.revision, digest, inc.base, sender, other)
        if act in ("unchanged", "older"):
            rep.count(act)
            continue
        if d.area in closed or (stored is not None and stored[3] in closed):
            kind, detail = ReviewKind.CONFLICT, "area_closed"
        elif kind is None:
            claimed[key] = d.id
            write_d.append((inc, digest, act == "new"))
            continue
        held_d[d.id] = kind
        held_area[d.id] = d.area
        incoming = _dwelling_incoming(inc, cfg)  # built only for what is held
        if detail == "area_closed":
            incoming.pop("locator", None)  # a closed area keeps no locator
        held.append(_held(kind, "dwelling", d.id, d.area, d.revision, digest, sender,
                          transfer_id, detail, incoming, other, stamp))
        rep.count(kind)

    # Households: where their dwelling is (this bundle or the store) decides their area.
    written_d = {inc.dwelling.id: inc.dwelling for inc, _d, _n in write_d}
    h_ids = [i.household.id for i in recs.households]
    h_stored = {r[0]: r[1:] for r in store._in_query(
        "SELECT id, revision, digest, source, dwelling_id, seed FROM household "
        "WHERE id IN ({marks})", h_ids)}
    parent_ids = sorted({i.dwelling_id for i in recs.households})
    parent_area = {r[0]: r[1] for r in store._in_query(
        "SELECT id, area FROM dwelling WHERE id IN ({marks})", parent_ids)}
    parent_area.update({d.id: d.area for d in written_d.values()})
    numbers = store.household_numbers(parent_ids)
    write_h: list[tuple[IncomingHousehold, str, bool, bytes]] = []
    for hinc in recs.households:
        h = hinc.household
        digest = household_digest(h, cfg, hinc.dwelling_id)
        stored = h_stored.get(h.id)
        area = parent_area.get(hinc.dwelling_id) or held_area.get(hinc.dwelling_id)
        owner = numbers.get((hinc.dwelling_id, h.number))
        other = owner if owner not in (None, h.id) else None
        act, kind, detail = _verdict(stored, h.revision, digest, hinc.base, sender, other)
        if act in ("unchanged", "older"):
            rep.count(act)
            continue
        if hinc.dwelling_id in held_d and hinc.dwelling_id not in parent_area:
            kind, detail, other = held_d[hinc.dwelling_id], "dwelling_held", None
        elif area is None:
            kind, detail, other = ReviewKind.INVALID, "unknown_dwelling", None
        elif area in closed:
            kind, detail, other = ReviewKind.CONFLICT, "area_closed", None
        elif stored is not None and stored[3] != hinc.dwelling_id:
            kind, detail, other = ReviewKind.CONFLICT, "moved_dwelling", None
        elif kind is None:
            numbers[(hinc.dwelling_id, h.number)] = h.id
            write_h.append((hinc, digest, act == "new", stored[4] if stored else h.seed))
            continue
        held.append(_held(kind, "household", h.id, area or "?", h.revision, digest, sender,
                          transfer_id, detail, _household_incoming(hinc, cfg), other, stamp))
        rep.count(kind)

    flagged = _validate(store, write_d, write_h, now)
    _write(store, chain, sender, transfer_id, write_d, write_h, stamp, audit_new=False)
    rep.added = sum(1 for _i, _d, new in write_d if new) + sum(
        1 for _i, _d, new, _s in write_h if new)
    rep.updated = len(write_d) + len(write_h) - rep.added

    # A new revision supersedes what was flagged about the old one.
    written_ids = [inc.dwelling.id for inc, _d, _n in write_d] + [
        hinc.household.id for hinc, _d, _n, _s in write_h]
    for i in range(0, len(written_ids), 500):
        chunk = written_ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"UPDATE review SET status = 'resolved', resolution = 'superseded', "
                     f"resolved_at = ?, resolved_by = ? WHERE status = 'open' AND kind = "
                     f"'flagged' AND record_id IN ({marks})", [stamp, sender, *chunk])
    digests = {inc.dwelling.id: (d, inc.dwelling.revision, inc.dwelling.area)
               for inc, d, _n in write_d}
    digests.update({hinc.household.id: (d, hinc.household.revision,
                                        parent_area[hinc.dwelling_id])
                    for hinc, d, _n, _s in write_h})
    for record_id, (record_type, rules) in sorted(flagged.items()):
        digest, revision, area = digests[record_id]
        held.append(_held(ReviewKind.FLAGGED, record_type, record_id, area, revision, digest,
                          sender, transfer_id, ",".join(sorted(rules)), None, None, stamp))
        rep.flagged += 1
    if held:
        conn.executemany(
            "INSERT OR IGNORE INTO review (kind, record_type, record_id, area, other_id, "
            "revision, digest, source, transfer, detail, incoming, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", held)
    if sender_role is not Role.ENUMERATOR:
        # Decisions travel up with their households: only for households this bundle wrote,
        # and a note that looks like personal data is not kept.
        written_h = {hinc.household.id for hinc, _d, _n, _s in write_h}
        _save_decisions(store, [
            replace(x, note=None if x.note is None or personal_data(x.note) else x.note)
            for x in recs.decisions if x.household_id in written_h])
    for code, enumerator in recs.enumerators:
        if sender_role is Role.ENUMERATOR and enumerator != sender:
            continue  # an enumerator's bundle speaks for its own areas only, never for others
        row = conn.execute("SELECT enumerator FROM area WHERE code = ?", (code,)).fetchone()
        if row is not None and row[0] != enumerator:
            conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)", (enumerator,))
            conn.execute("UPDATE area SET enumerator = ? WHERE code = ?", (enumerator, code))
            chain.add([audit.Entry(stamp, sender, "area", code, "enumerator", row[0],
                                   enumerator)])
    if sender_role is not Role.ENUMERATOR:  # closing is a supervisor's step
        for code in recs.closed:
            if code not in closed and store.area(code) is not None:
                _purge_area(store, chain, code, sender)
                rep.closed.append(code)
    return rep


def _save_decisions(store: Store, decisions: Sequence[Decision]) -> None:
    store.conn.executemany(
        "INSERT OR IGNORE INTO decision (household_id, revision, action, reason, note, rules, "
        "who, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(x.household_id, x.revision, x.action, x.reason, x.note, x.rules, x.who, x.at)
         for x in decisions])


def _validate(store: Store, write_d: list[tuple[IncomingDwelling, str, bool]],
              write_h: list[tuple[IncomingHousehold, str, bool, bytes]], now: datetime
              ) -> dict[str, tuple[str, set[str]]]:
    """Run the rule engine on every dwelling touched, as it will stand after the merge.
    Returns {record id: (record type, rule ids)} of the written records a rule stops."""
    cfg = store.config
    levels, lowest = store.area_levels(), cfg.levels[-1]
    # Records belong to enumeration areas: a dwelling in a district is flagged (E017), as
    # `census check` and `census forms import` would find it.
    ctx = Context(cfg, now, lambda code: levels.get(code) == lowest)
    dwellings: dict[str, Dwelling] = {inc.dwelling.id: inc.dwelling for inc, _d, _n in write_d}
    updated_d = [inc.dwelling.id for inc, _d, new in write_d if not new]
    incoming_h: dict[str, list[Household]] = {}
    for hinc, _d, _n, seed in write_h:
        h = hinc.household
        incoming_h.setdefault(hinc.dwelling_id, []).append(
            h if h.seed == seed else replace(h, seed=seed))
    missing = sorted(set(incoming_h) - set(dwellings))
    for i in range(0, len(missing), 500):
        chunk = missing[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for d in store._dwellings(f"id IN ({marks})", chunk):
            dwellings[d.id] = d
    stored_h = store.households_of(updated_d) if updated_d else {}
    written = {inc.dwelling.id for inc, _d, _n in write_d} | {
        hinc.household.id for hinc, _d, _n, _s in write_h}
    flagged: dict[str, tuple[str, set[str]]] = {}
    for did, d in dwellings.items():
        households = {h.id: h for h in (stored_h.get(did) or d.households)}
        for h in incoming_h.get(did, []):
            households[h.id] = h
        merged = replace(d, households=tuple(sorted(households.values(),
                                                    key=lambda h: h.number)))
        for p in blocking(check_dwelling(merged, ctx)):
            target, record_type = did, "dwelling"
            if p.field.startswith("households["):
                index = int(p.field[len("households["):p.field.index("]")])
                hid = merged.households[index].id
                if hid in written:
                    target, record_type = hid, "household"
            if target in written:
                flagged.setdefault(target, (record_type, set()))[1].add(p.rule_id)
    return flagged


def _write(store: Store, chain: audit.Chain, sender: str, transfer_id: str,
           write_d: list[tuple[IncomingDwelling, str, bool]],
           write_h: list[tuple[IncomingHousehold, str, bool, bytes]], stamp: str,
           audit_new: bool = True) -> None:
    """Write merged records. Each update gets an audit entry (old → new revision); with
    `audit_new` off (a bundle), added records are covered by the bundle's own entry, which
    holds its counts and the SHA-256 of its payload, and each record keeps its `source`."""
    cfg = store.config
    conn = store.conn
    reason = f"bundle {transfer_id}"
    entries = []
    d_rows, v_rows, o_rows, replaced = [], [], [], []
    old_rev = {r[0]: r[1] for r in store._in_query(
        "SELECT id, revision FROM dwelling WHERE id IN ({marks})",
        [inc.dwelling.id for inc, _d, new in write_d if not new])}
    for inc, digest, new in write_d:
        d = inc.dwelling
        d_rows.append((d.id, d.area, d.structure, d.number, str(d.type), str(d.occupancy),
                       d.locator, d.enumerator, d.revision, digest, inc.updated_at, sender,
                       inc.base.revision if inc.base else None,
                       inc.base.digest if inc.base else None))
        if not new:
            replaced.append((d.id,))
        v_rows += [tuple(r) for r in visit_rows(d)]
        o_rows += [tuple(r) for r in override_rows(d.id, d.overrides)]
        if audit_new or not new:
            entries.append(audit.Entry(stamp, sender, "dwelling", d.id, "revision",
                                       None if new else str(old_rev.get(d.id)),
                                       str(d.revision), reason))
    if d_rows:
        conn.executemany(
            "INSERT INTO dwelling (id, area, structure, number, type, occupancy, locator, "
            "enumerator, revision, digest, updated_at, source, base_rev, base_digest) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
            "area = excluded.area, structure = excluded.structure, number = excluded.number, "
            "type = excluded.type, occupancy = excluded.occupancy, locator = excluded.locator, "
            "enumerator = excluded.enumerator, revision = excluded.revision, "
            "digest = excluded.digest, updated_at = excluded.updated_at, "
            "source = excluded.source, base_rev = excluded.base_rev, "
            "base_digest = excluded.base_digest", d_rows)
        moved = [(inc.dwelling.area, inc.dwelling.id, inc.dwelling.area)
                 for inc, _d, new in write_d if not new]
        conn.executemany("UPDATE household SET area = ? WHERE dwelling_id = ? AND area != ?",
                         moved)
    h_rows = []
    old_h = {r[0]: r[1] for r in store._in_query(
        "SELECT id, revision FROM household WHERE id IN ({marks})",
        [hinc.household.id for hinc, _d, new, _s in write_h if not new])}
    # A household's area is its dwelling's: known for the dwellings written here, read for the
    # others (not again for the whole bundle).
    area_of = {inc.dwelling.id: inc.dwelling.area for inc, _d, _n in write_d}
    area_of.update(store._in_query(
        "SELECT id, area FROM dwelling WHERE id IN ({marks})",
        sorted({hinc.dwelling_id for hinc, _d, _n, _s in write_h} - set(area_of))))
    for hinc, digest, new, seed in write_h:
        h = hinc.household
        counts = [h.residents.get(c, 0) for c in cfg.cells]
        sums = key_sums(seed, cfg.cells, h.residents)
        h_rows.append((h.id, hinc.dwelling_id, area_of[hinc.dwelling_id], h.number,
                       str(h.status), str(h.respondent), h.revision, digest, seed, h.away,
                       h.visitors, h.declared_total, h.usual_residents, hinc.updated_at,
                       hinc.updated_by, sender, hinc.base.revision if hinc.base else None,
                       hinc.base.digest if hinc.base else None, *counts, *sums))
        if not new:
            replaced.append((h.id,))
        o_rows += [tuple(r) for r in override_rows(h.id, h.overrides)]
        if audit_new or not new:
            entries.append(audit.Entry(stamp, sender, "household", h.id, "revision",
                                       None if new else str(old_h.get(h.id)),
                                       str(h.revision), reason))
    if replaced:
        conn.executemany("DELETE FROM visit WHERE dwelling_id = ?", replaced)
        conn.executemany("DELETE FROM override WHERE record_id = ?", replaced)
    if v_rows:
        conn.executemany("INSERT INTO visit VALUES (?, ?, ?, ?, ?, ?)", v_rows)
    if h_rows:
        store.upsert_households(h_rows, ("source", "base_rev", "base_digest"))
    if o_rows:
        conn.executemany("INSERT INTO override VALUES (?, ?, ?)", o_rows)
    chain.add(entries)


# -- assignments (supervisor → enumerator) ------------------------------------------------------


class Refused(StoreError):
    """What a file holds cannot be taken as it stands; nothing was changed. The message says
    what is wrong; the caller puts the file's name before it."""


def _check_assignment(store: Store, recs: Records) -> None:
    """Refuse (Refused) an assignment whose areas or returned forms would not fit this
    database: the rows of a signed file from upstream are checked like any other input, so a
    wrong one gives a message, never a broken tree of areas or a database error."""
    cfg = store.config
    levels = cfg.levels
    if recs.invalid:
        bad = recs.invalid[0]
        raise Refused(_("a returned form in it cannot be read ({why}); nothing was imported. "
                        "Ask your supervisor to send the assignment again.").format(
            why=bad.detail))
    stored = store.area_levels()
    given = {a.code: a for a in recs.areas}
    for a in recs.areas:
        if a.level not in levels:
            raise Refused(_("its area {code} has the level {level}, which this survey does not "
                            "have ({levels}); both levels must use the same survey config.")
                          .format(code=a.code, level=a.level, levels=", ".join(levels)))
        if a.code in stored and stored[a.code] != a.level:
            raise Refused(_("its area {code} is a {level} there but a {old} here; an area's "
                            "level never changes.").format(code=a.code, level=a.level,
                                                           old=stored[a.code]))
        depth = levels.index(a.level)
        above = levels[depth - 1] if depth else None
        if a.parent is None:
            if above is not None:
                raise Refused(_("its area {code} (a {level}) has no parent {above}.").format(
                    code=a.code, level=a.level, above=above))
            continue
        if above is None:
            raise Refused(_("its area {code} is a {level}, the top level, but has a parent "
                            "({parent}).").format(code=a.code, level=a.level, parent=a.parent))
        parent_level = given[a.parent].level if a.parent in given else stored.get(a.parent)
        if parent_level != above:
            raise Refused(_("its area {code} (a {level}) has the parent {parent}, which is "
                            "not a {above} known here.").format(
                code=a.code, level=a.level, parent=a.parent, above=above))
    known = {**stored, **{a.code: a.level for a in recs.areas}}
    d_stored = {r[0]: (r[1], r[2]) for r in store._in_query(
        "SELECT id, revision, area FROM dwelling WHERE id IN ({marks})",
        [i.dwelling.id for i in recs.dwellings])}
    writing = [i.dwelling for i in recs.dwellings
               if i.dwelling.id not in d_stored or d_stored[i.dwelling.id][0] < i.dwelling.revision]
    owners = store.natural_key_owners(sorted({(d.area, d.structure, d.number) for d in writing}))
    claimed: dict[tuple[str, int, int], str] = {}
    for d in writing:
        key = (d.area, d.structure, d.number)
        if known.get(d.area) != levels[-1]:
            raise Refused(_("its returned form of dwelling {id} is in area {area}, which is not "
                            "an enumeration area known here.").format(id=d.id, area=d.area))
        other = claimed.setdefault(key, owners.get(key, d.id))
        if other != d.id:
            raise Refused(_("its returned form of dwelling {id} has the numbers {area} {s}/{n}, "
                            "which dwelling {other} already has here.").format(
                id=d.id, area=d.area, s=d.structure, n=d.number, other=other))
    in_file = {i.dwelling.id for i in recs.dwellings}
    parents = sorted({i.dwelling_id for i in recs.households})
    present = in_file | {r[0] for r in store._in_query(
        "SELECT id FROM dwelling WHERE id IN ({marks})", parents)}
    h_stored = {r[0]: (r[1], r[2]) for r in store._in_query(
        "SELECT id, dwelling_id, revision FROM household WHERE id IN ({marks})",
        [i.household.id for i in recs.households])}
    numbers = store.household_numbers(parents)
    for hinc in recs.households:
        h = hinc.household
        if hinc.dwelling_id not in present:
            raise Refused(_("its returned household {id} belongs to dwelling {dwelling}, which "
                            "is neither in the file nor here.").format(
                id=h.id, dwelling=hinc.dwelling_id))
        found = h_stored.get(h.id)
        if found is not None and found[0] != hinc.dwelling_id:
            raise Refused(_("its returned household {id} is in dwelling {dwelling} there but "
                            "in dwelling {other} here; a household does not move.").format(
                id=h.id, dwelling=hinc.dwelling_id, other=found[0]))
        if found is not None and found[1] >= h.revision:
            continue  # not written: this device's version is kept (see apply_assignment)
        other = numbers.setdefault((hinc.dwelling_id, h.number), h.id)
        if other != h.id:
            raise Refused(_("its returned household {id} has the number {n} in dwelling "
                            "{dwelling}, which household {other} already has.").format(
                id=h.id, n=h.number, dwelling=hinc.dwelling_id, other=other))


@dataclass
class AssignmentReport:
    areas_added: int = 0
    areas_updated: int = 0
    returned: int = 0
    kept_local: int = 0


def apply_assignment(store: Store, chain: audit.Chain, sender: str, recs: Records,
                     me_enumerator: bool) -> AssignmentReport:
    """Take areas and returned forms from upstream. A returned form replaces this device's
    copy unless the copy was edited since it was sent: then the edits stay, the form is marked
    returned, and its base becomes the supervisor's version (so the next bundle updates it)."""
    cfg = store.config
    conn = store.conn
    rep = AssignmentReport()
    stamp = utc_now()
    _check_assignment(store, recs)
    # Parents first, whatever the order in the file (a parent is of the level above).
    for a in sorted(recs.areas, key=lambda a: cfg.levels.index(a.level)):
        row = conn.execute("SELECT code, parent, level, name, expected_dwellings, enumerator "
                           "FROM area WHERE code = ?", (a.code,)).fetchone()
        enumerator = a.enumerator if me_enumerator and a.enumerator == store.user else (
            a.enumerator if a.enumerator == store.user else None)
        new = (a.code, a.parent, a.level, a.name, a.expected_dwellings, enumerator)
        if row is not None and tuple(row) == new:
            continue
        if enumerator:
            conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)", (enumerator,))
        conn.execute("INSERT INTO area (code, parent, level, name, expected_dwellings, "
                     "enumerator) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
                     "parent = excluded.parent, level = excluded.level, name = excluded.name, "
                     "expected_dwellings = excluded.expected_dwellings, "
                     "enumerator = excluded.enumerator", new)
        chain.add([audit.Entry(stamp, sender, "area", a.code, "*",
                               None if row is None else json.dumps(list(row)),
                               json.dumps(list(new)))])
        if row is None:
            rep.areas_added += 1
        else:
            rep.areas_updated += 1
    store._levels = None

    # Returned forms: dwellings first (households need them).
    d_stored = {r[0]: r[1:] for r in store._in_query(
        "SELECT id, revision, digest FROM dwelling WHERE id IN ({marks})",
        [i.dwelling.id for i in recs.dwellings])}
    write_d = []
    for inc in recs.dwellings:
        d = inc.dwelling
        digest = dwelling_digest(d, cfg)
        s = d_stored.get(d.id)
        if s is None or s[0] < d.revision:
            write_d.append((IncomingDwelling(d, Base(d.revision, digest), inc.updated_at),
                            digest, s is None))
        else:
            conn.execute("UPDATE dwelling SET base_rev = ?, base_digest = ? WHERE id = ?",
                         (d.revision, digest, d.id))
    h_stored = {r[0]: r[1:] for r in store._in_query(
        "SELECT id, revision, digest, seed FROM household WHERE id IN ({marks})",
        [i.household.id for i in recs.households])}
    write_h = []
    for hinc in recs.households:
        h = hinc.household
        digest = household_digest(h, cfg, hinc.dwelling_id)
        s = h_stored.get(h.id)
        if h.status is HouseholdStatus.RETURNED:
            rep.returned += 1
        if s is None or s[0] < h.revision:
            write_h.append((IncomingHousehold(h, hinc.dwelling_id, Base(h.revision, digest),
                                              hinc.updated_at, hinc.updated_by),
                            digest, s is None, s[2] if s else h.seed))
        elif s[1] == digest:  # the same version: only its base is news
            conn.execute("UPDATE household SET base_rev = ?, base_digest = ? WHERE id = ?",
                         (h.revision, digest, h.id))
        else:
            # Edited here after it was sent: keep the edits, take the return.
            rep.kept_local += 1
            local = next(lh for _did, lh in store._households("h.id = ?", (h.id,)))
            status = h.status if h.status is HouseholdStatus.RETURNED else local.status
            kept = replace(local, status=status, revision=s[0] + 1)
            kept_digest = household_digest(kept, cfg, hinc.dwelling_id)
            conn.execute("UPDATE household SET status = ?, revision = ?, digest = ?, "
                         "base_rev = ?, base_digest = ? WHERE id = ?",
                         (str(status), kept.revision, kept_digest, h.revision, digest, h.id))
            chain.add([audit.Entry(stamp, sender, "household", h.id, "status",
                                   str(local.status), str(status), "returned")])
    _write(store, chain, sender, "assignment", write_d, write_h, stamp)
    # A dwelling handed over earlier is back on the device: count it once.
    conn.executemany("DELETE FROM handed_over WHERE area = ? AND structure = ? AND number = ?",
                     [(inc.dwelling.area, inc.dwelling.structure, inc.dwelling.number)
                      for inc, _d, _n in write_d])
    _save_decisions(store, [replace(x, note=None) if x.note is not None and personal_data(x.note)
                            else x for x in recs.decisions])
    return rep


# -- receipts -----------------------------------------------------------------------------------


def held_from(store: Store, code: str) -> list[list[Any]]:
    """What this database holds of what `code` sent: (type, id, revision, digest) rows, for a
    receipt. Records held in the review queue count: they are kept until a person decides."""
    out: list[list[Any]] = []
    for table in ("dwelling", "household"):
        out += [[table, *r] for r in store.conn.execute(
            f"SELECT id, revision, digest FROM {table} WHERE source = ? ORDER BY id", (code,))]
    out += [list(r) for r in store.conn.execute(
        "SELECT record_type, record_id, revision, digest FROM review WHERE source = ? AND "
        "kind = 'conflict' AND detail != 'dwelling_held' ORDER BY id", (code,))]
    # A duplicate listing (and what came with it) is not acknowledged: it may be another real
    # dwelling numbered twice, so it stays on the device until it is renumbered.
    # A household approved or returned here is a new revision made here; the version it came
    # as is held too (it is what the sender has).
    out += [["household", *r] for r in store.conn.execute(
        "SELECT household_id, prior_rev, prior_digest FROM decision WHERE prior_source = ? "
        "AND prior_digest IS NOT NULL ORDER BY household_id, revision", (code,))]
    return out


@dataclass
class ReceiptReport:
    acknowledged: int = 0
    purged_dwellings: int = 0
    purged_households: int = 0


def apply_receipt(store: Store, chain: audit.Chain, held: Sequence[tuple[str, str, int, str]],
                  receipt_id: str, purge: bool) -> ReceiptReport:
    """Mark what upstream holds as acknowledged; with `purge` (an enumerator's device), delete
    every finished dwelling whose records are all acknowledged at their current revision."""
    conn = store.conn
    rep = ReceiptReport()
    for record_type, rid, revision, digest in held:
        table = "dwelling" if record_type == "dwelling" else "household"
        cur = conn.execute(f"UPDATE {table} SET acked = ? WHERE id = ? AND revision = ? AND "
                           f"digest = ?", (revision, rid, revision, digest))
        rep.acknowledged += cur.rowcount
    if not purge:
        return rep
    final = ", ".join(f"'{o}'" for o in FINAL_OUTCOMES)
    rows = conn.execute(f"""
SELECT d.id, d.area, d.structure, d.number, l.outcome,
  (SELECT count(*) FROM household h WHERE h.dwelling_id = d.id),
  (SELECT coalesce(sum(usual_residents), 0) FROM household h WHERE h.dwelling_id = d.id)
FROM dwelling d
JOIN visit l ON l.dwelling_id = d.id
  AND l.attempt = (SELECT max(attempt) FROM visit WHERE dwelling_id = d.id)
WHERE d.acked = d.revision
  AND l.outcome IN ({final})
  AND NOT EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id AND
                  (h.acked IS NULL OR h.acked != h.revision OR
                   h.status NOT IN ('complete', 'approved')))
  AND NOT (l.outcome IN ('completed', 'partial') AND
           NOT EXISTS (SELECT 1 FROM household h WHERE h.dwelling_id = d.id))
""").fetchall()
    stamp = utc_now()
    reason = f"receipt {receipt_id}"
    entries = []
    for did, area, structure, number, outcome, households, persons in rows:
        conn.execute("INSERT OR REPLACE INTO handed_over (area, structure, number, outcome, "
                     "households, persons) VALUES (?, ?, ?, ?, ?, ?)",
                     (area, structure, number, outcome, households, persons))
        hids = [r[0] for r in conn.execute("SELECT id FROM household WHERE dwelling_id = ?",
                                           (did,))]
        for hid in hids:
            conn.execute("DELETE FROM override WHERE record_id = ?", (hid,))
            conn.execute("DELETE FROM decision WHERE household_id = ?", (hid,))
            entries.append(audit.Entry(stamp, store.user, "household", hid, "purged", None,
                                       None, reason))
        conn.execute("DELETE FROM household WHERE dwelling_id = ?", (did,))
        conn.execute("DELETE FROM override WHERE record_id = ?", (did,))
        conn.execute("DELETE FROM dwelling WHERE id = ?", (did,))
        entries.append(audit.Entry(stamp, store.user, "dwelling", did, "purged", None, None,
                                   reason))
        rep.purged_dwellings += 1
        rep.purged_households += len(hids)
    chain.add(entries)
    return rep


def checkpoint(store: Store) -> None:
    """Move the WAL into the database and cut the WAL file to zero bytes, so deleted records
    (zeroed by secure_delete) leave no copy behind in the WAL (DESIGN §4)."""
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


# -- review -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    """One entry of the review queue."""

    id: int
    kind: ReviewKind
    record_type: str
    record_id: str
    area: str
    other_id: str | None
    revision: int
    digest: str
    source: str
    transfer: str | None
    detail: str
    incoming: dict[str, Any] | None
    status: str
    resolution: str | None
    created_at: str


_REVIEW = ("SELECT id, kind, record_type, record_id, area, other_id, revision, digest, source, "
           "transfer, detail, incoming, status, resolution, created_at FROM review")


def _item(r: Sequence[Any]) -> ReviewItem:
    return ReviewItem(r[0], ReviewKind(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                      r[10], json.loads(r[11]) if r[11] else None, r[12], r[13], r[14])


def review_items(store: Store, *, status: str | None = "open", area: str | None = None,
                 kind: str | None = None, limit: int = 500, offset: int = 0
                 ) -> list[ReviewItem]:
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if area:
        codes = store.subtree(area)
        where.append("area IN (" + ",".join("?" * len(codes)) + ")")
        params += codes
    if kind:
        where.append("kind = ?")
        params.append(kind)
    sql = _REVIEW + (" WHERE " + " AND ".join(where) if where else "")
    rows = store.conn.execute(sql + " ORDER BY area, id LIMIT ? OFFSET ?",
                              [*params, limit, offset]).fetchall()
    return [_item(r) for r in rows]


def review_counts(store: Store) -> dict[str, int]:
    """Open review items per kind."""
    return dict(store.conn.execute("SELECT kind, count(*) FROM review WHERE status = 'open' "
                                   "GROUP BY kind").fetchall())


def review_item(store: Store, item_id: int) -> ReviewItem | None:
    row = store.conn.execute(_REVIEW + " WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else _item(row)


def _close_item(store: Store, chain: audit.Chain, item: ReviewItem, resolution: Resolution,
                who: str) -> None:
    stamp = utc_now()
    store.conn.execute("UPDATE review SET status = 'resolved', resolution = ?, resolved_by = ?, "
                       "resolved_at = ?, incoming = NULL WHERE id = ?",
                       (str(resolution), who, stamp, item.id))
    chain.add([audit.Entry(stamp, who, item.record_type, item.record_id, "review",
                           f"{item.kind} #{item.id}", str(resolution), None)])


def resolve_keep(store: Store, item_id: int, who: str) -> ReviewItem:
    """Keep the stored record; the held incoming version is discarded. For a held dwelling,
    the households held with it (they came with it) are closed the same way."""
    with store.write() as chain:
        item = _open_item(store, item_id)
        _close_item(store, chain, item,
                    Resolution.DISMISSED if item.kind in (ReviewKind.FLAGGED, ReviewKind.INVALID)
                    else Resolution.KEPT, who)
        if item.record_type == "dwelling":
            for row in store.conn.execute(
                    _REVIEW + " WHERE status = 'open' AND detail = 'dwelling_held' AND "
                    "json_extract(incoming, '$.dwelling') = ?", (item.record_id,)).fetchall():
                _close_item(store, chain, _item(row), Resolution.KEPT, who)
    return item


def _open_item(store: Store, item_id: int) -> ReviewItem:
    item = review_item(store, item_id)
    if item is None:
        raise StoreError(_("There is no review item {id}; `census review list` shows them.")
                         .format(id=item_id))
    if item.status != "open":
        raise StoreError(_("Review item {id} is already resolved ({resolution}).").format(
            id=item_id, resolution=item.resolution))
    return item


def resolve_take(store: Store, item_id: int, who: str, now: datetime) -> ReviewItem:
    """Replace the stored record by the held incoming version of a conflict. The result is a
    new revision made here, so it travels up as a normal update."""
    with store.write() as chain:
        item = _open_item(store, item_id)
        if item.kind is not ReviewKind.CONFLICT or item.incoming is None:
            raise StoreError(_("Only a conflict can take the incoming version; review item {id} "
                               "is of kind {kind}. Keep the stored record; a duplicate listing "
                               "stays on its device until it is renumbered there.")
                             .format(id=item_id, kind=item.kind))
        if item.detail == "area_closed":
            raise StoreError(_("Review item {id} arrived after its area was closed; it can only "
                               "be kept out (resolve it with --keep).").format(id=item_id))
        _take(store, chain, item, who, now)
        _close_item(store, chain, item, Resolution.TOOK_INCOMING, who)
    return item


def _take(store: Store, chain: audit.Chain, item: ReviewItem, who: str, now: datetime) -> None:
    from census.records import dwelling_from_json

    cfg = store.config
    data = dict(item.incoming or {})
    stamp = utc_now()
    if item.record_type == "dwelling":
        stored = store.conn.execute("SELECT revision FROM dwelling WHERE id = ?",
                                    (item.record_id,)).fetchone()
        for k in ("base", "updated_at"):
            data.pop(k, None)
        d, problems = dwelling_from_json(data, cfg)
        if d is None:
            raise StoreError(_("The held version cannot be read: {problem}").format(
                problem=problems[0] if problems else "?"))
        d = replace(d, revision=max(d.revision, stored[0] if stored else 0) + 1)
        _write(store, chain, who, f"review {item.id}",
               [(IncomingDwelling(d, None, stamp), dwelling_digest(d, cfg), stored is None)],
               [], stamp)
        store.conn.execute("UPDATE dwelling SET source = NULL WHERE id = ?", (d.id,))
    else:
        stored = store.conn.execute("SELECT revision, seed, dwelling_id FROM household "
                                    "WHERE id = ?", (item.record_id,)).fetchone()
        dwelling_id = data.pop("dwelling")
        if store.load_dwelling(dwelling_id, with_households=False) is None:
            raise StoreError(_("The held household's dwelling is not stored here (it is held "
                               "for review too); resolve the dwelling first."))
        seed = bytes.fromhex(data.pop("seed"))
        for k in ("base", "updated_at", "updated_by"):
            data.pop(k, None)
        wrapper = {"id": dwelling_id, "area": item.area, "structure": 1, "dwelling": 1,
                   "households": [data]}
        d, problems = dwelling_from_json(wrapper, cfg)
        if d is None or not d.households:
            raise StoreError(_("The held version cannot be read: {problem}").format(
                problem=problems[0] if problems else "?"))
        h = d.households[0]
        h = replace(h, seed=stored[1] if stored else seed,
                    revision=max(h.revision, stored[0] if stored else 0) + 1)
        if stored is not None and stored[2] != dwelling_id:
            raise StoreError(_("The held version belongs to another dwelling; keep the stored "
                               "one and return it for correction instead."))
        _write(store, chain, who, f"review {item.id}", [],
               [(IncomingHousehold(h, dwelling_id, None, stamp, who),
                 household_digest(h, cfg, dwelling_id), stored is None, h.seed)], stamp)
        store.conn.execute("UPDATE household SET source = NULL WHERE id = ?", (h.id,))


def decide_household(store: Store, household_id: str, action: str, who: str, *,
                     reason: ReturnReason | None = None, note: str | None = None) -> Household:
    """Approve a household, or return it for correction with a coded reason and an optional
    short note (checked like a locator: no names, phone numbers or e-mail addresses). The
    decision is a new revision made here; a return travels in the next assignment file."""
    cfg = store.config
    if note is not None:
        note = " ".join(note.split()) or None
    if note is not None:
        if len(note) > NOTE_LIMIT:
            raise StoreError(_("The note has {n} characters; at most {max} are kept. Shorten "
                               "it.").format(n=len(note), max=NOTE_LIMIT))
        why = personal_data(note)
        if why is not None:
            raise StoreError(_("The note looks like it holds personal data ({why}); notes may "
                               "not name or identify anyone. Rewrite it.").format(why=_(why)))
    with store.write() as chain:
        found = store._households("h.id = ?", (household_id,))
        if not found:
            raise StoreError(_("There is no household {id} here.").format(id=household_id))
        dwelling_id, h = found[0]
        if action == "approved":
            if h.status not in (HouseholdStatus.COMPLETE, HouseholdStatus.APPROVED):
                raise StoreError(_("Household {id} is {status}; only a complete household can "
                                   "be approved.").format(id=household_id,
                                                          status=_(str(h.status))))
            status = HouseholdStatus.APPROVED
        else:
            if reason is None:
                raise StoreError(_("Say why the household goes back: --reason with one of "
                                   "{codes}.").format(codes=", ".join(ReturnReason)))
            status = HouseholdStatus.RETURNED
        new = replace(h, status=status, revision=h.revision + 1)
        digest = household_digest(new, cfg, dwelling_id)
        stamp = utc_now()
        prior = store.conn.execute("SELECT digest, source FROM household WHERE id = ?",
                                   (household_id,)).fetchone()
        store.conn.execute("UPDATE household SET status = ?, revision = ?, digest = ?, "
                           "source = NULL, updated_at = ?, updated_by = ? WHERE id = ?",
                           (str(status), new.revision, digest, stamp, who, household_id))
        flags = [_item(r) for r in store.conn.execute(
            _REVIEW + " WHERE record_id = ? AND kind = 'flagged' AND status = 'open'",
            (household_id,))]
        rule_text = ",".join(sorted({x for f in flags for x in f.detail.split(",") if x})) or None
        store.conn.execute("INSERT INTO decision (household_id, revision, action, reason, note, "
                           "rules, who, at, prior_rev, prior_digest, prior_source) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (household_id, new.revision, action,
                            str(reason) if reason else None, note, rule_text, who, stamp,
                            h.revision, prior[0], prior[1]))
        chain.add([audit.Entry(stamp, who, "household", household_id, "status", str(h.status),
                               str(status), str(reason) if reason else None)])
        for flag in flags:
            _close_item(store, chain, flag, Resolution.APPROVED if action == "approved"
                        else Resolution.RETURNED, who)
    return new


def decisions_of(store: Store, household_id: str) -> list[Decision]:
    """The approvals and returns of a household, newest first."""
    rows = store.conn.execute(
        "SELECT household_id, revision, action, reason, note, rules, who, at FROM decision "
        "WHERE household_id = ? ORDER BY revision DESC", (household_id,)).fetchall()
    return [Decision(*r) for r in rows]


# -- close-out ----------------------------------------------------------------------------------


@dataclass
class CloseReport:
    locators: int
    notes: int
    held: int


def open_work(store: Store, code: str) -> dict[str, int]:
    """What still stops `code` from being closed (counts; empty when it can be closed)."""
    out: dict[str, int] = {}
    for status in ("to_visit", "callback", "in_progress"):
        n = store.listing_count(code, status)
        if n:
            out[status] = n
    n = store.conn.execute("SELECT count(*) FROM household WHERE area = ? AND status = "
                           "'returned'", (code,)).fetchone()[0]
    if n:
        out["returned"] = n
    n = store.conn.execute("SELECT count(*) FROM review WHERE area = ? AND status = 'open'",
                           (code,)).fetchone()[0]
    if n:
        out["review"] = n
    if store.listing_count(code) == 0:
        out["listed"] = 0
    return out


def close_area(store: Store, code: str, who: str) -> CloseReport:
    """Close a finished area: purge its locators (a new revision of each dwelling that had
    one, so the purge travels up), the notes of its decisions and any held record text."""
    with store.write() as chain:
        report = _purge_area(store, chain, code, who)
    checkpoint(store)
    return report


def _purge_area(store: Store, chain: audit.Chain, code: str, who: str) -> CloseReport:
    cfg = store.config
    stamp = utc_now()
    rows = store._dwellings("area = ? AND locator IS NOT NULL", (code,), with_households=False)
    for d in rows:
        new = replace(d, locator=None, revision=d.revision + 1)
        store.conn.execute("UPDATE dwelling SET locator = NULL, revision = ?, digest = ?, "
                           "source = NULL, updated_at = ? WHERE id = ?",
                           (new.revision, dwelling_digest(new, cfg), stamp, d.id))
    notes = store.conn.execute(
        "UPDATE decision SET note = NULL WHERE note IS NOT NULL AND household_id IN "
        "(SELECT id FROM household WHERE area = ?)", (code,)).rowcount
    held = store.conn.execute("UPDATE review SET incoming = NULL WHERE area = ? AND "
                              "incoming IS NOT NULL", (code,)).rowcount
    # An unreadable row's detail may quote a value: keep only its kind.
    store.conn.execute("UPDATE review SET detail = 'invalid' WHERE area = ? AND kind = "
                       "'invalid'", (code,))
    store.conn.execute("UPDATE area SET status = ? WHERE code = ?",
                       (str(AreaStatus.CLOSED), code))
    chain.add([audit.Entry(stamp, who, "area", code, "status", "open", "closed",
                           f"locators purged: {len(rows)}")])
    return CloseReport(len(rows), notes, held)


def handed_over(store: Store, area: str) -> dict[str, int]:
    """Dwellings of `area` handed over to the supervisor and purged here, per outcome."""
    return dict(store.conn.execute("SELECT outcome, count(*) FROM handed_over WHERE area = ? "
                                   "GROUP BY outcome", (area,)).fetchall())
