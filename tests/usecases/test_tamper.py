"""Bad files, end to end: every corrupted, truncated, tampered, replayed, wrongly addressed or
hostile file given to `census bundle import` (and to `receipt import`, `assignment import`) is
refused with exit status 2 and a message naming the file and the reason, with no traceback, and
the receiving database is left exactly as it was: every row of every table, the audit chain.

These run the real commands (click's CliRunner) on the real encrypted databases of a small field
operation (tests/usecases/fieldwork.py). The byte-level checks of the sealed format itself are
in tests/transfer/test_seal.py; here the question is what the whole import step does with such a
file.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from census.domain.ids import new_id
from census.domain.model import Role
from census.formats.payload import encode, household_row
from census.storage.areas import import_areas
from census.storage.exchange.bodies import bundle_body
from census.storage.exchange.peers import save_peer, upstream
from census.storage.records import count_rows, load_dwelling
from census.storage.store import Store, utc_now
from census.transfer.keys import KeyPair
from census.transfer.seal import MAGIC, seal
from census.usecases.assign import assign_areas
from census.usecases.entry import Entry
from census.usecases.keys import card, keypair
from census.usecases.receipts import export_receipt
from tests.transfer.opening import open_sealed
from tests.usecases import fieldwork as fw
from tests.usecases.fieldwork import Site, census, dump

EA1 = "R01-D01-EA001"
EA2 = "R01-D01-EA002"
HILL1 = "R01-D02-EA001"
SIGNATURE = 64
# The reason words of the messages (census/transfer/seal.py).
BAD_SIGNATURE = "signature does not match its contents"
UNDECRYPTABLE = "its contents cannot be decrypted"
TRUNCATED = "the file is truncated"


# -- running the commands ------------------------------------------------------------------------


def db(site: Site) -> Path:
    return site.store.path


def import_bundle(site: Site, *files: Path) -> Result:
    return census("bundle", "import", *files, "--db", db(site))


def refused(result: Result, path: Path, *words: str) -> None:
    """Exit status 2, and a message naming the file and the reason, without a traceback."""
    out = result.output
    assert result.exit_code == 2, out
    assert str(path) in out, out
    for word in words:
        assert word in out, (word, out)
    assert "Traceback" not in out and "Internal error" not in out, out


def copy_db(site: Site, to: Path) -> Path:
    """A copy of a site's database file (its WAL checkpointed into it first)."""
    busy, _log, _done = site.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    shutil.copyfile(db(site), to)
    return to


def audit_entries(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM audit").fetchone()[0])


@contextmanager
def unchanged(site: Site) -> Iterator[None]:
    """The body changes nothing in `site`'s database; its audit log still verifies."""
    snap, rows, entries = fw.snapshot(site.store), dump(site.store), audit_entries(site.store)
    yield
    assert fw.snapshot(site.store) == snap
    assert audit_entries(site.store) == entries
    assert dump(site.store) == rows
    verify = census("audit", "verify", "--db", db(site))
    assert verify.exit_code == 0 and "Audit log intact" in verify.output, verify.output


# -- files made by hand, as an attacker or a future census would make them ----------------------

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def _header(sender: Site, to: Site, **fields: Any) -> dict[str, Any]:
    """The caller's header fields of a bundle from `sender` to `to` (as
    census.usecases.exchange.seal_in)."""
    return {"id": new_id(), "sender": sender.code, "sender_role": str(sender.store.role),
            "recipient_code": to.code, "created": utc_now(), "seq": 90,
            "counts": {"dwellings": 0, "households": 0}, **fields}


def forge(sender: Site, to: Site, compressed: bytes, plain_size: int, *,
          format: int = 2, keys: KeyPair | None = None, **inner: Any) -> bytes:
    """A sealed file (format 2) written byte by byte: properly encrypted to `to` and signed by
    `sender`'s real keys (or `keys`), with any format number, any zlib stream and any inner
    header fields (the sealing code refuses to write such files, so this does it without
    it)."""
    keys = keys or keypair(sender.store)
    recipient = card(to.store).key
    clear = _json({"format": format, "kind": "bundle", "recipient": recipient.key_id})
    inner_bytes = _json({**_header(sender, to), "sender_key": keys.public().to_text(),
                         "plain_size": plain_size, "compression": "zlib", **inner})
    signed = (b"census-sealed-v2 signature\n" + struct.pack(">I", len(clear)) + clear
              + struct.pack(">I", len(inner_bytes)) + inner_bytes
              + hashlib.sha512(compressed).digest())
    signature = Ed25519PrivateKey.from_private_bytes(keys.sign_private).sign(signed)
    plain = (struct.pack(">I", len(inner_bytes)) + inner_bytes
             + struct.pack(">Q", len(compressed)) + compressed + signature)
    ciphertext = _SUITE.encrypt(plain, X25519PublicKey.from_public_bytes(recipient.enc),
                                info=b"census-sealed-v2\n" + clear)
    return (MAGIC + struct.pack(">I", len(clear)) + clear + struct.pack(">Q", len(ciphertext))
            + ciphertext)


def _json(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def header_span(data: bytes) -> tuple[int, int]:
    """Where the clear JSON header of a sealed file starts and ends."""
    start = len(MAGIC) + 4
    (length,) = struct.unpack_from(">I", data, len(MAGIC))
    return start, start + length


B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
HEX = set(b"0123456789abcdef")


def in_field(data: bytes, name: str, first: int, last: int, alphabet: set[int]) -> int:
    """The offset of a character of the header's text field `name` (characters first..last)
    whose lowest bit can flip to another character of `alphabet`: the field still reads, with
    another value (keys and key ids are random, so the position is looked for)."""
    start, end = header_span(data)
    prefix = f'"{name}":"'.encode()
    at = start + data[start:end].index(prefix) + len(prefix)
    return next(at + i for i in range(first, last + 1) if data[at + i] ^ 1 in alphabet)


def flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 1 << bit
    return bytes(changed)


# -- a small field operation --------------------------------------------------------------------


@dataclass
class World:
    """Office O001; supervisors S001 (district D01) and S002 (D02); enumerators:
    E001 (EA001 under S001, 3 finished dwellings, a bundle for S001 exported, not imported);
    E002 (EA002 under S001; it also listed in EA001, which is not its area);
    E003 (registered by S001 for EA002 but working for S002: it trusts S002);
    E004 (a new device with S001's assignment file not yet imported);
    E009 (a stranger that knows S001's public key and sends it a bundle) and an impostor
    device calling itself E001."""

    tmp: Path
    office: Site
    s1: Site
    s2: Site
    e1: Site
    e2: Site
    e3: Site
    e4: Site
    e1_bundle: Path
    e2_bundle: Path
    e3_bundle: Path
    stranger_bundle: Path
    impostor_bundle: Path
    office_to_s1: Path
    s1_to_e3: Path
    s1_to_e4: Path

    def sites(self) -> list[Site]:
        return [self.office, self.s1, self.s2, self.e1, self.e2, self.e3, self.e4]


def _trusting(tmp: Path, code: str, boss: Site) -> Site:
    """A device that took `boss`'s public key (it is public) without being assigned anything."""
    s = fw.site(tmp, Role.ENUMERATOR, code)
    key = card(boss.store).key
    with s.store.write() as chain:
        save_peer(s.store, chain, boss.code, Role.SUPERVISOR, "upstream", key.enc,
                           key.sign, key.key_id, key.fingerprint())
    import_areas(s.store, fw.REGISTER, code)
    return s


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("tamper")
    office = fw.site(tmp, Role.OFFICE, "O001", register=True)
    s1 = fw.site(tmp, Role.SUPERVISOR, "S001")
    s2 = fw.site(tmp, Role.SUPERVISOR, "S002")
    fw.assign(office, s1, ["R01-D01"])
    office_to_s1 = office.files[-1]
    fw.assign(office, s2, ["R01-D02"])

    e1 = fw.site(tmp, Role.ENUMERATOR, "E001")
    fw.assign(s1, e1, [EA1])
    fw.enter(e1, EA1, range(1, 4))
    e1_bundle = fw.bundle(e1)

    e2 = fw.site(tmp, Role.ENUMERATOR, "E002")
    fw.assign(s1, e2, [EA2])
    # E002's device is given EA001 too (say, by `census area import`), and lists in it.
    import_areas(e2.store, [a for a in fw.REGISTER if a.code == EA1], "E002")
    fw.enter(e2, EA2, range(1, 3))
    fw.enter(e2, EA1, range(50, 52))
    e2_bundle = fw.bundle(e2)

    e3 = fw.site(tmp, Role.ENUMERATOR, "E003")
    s1_to_e3 = s1.out("assignment")
    assign_areas(s1.store, "E003", [EA2], e3.card(), s1_to_e3)  # never imported
    fw.assign(s2, e3, [HILL1])
    fw.enter(e3, HILL1, range(1, 3))
    e3_bundle = fw.bundle(e3)

    e4 = fw.site(tmp, Role.ENUMERATOR, "E004")
    s1_to_e4 = s1.out("assignment")
    assign_areas(s1.store, "E004", [EA2], e4.card(), s1_to_e4)

    stranger = _trusting(tmp, "E009", s1)
    fw.enter(stranger, EA1, range(70, 72))
    stranger_bundle = fw.bundle(stranger)
    impostor = _trusting(tmp / "impostor", "E001", s1)
    fw.enter(impostor, EA1, range(80, 82))
    impostor_bundle = fw.bundle(impostor)
    stranger.store.close()
    impostor.store.close()

    w = World(tmp, office, s1, s2, e1, e2, e3, e4, e1_bundle, e2_bundle, e3_bundle,
              stranger_bundle, impostor_bundle, office_to_s1, s1_to_e3, s1_to_e4)
    yield w
    for s in w.sites():
        s.store.close()


@pytest.fixture
def pair(team: tuple[Site, Site]) -> tuple[Site, Site]:
    """The team's supervisor S01 and its enumerator E001, with 3 finished dwellings in EA001."""
    sup, e1 = team
    fw.enter(e1, EA1, range(1, 4))
    return sup, e1


# -- damaged files ------------------------------------------------------------------------------


def test_the_untouched_bundle_is_good(world: World, tmp_path: Path) -> None:
    """The control for the damage tests: the very file they damage imports into a copy of the
    supervisor's database (so a refusal below is caused by the damage alone)."""
    copy = copy_db(world.s1, tmp_path / "copy.db")
    result = census("bundle", "import", world.e1_bundle, "--db", copy)
    assert result.exit_code == 0, result.output
    assert "added 6" in result.output


def _flips(data: bytes) -> dict[str, tuple[int, str]]:
    """Positions to damage, with the reason the message must give for each. The clear header
    holds only the format, the kind and the recipient's key id; all else is encrypted."""
    start, end = header_span(data)
    header = data[start:end]

    def inside(name: bytes, skip: int = 0) -> int:
        return start + header.index(name) + len(name) + skip

    cipher = end + 8
    return {
        "marker": (0, "not a census sealed file"),
        "header length": (len(MAGIC), "header length"),
        "header: kind": (inside(b'"kind":"'), '"cundle" file'),
        "header: recipient": (in_field(data, "recipient", 0, 15, HEX),
                              "addressed to another key"),
        "content length": (end, "content length"),
        "ciphertext: first byte": (cipher, UNDECRYPTABLE),
        "ciphertext: middle": ((cipher + len(data)) // 2, UNDECRYPTABLE),
        "ciphertext: last byte": (len(data) - 1, UNDECRYPTABLE),
    }


def test_a_flipped_bit_anywhere_is_refused_and_changes_nothing(world: World,
                                                               tmp_path: Path) -> None:
    """One bit flipped in the marker, the lengths, the clear header or the ciphertext: each
    file is refused with its own name and the reason, and the supervisor's database is
    untouched (all files go through one `census bundle import` call, which also shows that one
    refused file does not stop the others from being looked at)."""
    data = world.e1_bundle.read_bytes()
    cases = {write(tmp_path, f"flip-{i:02d}.census", flip(data, offset)): (name, reason)
             for i, (name, (offset, reason)) in enumerate(_flips(data).items())}
    with unchanged(world.s1):
        result = import_bundle(world.s1, *cases)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    for path, (name, reason) in cases.items():
        mine = [line for line in lines if f"{path}:" in line]
        assert len(mine) == 1, (name, result.output)
        assert mine[0].startswith("Refused: ") and reason in mine[0], (name, mine[0])
    assert len(lines) == len(cases)


def test_a_damaged_sender_signing_key_reads_as_damage(world: World, tmp_path: Path) -> None:
    """A file re-encrypted to the supervisor (anyone can: the key is public) with one bit of
    the signing half of E001's key changed inside: the file is damaged, and must say so. It
    must not read as "signed by a key this database does not know (user E001 …)", which tells
    the supervisor that E001 has a new, unknown device."""
    key = keypair(world.e1.store).public().to_text()
    at = next(i for i in range(50, 80) if ord(key[i]) ^ 1 in B64)
    bent = key[:at] + chr(ord(key[at]) ^ 1) + key[at + 1:]
    payload, _counts = bundle_body(world.e1.store, True)
    plain = encode(payload, world.e1.store.config)
    path = write(tmp_path, "sign-key-flip.census",
                 forge(world.e1, world.s1, zlib.compress(plain), len(plain), sender_key=bent))
    with unchanged(world.s1):
        result = import_bundle(world.s1, path)
    refused(result, path)
    assert BAD_SIGNATURE in result.output, result.output
    assert "does not know" not in result.output


def test_a_hand_made_file_with_the_real_keys_imports(world: World, tmp_path: Path) -> None:
    """The control for the forged files here: the independent writer above, with nothing
    bent, makes a file census takes (so each refusal is caused by what was bent alone)."""
    copy = copy_db(world.s1, tmp_path / "copy.db")
    payload, _counts = bundle_body(world.e1.store, True)
    plain = encode(payload, world.e1.store.config)
    path = write(tmp_path, "hand-made.census",
                 forge(world.e1, world.s1, zlib.compress(plain), len(plain)))
    result = census("bundle", "import", path, "--db", copy)
    assert result.exit_code == 0, result.output
    assert "added 6" in result.output


def test_a_truncated_bundle_is_refused_and_changes_nothing(world: World, tmp_path: Path) -> None:
    """Cut at many points, from nothing to one byte short: "truncated" (or "empty"), the file
    named, nothing changed."""
    data = world.e1_bundle.read_bytes()
    start, end = header_span(data)
    cuts = {0: "the file is empty", 5: TRUNCATED, len(MAGIC) + 2: TRUNCATED,
            (start + end) // 2: TRUNCATED, end: TRUNCATED, end + 4: TRUNCATED,
            end + 8 + 10: TRUNCATED, len(data) - SIGNATURE: TRUNCATED,
            len(data) - SIGNATURE // 2: TRUNCATED, len(data) - 1: "1 bytes early"}
    cases = {write(tmp_path, f"cut-{size:05d}.census", data[:size]): reason
             for size, reason in cuts.items()}
    with unchanged(world.s1):
        result = import_bundle(world.s1, *cases)
    assert result.exit_code == 2, result.output
    for path, reason in cases.items():
        mine = [line for line in result.output.splitlines() if f"{path}:" in line]
        assert len(mine) == 1 and reason in mine[0], (path, reason, result.output)
    assert "Traceback" not in result.output


def test_a_refusal_reads_as_whole_sentences(world: World, tmp_path: Path) -> None:
    """The reason and "Nothing was changed." are two sentences. The reasons that come from the
    sealed-file reader have no full stop of their own, so today the line reads "… ask the
    sender to send it again Nothing was changed." (those from the import step end with one)."""
    data = world.e1_bundle.read_bytes()
    files = [write(tmp_path, "signature.census", flip(data, len(data) - 1)),
             write(tmp_path, "cut.census", data[:-10]), world.e2_bundle]
    result = import_bundle(world.s1, *files)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(files), result.output
    for line in lines:
        assert re.search(r"[.!?)] Nothing was changed\.$", line), line


# -- wrong senders and recipients ---------------------------------------------------------------


def test_a_bundle_addressed_to_another_supervisor_is_refused(world: World) -> None:
    """E003 is known to S001 (it was given work there) but took its work from S002: its bundle
    is sealed to S002's key. S001 refuses it, naming both keys."""
    s1_key = card(world.s1.store).key.key_id
    s2_key = card(world.s2.store).key.key_id
    with unchanged(world.s1):
        result = import_bundle(world.s1, world.e3_bundle)
    refused(result, world.e3_bundle, "addressed to another key", s2_key, s1_key)


def test_a_bundle_signed_by_an_unknown_key_is_refused(world: World) -> None:
    """A device never assigned work here, even one that knows the supervisor's public key and
    lists in the supervisor's own areas, is refused; so is one that calls itself E001 (the
    code of a real team member) with its own key. The message names the claimed user and the
    fingerprint of the unknown key."""
    for path, code in [(world.stranger_bundle, "E009"), (world.impostor_bundle, "E001")]:
        fingerprint = open_sealed(path.read_bytes(),
                                  keypair(world.s1.store)).sender_key.fingerprint()
        with unchanged(world.s1):
            result = import_bundle(world.s1, path)
        refused(result, path, "signed by a key this database does not know", f"user {code}",
                fingerprint)


def test_a_bundle_from_a_revoked_key_is_refused(pair: tuple[Site, Site]) -> None:
    """After `census keys revoke E001` (a lost device), E001's bundles are refused."""
    sup, e1 = pair
    path = fw.bundle(e1)
    revoke = census("keys", "revoke", "E001", "--db", db(sup))
    assert revoke.exit_code == 0, revoke.output
    with unchanged(sup):
        result = import_bundle(sup, path)
    refused(result, path, "revoked", "E001")


def test_an_assignment_given_to_bundle_import_is_refused(world: World) -> None:
    """The office's assignment file for S001 (properly sealed to S001 by a trusted peer) is the
    wrong kind of file for `bundle import`."""
    with unchanged(world.s1):
        result = import_bundle(world.s1, world.office_to_s1)
    refused(result, world.office_to_s1, "kind \"assignment\"", "kind \"bundle\" is needed")


# -- replays ------------------------------------------------------------------------------------


def test_a_replayed_bundle_changes_nothing(pair: tuple[Site, Site], tmp_path: Path) -> None:
    """Importing the same bundle again (also under another file name) says "already imported"
    and changes nothing, not even the audit log."""
    sup, e1 = pair
    path = fw.bundle(e1)
    first = import_bundle(sup, path)
    assert first.exit_code == 0 and "added 6" in first.output, first.output
    renamed = tmp_path / "renamed.census"
    shutil.copyfile(path, renamed)
    for again in (path, renamed):
        with unchanged(sup):
            result = import_bundle(sup, again)
        assert result.exit_code == 0, result.output
        assert str(again) in result.output
        assert "already imported" in result.output and "nothing changed" in result.output


def test_an_older_bundle_after_a_newer_one_rolls_nothing_back(pair: tuple[Site, Site]) -> None:
    """E001 sends bundle 1, edits a household and a dwelling, sends bundle 2. The supervisor
    imports 2, then 1: the records of 1 are older and ignored (the stored revisions stay those
    of bundle 2), and the result equals importing them in the natural order."""
    sup, e1 = pair
    old = fw.bundle(e1)
    entry = Entry(e1.store, clock=lambda: fw.NOW)
    did = e1.store.conn.execute("SELECT id FROM dwelling WHERE structure = 2").fetchone()[0]
    d = load_dwelling(e1.store, did)
    assert d is not None
    h = d.households[0]
    saved = entry.save_household(did, replace(h, residents={("female", "25-34"): 1,
                                                            ("male", "35-44"): 1}),
                                 complete=True)
    assert saved.ok, saved.problems
    assert entry.edit_dwelling(did, locator="blue door").ok
    new = fw.bundle(e1)

    first = import_bundle(sup, new)
    assert first.exit_code == 0 and "added 6" in first.output, first.output
    after_new = fw.snapshot(sup.store)
    revisions = sup.store.conn.execute(
        "SELECT d.revision, d.locator, h.revision FROM dwelling d JOIN household h "
        "ON h.dwelling_id = d.id WHERE d.id = ?", (did,)).fetchone()
    assert revisions == (d.revision + 1, "blue door", h.revision + 1)

    late = import_bundle(sup, old)
    assert late.exit_code == 0, late.output
    assert "older 2" in late.output and "updated 0" in late.output, late.output
    assert fw.snapshot(sup.store) == after_new
    assert sup.store.conn.execute(
        "SELECT d.revision, d.locator, h.revision FROM dwelling d JOIN household h "
        "ON h.dwelling_id = d.id WHERE d.id = ?", (did,)).fetchone() == revisions
    assert sup.store.verify_audit().ok


# -- files from another version, another survey, or made to harm -------------------------------


def test_a_bundle_from_a_newer_format_is_refused(world: World, tmp_path: Path) -> None:
    """A well-made bundle from E001 (real keys, real payload) whose header says format 3: the
    message says a newer census made it and this one must be updated."""
    payload, _counts = bundle_body(world.e1.store, True)
    plain = encode(payload, world.e1.store.config)
    path = write(tmp_path, "format-3.census",
                 forge(world.e1, world.s1, zlib.compress(plain), len(plain), format=3))
    with unchanged(world.s1):
        result = import_bundle(world.s1, path)
    refused(result, path, "newer version of census (format 3)", "update census")


def _zeros(megabytes: int) -> bytes:
    compressor = zlib.compressobj(1)
    chunk = bytes(1 << 20)
    return b"".join([*(compressor.compress(chunk) for _ in range(megabytes)),
                     compressor.flush()])


def imported_with_peak(site: Site, path: Path) -> tuple[Result, int]:
    """`census bundle import` of `path` at `site`, which must change nothing, and the peak of
    Python's allocations while it ran."""
    with unchanged(site):
        tracemalloc.start()
        try:
            result = import_bundle(site, path)
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return result, peak


def test_a_compression_bomb_is_refused_in_bounded_memory(world: World, tmp_path: Path) -> None:
    """A properly sealed and signed bundle from a trusted enumerator whose payload is 300 MB of
    zeros, declared as 1,000 bytes: refused as "made to harm" without ever holding the 300 MB
    (Python's allocations during the whole command stay far below it)."""
    bomb = write(tmp_path, "bomb.census", forge(world.e1, world.s1, _zeros(300), 1000))
    assert bomb.stat().st_size < 2 << 20
    result, peak = imported_with_peak(world.s1, bomb)
    refused(result, bomb, "expand to more than the 1000 bytes its header declares")
    assert peak < 32 << 20, peak


def test_a_stranger_cannot_make_the_import_decompress_anything(world: World,
                                                               tmp_path: Path) -> None:
    """As found: anyone with the supervisor's key card could seal a bomb declared at 1 GiB;
    the import decompressed it (2.1 GB of memory) before finding the key unknown. The sender
    is now checked before anything is decompressed."""
    bomb = write(tmp_path, "stranger-bomb.census",
                 forge(world.e1, world.s1, _zeros(300), 1 << 30, keys=KeyPair.generate()))
    result, peak = imported_with_peak(world.s1, bomb)
    refused(result, bomb, "signed by a key this database does not know")
    assert peak < 32 << 20, peak


def test_records_for_areas_not_assigned_are_refused_whole(world: World) -> None:
    """E002 was assigned EA002 only; its bundle also holds dwellings it listed in EA001. The
    whole bundle is refused (its EA002 records too), and the message names EA001."""
    with unchanged(world.s1):
        result = import_bundle(world.s1, world.e2_bundle)
    refused(result, world.e2_bundle, "areas not assigned to E002", EA1, "Nothing was imported")
    assert EA2 + "," not in result.output and not result.output.rstrip().endswith(EA2)


def test_a_household_of_another_enumerators_dwelling_is_refused(pair: tuple[Site, Site],
                                                                 tmp_path: Path) -> None:
    """E002 (EA002 only) sends its own dwelling and, without any EA001 dwelling row, a "newer
    revision" of a household in one of E001's dwellings, which S01 already holds: the
    household's area is where its stored dwelling is, EA001, so the bundle is refused whole
    and E001's household keeps its counts."""
    sup, e1 = pair
    fw.bundle(e1, sup)
    e2 = fw.site(tmp_path, Role.ENUMERATOR, "E002")
    fw.assign(sup, e2, [EA2])
    fw.enter(e2, EA2, range(1, 2))
    cfg = e2.store.config
    body, counts = bundle_body(e2.store, True)
    did = e1.store.conn.execute("SELECT id FROM dwelling ORDER BY id LIMIT 1").fetchone()[0]
    d = load_dwelling(e1.store, did)
    assert d is not None
    theirs = replace(d.households[0], revision=d.households[0].revision + 5,
                     residents={("male", "65+"): 9})
    body["households"].append(household_row(theirs, did, None, utc_now(), "E002", cfg))
    data = seal("bundle", _header(e2, sup, counts=counts), encode(body, cfg),
                keypair(e2.store), card(sup.store).key)
    path = write(tmp_path, "their-household.census", data)
    with unchanged(sup):
        result = import_bundle(sup, path)
    refused(result, path, "areas not assigned to E002", EA1)
    e2.store.close()


def test_a_payload_for_another_survey_config_is_refused(world: World, tmp_path: Path) -> None:
    """A genuine bundle from E001, sealed and signed the normal way, whose payload was made for
    another survey configuration: refused, naming the mismatch."""
    other = replace(world.e1.store.config, name="another survey")
    assert other.digest() != world.s1.store.config.digest()
    body, counts = bundle_body(world.e1.store, True)
    to = card(world.s1.store).key
    data = seal("bundle", _header(world.e1, world.s1, counts=counts), encode(body, other),
                keypair(world.e1.store), to)
    path = write(tmp_path, "other-survey.census", data)
    with unchanged(world.s1):
        result = import_bundle(world.s1, path)
    refused(result, path, "another survey configuration", other.digest()[:16])


# -- receipts and assignments -------------------------------------------------------------------


def test_a_receipt_from_a_stranger_purges_nothing(world: World, tmp_path: Path) -> None:
    """S002 (not E001's supervisor) sends E001 a receipt, properly sealed to E001's public key,
    listing exactly E001's records at their current revisions: were it accepted, E001's device
    would delete them. It is refused and E001 keeps everything."""
    e1 = world.e1.store
    held = [[t, *r] for t in ("dwelling", "household") for r in e1.conn.execute(
        f"SELECT id, revision, digest FROM {t} ORDER BY id")]
    assert len(held) == 6
    data = seal("receipt", _header(world.s2, world.e1, counts={"records": len(held)}),
                encode({"held": held}, e1.config), keypair(world.s2.store),
                card(e1).key)
    path = write(tmp_path, "stranger-receipt.census", data)
    with unchanged(world.e1):
        result = census("receipt", "import", path, "--db", db(world.e1))
    refused(result, path, "signed by a key this database does not know", "user S002")
    assert count_rows(e1, "dwelling") == 3


def test_a_receipt_for_another_enumerator_is_refused(world: World) -> None:
    """S001's real receipt for E001, given to E002 (whose supervisor is also S001)."""
    out = world.s1.out("receipt")
    export_receipt(world.s1.store, "E001", out)
    with unchanged(world.e2):
        result = census("receipt", "import", out, "--db", db(world.e2))
    refused(result, out, "addressed to another key")


def test_an_assignment_from_another_supervisor_after_first_use_is_refused(world: World) -> None:
    """E003 trusts S002 (first assignment imported). S001's assignment file for E003 is sealed
    to E003's key and signed by S001's real key, but S001 is not whom E003 trusts: refused,
    naming both fingerprints and the way to change supervisor on purpose."""
    s1_fp = card(world.s1.store).key.fingerprint()
    s2_fp = card(world.s2.store).key.fingerprint()
    with unchanged(world.e3):
        result = census("assignment", "import", world.s1_to_e3, "--db", db(world.e3))
    refused(result, world.s1_to_e3, "this database trusts S002", s1_fp, s2_fp,
            "census keys trust S002 --card CARD --replace-key")


def test_an_assignment_with_an_unexpected_fingerprint_is_refused(world: World) -> None:
    """E004 has no supervisor yet; told to expect S002's fingerprint, it refuses S001's file
    (and trusts nobody). With S001's own fingerprint (read aloud, in lower case and with
    spaces around it) the same file is taken."""
    s1_fp = card(world.s1.store).key.fingerprint()
    s2_fp = card(world.s2.store).key.fingerprint()
    with unchanged(world.e4):
        result = census("assignment", "import", world.s1_to_e4, "--db", db(world.e4),
                        "--expect-fingerprint", s2_fp)
    refused(result, world.s1_to_e4, "not by the fingerprint you expected", s1_fp, s2_fp)
    assert upstream(world.e4.store) is None
    taken = census("assignment", "import", world.s1_to_e4, "--db", db(world.e4),
                   "--expect-fingerprint", f" {s1_fp.lower()} ")
    assert taken.exit_code == 0, taken.output
    up = upstream(world.e4.store)
    assert up is not None and up.code == "S001"


def test_a_refused_import_leaves_the_sender_able_to_retry(world: World, tmp_path: Path) -> None:
    """A refusal records nothing: the damaged copy of a bundle is refused, and the good copy
    (same transfer id) is then taken, not "already imported"."""
    data = world.e1_bundle.read_bytes()
    bad = write(tmp_path, "bad.census", flip(data, len(data) - 1))
    copy = copy_db(world.s1, tmp_path / "copy.db")
    assert census("bundle", "import", bad, "--db", copy).exit_code == 2
    good = census("bundle", "import", world.e1_bundle, "--db", copy)
    assert good.exit_code == 0 and "added 6" in good.output, good.output
