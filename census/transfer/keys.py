"""Census keys: a database's key pairs (X25519 to decrypt, Ed25519 to sign), the public keys
others hold, and key cards, the one line a user hands to another level. Pure.

A key's fingerprint (80 bits of its hash, read aloud) is how two people check they hold the same
key. Reading a key or a card never raises anything but SealError, whatever the text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from census.domain.model import Role
from census.i18n import _

ROLES = tuple(role.value for role in Role)
CARD_WORD = "census-key"
CARD_VERSION = 1
CARD_EXAMPLE = "census-key 1 <role> <code> <key>"

KEY_BYTES = 32
_KEY_TEXT_CHARS = 86  # base64 of 64 bytes, without padding
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]+")
CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


class SealError(Exception):
    """A sealed file that cannot be used; str(e) is the translated reason (no file name)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        #: A stable code for callers: not_sealed, truncated, damaged, newer_format, wrong_kind,
        #: wrong_recipient, bad_signature, unexpected_sender, too_large.
        self.reason = reason


def clean_text(text: str, limit: int = 40) -> str:
    """User input echoed in a message: bounded, and no control characters to upset a terminal."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return clean + ("…" if len(text) > limit else "")


def shown(value: object, limit: int = 40) -> str:
    """Any value read from a file, as a message may quote it: a text as `clean_text` makes it, any
    other value as a word of its type (never its repr, which may be huge or nested)."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if value is None or isinstance(value, bool | int | float):
        return clean_text(str(value) if not isinstance(value, int) or abs(value) < 10**18
                     else "10^18+", limit)
    return type(value).__name__


@dataclass(frozen=True)
class PublicKey:
    """What others need to seal files for a database and check its signatures."""

    enc: bytes  # 32-byte raw X25519 public key
    sign: bytes  # 32-byte raw Ed25519 public key

    def __post_init__(self) -> None:
        if len(self.enc) != KEY_BYTES or len(self.sign) != KEY_BYTES:
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
            return cls(raw[:KEY_BYTES], raw[KEY_BYTES:])
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
        if len(self.enc_private) != KEY_BYTES or len(self.sign_private) != KEY_BYTES:
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
        if self.role not in ROLES or not CODE.fullmatch(self.code):
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
                .format(version=clean_text(version), example=CARD_EXAMPLE))
        if int(version) > CARD_VERSION:
            raise SealError("newer_format", _(
                "the key card was made by a newer version of census (card version {version}); "
                "update census on this machine").format(version=clean_text(version)))
        if int(version) != CARD_VERSION:
            raise SealError("damaged", _(
                "the key card's version \"{version}\" is not valid; a card looks like: {example}")
                .format(version=clean_text(version), example=CARD_EXAMPLE))
        if role not in ROLES:
            raise SealError("damaged", _(
                "the key card's role \"{role}\" is not known; it must be one of: {roles}")
                .format(role=clean_text(role), roles=", ".join(ROLES)))
        if not CODE.fullmatch(code):
            raise SealError("damaged", _(
                "the key card's user code \"{code}\" is not valid; a code is 1 to 40 letters, "
                "digits, '.', '_' or '-'").format(code=clean_text(code)))
        try:
            public = PublicKey.from_text(key)
        except SealError as error:
            raise SealError("damaged", _("the key card's key is not valid: {problem}")
                            .format(problem=str(error))) from None
        return cls(role, code, public)
