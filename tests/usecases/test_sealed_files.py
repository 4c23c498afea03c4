"""Quiet sealed files (issue 14), end to end: what an interceptor with a file and an
enumerator's code learns (the kind and the recipient's key id; a size that says nothing of the
number of households), and that a file in the old format, made by the census of before,
still imports."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from census.domain.config import default_config
from census.domain.model import Area, AreaStatus, Role
from census.storage.areas import import_areas
from census.storage.exchange.peers import grant_areas, save_peer, set_device_keys
from census.storage.records import count_rows
from census.storage.store import Store
from census.transfer.keys import KeyPair
from census.transfer.seal import MAGIC, MIN_BUCKET
from tests.helpers import RAW_KEY
from tests.usecases import fieldwork as fw
from tests.usecases.fieldwork import EA1, EA2, census

DATA = Path(__file__).resolve().parents[1] / "transfer" / "data"


def clear_header(data: bytes) -> dict[str, object]:
    (length,) = struct.unpack_from(">I", data, len(MAGIC))
    header: dict[str, object] = json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + length])
    return header


@pytest.fixture()
def field(tmp_path: Path) -> tuple[fw.Site, fw.Site, fw.Site]:
    sup = fw.site(tmp_path, Role.SUPERVISOR, "S001", register=True)
    one = fw.site(tmp_path, Role.ENUMERATOR, "E001")
    many = fw.site(tmp_path, Role.ENUMERATOR, "E002")
    fw.assign(sup, one, [EA1])
    fw.assign(sup, many, [EA2])
    return sup, one, many


def test_an_interceptor_learns_the_kind_and_the_recipient_key_only(
        field: tuple[fw.Site, fw.Site, fw.Site]) -> None:
    """As found: the clear header named sender and recipient, the sender's role and key, a
    sequence number, the creation time, the counts and the plain size. Now a bundle of one
    household and one of sixty show the same fields and are the same length."""
    sup, one, many = field
    try:
        fw.enter(one, EA1, range(1, 2))
        fw.enter(many, EA2, range(1, 61), people=6)
        small, large = fw.bundle(one).read_bytes(), fw.bundle(many).read_bytes()
        key_id = fw.card(sup.store).key.key_id
        for data in (small, large):
            assert clear_header(data) == {"format": 2, "kind": "bundle", "recipient": key_id}
            for secret in (b"E001", b"E002", b"S001", b"enumerator", b"households", b"seq",
                           b"created", b"plain_size", b"sender"):
                assert secret not in data, secret
        assert len(small) == len(large)
        assert len(small) - len(MAGIC) - 4 - 8 - len(json.dumps(clear_header(small),
                                                               separators=(",", ":"))) \
            == MIN_BUCKET
        # Each still opens and merges whole at the supervisor.
        for path in one.files[-1:] + many.files[-1:]:
            done = census("bundle", "import", path, "--db", sup.store.path)
            assert done.exit_code == 0, done.output
        assert count_rows(sup.store, "household") == 61
    finally:
        for s in field:
            s.store.close()


def test_a_bundle_in_the_old_format_still_imports(tmp_path: Path) -> None:
    """tests/transfer/data/v1-bundle.census was sealed by census before the quiet headers
    (format 1, everything in clear); a supervisor holding the keys it was sealed for takes
    it as before."""
    made = json.loads((DATA / "v1-bundle.json").read_text())
    sender = KeyPair(bytes.fromhex(made["sender"]["enc_private"]),
                     bytes.fromhex(made["sender"]["sign_private"]))
    recipient = KeyPair(bytes.fromhex(made["recipient"]["enc_private"]),
                        bytes.fromhex(made["recipient"]["sign_private"]))
    store = Store.create(tmp_path / "census.db", RAW_KEY, default_config(), Role.SUPERVISOR,
                         "S001")
    try:
        areas = [Area(a["code"], a["level"], a["name"], a["parent"], a["expected_dwellings"],
                      a["enumerator"], AreaStatus(a["status"])) for a in made["areas"]]
        import_areas(store, areas, "S001")
        set_device_keys(store, recipient.enc_private, recipient.sign_private,
                        recipient.public().fingerprint())
        key = sender.public()
        with store.write() as chain:
            save_peer(store, chain, "E001", Role.ENUMERATOR, "downstream", key.enc, key.sign,
                      key.key_id, key.fingerprint())
            grant_areas(store, chain, "E001", [made["area"]], set_enumerator=True)
    finally:
        store.close()
    data = (DATA / "v1-bundle.census").read_bytes()
    assert clear_header(data)["format"] == 1 and b'"counts"' in data  # the old, loud header
    done = census("bundle", "import", DATA / "v1-bundle.census", "--db", tmp_path / "census.db")
    assert done.exit_code == 0, done.output
    store = Store.open(tmp_path / "census.db", RAW_KEY)
    try:
        assert count_rows(store, "dwelling") == made["dwellings"]
        assert count_rows(store, "household") == made["households"]
        assert store.verify_audit().ok
    finally:
        store.close()
