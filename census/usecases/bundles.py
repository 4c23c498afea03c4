"""Bundles: an enumerator's (or supervisor's) records sealed for the level above; imported there
by verify, decrypt, validate and merge, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from census.domain.lifecycle import Act, Actor, may
from census.domain.lifecycle import Area as PolicyArea
from census.domain.model import AreaStatus, ReopenReason, Role
from census.formats.payload import (
    MAX_ANCHORS,
    AreaStateRow,
    AuditHead,
    PayloadError,
    Records,
    decode,
)
from census.i18n import _
from census.storage import audit
from census.storage.areas import get_area
from census.storage.audit import Chain
from census.storage.exchange.bodies import bundle_body
from census.storage.exchange.closeout import (
    purge_area,
    reopen_area,
    set_status_rev,
    status_rev,
)
from census.storage.exchange.decisions import save_decisions
from census.storage.exchange.merge import check_areas, set_area_enumerators
from census.storage.exchange.peers import (
    peer_areas,
    upstream,
)
from census.storage.exchange.transfers import Transfer, log_transfer
from census.storage.keying import save_sessions
from census.storage.store import Store, utc_now
from census.transfer.files import TransferError, fail, read_file
from census.usecases.exchange import (
    file_digest,
    header_acks,
    header_fields,
    imported_before,
    open_from_peer,
    seal_in,
    taking,
)
from census.usecases.intake import Intake
from census.usecases.reports import MergeReport
from census.usecases.sources import Source, Via
from census.validation.engine import personal_data


@dataclass(frozen=True)
class Exported:
    id: str
    seq: int
    recipient: str
    counts: dict[str, int]


def export_bundle(store: Store, out: Path, everything: bool = False) -> Exported:
    """Seal every record not yet acknowledged (or all, with `everything`) for upstream."""
    to = upstream(store)
    if to is None:
        raise TransferError(_("This database has no supervisor yet: import an assignment file "
                              "first (`census assignment import FILE`)."))
    body, counts = bundle_body(store, everything)
    with store.write() as chain:
        # The device's audit head travels up, signed with the bundle; with it, the hashes now
        # of the entries anchored up before: a rewrite of that history shows at the next import.
        body["audit"] = audit_statement(store, to.code)
        tid, seq = seal_in(store, chain, "bundle", to, body, counts, out)
        audit.save_anchor(store.conn, audit.Anchor(to.code, "sent", body["audit"]["seq"],
                                                   body["audit"]["hash"], tid), utc_now())
    return Exported(tid, seq, to.code, counts)


def audit_statement(store: Store, peer_code: str) -> dict[str, Any]:
    """What a bundle says of its device's audit log: the last entry's number and hash, and the
    hashes, now, of the entries anchored with `peer_code` before (signed with the bundle)."""
    at_seq, at_hash = audit.head(store.conn)
    seqs = sorted({a.seq for way in ("sent", "confirmed")
                   for a in audit.anchors(store.conn, peer_code, way, MAX_ANCHORS)}
                  - {at_seq})[-MAX_ANCHORS:]
    now_hashes = audit.hashes_at(store.conn, seqs)
    return {"seq": at_seq, "hash": at_hash,
            "earlier": [[s, now_hashes[s]] for s in seqs if s in now_hashes]}


@dataclass(frozen=True)
class Imported:
    """What one bundle import did (or that it had been imported before)."""

    path: Path
    id: str
    sender: str
    seq: int
    report: MergeReport
    already: Transfer | None = None


def import_bundle(store: Store, path: Path, now: datetime,
                  on_decoded: Callable[[int, int], None] | None = None) -> Imported:
    """Verify, decrypt, validate and merge one bundle in one transaction. `on_decoded` hears
    the number of dwellings and households about to be merged (to tell a waiting user)."""
    data = read_file(path)
    opened = open_from_peer(store, path, "bundle", data)
    tid, seq, created = header_fields(opened.header, path)
    acks = header_acks(opened.header, path)
    sender = opened.sender
    if sender.direction != "downstream":
        raise fail(path, _("it comes from {code}, who is not a user this database assigned "
                            "work to.").format(code=sender.code))
    done = imported_before(store, path, tid, "bundle", sender.code)
    if done is not None:
        return Imported(path, tid, sender.code, seq, MergeReport(), done)
    try:
        recs = decode(opened.payload, store.config)
    except PayloadError as exc:
        raise fail(path, str(exc)) from exc
    outside = check_areas(store, sender.code, recs)
    if outside:
        listed = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise fail(path, _("it holds records for areas not assigned to {code}: {areas}. Nothing "
                            "was imported; assign those areas to {code} first, or ask which "
                            "device made it.").format(code=sender.code, areas=listed))
    check_history(store, path, sender.code, recs.audit)
    if on_decoded is not None:
        on_decoded(len(recs.dwellings), len(recs.households))
    granted = frozenset(peer_areas(store, sender.code))
    with taking(path), store.bulk(), store.write() as chain:
        report = merge(store, chain, Source(Via.BUNDLE, sender.code, sender.role, tid,
                                            granted=granted), recs, now)
        if recs.audit is not None:  # what it states is kept: the next bundles must agree
            stamp = utc_now()
            for at_seq, at_hash in {**dict(recs.audit.earlier),
                                    recs.audit.seq: recs.audit.hash}.items():
                audit.save_anchor(store.conn, audit.Anchor(sender.code, "received", at_seq,
                                                           at_hash, tid), stamp)
        log_transfer(store, chain, transfer_id=tid, kind="bundle", direction="in",
                     peer_code=sender.code, seq=seq, created=created, payload=opened.payload,
                     summary=report.as_dict(), file_sha256=file_digest(data), acks=acks)
    return Imported(path, tid, sender.code, seq, report)


def check_history(store: Store, path: Path, code: str, head: AuditHead | None) -> None:
    """Refuse a bundle whose sender's audit log no longer holds what its earlier bundles said.
    Each bundle states the hash of its sender's last entry and of the entries it anchored before;
    a statement that contradicts one kept here (history rewritten), or a bundle that leaves out
    an entry it anchored before (its record of them removed), is refused, in whatever order the
    bundles arrive."""
    held = {a.seq: a for a in audit.anchors(store.conn, code, "received", 1 << 30)}
    if not held:
        return
    if head is None:
        raise fail(path, _("the audit log of {code} no longer reaches entry {seq}, which an "
                           "earlier bundle of {code} reported: its history was cut or rewritten. "
                           "Nothing was imported; treat the device as compromised (`census keys "
                           "revoke {code}`) and tell your office.").format(
            code=code, seq=max(held)))
    stated = {**dict(head.earlier), head.seq: head.hash}
    for seq, hash_ in sorted(stated.items()):
        if seq in held and held[seq].hash != hash_:
            raise fail(path, _("the audit log of {code} was rewritten after it sent bundle "
                               "{file}: its entry {seq} is not what it was then. Nothing was "
                               "imported. If {code}'s device was restored from a backup, check "
                               "with them and accept its history anew (`census keys trust {code} "
                               "--card CARD --replace-key`); otherwise treat the device as "
                               "compromised (`census keys revoke {code}`) and tell your office.")
                        .format(code=code, file=held[seq].transfer, seq=seq))
    floor = 1 if len(head.earlier) < MAX_ANCHORS else min(stated)
    for seq in sorted(held):
        if floor <= seq <= head.seq and seq not in stated:
            raise fail(path, _("the audit log of {code} no longer reaches entry {seq}, which an "
                               "earlier bundle of {code} reported: its history was cut or "
                               "rewritten. Nothing was imported; treat the device as compromised "
                               "(`census keys revoke {code}`) and tell your office.").format(
                code=code, seq=seq))


def merge(store: Store, chain: Chain, source: Source, recs: Records, now: datetime
          ) -> MergeReport:
    """Merge a decoded bundle in the caller's transaction: the areas its sender reopened since,
    its records through the intake, then what its sender says besides them (decisions, who works
    each area, areas closed), each as the lifecycle policy allows the sender."""
    intake = Intake(store, source, now)
    stamp = utc_now()
    sender, role = source.sender, source.role
    actor = Actor(role, sender, source.granted, remote=True)
    # A status changed below since this database heard of it: the area was reopened there, so
    # it is open for the records its sender wrote while it was (closed again after them).
    newer = [s for s in recs.area_states if _newer(store, actor, s)]
    for s in newer:
        area = get_area(store, s.code)
        reopened = s.status is AreaStatus.OPEN or s.reason is not None
        if area is not None and area.status is AreaStatus.CLOSED and reopened:
            reopen_area(store, chain, s.code, sender, s.reason or ReopenReason.CORRECTION,
                        s.rev if s.status is AreaStatus.OPEN else None)
    report = intake.take_bundle(chain, recs)
    if role is not Role.ENUMERATOR:
        # Decisions travel up with their households: only for households this bundle wrote,
        # and a note that looks like personal data is not kept.
        save_decisions(store, [
            replace(x, note=None if x.note is None or personal_data(x.note) else x.note)
            for x in recs.decisions if x.household_id in intake.written_households])
    # Operator sessions: an enumerator's file speaks for its own entry only; a supervisor's
    # relays its clerks' and its enumerators'. None is taken for this database's own.
    save_sessions(store, [r for r in recs.sessions if r[0] != store.user and (
        role is not Role.ENUMERATOR or (r[0] == sender and r[2] == sender and r[3] == "entry"))])
    # Who works an area is its supervisor's word: an enumerator's bundle never changes it.
    assigning = [(code, enumerator) for code, enumerator in recs.enumerators
                 if _allowed(store, actor, code, Act.ASSIGN)]
    set_area_enumerators(store, chain, assigning, sender, stamp)
    for s in newer:
        area = get_area(store, s.code)
        if s.status is AreaStatus.CLOSED and area is not None:
            if area.status is AreaStatus.OPEN:
                purge_area(store, chain, s.code, sender, s.rev)
                report.closed.append(s.code)
            else:
                set_status_rev(store, s.code, s.rev)
        else:
            set_status_rev(store, s.code, s.rev)
    # A sender without numbered states (an older version) lists its closed areas.
    numbered = {s.code for s in recs.area_states}
    for code in recs.closed:
        area = get_area(store, code)
        if (code not in numbered and area is not None and area.status is AreaStatus.OPEN
                and _allowed(store, actor, code, Act.CLOSE)):
            purge_area(store, chain, code, sender)
            report.closed.append(code)
    return report


def _allowed(store: Store, actor: Actor, code: str, act: Act) -> bool:
    area = get_area(store, code)
    return area is not None and may(actor, PolicyArea.of(area), act) is None


def _newer(store: Store, actor: Actor, state: AreaStateRow) -> bool:
    """True when the sender may set the area's status and its change is one not known here."""
    act = Act.CLOSE if state.status is AreaStatus.CLOSED else Act.REOPEN
    return (_allowed(store, actor, state.code, act)
            and state.rev > (status_rev(store, state.code) or 0))


# -- receipts (supervisor → enumerator) ---------------------------------------------------------
