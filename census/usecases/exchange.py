"""What every file exchange shares: open a sealed file from a trusted peer, refuse a file seen
before under another name, seal a body for a peer and log it, turn what a file's rows break into
a message naming the file. Each step runs in one transaction (DESIGN §5).

Trust: a supervisor learns an enumerator's key from the key card it assigns work to; the
enumerator learns the supervisor's key from the first assignment it imports (trust on first
use, fingerprint shown) and refuses later files signed by another key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from census.domain.ids import is_id, new_id
from census.formats.payload import encode
from census.i18n import _
from census.storage.exchange.assignments import Refused
from census.storage.exchange.peers import (
    Peer,
    peer_by_sign_key,
)
from census.storage.exchange.transfers import (
    MAX_ACKS,
    Transfer,
    acks_for,
    log_transfer,
    next_seq,
    note_acks_sent,
    transfer,
)
from census.storage.store import Store, utc_now
from census.transfer.files import fail, write_file
from census.transfer.keys import PublicKey, SealError, shown
from census.transfer.seal import inflate, open_signed, seal
from census.usecases.keys import keypair

#: The largest sequence number a file may carry (files are numbered one by one per device).
MAX_SEQ = (1 << 31) - 1


@contextmanager
def taking(path: Path) -> Iterator[None]:
    """Around the step that writes a file's records: a refusal of its contents (Refused)
    or a constraint of the database that its rows break becomes a message naming the file.
    The step's transaction was rolled back: nothing was changed."""
    try:
        yield
    except Refused as exc:
        raise fail(path, str(exc)) from exc
    except Exception as exc:
        cause = exc if type(exc).__name__ == "IntegrityError" else exc.__cause__
        if type(cause).__name__ != "IntegrityError":
            raise
        raise fail(path, _("its records do not fit this database ({error}); nothing was "
                            "imported. Ask the sender to send it again, and report it with the "
                            "census versions of both devices.").format(error=cause)) from exc


# -- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A verified, decrypted file and the peer that sent it."""

    header: dict[str, Any]
    payload: bytes
    sender: Peer


def open_from_peer(store: Store, path: Path, kind: str, data: bytes) -> Opened:
    """Decrypt the file and check its signature (the sender's key and code are inside the
    encryption), then that the key belongs to a trusted peer whose code the file names; only
    then decompress its payload."""
    try:
        opened = open_signed(data, keypair(store), kinds=(kind,))
    except SealError as exc:
        raise fail(path, str(exc)) from exc
    header = opened.header
    sender = peer_by_sign_key(store, opened.sender_key.sign)
    if sender is None:
        raise fail(path, _("it is signed by a key this database does not know (user {code}, "
                            "fingerprint {fp}). Only files from users you assigned work to, "
                            "or from your supervisor, are accepted.").format(
            code=shown(header.get("sender")), fp=opened.sender_key.fingerprint()))
    if sender.status == "revoked":
        raise fail(path, _("it is signed by {code}, whose key was revoked here; it is not "
                            "accepted.").format(code=sender.code))
    if header.get("sender") != sender.code:
        raise fail(path, _("its header names sender {claimed}, but it is signed by {code}.")
                    .format(claimed=shown(header.get("sender")), code=sender.code))
    try:  # only now, from a trusted sender, is anything decompressed
        payload = inflate(opened)
    except SealError as exc:
        raise fail(path, str(exc)) from exc
    return Opened(header, payload, sender)


def imported_before(store: Store, path: Path, tid: str, kind: str, sender: str
                     ) -> Transfer | None:
    """The earlier import of this very file, if any (importing it again changes nothing); a
    file reusing the id of another sender's or kind's file is refused."""
    done = transfer(store, tid)
    if done is not None and (done.peer != sender or done.kind != kind):
        raise fail(path, _("its id {id} was already used by another file ({kind} of {code}); "
                            "it is not accepted.").format(id=tid, kind=done.kind,
                                                         code=done.peer))
    return done


def header_fields(header: dict[str, Any], path: Path) -> tuple[str, int, str]:
    tid, seq, created = header.get("id"), header.get("seq"), header.get("created")
    if not isinstance(tid, str) or not is_id(tid) or type(seq) is not int or (
            not 1 <= seq <= MAX_SEQ or not isinstance(created, str) or len(created) > 40):
        raise fail(path, _("its header lacks an id, sequence number or date."))
    return tid, seq, created


def seal_to(store: Store, kind: str, to: Peer, body: dict[str, Any], counts: dict[str, int],
             out: Path) -> tuple[str, int]:
    """Seal `body` for `to`, write it to `out`, and log it — the log only once it is written."""
    with store.write() as chain:
        return seal_in(store, chain, kind, to, body, counts, out)


def seal_in(store: Store, chain: Any, kind: str, to: Peer, body: dict[str, Any],
             counts: dict[str, int], out: Path) -> tuple[str, int]:
    """`_seal_to` inside the caller's transaction: the file is written before it commits."""
    payload = encode(body, store.config)
    tid = new_id()
    created = utc_now()
    seq = next_seq(store, to.code)
    acks = acks_for(store, to.code)
    header = {"id": tid, "sender": store.user, "sender_role": str(store.role),
              "recipient_code": to.code, "created": created, "seq": seq, "counts": counts,
              "acks": acks}
    try:
        data = seal(kind, header, payload, keypair(store), PublicKey(to.enc_key, to.sign_key))
    except SealError as exc:
        raise fail(out, str(exc)) from exc
    write_file(out, data)
    log_transfer(store, chain, transfer_id=tid, kind=kind, direction="out",
                 peer_code=to.code, seq=seq, created=created, payload=payload,
                 summary=counts, file_sha256=file_digest(data))
    note_acks_sent(store, to.code, acks)
    return tid, seq


def file_digest(data: bytes) -> str:
    """How the transfer log knows a sealed file again, wherever a copy of it is."""
    return hashlib.sha256(data).hexdigest()


def header_acks(header: dict[str, Any], path: Path) -> list[str]:
    """The files of this database that the file's sender acknowledges (none in files made
    before census acknowledged files)."""
    acks = header.get("acks", [])
    if not isinstance(acks, list) or len(acks) > MAX_ACKS or not all(
            isinstance(a, str) and is_id(a) for a in acks):
        raise fail(path, _("its list of acknowledged files is not valid; ask the sender to "
                            "send it again."))
    return acks


# -- assignment (supervisor → enumerator, office → supervisor) ---------------------------------
