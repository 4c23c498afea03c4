"""Sealed files: round trip, every flipped bit and cut refused, forged and hostile files refused."""

from __future__ import annotations

import json
import re
import string
import struct
import tracemalloc
import zlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from hypothesis import given, settings
from hypothesis import strategies as st

from census.transfer import seal as seal_module
from census.transfer.keys import KeyCard, KeyPair, PublicKey, SealError
from census.transfer.seal import FORMAT_VERSION, MAGIC, open_sealed, read_header, seal

ALICE = KeyPair.generate()  # the sender
BOB = KeyPair.generate()  # the recipient
MALLORY = KeyPair.generate()  # an attacker with her own keys, who can read and rewrite files
HEADER = {"id": "0190d5c2-7f3a-7b1e-9c4d-2a1b3c4d5e6f", "sender": "E001", "seq": 3}
ADDED = {"format", "kind", "sender_key", "recipient", "plain_size", "compression"}


def _sealed(payload: bytes = b"households" * 5, kind: str = "bundle",
            sender: KeyPair = ALICE, to: KeyPair = BOB) -> bytes:
    return seal(kind, HEADER, payload, sender, to.public())


def _reason(data: bytes, **kwargs: Any) -> SealError:
    kwargs.setdefault("recipient", BOB)
    with pytest.raises(SealError) as caught:
        open_sealed(data, **kwargs)
    assert str(caught.value)  # always a message to show
    return caught.value


# An independent writer of the file layout, as an attacker (or a future census) would write it.

def _layout(header: dict[str, Any], ciphertext: bytes, signer: KeyPair) -> bytes:
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")
    body = (MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
            + struct.pack(">Q", len(ciphertext)) + ciphertext)
    return body + Ed25519PrivateKey.from_private_bytes(signer.sign_private).sign(body)


def _forge(header: dict[str, Any], compressed: bytes, signer: KeyPair = ALICE,
           to: KeyPair = BOB) -> bytes:
    """A well-formed, properly encrypted and signed file with any header and zlib stream."""
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
    ciphertext = suite.encrypt(compressed, X25519PublicKey.from_public_bytes(to.public().enc),
                               info=b"census-sealed-v1\n" + header_bytes)
    return _layout(header, ciphertext, signer)


def _full_header(plain_size: int, sender: KeyPair = ALICE, to: KeyPair = BOB) -> dict[str, Any]:
    return {**HEADER, "format": 1, "kind": "bundle", "sender_key": sender.public().to_text(),
            "recipient": to.public().key_id, "plain_size": plain_size, "compression": "zlib"}


def _pieces(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and ciphertext of a file, read by hand."""
    at = len(MAGIC)
    (header_len,) = struct.unpack_from(">I", data, at)
    header = json.loads(data[at + 4 : at + 4 + header_len])
    at += 4 + header_len
    (cipher_len,) = struct.unpack_from(">Q", data, at)
    return header, data[at + 8 : at + 8 + cipher_len]


def _resign(data: bytes, signer: KeyPair, **changes: Any) -> bytes:
    """The same ciphertext under a changed header, with a valid signature by `signer`."""
    header, ciphertext = _pieces(data)
    return _layout({**header, **changes}, ciphertext, signer)


# Round trip and layout.

def test_round_trip_keeps_header_and_payload() -> None:
    payload = bytes(range(256)) * 40
    header, plain = open_sealed(_sealed(payload), BOB, sender=ALICE.public())
    assert plain == payload
    assert {k: header[k] for k in HEADER} == HEADER
    assert header["format"] == FORMAT_VERSION
    assert header["kind"] == "bundle"
    assert header["sender_key"] == ALICE.public().to_text()
    assert header["recipient"] == BOB.public().key_id
    assert header["plain_size"] == len(payload)
    assert header["compression"] == "zlib"


def test_layout_is_as_documented() -> None:
    data = _sealed(b"x" * 1000)
    assert data.startswith(MAGIC)
    header, ciphertext = _pieces(data)
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    assert header_bytes in data  # canonical JSON, byte for byte
    assert len(data) == len(MAGIC) + 4 + len(header_bytes) + 8 + len(ciphertext) + 64
    assert b"x" * 20 not in data  # compressed and encrypted: the payload never shows
    # A file written by the independent writer above opens too.
    forged = _forge(_full_header(3), zlib.compress(b"abc"))
    assert open_sealed(forged, BOB, sender=ALICE.public())[1] == b"abc"


def test_read_header_needs_no_keys_and_does_not_check_the_signature() -> None:
    data = _sealed()
    sealed = read_header(data)
    assert sealed.sender_key == ALICE.public()
    assert sealed.header["seq"] == 3
    bad_signature = data[:-1] + bytes([data[-1] ^ 1])
    assert read_header(bad_signature).header == sealed.header


def test_each_seal_is_fresh() -> None:
    assert _sealed() != _sealed()  # HPKE uses a new ephemeral key every time


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=3000),
    fields=st.dictionaries(st.text(max_size=12).filter(lambda k: k not in ADDED),
                           st.one_of(st.integers(), st.text(max_size=30)), max_size=6),
    kind=st.sampled_from(["bundle", "assignment", "receipt"]),
)
def test_round_trip_property(payload: bytes, fields: dict[str, Any], kind: str) -> None:
    data = seal(kind, fields, payload, ALICE, BOB.public())
    header, plain = open_sealed(data, BOB, sender=ALICE.public(), kinds=(kind,))
    assert plain == payload
    assert {k: header[k] for k in fields} == fields
    assert set(header) == set(fields) | ADDED


# Damage: every bit, every cut.

FLIP_REASONS = {"not_sealed", "truncated", "damaged", "newer_format", "bad_signature"}


def test_every_single_bit_flip_is_refused() -> None:
    data = _sealed(b"ok")
    seen = set()
    for offset in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            try:
                open_sealed(bytes(flipped), BOB, sender=ALICE.public())
            except SealError as error:
                assert error.reason in FLIP_REASONS, (offset, bit, error.reason, str(error))
                seen.add(error.reason)
            else:
                pytest.fail(f"a flipped bit at byte {offset} bit {bit} was accepted")
    # Flips in the marker, lengths, header and body each show up as what they are.
    assert {"not_sealed", "damaged", "bad_signature"} <= seen


def test_every_cut_is_refused_as_truncated() -> None:
    data = _sealed(b"ok")
    for size in range(len(data)):
        error = _reason(data[:size], sender=ALICE.public())
        assert error.reason == "truncated", (size, error.reason, str(error))
    last = _reason(data[:-5])
    assert "5 bytes early" in str(last)


def test_trailing_bytes_are_damage() -> None:
    error = _reason(_sealed() + b"\n")
    assert error.reason == "damaged"
    assert "1 unexpected bytes" in str(error)


def test_not_a_sealed_file() -> None:
    assert _reason(b"SQLite format 3\x00" + bytes(200)).reason == "not_sealed"
    assert _reason(b"").reason == "truncated"


def test_hostile_headers_are_damage_not_crashes() -> None:
    for header in [b"[" * 100_000 + b"]" * 100_000, b'{"format":NaN}', b"\xff\xfe", b"[1,2]",
                   b'{"format":1e400}', b'{"format":' + b"9" * 5000 + b"}"]:
        data = MAGIC + struct.pack(">I", len(header)) + header + bytes(8 + 64)
        assert _reason(data).reason == "damaged", header[:20]
    huge = MAGIC + struct.pack(">I", 0xFFFFFFFF) + bytes(100)
    assert _reason(huge).reason == "damaged"


# Addressing and senders.

def test_wrong_recipient_shows_both_key_ids() -> None:
    data = _sealed(to=MALLORY)
    error = _reason(data, sender=ALICE.public())
    assert error.reason == "wrong_recipient"
    assert MALLORY.public().key_id in str(error)
    assert BOB.public().key_id in str(error)


def test_wrong_kind() -> None:
    error = _reason(_sealed(kind="receipt"))
    assert error.reason == "wrong_kind"
    assert "receipt" in str(error) and "bundle" in str(error)
    assert open_sealed(_sealed(kind="receipt"), BOB, kinds=("bundle", "receipt"))[1]


def test_unexpected_sender_sealing_with_her_own_key() -> None:
    data = _sealed(sender=MALLORY)
    error = _reason(data, sender=ALICE.public())
    assert error.reason == "unexpected_sender"
    assert MALLORY.public().key_id in str(error) and ALICE.public().key_id in str(error)
    # Without an expected sender the file opens: trust is the caller's decision, made from
    # read_header's sender_key, which names Mallory, not Alice.
    assert read_header(data).sender_key == MALLORY.public()
    assert open_sealed(data, BOB)[1]


def test_mallory_claims_alices_file_as_her_own() -> None:
    # She swaps in her key and signs validly. The expected sender catches it; and even when
    # nobody is expected, the ciphertext is bound to the original header, so it will not open.
    data = _resign(_sealed(), MALLORY, sender_key=MALLORY.public().to_text())
    assert _reason(data, sender=ALICE.public()).reason == "unexpected_sender"
    assert _reason(data).reason == "damaged"


def test_mallory_cannot_sign_in_alices_name() -> None:
    data = _sealed()
    # Same header, her signature; or a changed sequence number, her signature.
    assert _reason(_resign(data, MALLORY), sender=ALICE.public()).reason == "bad_signature"
    assert _reason(_resign(data, MALLORY, seq=99)).reason == "bad_signature"
    # Her own content claiming to be from Alice, properly encrypted to Bob.
    forged = _forge(_full_header(3), zlib.compress(b"abc"), signer=MALLORY)
    assert _reason(forged).reason == "bad_signature"


def test_ciphertext_is_bound_to_its_header() -> None:
    # Even the real sender's signature over a changed header does not make it open.
    data = _resign(_sealed(), ALICE, seq=4)
    assert _reason(data, sender=ALICE.public()).reason == "damaged"


def test_newer_format() -> None:
    data = _resign(_sealed(), ALICE, format=2)
    with pytest.raises(SealError) as caught:
        read_header(data)
    assert caught.value.reason == "newer_format"
    error = _reason(data, sender=ALICE.public())
    assert error.reason == "newer_format"
    assert "newer version of census (format 2)" in str(error)


# Sizes and compression.

def _zeros_stream(megabytes: int) -> bytes:
    compressor = zlib.compressobj(1)  # level 1: fastest; zeros still shrink about 220 times
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(megabytes)]
    return b"".join([*parts, compressor.flush()])


def test_compression_bomb_is_refused_in_little_memory() -> None:
    bomb = _forge(_full_header(1000), _zeros_stream(200))  # 200 MB of zeros, 1 kB declared
    assert len(bomb) < 2 << 20
    tracemalloc.start()
    try:
        error = _reason(bomb, sender=ALICE.public())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.reason == "too_large"
    assert peak < 20 << 20


def test_declared_size_over_the_limit_is_refused_before_decompressing() -> None:
    # Not zlib at all: decompressing would say "damaged"; the size check comes first.
    data = _forge(_full_header(1 << 40), b"not zlib")
    assert _reason(data).reason == "too_large"
    assert _reason(_sealed(b"x" * 1000), max_plain=999).reason == "too_large"
    assert open_sealed(_sealed(b"x" * 1000), BOB, max_plain=1000)[1] == b"x" * 1000


@pytest.mark.parametrize("compressed", [
    zlib.compress(b"abc"),  # shorter than declared
    zlib.compress(b"abcd" * 3)[:-6],  # stream cut short
    zlib.compress(b"abcd" * 3) + b"more",  # bytes after the stream
    b"not zlib at all",
])
def test_bad_compressed_data_is_damage(compressed: bytes) -> None:
    assert _reason(_forge(_full_header(12), compressed)).reason == "damaged"


def test_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sealed()
    monkeypatch.setattr(seal_module, "MAX_FILE_BYTES", len(data) - 1)
    assert _reason(data).reason == "too_large"


def test_seal_refuses_what_it_must_not_write(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown"):
        seal("letter", HEADER, b"", ALICE, BOB.public())
    with pytest.raises(ValueError, match="plain_size"):
        seal("bundle", {"plain_size": 1}, b"", ALICE, BOB.public())
    monkeypatch.setattr(seal_module, "MAX_PLAIN_BYTES", 10)
    with pytest.raises(SealError) as caught:
        seal("bundle", HEADER, b"x" * 11, ALICE, BOB.public())
    assert caught.value.reason == "too_large"


# Keys and key cards.

def test_key_id_and_fingerprint() -> None:
    key = ALICE.public()
    assert re.fullmatch(r"[0-9a-f]{16}", key.key_id)
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", key.fingerprint())
    assert key.key_id != BOB.public().key_id
    assert key.fingerprint() != BOB.public().fingerprint()
    assert KeyPair(ALICE.enc_private, ALICE.sign_private).public() == key


def test_private_keys_never_show_in_repr() -> None:
    assert ALICE.enc_private.hex() not in repr(ALICE)
    assert repr(ALICE.sign_private) not in repr(ALICE)


def test_public_key_text_round_trip() -> None:
    key = ALICE.public()
    assert len(key.to_text()) == 86
    assert PublicKey.from_text(" " + key.to_text() + "\n") == key


def test_key_card_round_trip() -> None:
    card = KeyCard("supervisor", "S-01.b_2", BOB.public())
    text = card.to_text()
    assert text.startswith("census-key 1 supervisor S-01.b_2 ")
    assert "\n" not in text
    assert KeyCard.parse("\n  " + text + "\r\n") == card


KEY = ALICE.public().to_text()
B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
# The last character carries 2 bits and 4 spare zero bits: flipping a spare bit decodes the same.
SPARE_BIT = B64[B64.index(KEY[-1]) ^ 1]
LOW_ORDER = PublicKey.__new__(PublicKey)  # bypass the constructor's check to write the text
object.__setattr__(LOW_ORDER, "enc", bytes(32))
object.__setattr__(LOW_ORDER, "sign", ALICE.public().sign)


@pytest.mark.parametrize(("text", "reason", "fragment"), [
    ("", "damaged", "is empty"),
    ("   \n", "damaged", "is empty"),
    ("hello there", "damaged", 'start with "census-key"'),
    ("census-key 1 office X1", "damaged", "has 4 parts"),
    (f"census-key 1 office X1 {KEY} extra", "damaged", "has 6 parts"),
    (f"census-key one office X1 {KEY}", "damaged", 'version "one"'),
    (f"census-key 0 office X1 {KEY}", "damaged", 'version "0"'),
    (f"census-key 2 office X1 {KEY}", "newer_format", "card version 2"),
    (f"census-key 1 mayor X1 {KEY}", "damaged", 'role "mayor"'),
    (f"census-key 1 office a/b {KEY}", "damaged", 'user code "a/b"'),
    (f"census-key 1 office {'x' * 41} {KEY}", "damaged", "user code"),
    (f"census-key 1 office \x1b[31m {KEY}", "damaged", 'user code "?[31m"'),
    ("census-key 1 office X1 abc$def", "damaged", "characters that cannot be in a key"),
    (f"census-key 1 office X1 {KEY[:-1]}", "damaged", "85 characters long"),
    (f"census-key 1 office X1 {KEY}AAAA", "damaged", "90 characters long"),
    # A different last character that decodes to the same bytes: not the key's one text.
    (f"census-key 1 office X1 {KEY[:-1]}{SPARE_BIT}", "damaged", "last character"),
    (f"census-key 1 office X1 {LOW_ORDER.to_text()}", "damaged", "not a usable public key"),
])
def test_bad_key_cards_say_what_is_wrong(text: str, reason: str, fragment: str) -> None:
    with pytest.raises(SealError) as caught:
        KeyCard.parse(text)
    assert caught.value.reason == reason
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(("the key card", "this is not a census key card"))


def test_cards_that_cannot_be_read_back_cannot_be_made() -> None:
    with pytest.raises(ValueError):
        KeyCard("mayor", "X1", BOB.public())
    with pytest.raises(ValueError):
        KeyCard("office", "two words", BOB.public())
    with pytest.raises(ValueError):
        PublicKey(bytes(31), bytes(32))
    with pytest.raises(ValueError):
        PublicKey(bytes(32), ALICE.public().sign)  # low-order X25519 point
