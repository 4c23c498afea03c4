"""This database's keys and key cards: made once, kept inside the encrypted database; a card
read from text or from a file."""

from __future__ import annotations

from pathlib import Path

from census.domain.ids import is_code
from census.i18n import _
from census.storage.exchange.peers import (
    device_keys,
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


# -- files --------------------------------------------------------------------------------------
