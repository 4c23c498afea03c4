"""Device keys and peers: the keys of this database, and the users it exchanges files with
(their keys, direction, status and the areas they may send records for)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from census.domain.model import (
    Role,
)
from census.i18n import _
from census.storage import audit
from census.storage.areas import subtree
from census.storage.connection import StoreError
from census.storage.store import Store, utc_now


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


def replace_peer_key(store: Store, code: str, enc_key: bytes, sign_key: bytes, key_id: str,
                     fingerprint: str) -> Peer:
    """Trust a known user's key again, or its new key (its previous key and a revocation are
    replaced), from now on: files numbered before this are another device's."""
    with store.write() as chain:
        found = peer(store, code)
        if found is None:
            raise StoreError(_("No user {code} is known here; `census keys list` shows who "
                               "is.").format(code=code))
        now = utc_now()
        store.conn.execute("UPDATE peer SET enc_key = ?, sign_key = ?, key_id = ?, status = "
                           "'trusted', added_at = ?, key_from = (SELECT coalesce(max(rowid), "
                           "0) FROM transfer) WHERE code = ?", (enc_key, sign_key, key_id, now,
                                                                code))
        # A new device has a new audit log: what the old one stated no longer binds.
        store.conn.execute("DELETE FROM audit_anchor WHERE peer = ? AND direction = 'received'",
                           (code,))
        chain.add([audit.Entry(now, store.user, "survey", f"peer.{code}"[:40], "key",
                               f"{found.key_id} {found.status}", f"{key_id} {fingerprint}",
                               "replace-key")])
        new = peer(store, code)
        assert new is not None
        return new


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
    """Forget a peer's key (so a new key can be trusted on first use); its records stay. A
    revoked key is not forgotten: revocation holds until `census keys trust --replace-key`."""
    with store.write() as chain:
        found = peer(store, code)
        if found is None:
            raise StoreError(_("No user {code} is known here; `census keys list` shows who "
                               "is.").format(code=code))
        if found.status == "revoked":
            raise StoreError(_("The key of {code} was revoked here; a revocation is not "
                               "forgotten. If {code} is to be trusted again, check the "
                               "fingerprint of its key card with them and run `census keys "
                               "trust {code} --card CARD --replace-key`.").format(code=code))
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
        granted += subtree(store, a)
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
