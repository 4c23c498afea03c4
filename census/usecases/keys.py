"""This database's keys and key cards: made once, kept inside the encrypted database; a card
read from text or from a file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from census.domain.ids import is_code
from census.i18n import _
from census.storage.exchange.peers import (
    device_keys,
    peer,
    replace_peer_key,
    set_device_keys,
)
from census.storage.store import Store
from census.transfer.files import TransferError
from census.transfer.keys import KeyCard, KeyPair, SealError

#: A key card is one short line; a file given as a card is read up to this many bytes.
CARD_BYTES = 4096


def keypair(store: Store) -> KeyPair:
    keys = device_keys(store)
    if keys is None:
        raise TransferError(_("This database has no keys yet. Run `census keys init` first."))
    return KeyPair(keys[0], keys[1])


def init_keys(store: Store) -> KeyCard:
    """Make this database's key pairs (kept inside the encrypted database)."""
    pair = KeyPair.generate()
    public = pair.public()
    set_device_keys(store, pair.enc_private, pair.sign_private, public.fingerprint())
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


@dataclass(frozen=True)
class Trusted:
    """What `census keys trust` did."""

    code: str
    fingerprint: str
    changed: bool
    """False when the key was trusted already (nothing changed)."""


def trust_key(store: Store, user: str, card_text: str, *, replace_key: bool,
              expect_fingerprint: str | None = None,
              confirm: Callable[[str, str], bool] | None = None) -> Trusted:
    """Trust a known user's key card again after a revocation, or its new key (a new device),
    or the same key with a history that starts anew (a device restored from a backup): only with
    `replace_key`, and only once the fingerprint is confirmed (`expect_fingerprint`, or
    `confirm` asking the user). Logged in the audit; files numbered before it are treated as
    another device's, and the audit heads it stated before no longer bind."""
    found = read_card(card_text)
    if found.code != user:
        raise TransferError(_("The key card is for user {card}, not {user}. Use the card of "
                              "{user}.").format(card=found.code, user=user))
    known = peer(store, user)
    if known is None:
        raise TransferError(_("No user {code} is known here: a user's key is trusted the first "
                              "time by `census assign` (for your team) or by `census assignment "
                              "import` (for your supervisor).").format(code=user))
    key = found.key
    fingerprint = key.fingerprint()
    same = (known.sign_key, known.enc_key) == (key.sign, key.enc) and known.status == "trusted"
    if same and not replace_key:
        return Trusted(user, fingerprint, changed=False)
    if not replace_key:
        raise TransferError(_("User {code} is known here with another key, or its key was "
                              "revoked; replacing it needs --replace-key, after checking the "
                              "fingerprint {fp} with them.").format(code=user, fp=fingerprint))
    if expect_fingerprint:
        if expect_fingerprint.strip().upper() != fingerprint:
            raise TransferError(_("The key card of {code} has the fingerprint {fp}, not the one "
                                  "you expected ({expected}); do not use it.").format(
                code=user, fp=fingerprint, expected=expect_fingerprint.strip().upper()))
    elif confirm is None or not confirm(user, fingerprint):
        raise TransferError(_("The new key of {code} is not trusted: compare its fingerprint, "
                              "{fp}, with {code} (read aloud, by phone), then run the command "
                              "again with --expect-fingerprint {fp}, or in a terminal to be "
                              "asked.").format(code=user, fp=fingerprint))
    replace_peer_key(store, user, key.enc, key.sign, key.key_id, fingerprint)
    return Trusted(user, fingerprint, changed=True)
