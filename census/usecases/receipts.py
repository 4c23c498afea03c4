"""Receipts: the supervisor's signed list of what it holds from a user; that device then deletes
its finished forms for good."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from census.domain.model import Role
from census.formats.payload import MAX_ANCHORS, PayloadError, anchor_rows, read_body, receipt_rows
from census.i18n import _
from census.storage import audit
from census.storage.exchange.bodies import held_from
from census.storage.exchange.peers import (
    peer,
)
from census.storage.exchange.receipts import ReceiptReport, apply_receipt
from census.storage.exchange.transfers import Transfer, log_transfer
from census.storage.store import Store, checkpoint, utc_now
from census.transfer.files import TransferError, fail, read_file
from census.usecases.bundles import Exported
from census.usecases.exchange import (
    file_digest,
    header_acks,
    header_fields,
    imported_before,
    open_from_peer,
    seal_to,
    taking,
)


def export_receipt(store: Store, user: str, out: Path) -> Exported:
    """A signed list of everything held from `user`, so that device can delete it."""
    to = peer(store, user)
    if to is None or to.direction != "downstream":
        raise TransferError(_("No user {code} was assigned work here; `census keys list` shows "
                              "who was.").format(code=user))
    held = held_from(store, user)
    # The audit heads received from that device go back with it: its own log must still hold
    # them (`census audit verify` there checks).
    anchors = [[a.seq, a.hash] for a in audit.anchors(store.conn, user, "received",
                                                       MAX_ANCHORS)]
    tid, seq = seal_to(store, "receipt", to, {"held": held, "anchors": anchors},
                       {"records": len(held)}, out)
    return Exported(tid, seq, user, {"records": len(held)})


@dataclass(frozen=True)
class ReceiptImport:
    report: ReceiptReport
    sender: str
    already: Transfer | None = None
    pending: bool = False
    """The deletion is not yet folded into the database file (another program reads it): it
    is finished at the next open; until then a copy of the file still holds it."""


def import_receipt(store: Store, path: Path) -> ReceiptImport:
    """Mark what upstream holds; an enumerator's device then deletes its finished forms for
    good (secure_delete, then the WAL is checkpointed and truncated)."""
    data = read_file(path)
    opened = open_from_peer(store, path, "receipt", data)
    tid, seq, created = header_fields(opened.header, path)
    acks = header_acks(opened.header, path)
    if opened.sender.direction != "upstream":
        raise fail(path, _("it comes from {code}, who is not this database's supervisor.")
                    .format(code=opened.sender.code))
    done = imported_before(store, path, tid, "receipt", opened.sender.code)
    if done is not None:
        return ReceiptImport(ReceiptReport(), opened.sender.code, done)
    try:
        body = read_body(opened.payload, store.config)
        held = receipt_rows(body)
        confirmed = anchor_rows(body)
    except PayloadError as exc:
        raise fail(path, str(exc)) from exc
    with taking(path), store.write() as chain:
        report = apply_receipt(store, chain, held, tid, purge=store.role is Role.ENUMERATOR)
        for at_seq, at_hash in confirmed:
            audit.save_anchor(store.conn, audit.Anchor(opened.sender.code, "confirmed", at_seq,
                                                       at_hash, tid), utc_now())
        log_transfer(store, chain, transfer_id=tid, kind="receipt", direction="in",
                     peer_code=opened.sender.code, seq=seq, created=created,
                     payload=opened.payload,
                     summary={"acknowledged": report.acknowledged,
                              "purged": report.purged_dwellings},
                     file_sha256=file_digest(data), acks=acks)
    folded = checkpoint(store)
    return ReceiptImport(report, opened.sender.code, pending=not folded)
