"""Fuzzing assignment files, receipts and key cards (issue 6, part 3): what comes from upstream
is signed by the supervisor's trusted key, and still checked like any other input.

What every example proves:
- an assignment whose payload was mutated (areas of unknown levels, parents that are missing,
  of the wrong level or forming a cycle, returned forms in unknown areas or dwellings, taking
  numbers other records hold, unreadable rows, hostile decisions) is either taken, leaving a
  tree of areas that is sound (every level the survey's, every parent one level up) and
  records that all read back, or refused whole with a clear message naming the file and
  nothing changed;
- a receipt whose list of held records was mutated (unknown ids, other revisions or digests,
  absurd revisions, wrong types) is taken or refused the same way, and a device deletes only
  what the receipt acknowledges at its current revision and digest;
- random bytes or a mutated valid file given as an assignment or a receipt are refused;
- a key card, whatever its text, is read or refused with a message (SealError), nothing else.
"""

from __future__ import annotations

import io
import signal
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from census.cli import cli
from census.domain.ids import new_id
from census.domain.model import Role
from census.formats.payload import (
    area_row,
    dwelling_row,
    household_row,
    override_rows,
    visit_rows,
)
from census.storage.areas import all_areas, area_levels, import_areas
from census.storage.records import count_rows, iter_dwellings, load_dwelling
from census.storage.store import Store
from census.transfer.files import TransferError
from census.transfer.keys import KeyCard, KeyPair, PublicKey, SealError
from census.transfer.seal import seal
from census.usecases.assign import assign_areas, import_assignment
from census.usecases.forms import import_lines, read_lines
from census.usecases.keys import card, init_keys, keypair, read_card
from census.usecases.receipts import import_receipt
from census.validation.engine import personal_data
from tests.hardening.fuzzing import (
    CFG,
    EA2,
    NOW,
    STAMP,
    checkpointed,
    clear,
    fresh_copy,
    mutate,
    mutation,
    payload_bytes,
)
from tests.hardening.tally import count
from tests.helpers import RAW_KEY, dwelling, household, jsonl
from tests.usecases.fieldwork import REGISTER, dump

ASSIGNMENT_TABLES = ("areas", "dwellings", "visits", "households", "overrides", "decisions")
OUTCOMES: Counter[str] = Counter()


@dataclass
class Device:
    """An enumerator's database (E002, EA002, two dwellings entered) that trusts supervisor
    S01, as it was before any example; and what S01 would send it."""

    pristine: Path
    folder: Path
    boss: KeyPair
    to: PublicKey
    assignment: dict[str, Any]
    held: list[list[Any]]

    @contextmanager
    def fresh(self) -> Iterator[Store]:
        with fresh_copy(self.pristine, self.folder) as store:
            yield store

    def header(self) -> dict[str, Any]:
        return {"id": new_id(), "sender": "S01", "sender_role": "supervisor",
                "recipient_code": "E002", "created": STAMP, "seq": 3, "counts": {}}

    def sealed(self, kind: str, payload: bytes, header: dict[str, Any] | None = None,
               name: str = "hostile.census") -> Path:
        path = self.folder / name
        path.write_bytes(seal(kind, header or self.header(), payload, self.boss, self.to))
        return path

    @property
    def ids(self) -> list[str]:
        return [r[1] for r in self.held]


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Device:
    tmp = tmp_path_factory.mktemp("fuzz-transfers")
    sup = Store.create(tmp / "sup.db", RAW_KEY, CFG, Role.SUPERVISOR, "S01")
    import_areas(sup, REGISTER, "S01")
    init_keys(sup)
    enu = Store.create(tmp / "pristine.db", RAW_KEY, CFG, Role.ENUMERATOR, "E002")
    init_keys(enu)
    assign_areas(sup, "E002", [EA2], card(enu).to_text(), tmp / "first.census")
    import_assignment(enu, tmp / "first.census", card(sup).key.fingerprint())
    first = dwelling(1, 1, area=EA2, households=[household(1), household(2)])
    vacant = dwelling(2, 1, area=EA2, households=[], visits=[
        {"attempt": 1, "at": "2026-11-20T10:00", "outcome": "vacant"}])
    report = import_lines(enu, read_lines(io.BytesIO(jsonl(first, vacant).encode())), now=NOW,
                          sink=lambda line, p: None)
    assert report.invalid_lines == 0
    held = [[t, *r] for t in ("dwelling", "household") for r in enu.conn.execute(
        f"SELECT id, revision, digest FROM {t} ORDER BY id")]
    # A returned form, as S01 would send it: the household at the next revision, returned,
    # with its decision; and the areas down to EA002.
    d = load_dwelling(enu, first["id"])
    assert d is not None
    h = d.households[0]
    returned = household_row(h, d.id, None, STAMP, "S01", CFG)
    returned[3], returned[5] = "returned", h.revision + 1
    body = {"areas": [area_row(a) for a in all_areas(sup) if a.code in ("R01", "R01-D01", EA2)],
            "dwellings": [dwelling_row(d, None, STAMP)], "visits": visit_rows(d),
            "households": [returned], "overrides": override_rows(d.id, d.overrides),
            "decisions": [[h.id, h.revision + 1, "returned", "counts_wrong",
                           "check the children", "W002", "S01", STAMP]]}
    boss = keypair(sup)
    to = card(enu).key
    sup.close()
    checkpointed(enu)
    return Device(tmp / "pristine.db", tmp, boss, to, body, held)


# -- invariants ----------------------------------------------------------------------------------


def areas_are_sound(store: Store) -> None:
    levels = store.config.levels
    by_code = {a.code: a for a in all_areas(store)}
    for a in by_code.values():
        depth = levels.index(a.level)  # ValueError: a level the survey does not have
        if depth == 0:
            assert a.parent is None, a
        else:
            assert a.parent in by_code and by_code[a.parent].level == levels[depth - 1], a


def judge_assignment(store: Store, path: Path) -> str:
    before = dump(store)
    try:
        import_assignment(store, path)
    except TransferError as exc:
        clear(str(exc), path)
        assert dump(store) == before
        return "refused"
    assert store.verify_audit().ok
    areas_are_sound(store)
    levels = area_levels(store)
    for d in iter_dwellings(store):
        assert levels[d.area] == store.config.levels[-1]
        assert all(len(h.seed) == 16 for h in d.households)
    for (note,) in store.conn.execute("SELECT note FROM decision WHERE note IS NOT NULL"):
        assert personal_data(note) is None, note
    return "taken"


def judge_receipt(store: Store, path: Path, held: Any) -> str:
    before = dump(store)
    versions = {r[0]: (t, r[1], r[2]) for t in ("dwelling", "household") for r in
                store.conn.execute(f"SELECT id, revision, digest FROM {t}")}
    homes = dict(store.conn.execute("SELECT id, dwelling_id FROM household").fetchall())
    try:
        import_receipt(store, path)
    except TransferError as exc:
        clear(str(exc), path)
        assert dump(store) == before
        return "refused"
    assert store.verify_audit().ok
    acknowledged = {tuple(r) for r in held if isinstance(r, list)}
    after = {r[0] for t in ("dwelling", "household") for r in
             store.conn.execute(f"SELECT id FROM {t}")}
    for gone in set(versions) - after:
        assert (versions[gone][0], gone, *versions[gone][1:]) in acknowledged, gone
        if versions[gone][0] == "household":
            assert homes[gone] not in after  # households go only with their dwelling
    return "taken"


# -- fuzz ----------------------------------------------------------------------------------------


def _assignment(device: Device, data: st.DataObject) -> None:
    mutations = data.draw(st.lists(mutation(device.ids, ASSIGNMENT_TABLES), min_size=1,
                                   max_size=4))
    body, header = mutate(device.assignment, device.header(), mutations)
    count("fuzz: assignment payloads (signed, hostile)", 1)
    with device.fresh() as store:
        outcome = judge_assignment(store, device.sealed("assignment", payload_bytes(body), header))
    OUTCOMES[f"assignment {outcome}"] += 1


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_assignments_with_hostile_payloads(device: Device, data: st.DataObject) -> None:
    """An assignment signed by the trusted supervisor whose areas, returned forms and
    decisions were mutated: taken with a sound tree of areas and readable records, or refused
    whole with a clear message and nothing changed."""
    _assignment(device, data)


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_assignments_with_hostile_payloads_long(device: Device,
                                                       data: st.DataObject) -> None:
    """test_signed_assignments_with_hostile_payloads with ten times the examples."""
    _assignment(device, data)


def _receipt(device: Device, data: st.DataObject) -> None:
    mutations = data.draw(st.lists(mutation(device.ids, ("held",)), min_size=1, max_size=4))
    body, header = mutate({"held": device.held}, device.header(), mutations)
    count("fuzz: receipt payloads (signed, hostile)", 1)
    with device.fresh() as store:
        outcome = judge_receipt(store, device.sealed("receipt", payload_bytes(body), header),
                                body.get("held"))
    OUTCOMES[f"receipt {outcome}"] += 1


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_receipts_with_hostile_payloads(device: Device, data: st.DataObject) -> None:
    """A receipt signed by the trusted supervisor whose list of held records was mutated: taken,
    deleting only finished dwellings acknowledged at their current revision and digest (and
    their households), or refused with a clear message and nothing changed."""
    _receipt(device, data)


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_receipts_with_hostile_payloads_long(device: Device, data: st.DataObject) -> None:
    """test_signed_receipts_with_hostile_payloads with ten times the examples."""
    _receipt(device, data)


def test_the_hostile_files_were_both_taken_and_refused() -> None:
    """The fuzzing above is not vacuous: some hostile assignments and receipts were taken (the
    invariants of a taken file were checked), and some were refused."""
    if not OUTCOMES:
        pytest.skip("run with the hostile assignment and receipt tests")
    for kind in ("assignment", "receipt"):
        assert OUTCOMES[f"{kind} taken"] >= 5 and OUTCOMES[f"{kind} refused"] >= 5, OUTCOMES


DAMAGE = {"kind": st.sampled_from(["assignment", "receipt"]),
          "edits": st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert"]),
                                      st.integers(0, 10**6), st.integers(0, 255)),
                            min_size=1, max_size=3),
          "noise": st.binary(max_size=200)}


def _damaged(device: Device, kind: str, edits: list[tuple[str, int, int]], noise: bytes) -> None:
    body = device.assignment if kind == "assignment" else {"held": device.held}
    valid = device.sealed(kind, payload_bytes(body), name="valid.census").read_bytes()
    data = bytearray(valid)
    for what, at, byte in edits:
        i = at % len(data) if data else 0
        if what == "flip" and data:
            data[i] ^= 1 << (byte % 8)
        elif what == "cut":
            del data[i:]
        else:
            data[i:i] = bytes([byte])
    assume(bytes(data) != valid)
    count(f"fuzz: {kind} files (damaged bytes)", 1)
    with device.fresh() as store:
        for name, content in (("damaged.census", bytes(data)), ("noise.census", noise)):
            path = device.folder / name
            path.write_bytes(content)
            if kind == "assignment":
                assert judge_assignment(store, path) == "refused"
            else:
                assert judge_receipt(store, path, []) == "refused"


@settings(max_examples=100, deadline=None)
@given(**DAMAGE)
def test_damaged_assignments_and_receipts_are_refused(device: Device, kind: str,
                                                      edits: list[tuple[str, int, int]],
                                                      noise: bytes) -> None:
    """A valid assignment or receipt with bits flipped, bytes inserted or cut short, or plain
    random bytes: refused with a clear message, the database unchanged."""
    _damaged(device, kind, edits, noise)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(**DAMAGE)
def test_damaged_assignments_and_receipts_are_refused_long(
        device: Device, kind: str, edits: list[tuple[str, int, int]], noise: bytes) -> None:
    """test_damaged_assignments_and_receipts_are_refused with ten times the examples."""
    _damaged(device, kind, edits, noise)


# -- key cards -----------------------------------------------------------------------------------

CARD = KeyCard("enumerator", "E001", KeyPair.generate().public()).to_text()
CARD_WORDS = ["census-key", "1", "2", "0", "01", "9" * 5000, "١", "enumerator", "supervisor",
              "office", "E001", "e.1", "x" * 41, "", "\x1b[2J", CARD.split()[-1],
              CARD.split()[-1][:-1] + "B", "A" * 86, "=" * 86]


CARD_TEXTS = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(CARD_WORDS), max_size=7).map(" ".join),
    st.tuples(st.integers(0, len(CARD)), st.text(max_size=5), st.integers(0, 5)).map(
        lambda t: CARD[:t[0]] + t[1] + CARD[t[0] + t[2]:]))


def _card(text: str) -> None:
    count("fuzz: key cards", 1)
    try:
        card = KeyCard.parse(text)
    except SealError as exc:
        assert str(exc) and len(str(exc)) < 400 and str(exc).isprintable(), str(exc)
    else:
        assert KeyCard.parse(card.to_text()) == card
    try:
        read_card(text)
    except TransferError as exc:
        assert str(exc).isprintable()


@settings(max_examples=300, deadline=None)
@given(CARD_TEXTS)
def test_key_cards(text: str) -> None:
    """Any text given as a key card (random, made of card words, or a valid card edited):
    a KeyCard, or SealError with a message that fits on a line and quotes nothing raw; and
    `read_card` gives a card or a TransferError."""
    _card(text)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(CARD_TEXTS)
def test_key_cards_long(text: str) -> None:
    """test_key_cards with ten times the examples."""
    _card(text)


def test_a_key_card_version_of_thousands_of_digits_is_a_message() -> None:
    """Found by test_key_cards: a version word of 5,000 digits (a card given as text on the
    command line is not cut at 4,096 characters) made int() raise ValueError, past the
    card's own messages: an internal error in `census assign`."""
    with pytest.raises(SealError, match="version"):
        KeyCard.parse(f"census-key {'9' * 5000} enumerator E001 {CARD.split()[-1]}")


def test_a_huge_file_given_as_a_key_card_is_not_read_whole(tmp_path: Path) -> None:
    """Found by the review: `--to FILE` read the whole file before keeping its first 4,096
    characters. Now only those bytes are read: a (sparse) file of 2 GB costs a few kilobytes,
    and is refused as a card that has too many parts."""
    path = tmp_path / "big.card"
    with path.open("wb") as fh:
        fh.write(CARD.encode() + b"\n")
        fh.truncate(2 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(TransferError, match="parts"):
            read_card(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_a_key_card_text_too_long_for_a_file_name_is_read_as_text() -> None:
    """Found by test_key_cards: text that is not a card (three words of 86 characters) was
    tried as a file name, and Path.is_file() raised OSError "File name too long"."""
    with pytest.raises(TransferError, match="not a census key card"):
        read_card(" ".join([CARD.split()[-1]] * 3))


# -- what the fuzzing found ----------------------------------------------------------------------


def _area(code: str, level: str, name: str, parent: str | None) -> list[Any]:
    return [code, level, name, parent, None, None]


@pytest.mark.parametrize("change", [
    "unknown_area", "unknown_dwelling", "level", "parent", "cycle", "name", "taken_numbers",
    "unreadable", "moved"])
def test_a_hostile_assignment_is_refused_whole(device: Device, change: str) -> None:
    """Found by the review and the hostile assignments: a returned form for an area the device
    does not know, or a household of an unknown dwelling, broke a foreign key (a database
    error; a KeyError for the household); an area of a level the survey does not have was
    taken; a region given a district as its parent made a cycle in the tree of areas, after
    which `census assign` on a supervisor's device looped for ever (and so would any walk up
    the tree); an area name with terminal escapes was taken; a returned dwelling with the
    numbers of another dwelling broke a UNIQUE constraint; an unreadable returned form was
    dropped silently; a household moved to another dwelling. Each is refused whole now, with a
    message naming the file, and nothing changed."""
    body, _header = mutate(device.assignment, device.header(), [])
    d, h = body["dwellings"][0], body["households"][0]
    if change == "unknown_area":  # a new dwelling in an area the device does not know
        d[0], d[1] = new_id(), "R01-D02-EA001"
        body["visits"] = [[d[0], *v[1:]] for v in body["visits"]]
        body["households"] = []
    elif change == "unknown_dwelling":
        h[1] = new_id()
    elif change == "level":
        body["areas"].append(_area("X1", "planet", "Mars", None))
    elif change == "parent":
        body["areas"].append(_area("X2", "ea", "Orphan", "NOPE"))
    elif change == "cycle":
        body["areas"][0] = _area("R01", "region", "North", "R01-D01")
    elif change == "name":
        body["areas"].append(_area("X3", "ea", "Bad\x1b[2Jname", "R01-D01"))
    elif change == "taken_numbers":
        d[0], d[8] = new_id(), 1  # another dwelling id with the numbers 1/1 of EA002
        body["visits"] = [[d[0], *v[1:]] for v in body["visits"]]
        body["households"] = []
    elif change == "unreadable":
        h[7] = "three"
    elif change == "moved":
        d2 = list(d)
        d2[0], d2[2] = new_id(), 9
        body["dwellings"].append(d2)
        h[1] = d2[0]
    with device.fresh() as store:
        path = device.sealed("assignment", payload_bytes(body))
        assert judge_assignment(store, path) == "refused"


def test_a_receipt_with_an_absurd_revision_is_refused(device: Device) -> None:
    """Found by the hostile receipts: a revision of 2**70 in the list of held records escaped as
    OverflowError from SQLite."""
    held = [list(r) for r in device.held]
    held[0][2] = 2**70
    with device.fresh() as store:
        path = device.sealed("receipt", payload_bytes({"held": held}))
        assert judge_receipt(store, path, held) == "refused"


def test_the_valid_assignment_and_receipt_are_taken(device: Device) -> None:
    """The starting points of the mutations are good files: taken; the receipt deletes the
    finished vacant dwelling, and the dwelling with a returned household stays."""
    with device.fresh() as store:
        path = device.sealed("assignment", payload_bytes(device.assignment))
        assert judge_assignment(store, path) == "taken"
    with device.fresh() as store:
        path = device.sealed("receipt", payload_bytes({"held": device.held}))
        assert judge_receipt(store, path, device.held) == "taken"
        assert count_rows(store, "dwelling") == 0  # both finished and acknowledged


def test_keys_show_out_replaces_a_planted_link(device: Device, tmp_path: Path) -> None:
    """Found by the review of output paths: `census keys show --out FILE` wrote with
    Path.write_text, through a link planted at FILE (say, in a shared folder on a USB stick),
    over the file it points to. It writes a new file and renames it into place now, as every
    file census sends is written: the link is replaced, its target left alone."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "E002.card"
    out.symlink_to(victim)
    with device.fresh() as store:
        db = store.path
    result = CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}).invoke(
        cli, ["keys", "show", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink() and out.read_text().startswith("census-key 1 enumerator E002")


def test_the_areas_of_an_assignment_are_found_even_under_a_cycle(tmp_path: Path) -> None:
    """Found by the review: `assignment_body` walked up the parents with `while
    parent`, so a cycle of parents (which a hostile assignment could make before the checks
    above) made `census assign` loop for ever. The checks make a cycle impossible; the walk
    stops on one anyway."""
    from census.storage.areas import import_areas
    from census.storage.exchange.bodies import assignment_body

    store = Store.create(tmp_path / "sup.db", RAW_KEY, CFG, Role.SUPERVISOR, "S01")
    try:
        import_areas(store, REGISTER, "S01")
        store.conn.execute("UPDATE area SET parent = 'R01-D01' WHERE code = 'R01'")

        def too_long(signum: int, frame: object) -> None:
            raise TimeoutError("assignment_body is still walking up the parents")

        previous = signal.signal(signal.SIGALRM, too_long)
        signal.alarm(10)  # the old loop never ends: fail, do not hang
        try:
            body, _counts = assignment_body(store, [EA2])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        assert {row[0] for row in body["areas"]} >= {"R01", "R01-D01", EA2}
    finally:
        store.close()
