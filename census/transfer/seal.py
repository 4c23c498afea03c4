"""Sealed files: sealing bytes for one recipient, signed by the sender, and opening them.

A sealed file shows in clear only what its receiver needs before decrypting it: the format,
the kind of file, and the id of the recipient's key. Everything else is inside the encryption
(HPKE, RFC 9180: X25519, HKDF-SHA256, AES-256-GCM, to the recipient's key; the HPKE `info` is
the clear header, so the ciphertext opens only under the header it was sealed with): the
sender's code, role and public key, the id, sequence number and creation time, the counts, the
plain size, the zlib-compressed payload, and the sender's Ed25519 signature over the clear
header, the inner header and the compressed payload (so it also names the recipient: a file
cannot be re-sent to another key as if signed for it). The plaintext is padded with zeros so
that the ciphertext is a power of two, at least MIN_BUCKET bytes: a file's length says how
large it is within a factor of two, and nothing of an enumerator's day or area below that.

Layout (format 2)::

    MAGIC | clear header length (4 bytes, big-endian) | clear header (canonical JSON, UTF-8)
          | ciphertext length (8 bytes, big-endian) | ciphertext
    plaintext = inner header length (4) | inner header (canonical JSON) | compressed length (8)
          | compressed payload | Ed25519 signature (64) | zero padding

Format 1 (census before issue 14) is still read: its header was all in clear and signed, with
the signature after the ciphertext.

Everything here is pure: bytes in, bytes out. Reading never raises anything but SealError for a
bad file, whatever its bytes, so callers can show `str(error)` after the file's name.
"""

from __future__ import annotations

import hashlib
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

FORMAT_VERSION = 2
#: Formats this version reads.
READS = (1, 2)
MAGIC = b"CENSUS-SEALED\n"
MAX_FILE_BYTES = 1 << 30
MAX_PLAIN_BYTES = 1 << 30
#: A header is a few hundred bytes; the cap keeps a corrupt length from meaning "read 4 GB".
MAX_HEADER_BYTES = 1 << 20
#: The smallest ciphertext: every file up to it is this long. 64 KiB holds a bundle of more
#: households than an enumeration area has (400 households compress to about 39 KB).
MIN_BUCKET = 1 << 16

KINDS = ("bundle", "assignment", "receipt")

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_INFO_PREFIX = {1: b"census-sealed-v1\n", 2: b"census-sealed-v2\n"}
_SIGN_PREFIX = b"census-sealed-v2 signature\n"
_HPKE_OVERHEAD = 32 + 16  # the encapsulated key and the AES-GCM tag
_SIGNATURE_BYTES = 64
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_CLEAR = ("format", "kind", "recipient")
_ADDED = ("format", "kind", "sender_key", "recipient", "plain_size", "compression")


def _canonical(header: dict[str, Any]) -> bytes:
    # One byte string per header: sorted keys, no spaces, strict JSON (no NaN), UTF-8.
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _signed_message(clear: bytes, inner: bytes, compressed: bytes | memoryview) -> bytes:
    """What the sender signs: both headers whole and a digest of the compressed payload."""
    return b"".join([_SIGN_PREFIX, struct.pack(">I", len(clear)), clear,
                     struct.pack(">I", len(inner)), inner,
                     hashlib.sha512(compressed).digest()])


def bucket(size: int, limit: int) -> int:
    """The padded length of a ciphertext of `size` bytes: the next power of two, at least
    MIN_BUCKET, at most `limit` (the largest a file may hold)."""
    return min(max(MIN_BUCKET, 1 << max(0, size - 1).bit_length()), limit)


def seal(kind: str, header: dict[str, Any], payload: bytes, sender: KeyPair,
         recipient: PublicKey) -> bytes:
    """The sealed file holding `payload` for `recipient`, signed by `sender`.

    `kind` is "bundle", "assignment" or "receipt". `header` (JSON-serialisable: the caller's
    fields such as id, sender code, created, seq, counts) is encrypted and signed with the
    payload; seal adds format, kind, sender_key, recipient (key id), plain_size and
    compression, and refuses (ValueError) a header that already has one of them. A payload too
    big for the reader to accept raises SealError("too_large").
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sealed file kind {kind!r}; expected one of {KINDS}")
    clash = sorted(set(_ADDED) & header.keys())
    if clash:
        raise ValueError(f"header fields {clash} are set by seal()")
    if len(payload) > MAX_PLAIN_BYTES:
        raise SealError("too_large", _too_large_plain(len(payload)))
    clear = _canonical({"format": FORMAT_VERSION, "kind": kind, "recipient": recipient.key_id})
    inner = _canonical({**header, "sender_key": sender.public().to_text(),
                        "plain_size": len(payload), "compression": "zlib"})
    if len(inner) > MAX_HEADER_BYTES:
        raise ValueError(f"sealed file header is {len(inner)} bytes; "
                         f"the limit is {MAX_HEADER_BYTES}")
    compressed = zlib.compress(payload, 6)
    signature = sender._ed25519().sign(_signed_message(clear, inner, compressed))
    plain = b"".join([struct.pack(">I", len(inner)), inner, struct.pack(">Q", len(compressed)),
                      compressed, signature])
    room = MAX_FILE_BYTES - (len(MAGIC) + 4 + len(clear) + 8)
    if len(plain) + _HPKE_OVERHEAD > room:
        raise SealError("too_large", _(
            "the sealed file would be {size} bytes, more than the {limit} bytes census accepts; "
            "send the data in smaller parts").format(size=len(plain) + _HPKE_OVERHEAD,
                                                     limit=MAX_FILE_BYTES))
    padded = plain + bytes(bucket(len(plain) + _HPKE_OVERHEAD, room) - _HPKE_OVERHEAD
                           - len(plain))
    ciphertext = _SUITE.encrypt(padded, recipient._x25519(), info=_INFO_PREFIX[2] + clear)
    return b"".join([MAGIC, struct.pack(">I", len(clear)), clear,
                     struct.pack(">Q", len(ciphertext)), ciphertext])


def _too_large_plain(size: int) -> str:
    return _("the data to send is {size} bytes, more than the {limit} bytes a sealed file may "
             "hold; send it in smaller parts").format(size=size, limit=MAX_PLAIN_BYTES)


@dataclass(frozen=True)
class Clear:
    """What anyone holding a sealed file can read without a key: its clear header (format 2:
    format, kind and recipient key id; format 1: every field, sender and counts included)."""

    header: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.header["kind"])


@dataclass(frozen=True)
class _Parts:
    header: dict[str, Any]  # the clear header
    header_bytes: bytes
    ciphertext: memoryview
    signed: memoryview  # format 1: every byte the signature covers
    signature: bytes  # format 1: the signature after the ciphertext; format 2: none


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


def _check_clear(header: dict[str, Any]) -> int:
    """The clear fields, format first: a newer census may have changed everything else."""
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
    recipient = header.get("recipient")
    if not isinstance(recipient, str) or not _KEY_ID.fullmatch(recipient):
        raise _bad_field("recipient")
    return version


def _check_signed(header: dict[str, Any]) -> PublicKey:
    """The fields that come with the signature (inside the encryption since format 2)."""
    plain_size = header.get("plain_size")
    if type(plain_size) is not int or plain_size < 0:
        raise _bad_field("plain_size")
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
    version = _check_clear(header)
    if version == 1:
        _check_signed(header)
    elif set(header) != set(_CLEAR):
        # Nothing else belongs in clear; a field here must never stand for a signed one.
        raise _damaged(_(
            "the file is damaged: its clear header has fields census does not put there; ask "
            "the sender to send it again"))
    # Only now, with the format known, is the rest of the layout known.
    if size < at + 8:
        raise _truncated_early(size)
    (cipher_len,) = struct.unpack_from(">Q", view, at)
    at += 8
    if cipher_len > MAX_FILE_BYTES:
        raise _damaged(_(
            "the file is damaged: its content length ({length} bytes) is impossible; ask the "
            "sender to send it again").format(length=cipher_len))
    tail = _SIGNATURE_BYTES if version == 1 else 0
    end = at + cipher_len + tail
    if size < end:
        raise SealError("truncated", _(
            "the file is truncated: it ends {missing} bytes early; copy it again, or ask the "
            "sender to send it again").format(missing=end - size))
    if size > end:
        raise _damaged(_(
            "the file is damaged: it has {extra} unexpected bytes after its end; ask the sender "
            "to send it again").format(extra=size - end))
    return _Parts(
        header=header,
        header_bytes=header_bytes,
        ciphertext=view[at : at + cipher_len],
        signed=view[: at + cipher_len],
        signature=bytes(view[at + cipher_len :]),
    )


def read_header(data: bytes) -> Clear:
    """The clear header of a sealed file, without any key: checks size, magic, lengths, that
    the header is a JSON object with the required fields, the format version and the kind;
    raises SealError otherwise."""
    return Clear(_split(data).header)


def _bad_signature() -> SealError:
    return SealError("bad_signature", _(
        "the file's signature does not match its contents: it was changed or damaged after "
        "it was sealed; do not use it, and ask the sender to send it again"))


def _undecryptable() -> SealError:
    return _damaged(_(
        "the file is damaged: its contents cannot be decrypted (they were changed or "
        "corrupted); ask the sender to send it again"))


def _check_recipient(header: dict[str, Any], recipient: KeyPair) -> None:
    ours = recipient.public().key_id
    if header["recipient"] != ours:
        raise SealError("wrong_recipient", _(
            "the file is addressed to another key ({theirs}), not to this database's key "
            "({ours}); ask the sender to seal it again for key {ours}")
            .format(theirs=header["recipient"], ours=ours))


def _open_v1(parts: _Parts, recipient: KeyPair) -> tuple[dict[str, Any], bytes, PublicKey]:
    """Format 1: the signature (after the ciphertext, over every byte before it) is checked
    first, so a damaged header reads as damage rather than as a wrong kind or recipient."""
    header = parts.header
    sender_key = _check_signed(header)
    try:
        sender_key._ed25519().verify(parts.signature, parts.signed)
    except InvalidSignature:
        raise _bad_signature() from None
    _check_recipient(header, recipient)
    try:
        compressed = _SUITE.decrypt(parts.ciphertext, recipient._x25519(),
                                    info=_INFO_PREFIX[1] + parts.header_bytes)
    except (InvalidTag, ValueError):
        raise _undecryptable() from None
    return header, compressed, sender_key


def _open_v2(parts: _Parts, recipient: KeyPair) -> tuple[dict[str, Any], memoryview, PublicKey]:
    """Format 2: decrypt (which also proves the clear header unchanged), read the inner
    header, check the signature inside."""
    _check_recipient(parts.header, recipient)
    try:
        plain = memoryview(_SUITE.decrypt(parts.ciphertext, recipient._x25519(),
                                          info=_INFO_PREFIX[2] + parts.header_bytes))
    except (InvalidTag, ValueError):
        raise _undecryptable() from None
    broken = _damaged(_("the file is damaged: its contents are not laid out as census seals "
                        "them; ask the sender to send it again"))
    if len(plain) < 4:
        raise broken
    (inner_len,) = struct.unpack_from(">I", plain, 0)
    at = 4 + inner_len
    if inner_len > MAX_HEADER_BYTES or len(plain) < at + 8:
        raise broken
    inner_bytes = bytes(plain[4:at])
    (compressed_len,) = struct.unpack_from(">Q", plain, at)
    at += 8
    end = at + compressed_len + _SIGNATURE_BYTES
    if len(plain) < end or not _zeros(plain[end:]):
        raise broken
    compressed = plain[at : at + compressed_len]
    inner = _parse_header(inner_bytes)
    if set(inner) & set(_CLEAR):
        raise broken
    sender_key = _check_signed(inner)
    try:
        sender_key._ed25519().verify(bytes(plain[end - _SIGNATURE_BYTES : end]),
                                     _signed_message(parts.header_bytes, inner_bytes,
                                                     compressed))
    except InvalidSignature:
        raise _bad_signature() from None
    return {**inner, **parts.header}, compressed, sender_key


def _zeros(view: memoryview) -> bool:
    """Every byte is zero (checked a MiB at a time, at C speed)."""
    step = 1 << 20
    return all(bytes(view[i : i + step]).count(0) == len(view[i : i + step])
               for i in range(0, len(view), step))


@dataclass(frozen=True)
class Signed:
    """A sealed file decrypted and its signature checked, its payload still compressed: what
    a caller looks at to decide whether it trusts the sender before inflating anything."""

    header: dict[str, Any]
    compressed: bytes | memoryview
    sender_key: PublicKey


def open_signed(data: bytes, recipient: KeyPair,
                kinds: tuple[str, ...] = ("bundle",)) -> Signed:
    """A sealed file's structure, recipient, decryption, signature and kind checked (SealError
    otherwise); nothing is decompressed: the caller decides whether it trusts the sender's key
    first, then calls `inflate`."""
    parts = _split(data)
    opener = _open_v1 if parts.header["format"] == 1 else _open_v2
    header, compressed, claimed = opener(parts, recipient)
    kind = header["kind"]
    if kind not in kinds:
        raise SealError("wrong_kind", _(
            "this is a census file of kind \"{kind}\", but a file of kind \"{expected}\" is "
            "needed here; choose the right file").format(kind=kind, expected=" / ".join(kinds)))
    return Signed(header, compressed, claimed)


def inflate(signed: Signed, max_plain: int = MAX_PLAIN_BYTES) -> bytes:
    """The payload of a checked file: its declared size within `max_plain` ("too_large"),
    then a bounded decompression."""
    plain_size: int = signed.header["plain_size"]
    if plain_size > max_plain:
        raise SealError("too_large", _(
            "the file's contents would be {size} bytes, more than the {limit} bytes allowed; "
            "ask the sender to split the work into smaller files")
            .format(size=plain_size, limit=max_plain))
    return _inflate(signed.compressed, plain_size)


def _inflate(compressed: bytes | memoryview, plain_size: int) -> bytes:
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
