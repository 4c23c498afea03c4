"""The transfer log: every file sent or received (id, kind, peer, sequence number, digest)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from census.storage import audit
from census.storage.store import Store, in_query, utc_now


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


#: A file acknowledges at most this many files of its receiver (the newest).
MAX_ACKS = 1000


def log_transfer(store: Store, chain: audit.Chain, *, transfer_id: str, kind: str,
                 direction: str, peer_code: str, seq: int, created: str, payload: bytes,
                 summary: dict[str, int], file_sha256: str | None = None,
                 acks: Sequence[str] = ()) -> None:
    """Log a file sent or received (`file_sha256`: of its bytes, to know it again on a disk).
    A file received acknowledges `acks`: files sent to its sender, which it has taken."""
    now = utc_now()
    text = json.dumps(summary, sort_keys=True, separators=(",", ":"))[:400]
    sha = hashlib.sha256(payload).hexdigest()
    store.conn.execute(
        "INSERT INTO transfer (id, kind, direction, peer, seq, created, at, payload_sha256, "
        "summary, file_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (transfer_id, kind, direction, peer_code, seq, created, now,
         sha, text, file_sha256))
    if direction == "in":
        store.conn.execute("UPDATE peer SET seq_in = max(seq_in, ?) WHERE code = ?",
                           (seq, peer_code))
        store.conn.executemany(
            "UPDATE transfer SET acked_at = ? WHERE id = ? AND peer = ? AND direction = 'out' "
            "AND acked_at IS NULL", [(now, tid, peer_code) for tid in acks[:MAX_ACKS]])
    chain.add([audit.Entry(now, store.user, "survey", transfer_id, f"{kind}.{direction}",
                           peer_code, f"{text} sha256={sha}", f"seq {seq}")])


def newest_seq_in(store: Store, code: str, kind: str) -> int | None:
    """The highest sequence number of the files of `kind` received from `code` since its
    current key was trusted, or None."""
    row = store.conn.execute(
        "SELECT max(t.seq) FROM transfer t WHERE t.peer = ? AND t.kind = ? AND t.direction = "
        "'in' AND t.rowid > coalesce((SELECT key_from FROM peer WHERE code = ?), 0)",
        (code, kind, code)).fetchone()
    return None if row[0] is None else int(row[0])


def acks_for(store: Store, code: str) -> list[str]:
    """The files received from `code` that the next file to it acknowledges (the newest
    MAX_ACKS: each file repeats them, so a lost one loses nothing)."""
    return [r[0] for r in store.conn.execute(
        "SELECT id FROM transfer WHERE peer = ? AND direction = 'in' ORDER BY rowid DESC "
        "LIMIT ?", (code, MAX_ACKS))]


def note_acks_sent(store: Store, code: str, ids: Sequence[str]) -> None:
    """`ids`, files received from `code`, were acknowledged in a file sealed to it."""
    now = utc_now()
    store.conn.executemany(
        "UPDATE transfer SET ack_sent_at = ? WHERE id = ? AND peer = ? AND direction = 'in' "
        "AND ack_sent_at IS NULL", [(now, tid, code) for tid in ids])


@dataclass(frozen=True)
class FileRecord(Transfer):
    """What the transfer log says of a sealed file known by its bytes' digest: the transfer,
    and when its receiver acknowledged it (sent) or it was acknowledged to its sender
    (received)."""

    acked_at: str | None
    ack_sent_at: str | None


def files_by_digest(store: Store, digests: Sequence[str]) -> dict[str, FileRecord]:
    """The logged transfers whose file had one of `digests`, by digest."""
    return {row[0]: FileRecord(*row[1:]) for row in in_query(
        store, "SELECT file_sha256, id, kind, direction, peer, seq, created, at, summary, "
        "acked_at, ack_sent_at FROM transfer WHERE file_sha256 IN ({marks})", digests)}
