"""The field-operation steps that move files between levels: keys, assignments, bundles and
receipts. Each reads or writes one sealed file and changes the database in one transaction, so
a bad file or a killed process leaves the database as it was (DESIGN §5).

Trust: a supervisor learns an enumerator's key from the key card it assigns work to; the
enumerator learns the supervisor's key from the first assignment it imports (trust on first
use, fingerprint shown) and refuses later files signed by another key.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from census.bundle.payload import PayloadError, decode, encode, read_body, receipt_rows
from census.bundle.seal import (
    MAX_FILE_BYTES,
    ROLES,
    KeyCard,
    KeyPair,
    PublicKey,
    SealError,
    open_sealed,
    read_header,
    seal,
    shown,
    verify_signature,
)
from census.domain.ids import is_code, is_id, new_id
from census.domain.model import Role
from census.i18n import _
from census.storage import exchange
from census.storage.connection import StoreError
from census.storage.exchange import AssignmentReport, MergeReport, Peer, ReceiptReport
from census.storage.store import Store, utc_now


class TransferError(StoreError):
    """A file that cannot be used, or a step that cannot be taken; nothing was changed."""


#: The largest sequence number a file may carry (files are numbered one by one per device).
MAX_SEQ = (1 << 31) - 1
#: A key card is one short line; a file given as a card is read up to this many bytes.
CARD_BYTES = 4096


def _fail(path: Path, message: str) -> TransferError:
    if message and message[-1] not in ".!?。":
        message += "."
    return TransferError(f"{path}: {message}")


@contextmanager
def _taking(path: Path) -> Iterator[None]:
    """Around the step that writes a file's records: a refusal of its contents (exchange.Refused)
    or a constraint of the database that its rows break becomes a message naming the file.
    The step's transaction was rolled back: nothing was changed."""
    try:
        yield
    except exchange.Refused as exc:
        raise _fail(path, str(exc)) from exc
    except Exception as exc:
        cause = exc if type(exc).__name__ == "IntegrityError" else exc.__cause__
        if type(cause).__name__ != "IntegrityError":
            raise
        raise _fail(path, _("its records do not fit this database ({error}); nothing was "
                            "imported. Ask the sender to send it again, and report it with the "
                            "census versions of both devices.").format(error=cause)) from exc


# -- keys ---------------------------------------------------------------------------------------


def keypair(store: Store) -> KeyPair:
    keys = exchange.device_keys(store)
    if keys is None:
        raise TransferError(_("This database has no keys yet. Run `census keys init` first."))
    return KeyPair(keys[0], keys[1])


def init_keys(store: Store) -> KeyCard:
    """Make this database's key pairs (kept inside the encrypted database)."""
    pair = KeyPair.generate()
    public = pair.public()
    exchange.set_device_keys(store, pair.enc_private, pair.sign_private, public.fingerprint())
    return KeyCard(str(store.role), store.user, public)


def card(store: Store) -> KeyCard:
    """This database's key card: what another level needs to address files to it."""
    return KeyCard(str(store.role), store.user, keypair(store).public())


def read_card(text: str) -> KeyCard:
    """A key card given as its text or as the path of a file holding it."""
    candidate = text.strip()
    if not candidate.startswith("census-key") and len(candidate) < CARD_BYTES:
        path = Path(candidate)
        try:
            is_file = path.is_file()
        except (OSError, ValueError):  # not a name a file can have (too long, a NUL...)
            is_file = False
        if is_file:
            try:
                with path.open("rb") as fh:  # never the whole of a huge file
                    candidate = fh.read(CARD_BYTES).decode("utf-8", errors="replace")
            except OSError as exc:
                raise TransferError(_("{path}: cannot be read ({why}).").format(
                    path=path, why=exc.strerror or exc)) from exc
    try:
        found = KeyCard.parse(candidate)
    except SealError as exc:
        raise TransferError(str(exc)) from exc
    if not is_code(found.code):
        raise TransferError(_("The key card's user code {code} is not a census code (letters, "
                              "digits, - and _).").format(code=found.code))
    return found


# -- files --------------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail(path, _("the file is {size} bytes, more than census accepts.").format(
                size=size))
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise _fail(path, _("no such file.")) from exc
    except IsADirectoryError as exc:
        raise _fail(path, _("this is a folder, not a file.")) from exc
    except OSError as exc:
        raise _fail(path, _("cannot be read ({why}).").format(why=exc.strerror or exc)) from exc


def write_file(path: Path, data: bytes) -> None:
    """Write atomically: a file that exists is always whole (temporary file, fsync, rename)."""
    if path.exists() and path.is_dir():
        raise _fail(path, _("this is a folder; give a file name for --out."))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".census-", dir=folder)
    except OSError as exc:
        raise _fail(path, _("cannot be written ({why}).").format(why=exc.strerror or exc)
                    ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _fail(path, _("cannot be written ({why}).").format(why=exc.strerror or exc)
                    ) from exc


@dataclass(frozen=True)
class Opened:
    """A verified, decrypted file and the peer that sent it."""

    header: dict[str, Any]
    payload: bytes
    sender: Peer


def _open(store: Store, path: Path, kind: str, data: bytes) -> Opened:
    """Check who sent it (a trusted peer), then verify and decrypt it (the signature is
    checked once, in `open_sealed`; before a refusal it is checked first, so that a damaged
    file is called damaged)."""
    try:
        claimed = read_header(data)
        sender = exchange.peer_by_sign_key(store, claimed.sender_key.sign)
        if sender is None:
            verify_signature(data)  # a damaged file reads as damage, not as a stranger's
            code = claimed.header.get("sender")
            raise _fail(path, _("it is signed by a key this database does not know (user {code}, "
                                "fingerprint {fp}). Only files from users you assigned work to, "
                                "or from your supervisor, are accepted.").format(
                code=shown(code), fp=claimed.sender_key.fingerprint()))
        if sender.status == "revoked":
            verify_signature(data)
            raise _fail(path, _("it is signed by {code}, whose key was revoked here; it is not "
                                "accepted.").format(code=sender.code))
        header, payload = open_sealed(data, keypair(store),
                                      PublicKey(sender.enc_key, sender.sign_key), kinds=(kind,))
    except SealError as exc:
        raise _fail(path, str(exc)) from exc
    if header.get("sender") != sender.code:
        raise _fail(path, _("its header names sender {claimed}, but it is signed by {code}.")
                    .format(claimed=shown(header.get("sender")), code=sender.code))
    return Opened(header, payload, sender)


def _imported_before(store: Store, path: Path, tid: str, kind: str, sender: str
                     ) -> exchange.Transfer | None:
    """The earlier import of this very file, if any (importing it again changes nothing); a
    file reusing the id of another sender's or kind's file is refused."""
    done = exchange.transfer(store, tid)
    if done is not None and (done.peer != sender or done.kind != kind):
        raise _fail(path, _("its id {id} was already used by another file ({kind} of {code}); "
                            "it is not accepted.").format(id=tid, kind=done.kind,
                                                         code=done.peer))
    return done


def _header_fields(header: dict[str, Any], path: Path) -> tuple[str, int, str]:
    tid, seq, created = header.get("id"), header.get("seq"), header.get("created")
    if not isinstance(tid, str) or not is_id(tid) or type(seq) is not int or (
            not 1 <= seq <= MAX_SEQ or not isinstance(created, str) or len(created) > 40):
        raise _fail(path, _("its header lacks an id, sequence number or date."))
    return tid, seq, created


def _seal_to(store: Store, kind: str, to: Peer, body: dict[str, Any], counts: dict[str, int],
             out: Path) -> tuple[str, int]:
    """Seal `body` for `to`, write it to `out`, and log it — the log only once it is written."""
    with store.write() as chain:
        return _seal_in(store, chain, kind, to, body, counts, out)


def _seal_in(store: Store, chain: Any, kind: str, to: Peer, body: dict[str, Any],
             counts: dict[str, int], out: Path) -> tuple[str, int]:
    """`_seal_to` inside the caller's transaction: the file is written before it commits."""
    payload = encode(body, store.config)
    tid = new_id()
    created = utc_now()
    seq = exchange.next_seq(store, to.code)
    header = {"id": tid, "sender": store.user, "sender_role": str(store.role),
              "recipient_code": to.code, "created": created, "seq": seq, "counts": counts}
    try:
        data = seal(kind, header, payload, keypair(store), PublicKey(to.enc_key, to.sign_key))
    except SealError as exc:
        raise _fail(out, str(exc)) from exc
    write_file(out, data)
    exchange.log_transfer(store, chain, transfer_id=tid, kind=kind, direction="out",
                          peer_code=to.code, seq=seq, created=created, payload=payload,
                          summary=counts)
    return tid, seq


# -- assignment (supervisor → enumerator, office → supervisor) ---------------------------------


@dataclass(frozen=True)
class Assigned:
    card: KeyCard
    areas: list[str]
    counts: dict[str, int]
    new_peer: bool


def assign(store: Store, user: str, areas: Sequence[str], card_text: str, out: Path,
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
    unknown = [a for a in areas if store.area(a) is None]
    if unknown:
        raise TransferError(_("Unknown area {codes}; `census area list` shows the areas.")
                            .format(codes=", ".join(unknown)))
    closed = [a for a in areas if str(store.area(a).status) == "closed"]  # type: ignore[union-attr]
    if closed:
        raise TransferError(_("Area {codes} is closed; it cannot be assigned.").format(
            codes=", ".join(closed)))
    keypair(store)
    known = exchange.peer(store, user)
    key = found.key
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
        exchange.save_peer(store, chain, user, Role(found.role), "downstream", key.enc,
                           key.sign, key.key_id, key.fingerprint())
        exchange.grant_areas(store, chain, user, areas,
                             set_enumerator=found.role == str(Role.ENUMERATOR))
        body, counts = exchange.assignment_body(store, areas)
        to = exchange.peer(store, user)
        assert to is not None
        _seal_in(store, chain, "assignment", to, body, counts, out)
    return Assigned(found, list(areas), counts, known is None)


@dataclass(frozen=True)
class AssignmentImport:
    report: AssignmentReport
    sender: str
    fingerprint: str
    new_trust: bool
    already: exchange.Transfer | None = None


def import_assignment(store: Store, path: Path, expect_fingerprint: str | None = None
                      ) -> AssignmentImport:
    """Take an assignment from upstream: trust its key on first use, then only that key."""
    data = _read(path)
    try:
        claimed = read_header(data)
    except SealError as exc:
        raise _fail(path, str(exc)) from exc
    if claimed.header.get("kind") != "assignment":
        raise _fail(path, _("this is a census file of kind \"{kind}\", but a file of kind "
                            "\"{expected}\" is needed here; choose the right file").format(
            kind=shown(claimed.header.get("kind")), expected="assignment"))
    sender_code = claimed.header.get("sender")
    sender_role = claimed.header.get("sender_role")
    fingerprint = claimed.sender_key.fingerprint()
    above = ("supervisor", "office") if store.role is Role.ENUMERATOR else ("office",)
    if not is_code(sender_code) or sender_role not in above:
        raise _fail(path, _("it was not made by the level above this database (role {roles}); "
                            "its sender is {role} {code}.").format(
            roles=" / ".join(_(r) for r in above),
            role=_(sender_role) if sender_role in ROLES else shown(sender_role),
            code=shown(sender_code)))
    if expect_fingerprint and expect_fingerprint.strip().upper() != fingerprint:
        raise _fail(path, _("it is signed by key {fp}, not by the fingerprint you expected "
                            "({expected}); do not use it.").format(
            fp=fingerprint, expected=expect_fingerprint.strip().upper()))
    up = exchange.upstream(store)
    new_trust = False
    if up is None:
        if exchange.peer(store, sender_code) is not None:
            raise _fail(path, _("user {code} is known here, but not as this database's "
                                "supervisor.").format(code=sender_code))
        new_trust = True
    elif up.sign_key != claimed.sender_key.sign:
        raise _fail(path, _(
            "it is signed by {code} with key {fp}, but this database trusts {trusted} with key "
            "{trusted_fp}. Do not use it unless your supervisor confirms a new key; then run "
            "`census keys forget {trusted}` and import it again.").format(
                code=sender_code, fp=fingerprint, trusted=up.code,
                trusted_fp=PublicKey(up.enc_key, up.sign_key).fingerprint()))
    try:
        header, payload = open_sealed(data, keypair(store), claimed.sender_key,
                                      kinds=("assignment",))
    except SealError as exc:
        raise _fail(path, str(exc)) from exc
    tid, seq, created = _header_fields(header, path)
    if header.get("recipient_code") != store.user:
        raise _fail(path, _("it is addressed to user {code}, and this database is {me}'s.")
                    .format(code=shown(header.get("recipient_code")), me=store.user))
    done = _imported_before(store, path, tid, "assignment", sender_code)
    if done is not None:
        return AssignmentImport(AssignmentReport(), sender_code, fingerprint, False, done)
    try:
        recs = decode(payload, store.config)
    except PayloadError as exc:
        raise _fail(path, str(exc)) from exc
    with _taking(path), store.write() as chain:
        if new_trust:
            key = claimed.sender_key
            exchange.save_peer(store, chain, sender_code, Role(str(sender_role)), "upstream",
                               key.enc, key.sign, key.key_id, fingerprint)
        report = exchange.apply_assignment(store, chain, sender_code, recs,
                                           me_enumerator=store.role is Role.ENUMERATOR)
        exchange.log_transfer(store, chain, transfer_id=tid, kind="assignment", direction="in",
                              peer_code=sender_code, seq=seq, created=created, payload=payload,
                              summary={"areas_added": report.areas_added,
                                       "returned": report.returned})
    return AssignmentImport(report, sender_code, fingerprint, new_trust)


# -- bundles (enumerator → supervisor → office) -------------------------------------------------


@dataclass(frozen=True)
class Exported:
    id: str
    seq: int
    recipient: str
    counts: dict[str, int]


def export_bundle(store: Store, out: Path, everything: bool = False) -> Exported:
    """Seal every record not yet acknowledged (or all, with `everything`) for upstream."""
    to = exchange.upstream(store)
    if to is None:
        raise TransferError(_("This database has no supervisor yet: import an assignment file "
                              "first (`census assignment import FILE`)."))
    body, counts = exchange.bundle_body(store, everything)
    tid, seq = _seal_to(store, "bundle", to, body, counts, out)
    return Exported(tid, seq, to.code, counts)


@dataclass(frozen=True)
class Imported:
    """What one bundle import did (or that it had been imported before)."""

    path: Path
    id: str
    sender: str
    seq: int
    report: MergeReport
    already: exchange.Transfer | None = None


def import_bundle(store: Store, path: Path, now: datetime,
                  on_decoded: Callable[[int, int], None] | None = None) -> Imported:
    """Verify, decrypt, validate and merge one bundle in one transaction. `on_decoded` hears
    the number of dwellings and households about to be merged (to tell a waiting user)."""
    data = _read(path)
    opened = _open(store, path, "bundle", data)
    tid, seq, created = _header_fields(opened.header, path)
    sender = opened.sender
    if sender.direction != "downstream":
        raise _fail(path, _("it comes from {code}, who is not a user this database assigned "
                            "work to.").format(code=sender.code))
    done = _imported_before(store, path, tid, "bundle", sender.code)
    if done is not None:
        return Imported(path, tid, sender.code, seq, MergeReport(), done)
    try:
        recs = decode(opened.payload, store.config)
    except PayloadError as exc:
        raise _fail(path, str(exc)) from exc
    outside = exchange.check_areas(store, sender.code, recs)
    if outside:
        listed = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise _fail(path, _("it holds records for areas not assigned to {code}: {areas}. Nothing "
                            "was imported; assign those areas to {code} first, or ask which "
                            "device made it.").format(code=sender.code, areas=listed))
    if on_decoded is not None:
        on_decoded(len(recs.dwellings), len(recs.households))
    with _taking(path), store.bulk(), store.write() as chain:
        report = exchange.merge(store, chain, sender.code, tid, recs, now, sender.role)
        exchange.log_transfer(store, chain, transfer_id=tid, kind="bundle", direction="in",
                              peer_code=sender.code, seq=seq, created=created,
                              payload=opened.payload, summary=report.as_dict())
    return Imported(path, tid, sender.code, seq, report)


# -- receipts (supervisor → enumerator) ---------------------------------------------------------


def export_receipt(store: Store, user: str, out: Path) -> Exported:
    """A signed list of everything held from `user`, so that device can delete it."""
    to = exchange.peer(store, user)
    if to is None or to.direction != "downstream":
        raise TransferError(_("No user {code} was assigned work here; `census keys list` shows "
                              "who was.").format(code=user))
    held = exchange.held_from(store, user)
    tid, seq = _seal_to(store, "receipt", to, {"held": held}, {"records": len(held)}, out)
    return Exported(tid, seq, user, {"records": len(held)})


@dataclass(frozen=True)
class ReceiptImport:
    report: ReceiptReport
    sender: str
    already: exchange.Transfer | None = None


def import_receipt(store: Store, path: Path) -> ReceiptImport:
    """Mark what upstream holds; an enumerator's device then deletes its finished forms for
    good (secure_delete, then the WAL is checkpointed and truncated)."""
    data = _read(path)
    opened = _open(store, path, "receipt", data)
    tid, seq, created = _header_fields(opened.header, path)
    if opened.sender.direction != "upstream":
        raise _fail(path, _("it comes from {code}, who is not this database's supervisor.")
                    .format(code=opened.sender.code))
    done = _imported_before(store, path, tid, "receipt", opened.sender.code)
    if done is not None:
        return ReceiptImport(ReceiptReport(), opened.sender.code, done)
    try:
        held = receipt_rows(read_body(opened.payload, store.config))
    except PayloadError as exc:
        raise _fail(path, str(exc)) from exc
    with _taking(path), store.write() as chain:
        report = exchange.apply_receipt(store, chain, held, tid,
                                        purge=store.role is Role.ENUMERATOR)
        exchange.log_transfer(store, chain, transfer_id=tid, kind="receipt", direction="in",
                              peer_code=opened.sender.code, seq=seq, created=created,
                              payload=opened.payload,
                              summary={"acknowledged": report.acknowledged,
                                       "purged": report.purged_dwellings})
    exchange.checkpoint(store)
    return ReceiptImport(report, opened.sender.code)
