"""Sealed files: round trip, quiet headers and padding, flipped bits and cuts refused, forged and
hostile files refused, format 1 still read."""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
import struct
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from census.transfer import seal as seal_module
from census.transfer.keys import KeyCard, KeyPair, PublicKey, SealError
from census.transfer.seal import (
    FORMAT_VERSION,
    MAGIC,
    MIN_BUCKET,
    Clear,
    read_header,
    seal,
)
from tests.transfer.opening import Unsealed, open_sealed
from tests.transfer.sealv1 import (
    SUITE,
    canonical,
    forge_v1,
    full_header_v1,
    pieces_v1,
    resign_v1,
    seal_v1,
)

ALICE = KeyPair.generate()  # the sender
BOB = KeyPair.generate()  # the recipient
MALLORY = KeyPair.generate()  # an attacker with her own keys, who can read and rewrite files
ALICE_KEY = ALICE.public()  # public() derives the keys: once, not in the loops
HEADER = {"id": "0190d5c2-7f3a-7b1e-9c4d-2a1b3c4d5e6f", "sender": "E001", "seq": 3}
ADDED = {"format", "kind", "sender_key", "recipient", "plain_size", "compression"}
DATA = Path(__file__).parent / "data"


def _sealed(payload: bytes = b"households" * 5, kind: str = "bundle",
            sender: KeyPair = ALICE, to: KeyPair = BOB) -> bytes:
    return seal(kind, HEADER, payload, sender, to.public())


def _sealed_v1(payload: bytes = b"households" * 5, kind: str = "bundle",
               sender: KeyPair = ALICE, to: KeyPair = BOB) -> bytes:
    return seal_v1(kind, HEADER, payload, sender, to.public())


def _reason(data: bytes, **kwargs: Any) -> SealError:
    """The SealError opening `data` raises (anything else propagates and fails the test)."""
    kwargs.setdefault("recipient", BOB)
    try:  # not pytest.raises: the cut and flip tests call this tens of thousands of times
        open_sealed(data, **kwargs)
    except SealError as error:
        assert str(error)  # always a message to show
        return error
    pytest.fail("the file was accepted")


# An independent writer and reader of format 2, as an attacker (or a future census) would
# write it:
#     MAGIC | clear length (4) | clear header | ciphertext length (8) | ciphertext
#     plaintext = inner length (4) | inner header | compressed length (8) | compressed
#                 | Ed25519 signature (64) | zero padding to a power of two, at least 64 KiB

INFO_V2 = b"census-sealed-v2\n"
SIGN_PREFIX_V2 = b"census-sealed-v2 signature\n"
HPKE_OVERHEAD = 32 + 16


def _bucket(size: int) -> int:
    return max(1 << 16, 1 << (size - 1).bit_length())


def _clear(kind: str = "bundle", to: KeyPair = BOB, **fields: Any) -> dict[str, Any]:
    return {"format": 2, "kind": kind, "recipient": to.public().key_id, **fields}


def _inner(plain_size: int, sender: KeyPair = ALICE, **changes: Any) -> dict[str, Any]:
    return {**HEADER, "sender_key": sender.public().to_text(), "plain_size": plain_size,
            "compression": "zlib", **changes}


def _sign(signer: KeyPair, clear: bytes, inner: bytes, compressed: bytes) -> bytes:
    message = (SIGN_PREFIX_V2 + struct.pack(">I", len(clear)) + clear
               + struct.pack(">I", len(inner)) + inner + hashlib.sha512(compressed).digest())
    return Ed25519PrivateKey.from_private_bytes(signer.sign_private).sign(message)


def _plaintext(inner: bytes, compressed: bytes, signature: bytes,
               padding: bytes | None = None) -> bytes:
    """The plaintext; zero padding to the bucket unless `padding` is given."""
    plain = (struct.pack(">I", len(inner)) + inner + struct.pack(">Q", len(compressed))
             + compressed + signature)
    if padding is None:
        padding = bytes(_bucket(len(plain) + HPKE_OVERHEAD) - HPKE_OVERHEAD - len(plain))
    return plain + padding


def _layout(clear: bytes, plaintext: bytes, to: KeyPair = BOB) -> bytes:
    """The file holding `plaintext` encrypted to `to` under the clear header bytes `clear`."""
    ciphertext = SUITE.encrypt(plaintext, X25519PublicKey.from_public_bytes(to.public().enc),
                               info=INFO_V2 + clear)
    return (MAGIC + struct.pack(">I", len(clear)) + clear
            + struct.pack(">Q", len(ciphertext)) + ciphertext)


def _forge(inner: dict[str, Any], compressed: bytes, signer: KeyPair = ALICE,
           to: KeyPair = BOB, clear: dict[str, Any] | None = None,
           padding: bytes | None = None) -> bytes:
    """A well-formed, properly encrypted and signed format-2 file with any headers and any
    (supposedly zlib) compressed stream."""
    clear_bytes = canonical(_clear(to=to) if clear is None else clear)
    inner_bytes = canonical(inner)
    signature = _sign(signer, clear_bytes, inner_bytes, compressed)
    return _layout(clear_bytes, _plaintext(inner_bytes, compressed, signature, padding), to)


def _pieces(data: bytes) -> tuple[bytes, bytes]:
    """The clear header bytes and the ciphertext of a format-2 file, read by hand."""
    at = len(MAGIC)
    (clear_len,) = struct.unpack_from(">I", data, at)
    clear = data[at + 4 : at + 4 + clear_len]
    at += 4 + clear_len
    (cipher_len,) = struct.unpack_from(">Q", data, at)
    assert len(data) == at + 8 + cipher_len  # nothing after the ciphertext
    return clear, data[at + 8 :]


def _decrypt(data: bytes, reader: KeyPair = BOB) -> tuple[bytes, bytes]:
    """What the holder of `reader`'s private key sees: the clear header bytes, the plaintext."""
    clear, ciphertext = _pieces(data)
    plaintext = SUITE.decrypt(ciphertext, X25519PrivateKey.from_private_bytes(reader.enc_private),
                              info=INFO_V2 + clear)
    return clear, plaintext


def _unpack(plaintext: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """Inner header bytes, compressed payload, signature, padding."""
    (inner_len,) = struct.unpack_from(">I", plaintext, 0)
    inner = plaintext[4 : 4 + inner_len]
    at = 4 + inner_len
    (compressed_len,) = struct.unpack_from(">Q", plaintext, at)
    at += 8
    compressed = plaintext[at : at + compressed_len]
    at += compressed_len
    return inner, compressed, plaintext[at : at + 64], plaintext[at + 64 :]


# Round trip and layout.

def test_round_trip_keeps_header_payload_and_sender_key() -> None:
    payload = bytes(range(256)) * 40
    opened = open_sealed(_sealed(payload), BOB, sender=ALICE.public())
    assert isinstance(opened, Unsealed)
    assert opened.payload == payload
    assert opened.sender_key == ALICE.public()
    assert opened.header == {**HEADER, "format": FORMAT_VERSION, "kind": "bundle",
                             "sender_key": ALICE.public().to_text(),
                             "recipient": BOB.public().key_id, "plain_size": len(payload),
                             "compression": "zlib"}
    assert FORMAT_VERSION == 2


def test_layout_is_as_documented() -> None:
    payload = b"x" * 1000
    data = _sealed(payload)
    assert data.startswith(MAGIC)
    clear, ciphertext = _pieces(data)
    # The clear header: exactly format, kind and recipient, in canonical JSON.
    assert clear == canonical({"format": 2, "kind": "bundle", "recipient": BOB.public().key_id})
    assert read_header(data) == Clear({"format": 2, "kind": "bundle",
                                       "recipient": BOB.public().key_id})
    assert len(data) == len(MAGIC) + 4 + len(clear) + 8 + len(ciphertext)  # no outer signature
    assert len(ciphertext) == MIN_BUCKET == 1 << 16
    # Inside: the inner header, the compressed payload, the signature over both headers and
    # the compressed payload, zeros to the end.
    seen_clear, plaintext = _decrypt(data)
    inner, compressed, signature, padding = _unpack(plaintext)
    assert seen_clear == clear
    assert inner == canonical({**HEADER, "sender_key": ALICE.public().to_text(),
                               "plain_size": len(payload), "compression": "zlib"})
    assert zlib.decompress(compressed) == payload
    assert signature == _sign(ALICE, clear, inner, compressed)  # Ed25519 is deterministic
    assert padding == bytes(len(padding))
    assert len(plaintext) + HPKE_OVERHEAD == len(ciphertext)
    # A file written by the independent writer above opens too, and is as long as seal's.
    forged = _forge(_inner(len(payload)), zlib.compress(payload, 6))
    assert len(forged) == len(data)
    opened = open_sealed(forged, BOB, sender=ALICE.public())
    assert opened.payload == payload
    assert opened.header == open_sealed(data, BOB).header


def test_nothing_but_format_kind_and_recipient_shows() -> None:
    header = {"id": "01a2490b-6b54-7f56-a8ef-d7d42b0b24fa", "sender": "E001",
              "sender_role": "enumerator", "recipient_code": "S001", "seq": 3,
              "created": "2026-12-06T09:00:00Z", "counts": {"dwellings": 4, "households": 3}}
    payload = json.dumps({"dwellings": ["yellow house past the bridge"] * 40}).encode()
    data = seal("bundle", header, payload, ALICE, BOB.public())
    clear, ciphertext = _pieces(data)
    # Outside the ciphertext: the marker, the lengths and the three clear fields, nothing else.
    assert clear == canonical({"format": 2, "kind": "bundle", "recipient": BOB.public().key_id})
    assert data[: len(data) - len(ciphertext)] == (MAGIC + struct.pack(">I", len(clear)) + clear
                                                   + struct.pack(">Q", len(ciphertext)))
    # And nothing of the header shows in the ciphertext either (tokens long enough that random
    # bytes never hold them by chance).
    key = ALICE.public()
    anywhere = [key.to_text().encode(), key.enc, key.sign, ALICE.public().key_id.encode(),
                b'"sender"', b'"E001"', b'"S001"', b'"enumerator"', b'"seq"', b'"counts"',
                b'"households"', b'"dwellings"', b"2026-12-06", b"01a2490b", b'"created"',
                b'"sender_key"', b'"plain_size"', b'"compression"', b'"zlib"',
                b"yellow house"]
    for token in anywhere:
        assert token not in data, token
    assert open_sealed(data, BOB).header["counts"] == header["counts"]


def test_length_says_only_the_size_bucket() -> None:
    rng = random.Random(14)
    payloads = [b"", rng.randbytes(40_000), rng.randbytes(70_000)]  # random: incompressible
    small, large, larger = (seal("bundle", HEADER, p, ALICE, BOB.public()) for p in payloads)
    assert len(small) == len(large)
    for data, payload in zip((small, large, larger), payloads, strict=True):
        size = len(_pieces(data)[1])
        assert size >= 1 << 16
        assert size & (size - 1) == 0, size  # a power of two
        assert open_sealed(data, BOB).payload == payload
    assert len(_pieces(larger)[1]) == 1 << 17
    # Every file up to the bucket is as long, whatever the kind or the header's size.
    receipt = seal("receipt", {**HEADER, "note": "n" * 5000}, b"r", ALICE, BOB.public())
    assert len(_pieces(receipt)[1]) == len(_pieces(small)[1])


def test_read_header_needs_no_keys_and_shows_only_the_clear_fields() -> None:
    data = _sealed(kind="receipt")
    clear = read_header(data)
    assert clear.header == {"format": 2, "kind": "receipt", "recipient": BOB.public().key_id}
    assert clear.kind == "receipt"
    assert not hasattr(clear, "sender_key")
    # It does not decrypt: a damaged ciphertext reads the same.
    damaged = data[:-1] + bytes([data[-1] ^ 1])
    assert read_header(damaged) == clear
    assert _reason(damaged, kinds=("receipt",)).reason == "damaged"


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
    opened = open_sealed(data, BOB, sender=ALICE.public(), kinds=(kind,))
    assert opened.payload == payload
    assert opened.sender_key == ALICE.public()
    assert {k: opened.header[k] for k in fields} == fields
    assert set(opened.header) == set(fields) | ADDED
    assert read_header(data).header == _clear(kind)


# Damage: flipped bits, cuts, bytes after the end.

FLIP_REASONS = {"not_sealed", "truncated", "damaged", "newer_format", "wrong_recipient"}


def _flip_reason(data: bytes, offset: int, bit: int) -> str:
    flipped = bytearray(data)
    flipped[offset] ^= 1 << bit
    return _reason(bytes(flipped), sender=ALICE_KEY).reason


def test_every_single_bit_flip_is_refused() -> None:
    data = _sealed(b"ok")
    clear, ciphertext = _pieces(data)
    start = len(data) - len(ciphertext)
    # Where the recipient's key id is: a flip there may name another key, and the recipient is
    # checked before decrypting.
    key_id = start - 8 - len(clear) + clear.index(BOB.public().key_id.encode())
    seen = set()
    for offset in range(start):  # every bit of the marker, lengths and clear header
        for bit in range(8):
            reason = _flip_reason(data, offset, bit)
            assert reason in FLIP_REASONS, (offset, bit, reason)
            if reason == "wrong_recipient":
                assert key_id <= offset < key_id + 16, (offset, bit)
            seen.add(reason)
    # Every flip in the ciphertext fails decryption: the first and last 300 bytes (the
    # encapsulated key, the start of the plaintext, the padding and the tag), and a sample of
    # the rest.
    ends = [*range(start, start + 300), *range(len(data) - 300, len(data))]
    middle = random.Random(2).sample(range(start + 300, len(data) - 300), 300)
    for offset in ends + middle:
        for bit in range(8):
            assert _flip_reason(data, offset, bit) == "damaged", (offset, bit)
    # Flips in the marker, lengths, header and body each show up as what they are.
    assert seen == FLIP_REASONS


def test_every_cut_is_refused_as_truncated() -> None:
    data = _sealed(b"ok")
    view = memoryview(data)
    for size in range(len(data)):
        error = _reason(bytes(view[:size]), sender=ALICE_KEY)
        assert error.reason == "truncated", (size, error.reason, str(error))
    assert "5 bytes early" in str(_reason(data[:-5]))


def test_trailing_bytes_are_damage() -> None:
    error = _reason(_sealed() + b"\n")
    assert error.reason == "damaged"
    assert "1 unexpected bytes" in str(error)


def test_not_a_sealed_file() -> None:
    assert _reason(b"SQLite format 3\x00" + bytes(200)).reason == "not_sealed"
    assert _reason(b"").reason == "truncated"
    assert _reason(MAGIC[:5]).reason == "truncated"


def test_hostile_clear_headers_are_damage_not_crashes() -> None:
    bob = BOB.public().key_id
    for header in [b"[" * 100_000 + b"]" * 100_000, b'{"format":NaN}', b"\xff\xfe", b"[1,2]",
                   b'{"format":1e400}', b'{"format":' + b"9" * 5000 + b"}", b"{}",
                   b'{"format":"2","kind":"bundle","recipient":"' + bob.encode() + b'"}',
                   b'{"format":true,"kind":"bundle","recipient":"' + bob.encode() + b'"}',
                   b'{"format":0,"kind":"bundle","recipient":"' + bob.encode() + b'"}',
                   canonical(_clear(kind="letter")), canonical({**_clear(), "kind": 7}),
                   canonical({"format": 2, "kind": "bundle"}),
                   canonical(_clear(recipient=bob.upper())), canonical(_clear(recipient=1)),
                   # Format 1 kept every field in clear: without them it is damage.
                   canonical({**_clear(), "format": 1})]:
        data = MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">Q", 64) + bytes(64)
        assert _reason(data).reason == "damaged", header[:60]
        with pytest.raises(SealError):
            read_header(data)
    huge = MAGIC + struct.pack(">I", 0xFFFFFFFF) + bytes(100)
    assert _reason(huge).reason == "damaged"
    impossible = _pieces(_sealed())[0]
    data = MAGIC + struct.pack(">I", len(impossible)) + impossible + struct.pack(">Q", 1 << 40)
    assert "impossible" in str(_reason(data))


def test_bad_inner_layouts_are_damage() -> None:
    clear = canonical(_clear())
    inner = canonical(_inner(3))
    compressed = zlib.compress(b"abc")

    def signed(inner_bytes: bytes) -> bytes:
        return _plaintext(inner_bytes, compressed, _sign(ALICE, clear, inner_bytes, compressed))

    good = signed(inner)
    assert open_sealed(_layout(clear, good), BOB).payload == b"abc"
    body = len(good) - len(_unpack(good)[3])  # without the padding
    plaintexts = [
        b"",
        b"\0\0\0",
        struct.pack(">I", (1 << 20) + 1) + bytes(1 << 16),  # an inner header over 1 MiB
        struct.pack(">I", 1 << 17) + bytes(1000),  # longer than the plaintext
        good[:body - 1],  # the signature cut short
        good[:4 + len(inner) + 4] + struct.pack(">I", 1 << 16) + good[4 + len(inner) + 8 :],
        signed(b"not json"),
        signed(b"[1,2]"),
        signed(b'{"a":' * 1000 + b"1" + b"}" * 1000),
        *(signed(canonical({k: v for k, v in _inner(3).items() if k != field}))
          for field in ("sender_key", "plain_size", "compression")),
        signed(canonical(_inner(-1))),
        signed(canonical({**_inner(3), "plain_size": "3"})),
        signed(canonical({**_inner(3), "plain_size": True})),
        signed(canonical(_inner(3, compression="gzip"))),
        signed(canonical(_inner(3, sender_key="not a key"))),
    ]
    for index, plaintext in enumerate(plaintexts):
        assert _reason(_layout(clear, plaintext)).reason == "damaged", index


def test_non_zero_padding_is_damage() -> None:
    data = _sealed()
    _, plaintext = _decrypt(data)
    inner, compressed, signature, padding = _unpack(plaintext)
    assert padding and not any(padding)
    clear = canonical(_clear())
    for at in (0, len(padding) // 2, len(padding) - 1):
        bad = bytearray(padding)
        bad[at] = 1
        forged = _layout(clear, _plaintext(inner, compressed, signature, bytes(bad)))
        assert _reason(forged).reason == "damaged", at
    # The same plaintext with its zeros opens: only the padding was wrong.
    good = _layout(clear, _plaintext(inner, compressed, signature, padding))
    assert open_sealed(good, BOB, sender=ALICE.public()).payload == b"households" * 5


# Addressing and senders.

def test_wrong_recipient_shows_both_key_ids() -> None:
    data = _sealed(to=MALLORY)
    error = _reason(data, sender=ALICE.public())
    assert error.reason == "wrong_recipient"
    assert MALLORY.public().key_id in str(error)
    assert BOB.public().key_id in str(error)
    # The recipient is read from the clear header before anything is decrypted.
    clear = canonical(_clear(to=MALLORY))
    garbage = MAGIC + struct.pack(">I", len(clear)) + clear + struct.pack(">Q", 100) + bytes(100)
    assert _reason(garbage).reason == "wrong_recipient"
    assert open_sealed(data, MALLORY).payload == b"households" * 5


def test_wrong_kind() -> None:
    error = _reason(_sealed(kind="receipt"))
    assert error.reason == "wrong_kind"
    assert "receipt" in str(error) and "bundle" in str(error)
    assert open_sealed(_sealed(kind="receipt"), BOB, kinds=("bundle", "receipt")).payload


def test_unexpected_sender_sealing_with_her_own_key() -> None:
    data = _sealed(sender=MALLORY)
    error = _reason(data, sender=ALICE.public())
    assert error.reason == "unexpected_sender"
    assert MALLORY.public().key_id in str(error) and ALICE.public().key_id in str(error)
    # Without an expected sender the file opens: trust is the caller's decision, made from the
    # returned sender key, which names Mallory, not Alice (her header may say "E001").
    opened = open_sealed(data, BOB)
    assert opened.sender_key == MALLORY.public()
    assert opened.header["sender_key"] == MALLORY.public().to_text()
    assert opened.header["sender"] == "E001"


def test_mallory_cannot_take_alices_file_as_hers() -> None:
    # A file Alice sealed for Mallory (Mallory can read it), with Mallory's key put in.
    _, plaintext = _decrypt(_sealed(to=MALLORY), MALLORY)
    inner, compressed, alices_signature, _ = _unpack(plaintext)
    hers = canonical({**json.loads(inner), "sender_key": MALLORY.public().to_text()})
    clear = canonical(_clear())
    # Keeping Alice's signature, sent on to Bob: it does not verify under Mallory's key.
    kept = _layout(clear, _plaintext(hers, compressed, alices_signature))
    assert _reason(kept).reason == "bad_signature"
    assert _reason(kept, sender=ALICE.public()).reason == "bad_signature"
    # Signing it herself makes it her file, and only hers: the expected sender catches it.
    signed = _layout(clear, _plaintext(hers, compressed, _sign(MALLORY, clear, hers, compressed)))
    assert _reason(signed, sender=ALICE.public()).reason == "unexpected_sender"
    assert open_sealed(signed, BOB).sender_key == MALLORY.public()
    # Alice's file for Bob gives her nothing to swap: no sender shows in it.
    data = _sealed()
    assert ALICE.public().to_text().encode() not in data
    assert ALICE.public().sign not in data


def test_mallory_cannot_sign_in_alices_name() -> None:
    # Her own content, claiming Alice's key, signed by herself, properly encrypted to Bob.
    forged = _forge(_inner(3), zlib.compress(b"abc"), signer=MALLORY)
    assert _reason(forged).reason == "bad_signature"
    assert _reason(forged, sender=ALICE.public()).reason == "bad_signature"
    assert _reason(forged, kinds=("receipt",)).reason == "bad_signature"  # before the kind
    # Alice's real content, re-encrypted to Bob with a changed sequence number and Mallory's
    # signature; and with Alice's own signature kept.
    _, plaintext = _decrypt(_sealed(to=MALLORY), MALLORY)
    inner, compressed, alices_signature, _ = _unpack(plaintext)
    changed = canonical({**json.loads(inner), "seq": 99})
    clear = canonical(_clear())
    ours = _layout(clear, _plaintext(changed, compressed, _sign(MALLORY, clear, changed,
                                                                compressed)))
    assert _reason(ours).reason == "bad_signature"
    kept = _layout(clear, _plaintext(changed, compressed, alices_signature))
    assert _reason(kept).reason == "bad_signature"
    # The same forgery signed by Alice opens: the signature is what was refused.
    real = _layout(clear, _plaintext(changed, compressed, _sign(ALICE, clear, changed,
                                                                compressed)))
    assert open_sealed(real, BOB, sender=ALICE.public()).header["seq"] == 99


def test_a_file_cannot_be_sent_on_to_another_key() -> None:
    # Mallory, who received a file from Alice, re-encrypts it unchanged to Bob, addressed to
    # him: Alice's signature covers the clear header, which named Mallory.
    _, plaintext = _decrypt(_sealed(to=MALLORY), MALLORY)
    sent_on = _layout(canonical(_clear()), plaintext)
    assert _reason(sent_on, sender=ALICE.public()).reason == "bad_signature"
    # Keeping the clear header that names her, encrypted to Bob: not addressed to Bob.
    kept = _layout(canonical(_clear(to=MALLORY)), plaintext)
    assert _reason(kept).reason == "wrong_recipient"


def test_ciphertext_is_bound_to_its_clear_header() -> None:
    data = _sealed()
    _, ciphertext = _pieces(data)
    assert open_sealed(data, BOB).payload
    for clear in (_clear(kind="receipt"), _clear(kind="assignment"), _clear(seq=4)):
        clear_bytes = canonical(clear)
        moved = (MAGIC + struct.pack(">I", len(clear_bytes)) + clear_bytes
                 + struct.pack(">Q", len(ciphertext)) + ciphertext)
        assert _reason(moved, kinds=("bundle", "receipt", "assignment")).reason == "damaged"
    # The same clear header in other bytes (spaces, another key order) does not open either.
    spaced = json.dumps(_clear(), sort_keys=False, indent=1).encode()
    moved = (MAGIC + struct.pack(">I", len(spaced)) + spaced + struct.pack(">Q", len(ciphertext))
             + ciphertext)
    assert read_header(moved).header == read_header(data).header
    assert _reason(moved).reason == "damaged"


def test_newer_format() -> None:
    data = _forge(_inner(3), zlib.compress(b"abc"), clear=_clear(format=3))
    with pytest.raises(SealError) as caught:
        read_header(data)
    assert caught.value.reason == "newer_format"
    error = _reason(data, sender=ALICE.public())
    assert error.reason == "newer_format"
    assert "newer version of census (format 3)" in str(error)
    # Checked first: a newer census may have changed everything after the format.
    alone = canonical({"format": 3})
    assert _reason(MAGIC + struct.pack(">I", len(alone)) + alone).reason == "newer_format"


@pytest.mark.parametrize("extra", [
    {"plain_size": "3"},
    {"plain_size": -1},
    {"sender_key": MALLORY.public().to_text()},
    {"seq": 4},
])
def test_clear_fields_do_not_override_the_signed_inner_ones(extra: dict[str, Any]) -> None:
    # Any key holder can seal such a file (here Alice); it must be refused as damage, or open
    # with the inner header's values, which were checked.
    data = _forge(_inner(3), zlib.compress(b"abc"), clear=_clear(**extra))
    try:
        opened = open_sealed(data, BOB)
    except SealError as error:
        assert error.reason == "damaged"
        return
    assert opened.payload == b"abc"
    assert {k: opened.header[k] for k in extra} == {k: _inner(3)[k] for k in extra}
    assert opened.header["sender_key"] == opened.sender_key.to_text()


# Sizes and compression (format 2, and format 1 which shares the bounded inflate).

def _forge_either(version: int, plain_size: int, compressed: bytes) -> bytes:
    if version == 1:
        header = full_header_v1(HEADER, "bundle", ALICE.public(), BOB.public(), plain_size)
        return forge_v1(header, compressed, ALICE, BOB.public())
    return _forge(_inner(plain_size), compressed)


def _zeros_stream(megabytes: int) -> bytes:
    compressor = zlib.compressobj(1)  # level 1: fastest; zeros still shrink about 220 times
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(megabytes)]
    return b"".join([*parts, compressor.flush()])


@pytest.mark.parametrize("version", [2, 1])
def test_compression_bomb_is_refused_in_little_memory(version: int) -> None:
    bomb = _forge_either(version, 1000, _zeros_stream(200))  # 200 MB of zeros, 1 kB declared
    assert len(bomb) <= (1 << 20) + 200  # padded to 1 MiB in format 2
    tracemalloc.start()
    try:
        error = _reason(bomb, sender=ALICE.public())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.reason == "too_large"
    assert "1000 bytes" in str(error)
    assert peak < 20 << 20


@pytest.mark.parametrize("version", [2, 1])
def test_declared_size_over_the_limit_is_refused_before_decompressing(version: int) -> None:
    # Not zlib at all: decompressing would say "damaged"; the size check comes first.
    assert _reason(_forge_either(version, 1 << 40, b"not zlib")).reason == "too_large"
    assert _reason(_forge_either(version, 12, b"not zlib")).reason == "damaged"
    make = _sealed if version == 2 else _sealed_v1
    assert _reason(make(b"x" * 1000), max_plain=999).reason == "too_large"
    assert open_sealed(make(b"x" * 1000), BOB, max_plain=1000).payload == b"x" * 1000


@pytest.mark.parametrize("version", [2, 1])
@pytest.mark.parametrize("compressed", [
    zlib.compress(b"abc"),  # shorter than declared
    zlib.compress(b"abcd" * 3)[:-6],  # stream cut short
    zlib.compress(b"abcd" * 3) + b"more",  # bytes after the stream
    b"not zlib at all",
])
def test_bad_compressed_data_is_damage(version: int, compressed: bytes) -> None:
    assert _reason(_forge_either(version, 12, compressed)).reason == "damaged"
    assert open_sealed(_forge_either(version, 12, zlib.compress(b"abcd" * 3)),
                       BOB).payload == b"abcd" * 3


def test_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sealed()
    monkeypatch.setattr(seal_module, "MAX_FILE_BYTES", len(data) - 1)
    error = _reason(data)
    assert error.reason == "too_large"
    assert str(len(data)) in str(error)


def test_seal_refuses_what_it_must_not_write(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown"):
        seal("letter", HEADER, b"", ALICE, BOB.public())
    for field in sorted(ADDED):
        with pytest.raises(ValueError, match=field):
            seal("bundle", {**HEADER, field: 1}, b"", ALICE, BOB.public())
    # The padding stops at the largest file census reads; what cannot fit is refused.
    monkeypatch.setattr(seal_module, "MAX_FILE_BYTES", 50_000)
    capped = _sealed()
    assert len(capped) == 50_000
    assert open_sealed(capped, BOB).payload == b"households" * 5
    with pytest.raises(SealError) as caught:
        _sealed(random.Random(1).randbytes(50_000))
    assert caught.value.reason == "too_large"
    monkeypatch.setattr(seal_module, "MAX_PLAIN_BYTES", 10)
    with pytest.raises(SealError) as caught:
        seal("bundle", HEADER, b"x" * 11, ALICE, BOB.public())
    assert caught.value.reason == "too_large"


# Format 1 (census before issue 14) is still read.

def test_format_1_round_trip() -> None:
    payload = bytes(range(256)) * 40
    data = _sealed_v1(payload, kind="receipt")
    full = full_header_v1(HEADER, "receipt", ALICE.public(), BOB.public(), len(payload))
    assert pieces_v1(data)[0] == full
    opened = open_sealed(data, BOB, sender=ALICE.public(), kinds=("receipt",))
    assert opened == Unsealed(full, payload, ALICE.public())
    assert read_header(data) == Clear(full)  # format 1 showed every field in clear
    assert _reason(data).reason == "wrong_kind"
    assert _reason(_sealed_v1(to=MALLORY)).reason == "wrong_recipient"
    assert _reason(_sealed_v1(sender=MALLORY), sender=ALICE.public()).reason == \
        "unexpected_sender"


def test_format_1_every_single_bit_flip_is_refused() -> None:
    data = _sealed_v1(b"ok")
    seen = set()
    for offset in range(len(data)):
        for bit in range(8):
            reason = _flip_reason(data, offset, bit)
            # The signature is checked before the recipient: no flip reads as wrong_recipient.
            assert reason in {"not_sealed", "truncated", "damaged", "newer_format",
                              "bad_signature"}, (offset, bit, reason)
            seen.add(reason)
    assert {"not_sealed", "damaged", "bad_signature", "newer_format"} <= seen
    view = memoryview(data)
    for size in range(len(data)):
        assert _reason(bytes(view[:size])).reason == "truncated", size


def test_format_1_forgeries_are_refused() -> None:
    data = _sealed_v1()
    # Same header, Mallory's signature; or a changed sequence number, her signature.
    assert _reason(resign_v1(data, MALLORY), sender=ALICE.public()).reason == "bad_signature"
    assert _reason(resign_v1(data, MALLORY, seq=99)).reason == "bad_signature"
    # Her own content claiming to be from Alice, properly encrypted to Bob.
    forged = forge_v1(full_header_v1(HEADER, "bundle", ALICE.public(), BOB.public(), 3),
                      zlib.compress(b"abc"), MALLORY, BOB.public())
    assert _reason(forged).reason == "bad_signature"
    # Checked first: a bad signature on a file for someone else is not "wrong recipient".
    assert _reason(resign_v1(_sealed_v1(to=MALLORY), MALLORY)).reason == "bad_signature"
    # Mallory swaps in her key and signs validly: the ciphertext, bound to the original header,
    # does not open (decryption now comes before the expected sender's check).
    hers = resign_v1(data, MALLORY, sender_key=MALLORY.public().to_text())
    assert _reason(hers, sender=ALICE.public()).reason == "damaged"
    assert _reason(hers).reason == "damaged"
    # Even Alice's signature over a changed header does not make it open.
    assert _reason(resign_v1(data, ALICE, seq=4), sender=ALICE.public()).reason == "damaged"


def test_format_1_file_made_by_the_old_census_opens() -> None:
    made = json.loads((DATA / "v1-bundle.json").read_text(encoding="utf-8"))
    data = (DATA / "v1-bundle.census").read_bytes()
    recipient = KeyPair(bytes.fromhex(made["recipient"]["enc_private"]),
                        bytes.fromhex(made["recipient"]["sign_private"]))
    sender = KeyPair(bytes.fromhex(made["sender"]["enc_private"]),
                     bytes.fromhex(made["sender"]["sign_private"]))
    opened = open_sealed(data, recipient, sender=sender.public())
    assert {k: opened.header[k] for k in made["header"]} == made["header"]
    assert set(opened.header) == set(made["header"]) | ADDED
    assert opened.header["format"] == 1
    assert opened.header["recipient"] == recipient.public().key_id
    assert len(opened.payload) == made["payload_bytes"] == opened.header["plain_size"]
    assert opened.sender_key == sender.public()
    content = json.loads(opened.payload)
    assert (len(content["dwellings"]), len(content["households"])) == (
        made["dwellings"], made["households"])
    assert read_header(data).header == opened.header
    assert _reason(data, recipient=BOB).reason == "wrong_recipient"
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    assert _reason(flipped, recipient=recipient).reason == "bad_signature"


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
