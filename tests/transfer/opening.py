"""Opening a sealed file in one call, for the tests: what census does in two steps
(`open_signed`, then, once the sender is trusted, `inflate`), with the sender checked against
the one expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from census.transfer.keys import KeyPair, PublicKey
from census.transfer.seal import MAX_PLAIN_BYTES, SealError, inflate, open_signed


@dataclass(frozen=True)
class Unsealed:
    """A sealed file opened: its header (clear and inner fields), its payload, and the sender
    key whose signature over them was checked."""

    header: dict[str, Any]
    payload: bytes
    sender_key: PublicKey


def open_sealed(data: bytes, recipient: KeyPair, sender: PublicKey | None = None,
                kinds: tuple[str, ...] = ("bundle",),
                max_plain: int = MAX_PLAIN_BYTES) -> Unsealed:
    """The header, payload and signing key of a sealed file for `recipient` (SealError as
    `open_signed` and `inflate` raise it), signed by `sender` when given ("unexpected_sender")."""
    signed = open_signed(data, recipient, kinds)
    if sender is not None and signed.sender_key != sender:
        raise SealError("unexpected_sender", (
            f"the file was sealed with key {signed.sender_key.key_id}, not with the expected "
            f"sender's key ({sender.key_id}); do not use it, and check with the sender which "
            "key they used"))
    return Unsealed(signed.header, inflate(signed, max_plain), signed.sender_key)
