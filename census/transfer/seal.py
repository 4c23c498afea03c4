"""Sealed files: sealing bytes for one recipient, signed by the sender, and opening them.

A sealed file carries a clear, signed JSON header (who sent it, to which key, what it holds) and
a payload that is zlib-compressed, then encrypted with HPKE (RFC 9180: X25519, HKDF-SHA256,
AES-256-GCM) to the recipient's key. The HPKE `info` is the header itself, so the ciphertext
only opens under the header it was sealed with. An Ed25519 signature covers every byte before it.

Layout::

    MAGIC | header length (4 bytes, big-endian) | header (canonical JSON, UTF-8)
          | ciphertext length (8 bytes, big-endian) | ciphertext | Ed25519 signature (64 bytes)

Everything here is pure: bytes in, bytes out. Reading never raises anything but SealError for a
bad file, whatever its bytes, so callers can show `str(error)` after the file's name.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from census.i18n import _
from census.transfer.keys import (
    KeyPair,
    PublicKey,
    SealError,
    clean_text,
)

FORMAT_VERSION = 1
MAGIC = b"CENSUS-SEALED\n"
MAX_FILE_BYTES = 1 << 30
MAX_PLAIN_BYTES = 1 << 30
#: A header is a few hundred bytes; the cap keeps a corrupt length from meaning "read 4 GB".
MAX_HEADER_BYTES = 1 << 20

KINDS = ("bundle", "assignment", "receipt")

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_INFO_PREFIX = b"census-sealed-v1\n"
_SIGNATURE_BYTES = 64
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_ADDED = ("format", "kind", "sender_key", "recipient", "plain_size", "compression")


def _canonical(header: dict[str, Any]) -> bytes:
    # One byte string per header: sorted keys, no spaces, strict JSON (no NaN), UTF-8.
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def seal(kind: str, header: dict[str, Any], payload: bytes, sender: KeyPair,
         recipient: PublicKey) -> bytes:
    """The sealed file holding `payload` for `recipient`, signed by `sender`.

    `kind` is "bundle", "assignment" or "receipt". `header` (JSON-serialisable: the caller's
    fields such as id, sender code, created, seq, counts) is stored in clear and signed; seal
    adds format, kind, sender_key, recipient (key id), plain_size and compression, and refuses
    (ValueError) a header that already has one of them. A payload too big for the reader to
    accept raises SealError("too_large").
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sealed file kind {kind!r}; expected one of {KINDS}")
    clash = sorted(set(_ADDED) & header.keys())
    if clash:
        raise ValueError(f"header fields {clash} are set by seal()")
    if len(payload) > MAX_PLAIN_BYTES:
        raise SealError("too_large", _(
            "the data to send is {size} bytes, more than the {limit} bytes a sealed file may "
            "hold; send it in smaller parts").format(size=len(payload), limit=MAX_PLAIN_BYTES))
    full = {
        **header,
        "format": FORMAT_VERSION,
        "kind": kind,
        "sender_key": sender.public().to_text(),
        "recipient": recipient.key_id,
        "plain_size": len(payload),
        "compression": "zlib",
    }
    header_bytes = _canonical(full)
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise ValueError(f"sealed file header is {len(header_bytes)} bytes; "
                         f"the limit is {MAX_HEADER_BYTES}")
    ciphertext = _SUITE.encrypt(zlib.compress(payload, 6), recipient._x25519(),
                                info=_INFO_PREFIX + header_bytes)
    body = b"".join([MAGIC, struct.pack(">I", len(header_bytes)), header_bytes,
                     struct.pack(">Q", len(ciphertext)), ciphertext])
    if len(body) + _SIGNATURE_BYTES > MAX_FILE_BYTES:
        raise SealError("too_large", _(
            "the sealed file would be {size} bytes, more than the {limit} bytes census accepts; "
            "send the data in smaller parts").format(size=len(body) + _SIGNATURE_BYTES,
                                                     limit=MAX_FILE_BYTES))
    return body + sender._ed25519().sign(body)


@dataclass(frozen=True)
class Sealed:
    """A sealed file's clear header, and the sender key it claims (not yet verified)."""

    header: dict[str, Any]
    sender_key: PublicKey  # parsed from header["sender_key"]


@dataclass(frozen=True)
class _Parts:
    sealed: Sealed
    header_bytes: bytes
    ciphertext: memoryview
    signed: memoryview  # every byte the signature covers
    signature: bytes


def _damaged(message: str) -> SealError:
    return SealError("damaged", message)


def _truncated_early(size: int) -> SealError:
    # The file ends before the lengths that say how long it should be.
    return SealError("truncated", _(
        "the file is truncated: it stops after {size} bytes, before its contents; copy it "
        "again, or ask the sender to send it again").format(size=size))


def _bad_field(name: str) -> SealError:
    return _damaged(_(
        "the file is damaged: its header field \"{field}\" is missing or not valid; ask the "
        "sender to send it again").format(field=name))


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"not JSON: {name}")


def _parse_header(header_bytes: bytes) -> dict[str, Any]:
    try:
        header = json.loads(header_bytes.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: deeply nested brackets in a hostile header.
        raise _damaged(_(
            "the file is damaged: its header cannot be read; ask the sender to send it "
            "again")) from None
    if not isinstance(header, dict):
        raise _damaged(_(
            "the file is damaged: its header cannot be read; ask the sender to send it again"))
    return header


def _check_header(header: dict[str, Any]) -> PublicKey:
    """Field checks, format first: a newer census may have changed everything else."""
    version = header.get("format")
    if type(version) is not int or version < 1:
        raise _bad_field("format")
    if version > FORMAT_VERSION:
        raise SealError("newer_format", _(
            "the file was made by a newer version of census (format {format}); update census "
            "on this machine, then open the file again").format(format=version))
    kind = header.get("kind")
    if not isinstance(kind, str):
        raise _bad_field("kind")
    if kind not in KINDS:
        raise _damaged(_(
            "the file says it is a \"{kind}\" file, which this version of census does not "
            "know; update census, or ask the sender to send it again").format(
                kind=clean_text(kind)))
    plain_size = header.get("plain_size")
    if type(plain_size) is not int or plain_size < 0:
        raise _bad_field("plain_size")
    recipient = header.get("recipient")
    if not isinstance(recipient, str) or not _KEY_ID.fullmatch(recipient):
        raise _bad_field("recipient")
    compression = header.get("compression")
    if not isinstance(compression, str):
        raise _bad_field("compression")
    if compression != "zlib":
        raise _damaged(_(
            "the file uses compression \"{name}\", which this version of census cannot read; "
            "update census, or ask the sender to send it again").format(
                name=clean_text(compression)))
    sender_key = header.get("sender_key")
    if not isinstance(sender_key, str):
        raise _bad_field("sender_key")
    try:
        return PublicKey.from_text(sender_key)
    except SealError:
        raise _bad_field("sender_key") from None


def _split(data: bytes) -> _Parts:
    """Structural checks, in file order, so a cut-off file says "truncated" where it can."""
    size = len(data)
    if size > MAX_FILE_BYTES:
        raise SealError("too_large", _(
            "the file is {size} bytes, more than the {limit} bytes census accepts; ask the "
            "sender to split the work into smaller files").format(size=size, limit=MAX_FILE_BYTES))
    if size == 0:
        raise SealError("truncated", _(
            "the file is empty; copy it again, or ask the sender to send it again"))
    view = memoryview(data)
    if view[: len(MAGIC)] != MAGIC:
        if MAGIC.startswith(data):
            raise _truncated_early(size)
        raise SealError("not_sealed", _(
            "this is not a census sealed file (it does not start with the census marker); "
            "choose the file that census made for you"))
    at = len(MAGIC)
    if size < at + 4:
        raise _truncated_early(size)
    (header_len,) = struct.unpack_from(">I", view, at)
    at += 4
    if header_len > MAX_HEADER_BYTES:
        raise _damaged(_(
            "the file is damaged: its header length ({length} bytes) is impossible; ask the "
            "sender to send it again").format(length=header_len))
    if size < at + header_len:
        raise _truncated_early(size)
    header_bytes = bytes(view[at : at + header_len])
    at += header_len
    header = _parse_header(header_bytes)
    sender_key = _check_header(header)
    # Only now, with the format known, is the rest of the layout known.
    if size < at + 8:
        raise _truncated_early(size)
    (cipher_len,) = struct.unpack_from(">Q", view, at)
    at += 8
    if cipher_len > MAX_FILE_BYTES:
        raise _damaged(_(
            "the file is damaged: its content length ({length} bytes) is impossible; ask the "
            "sender to send it again").format(length=cipher_len))
    end = at + cipher_len + _SIGNATURE_BYTES
    if size < end:
        raise SealError("truncated", _(
            "the file is truncated: it ends {missing} bytes early; copy it again, or ask the "
            "sender to send it again").format(missing=end - size))
    if size > end:
        raise _damaged(_(
            "the file is damaged: it has {extra} unexpected bytes after its end; ask the sender "
            "to send it again").format(extra=size - end))
    return _Parts(
        sealed=Sealed(header, sender_key),
        header_bytes=header_bytes,
        ciphertext=view[at : at + cipher_len],
        signed=view[: at + cipher_len],
        signature=bytes(view[at + cipher_len :]),
    )


def read_header(data: bytes) -> Sealed:
    """The clear header of a sealed file and the sender key it claims, WITHOUT checking the
    signature: for finding who claims to have sent it before deciding whether to trust them.

    Checks size, magic, lengths, that the header is a JSON object with the required fields,
    the format version and the kind; raises SealError otherwise.
    """
    return _split(data).sealed


def _verified(data: bytes) -> _Parts:
    parts = _split(data)
    try:
        parts.sealed.sender_key._ed25519().verify(parts.signature, parts.signed)
    except InvalidSignature:
        raise SealError("bad_signature", _(
            "the file's signature does not match its contents: it was changed or damaged after "
            "it was sealed; do not use it, and ask the sender to send it again")) from None
    return parts


def verify_signature(data: bytes) -> Sealed:
    """`read_header`, plus the signature checked with the key the header claims (no
    decryption): a damaged file then reads as damage, not as a file from an unknown key."""
    return _verified(data).sealed


def open_sealed(data: bytes, recipient: KeyPair, sender: PublicKey | None = None,
                kinds: tuple[str, ...] = ("bundle",),
                max_plain: int = MAX_PLAIN_BYTES) -> tuple[dict[str, Any], bytes]:
    """The header and payload of a sealed file for `recipient`; SealError if it cannot be used.

    After the structural checks of `read_header`, the signature is checked first (with the
    sender key the header claims), so a damaged header reads as damage rather than as a
    plausible-looking wrong kind or wrong recipient. Then: kind in `kinds` ("wrong_kind"),
    addressed to `recipient` ("wrong_recipient"), signed by `sender` when given
    ("unexpected_sender"), size within `max_plain` ("too_large"), decryption ("damaged"), and a
    bounded decompression that never produces more than the declared size plus one byte
    ("too_large" for a compression bomb).
    """
    parts = _verified(data)
    header = parts.sealed.header
    claimed = parts.sealed.sender_key
    kind = header["kind"]
    if kind not in kinds:
        raise SealError("wrong_kind", _(
            "this is a census file of kind \"{kind}\", but a file of kind \"{expected}\" is "
            "needed here; choose the right file").format(kind=kind, expected=" / ".join(kinds)))
    ours = recipient.public().key_id
    if header["recipient"] != ours:
        raise SealError("wrong_recipient", _(
            "the file is addressed to another key ({theirs}), not to this database's key "
            "({ours}); ask the sender to seal it again for key {ours}")
            .format(theirs=header["recipient"], ours=ours))
    if sender is not None and claimed != sender:
        raise SealError("unexpected_sender", _(
            "the file was sealed with key {theirs}, not with the expected sender's key "
            "({expected}); do not use it, and check with the sender which key they used")
            .format(theirs=claimed.key_id, expected=sender.key_id))
    plain_size: int = header["plain_size"]
    if plain_size > max_plain:
        raise SealError("too_large", _(
            "the file's contents would be {size} bytes, more than the {limit} bytes allowed; "
            "ask the sender to split the work into smaller files")
            .format(size=plain_size, limit=max_plain))
    try:
        compressed = _SUITE.decrypt(parts.ciphertext, recipient._x25519(),
                                    info=_INFO_PREFIX + parts.header_bytes)
    except (InvalidTag, ValueError):
        raise _damaged(_(
            "the file is damaged: its contents cannot be decrypted (they were changed or "
            "corrupted); ask the sender to send it again")) from None
    return header, _inflate(compressed, plain_size)


def _inflate(compressed: bytes, plain_size: int) -> bytes:
    """Decompress at most plain_size + 1 bytes: one byte over is enough to know it lies."""
    unreadable = _damaged(_(
        "the file is damaged: its contents cannot be decompressed; ask the sender to send it "
        "again"))
    inflater = zlib.decompressobj()
    try:
        # max_length is never 0 here (0 would mean "no limit").
        plain = inflater.decompress(compressed, plain_size + 1)
    except zlib.error:
        raise unreadable from None
    if len(plain) > plain_size:
        raise SealError("too_large", _(
            "the file's contents expand to more than the {size} bytes its header declares; it "
            "is damaged or made to harm, so do not use it, and ask the sender to send it again")
            .format(size=plain_size))
    # Not at the end of the stream (cut short), or bytes after it: the sender's zlib never
    # writes either. (No flush() to finish a cut stream: it has no output limit.)
    if not inflater.eof or inflater.unused_data:
        raise unreadable
    if len(plain) != plain_size:
        raise _damaged(_(
            "the file is damaged: its contents are {actual} bytes, but its header says "
            "{declared}; ask the sender to send it again")
            .format(actual=len(plain), declared=plain_size))
    return plain
