"""Sealed files: census keys and key cards; sealing bytes for one recipient, signed by the sender.

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

import base64
import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from census.domain.model import Role
from census.i18n import _

FORMAT_VERSION = 1
MAGIC = b"CENSUS-SEALED\n"
MAX_FILE_BYTES = 1 << 30
MAX_PLAIN_BYTES = 1 << 30
#: A header is a few hundred bytes; the cap keeps a corrupt length from meaning "read 4 GB".
MAX_HEADER_BYTES = 1 << 20

KINDS = ("bundle", "assignment", "receipt")
ROLES = tuple(role.value for role in Role)
CARD_WORD = "census-key"
CARD_VERSION = 1
CARD_EXAMPLE = "census-key 1 <role> <code> <key>"

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_INFO_PREFIX = b"census-sealed-v1\n"
_SIGNATURE_BYTES = 64
_KEY_BYTES = 32
_KEY_TEXT_CHARS = 86  # base64 of 64 bytes, without padding
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]+")
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_ADDED = ("format", "kind", "sender_key", "recipient", "plain_size", "compression")


class SealError(Exception):
    """A sealed file that cannot be used; str(e) is the translated reason (no file name)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        #: A stable code for callers: not_sealed, truncated, damaged, newer_format, wrong_kind,
        #: wrong_recipient, bad_signature, unexpected_sender, too_large.
        self.reason = reason


def _show(text: str, limit: int = 40) -> str:
    """User input echoed in a message: bounded, and no control characters to upset a terminal."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return clean + ("…" if len(text) > limit else "")


def shown(value: object, limit: int = 40) -> str:
    """Any value read from a file, as a message may quote it: a text as `_show` makes it, any
    other value as a word of its type (never its repr, which may be huge or nested)."""
    if isinstance(value, str):
        return _show(value, limit)
    if value is None or isinstance(value, bool | int | float):
        return _show(str(value) if not isinstance(value, int) or abs(value) < 10**18
                     else "10^18+", limit)
    return type(value).__name__


@dataclass(frozen=True)
class PublicKey:
    """What others need to seal files for a database and check its signatures."""

    enc: bytes  # 32-byte raw X25519 public key
    sign: bytes  # 32-byte raw Ed25519 public key

    def __post_init__(self) -> None:
        if len(self.enc) != _KEY_BYTES or len(self.sign) != _KEY_BYTES:
            raise ValueError("public keys are 32 raw bytes each")
        # A low-order X25519 point loads but gives an all-zero shared secret: HPKE would fail
        # only when sealing. Refuse it here, where the key is read.
        x25519.X25519PrivateKey.generate().exchange(self._x25519())
        self._ed25519()

    def _x25519(self) -> x25519.X25519PublicKey:
        return x25519.X25519PublicKey.from_public_bytes(self.enc)

    def _ed25519(self) -> ed25519.Ed25519PublicKey:
        return ed25519.Ed25519PublicKey.from_public_bytes(self.sign)

    def _digest(self) -> bytes:
        return hashlib.sha256(self.enc + self.sign).digest()

    @property
    def key_id(self) -> str:
        """A short name for the key (16 hex characters), shown in messages and stored in headers."""
        return self._digest().hex()[:16]

    def fingerprint(self) -> str:
        """80 bits of the key's hash as "ABCD-EFGH-IJKL-MNOP", to compare by reading aloud."""
        text = base64.b32encode(self._digest()[:10]).decode("ascii")
        return "-".join(text[i : i + 4] for i in range(0, len(text), 4))

    def to_text(self) -> str:
        """The key as one word of base64url (no padding), for key cards and headers."""
        return base64.urlsafe_b64encode(self.enc + self.sign).rstrip(b"=").decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        """The key written by `to_text`; SealError("damaged") saying what is wrong otherwise."""
        word = text.strip()
        if not word:
            raise SealError("damaged", _("the key is empty; copy the whole key text"))
        if not _KEY_TEXT.fullmatch(word):
            raise SealError("damaged", _(
                "the key contains characters that cannot be in a key (only letters, digits, "
                "'-' and '_'); copy the key text again exactly"))
        if len(word) != _KEY_TEXT_CHARS:
            raise SealError("damaged", _(
                "the key is {length} characters long, but a key is {expected}; copy the whole "
                "key text again").format(length=len(word), expected=_KEY_TEXT_CHARS))
        raw = base64.urlsafe_b64decode(word + "==")
        # The last character carries 2 spare bits; insisting they are zero gives each key
        # exactly one text, so keys compare equal as text too.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != word:
            raise SealError("damaged", _(
                "the key text is not valid (its last character is wrong); copy the key text "
                "again exactly"))
        try:
            return cls(raw[:_KEY_BYTES], raw[_KEY_BYTES:])
        except ValueError:
            raise SealError("damaged", _(
                "the key is not a usable public key; ask its owner to show it again")) from None


@dataclass(frozen=True)
class KeyPair:
    """A database's own keys: decrypt what is sealed for it, sign what it seals. Keep secret."""

    # repr=False: a traceback or log line must never print the private keys.
    enc_private: bytes = field(repr=False)  # 32-byte raw X25519 private key
    sign_private: bytes = field(repr=False)  # 32-byte raw Ed25519 private key

    def __post_init__(self) -> None:
        if len(self.enc_private) != _KEY_BYTES or len(self.sign_private) != _KEY_BYTES:
            raise ValueError("private keys are 32 raw bytes each")

    @classmethod
    def generate(cls) -> KeyPair:
        """New random keys."""
        return cls(
            x25519.X25519PrivateKey.generate().private_bytes_raw(),
            ed25519.Ed25519PrivateKey.generate().private_bytes_raw(),
        )

    def _x25519(self) -> x25519.X25519PrivateKey:
        return x25519.X25519PrivateKey.from_private_bytes(self.enc_private)

    def _ed25519(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.sign_private)

    def public(self) -> PublicKey:
        """The public half, to hand to others (on a KeyCard)."""
        return PublicKey(
            self._x25519().public_key().public_bytes_raw(),
            self._ed25519().public_key().public_bytes_raw(),
        )


@dataclass(frozen=True)
class KeyCard:
    """What a user hands to another level to be addressed: role, user code, public key."""

    role: str  # "enumerator" | "supervisor" | "office"
    code: str  # user code, 1..40 chars of [A-Za-z0-9_.-]
    key: PublicKey

    def __post_init__(self) -> None:
        # A card that could not be parsed back must not be written in the first place.
        if self.role not in ROLES or not _CODE.fullmatch(self.code):
            raise ValueError(f"bad key card role or code: {self.role!r} {self.code!r}")

    def to_text(self) -> str:
        """One line: "census-key 1 <role> <code> <key>"."""
        return f"{CARD_WORD} {CARD_VERSION} {self.role} {self.code} {self.key.to_text()}"

    @classmethod
    def parse(cls, text: str) -> KeyCard:
        """The card written by `to_text` (surrounding blanks are fine); SealError otherwise.

        The error says which part is wrong and what a card looks like. A card from a newer
        census gives reason "newer_format"; anything else unusable gives "damaged".
        """
        words = text.split()
        if not words:
            raise SealError("damaged", _(
                "the key card is empty; paste the whole card, which looks like: {example}")
                .format(example=CARD_EXAMPLE))
        if words[0] != CARD_WORD:
            raise SealError("damaged", _(
                "this is not a census key card (it should start with \"{word}\"); a card looks "
                "like: {example}").format(word=CARD_WORD, example=CARD_EXAMPLE))
        if len(words) != 5:
            raise SealError("damaged", _(
                "the key card has {count} parts, but a card has 5; it looks like: {example}")
                .format(count=len(words), example=CARD_EXAMPLE))
        _word, version, role, code, key = words
        # A version is a small number; int() of thousands of digits would raise ValueError.
        if not version.isdecimal() or not version.isascii() or len(version) > 9:
            raise SealError("damaged", _(
                "the key card's version \"{version}\" is not valid; a card looks like: {example}")
                .format(version=_show(version), example=CARD_EXAMPLE))
        if int(version) > CARD_VERSION:
            raise SealError("newer_format", _(
                "the key card was made by a newer version of census (card version {version}); "
                "update census on this machine").format(version=_show(version)))
        if int(version) != CARD_VERSION:
            raise SealError("damaged", _(
                "the key card's version \"{version}\" is not valid; a card looks like: {example}")
                .format(version=_show(version), example=CARD_EXAMPLE))
        if role not in ROLES:
            raise SealError("damaged", _(
                "the key card's role \"{role}\" is not known; it must be one of: {roles}")
                .format(role=_show(role), roles=", ".join(ROLES)))
        if not _CODE.fullmatch(code):
            raise SealError("damaged", _(
                "the key card's user code \"{code}\" is not valid; a code is 1 to 40 letters, "
                "digits, '.', '_' or '-'").format(code=_show(code)))
        try:
            public = PublicKey.from_text(key)
        except SealError as error:
            raise SealError("damaged", _("the key card's key is not valid: {problem}")
                            .format(problem=str(error))) from None
        return cls(role, code, public)


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
            "know; update census, or ask the sender to send it again").format(kind=_show(kind)))
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
            "update census, or ask the sender to send it again").format(name=_show(compression)))
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
