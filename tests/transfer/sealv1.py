"""An independent writer of sealed-file format 1 (census before issue 14), byte for byte as the
old census wrote it, for the tests that census still reads it.

Layout::

    MAGIC | header length (4 bytes, big-endian) | header (canonical JSON, UTF-8)
          | ciphertext length (8 bytes, big-endian) | ciphertext | Ed25519 signature (64 bytes)

The header holds the caller's fields and format 1, kind, sender_key, recipient (key id),
plain_size and compression "zlib", all in clear. The ciphertext is the zlib-compressed payload
(level 6), encrypted with HPKE (X25519, HKDF-SHA256, AES-256-GCM) to the recipient with the
info b"census-sealed-v1\\n" + header bytes. The signature covers every byte before it.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from census.transfer.keys import KeyPair, PublicKey

MAGIC = b"CENSUS-SEALED\n"
SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
INFO_V1 = b"census-sealed-v1\n"


def canonical(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def full_header_v1(fields: dict[str, Any], kind: str, sender: PublicKey, recipient: PublicKey,
                   plain_size: int) -> dict[str, Any]:
    """The clear header format 1 wrote: the caller's fields and the ones seal added."""
    return {**fields, "format": 1, "kind": kind, "sender_key": sender.to_text(),
            "recipient": recipient.key_id, "plain_size": plain_size, "compression": "zlib"}


def layout_v1(header: dict[str, Any], ciphertext: bytes, signer: KeyPair) -> bytes:
    """The file holding `ciphertext` under `header`, signed by `signer`."""
    header_bytes = canonical(header)
    body = (MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
            + struct.pack(">Q", len(ciphertext)) + ciphertext)
    return body + Ed25519PrivateKey.from_private_bytes(signer.sign_private).sign(body)


def forge_v1(header: dict[str, Any], compressed: bytes, signer: KeyPair,
             to: PublicKey) -> bytes:
    """A well-formed, properly encrypted and signed format-1 file with any header and any
    (supposedly zlib) compressed stream."""
    ciphertext = SUITE.encrypt(compressed, X25519PublicKey.from_public_bytes(to.enc),
                               info=INFO_V1 + canonical(header))
    return layout_v1(header, ciphertext, signer)


def seal_v1(kind: str, header: dict[str, Any], payload: bytes, sender: KeyPair,
            recipient: PublicKey) -> bytes:
    """What census's seal() wrote in format 1."""
    full = full_header_v1(header, kind, sender.public(), recipient, len(payload))
    return forge_v1(full, zlib.compress(payload, 6), sender, recipient)


def pieces_v1(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and ciphertext of a format-1 file, read by hand."""
    at = len(MAGIC)
    (header_len,) = struct.unpack_from(">I", data, at)
    header = json.loads(data[at + 4 : at + 4 + header_len])
    at += 4 + header_len
    (cipher_len,) = struct.unpack_from(">Q", data, at)
    return header, data[at + 8 : at + 8 + cipher_len]


def resign_v1(data: bytes, signer: KeyPair, **changes: Any) -> bytes:
    """The same ciphertext under a changed header, with a valid signature by `signer`."""
    header, ciphertext = pieces_v1(data)
    return layout_v1({**header, **changes}, ciphertext, signer)
