"""Assignments: a supervisor (or the office) gives areas to a user and writes the file; the user
imports it, trusting its sender's key on first use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from census.domain.ids import is_code
from census.domain.model import Role
from census.formats.payload import PayloadError, Records, decode
from census.i18n import _
from census.storage.areas import get_area
from census.storage.audit import Chain
from census.storage.exchange.assignments import (
    apply_areas,
    check_assigned_areas,
)
from census.storage.exchange.bodies import assignment_body
from census.storage.exchange.decisions import save_decisions
from census.storage.exchange.peers import (
    grant_areas,
    peer,
    save_peer,
    upstream,
)
from census.storage.exchange.transfers import Transfer, log_transfer, newest_seq_in
from census.storage.store import Store, utc_now
from census.transfer.files import TransferError, fail, read_file
from census.transfer.keys import ROLES, KeyCard, PublicKey, SealError, shown
from census.transfer.seal import inflate, open_signed
from census.usecases.exchange import (
    file_digest,
    header_acks,
    header_fields,
    imported_before,
    seal_in,
    taking,
)
from census.usecases.intake import Intake
from census.usecases.keys import keypair, read_card
from census.usecases.sources import Source, Via
from census.validation.engine import personal_data


@dataclass(frozen=True)
class Assigned:
    card: KeyCard
    areas: list[str]
    counts: dict[str, int]
    new_peer: bool


def assign_areas(store: Store, user: str, areas: Sequence[str], card_text: str, out: Path,
           replace_key: bool = False) -> Assigned:
    """Give `user` (whose key card is `card_text`) the `areas` and write the assignment file."""
    found = read_card(card_text)
    if found.code != user:
        raise TransferError(_("The key card is for user {card}, not {user}. Use the card of "
                              "{user}.").format(card=found.code, user=user))
    if found.code == store.user:
        raise TransferError(_("That is this database's own key card; assign work to another "
                              "user."))
    if store.role is Role.ENUMERATOR:
        raise TransferError(_("An enumerator's database does not assign work; this is done by "
                              "a supervisor or the office."))
    wanted_role = Role.SUPERVISOR if store.role is Role.OFFICE else Role.ENUMERATOR
    if found.role != str(wanted_role) and not (store.role is Role.OFFICE
                                               and found.role == "enumerator"):
        raise TransferError(_("The key card is for the role {role}; a database with the role "
                              "{me} assigns work to the role {wanted}.")
                            .format(role=_(found.role), me=_(str(store.role)),
                                    wanted=_(str(wanted_role))))
    if not areas:
        raise TransferError(_("Name at least one area with --areas."))
    unknown = [a for a in areas if get_area(store, a) is None]
    if unknown:
        raise TransferError(_("Unknown area {codes}; `census area list` shows the areas.")
                            .format(codes=", ".join(unknown)))
    closed = [a for a in areas if str(get_area(store, a).status) == "closed"]  # type: ignore[union-attr]
    if closed:
        raise TransferError(_("Area {codes} is closed; it cannot be assigned.").format(
            codes=", ".join(closed)))
    keypair(store)
    known = peer(store, user)
    key = found.key
    if known is not None and known.status == "revoked":
        raise TransferError(_(
            "The key of {code} was revoked here, and a revocation holds: no file is made for "
            "it. If {code} is to work again, check the fingerprint of its key card with them "
            "and run `census keys trust {code} --card CARD --replace-key`, then assign.")
            .format(code=user))
    if known is not None and (known.sign_key != key.sign or known.enc_key != key.enc) and (
            not replace_key):
        raise TransferError(_(
                "User {code} is known here with another key (fingerprint {old}); this card has "
            "{new}. If {code} really has a new device, check the new fingerprint with them "
            "and run the command again with --replace-key.").format(
                code=user, old=PublicKey(known.enc_key, known.sign_key).fingerprint(),
                new=key.fingerprint()))
    # One transaction: if the file cannot be written, nobody was trusted or given areas.
    with store.write() as chain:
        save_peer(store, chain, user, Role(found.role), "downstream", key.enc,
                           key.sign, key.key_id, key.fingerprint())
        grant_areas(store, chain, user, areas,
                             set_enumerator=found.role == str(Role.ENUMERATOR))
        body, counts = assignment_body(store, areas)
        to = peer(store, user)
        assert to is not None
        seal_in(store, chain, "assignment", to, body, counts, out)
    return Assigned(found, list(areas), counts, known is None)


@dataclass(frozen=True)
class AssignmentImport:
    report: AssignmentReport
    sender: str
    fingerprint: str
    new_trust: bool
    already: Transfer | None = None


Confirm = Callable[[str, str], bool]
"""Asks the user whether the key of (user code, fingerprint) is the one read to them."""


def import_assignment(store: Store, path: Path, expect_fingerprint: str | None = None,
                      confirm: Confirm | None = None) -> AssignmentImport:
    """Take an assignment from upstream. Its key is trusted the first time only once its
    fingerprint is confirmed (`expect_fingerprint`, or `confirm` asking the user); after that
    only that key, until `census keys trust --replace-key`. The office takes none: nothing sits
    above it."""
    if store.role is Role.OFFICE:
        raise fail(path, _("this is the office's database, and nothing sits above the office: "
                           "it takes no assignment. Assignments go from the office to "
                           "supervisors and from supervisors to enumerators."))
    data = read_file(path)
    try:
        opened = open_signed(data, keypair(store), kinds=("assignment",))
    except SealError as exc:
        raise fail(path, str(exc)) from exc
    header = opened.header
    sender_code = header.get("sender")
    sender_role = header.get("sender_role")
    fingerprint = opened.sender_key.fingerprint()
    above = ("supervisor", "office") if store.role is Role.ENUMERATOR else ("office",)
    if not is_code(sender_code) or sender_role not in above:
        raise fail(path, _("it was not made by the level above this database (role {roles}); "
                            "its sender is {role} {code}.").format(
            roles=" / ".join(_(r) for r in above),
            role=_(sender_role) if sender_role in ROLES else shown(sender_role),
            code=shown(sender_code)))
    if expect_fingerprint and expect_fingerprint.strip().upper() != fingerprint:
        raise fail(path, _("it is signed by key {fp}, not by the fingerprint you expected "
                            "({expected}); do not use it.").format(
            fp=fingerprint, expected=expect_fingerprint.strip().upper()))
    up = upstream(store)
    known = peer(store, sender_code)
    new_trust = False
    if up is None:
        if known is not None and known.status == "revoked":
            raise fail(path, _("it is signed by {code}, whose key was revoked here; it is not "
                               "accepted. If {code} is to be trusted again, check the "
                               "fingerprint of its key card with them and run `census keys "
                               "trust {code} --card CARD --replace-key`.").format(
                code=sender_code))
        if known is not None:
            raise fail(path, _("user {code} is known here, but not as this database's "
                                "supervisor.").format(code=sender_code))
        if not expect_fingerprint and (confirm is None or not confirm(sender_code,
                                                                      fingerprint)):
            raise fail(path, _(
                "its sender {code} is not trusted here yet. Compare the fingerprint of its key, "
                "{fp}, with {code} (read aloud, by phone), then run the command again with "
                "--expect-fingerprint {fp}, or in a terminal to be asked; nothing was "
                "imported.").format(code=sender_code, fp=fingerprint))
        new_trust = True
    elif up.sign_key != opened.sender_key.sign:
        raise fail(path, _(
            "it is signed by {code} with key {fp}, but this database trusts {trusted} with key "
            "{trusted_fp}. Do not use it unless your supervisor confirms a new key; then check "
            "the fingerprint of the new key card with them, run `census keys trust {trusted} "
            "--card CARD --replace-key`, and import it again.").format(
                code=sender_code, fp=fingerprint, trusted=up.code,
                trusted_fp=PublicKey(up.enc_key, up.sign_key).fingerprint()))
    try:  # only now, from the trusted (or just confirmed) key, is anything decompressed
        payload = inflate(opened)
    except SealError as exc:
        raise fail(path, str(exc)) from exc
    tid, seq, created = header_fields(header, path)
    acks = header_acks(header, path)
    if header.get("recipient_code") != store.user:
        raise fail(path, _("it is addressed to user {code}, and this database is {me}'s.")
                    .format(code=shown(header.get("recipient_code")), me=store.user))
    done = imported_before(store, path, tid, "assignment", sender_code)
    if done is not None:
        return AssignmentImport(AssignmentReport(), sender_code, fingerprint, False, done)
    newest = newest_seq_in(store, sender_code, "assignment")
    if newest is not None and seq <= newest:
        raise fail(path, _("it is an older assignment of {code} (number {seq}) than one already "
                           "imported (number {newest}): an older file would undo newer changes, "
                           "so it is not taken; nothing changed.").format(
            code=sender_code, seq=seq, newest=newest))
    try:
        recs = decode(payload, store.config)
    except PayloadError as exc:
        raise fail(path, str(exc)) from exc
    with taking(path), store.write() as chain:
        if new_trust:
            key = opened.sender_key
            save_peer(store, chain, sender_code, Role(str(sender_role)), "upstream",
                               key.enc, key.sign, key.key_id, fingerprint)
        report = apply_assignment(store, chain, Source(Via.ASSIGNMENT, sender_code,
                                                       Role(str(sender_role)), tid), recs)
        log_transfer(store, chain, transfer_id=tid, kind="assignment", direction="in",
                     peer_code=sender_code, seq=seq, created=created, payload=payload,
                     summary={"areas_added": report.areas_added, "returned": report.returned},
                     file_sha256=file_digest(data), acks=acks)
    return AssignmentImport(report, sender_code, fingerprint, new_trust)


@dataclass
class AssignmentReport:
    areas_added: int = 0
    areas_updated: int = 0
    returned: int = 0
    kept_local: int = 0


def apply_assignment(store: Store, chain: Chain, source: Source, recs: Records
                     ) -> AssignmentReport:
    """Take an assignment's areas and returned forms in the caller's transaction: the areas
    are checked, then written parents first; the returned forms go through the intake; the
    supervisors' decisions on them are kept (a note that looks like personal data is not)."""
    check_assigned_areas(store, recs)
    stamp = utc_now()
    added, updated = apply_areas(store, chain, source.sender, recs,
                                 me_enumerator=store.role is Role.ENUMERATOR, now=stamp)
    returned = Intake(store, source, datetime.now()).take_returned(chain, recs)
    save_decisions(store, [replace(x, note=None) if x.note is not None and personal_data(x.note)
                           else x for x in recs.decisions])
    return AssignmentReport(added, updated, returned.returned, returned.kept_local)
