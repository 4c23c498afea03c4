"""Fuzzing sealed bundles (issue 6, part 3): random bytes, mutations of a valid bundle, and above
all well-signed bundles whose decrypted payload is hostile: a trusted sender's key sealing rows
of wrong types, missing or extra values, unknown areas, huge counts, duplicate ids, absurd
revisions, bad codes, deep nesting, huge texts, NaN.

What every example proves: `import_bundle` either merges the bundle or refuses it with
a TransferError whose message names the file, fits on a line and holds no control character;
nothing else escapes. A refused bundle changes nothing (every row of every table is as before).
A merged bundle leaves an audit chain that verifies, records that all read back, and every
dwelling either passing the rules or under review (flagged, held or invalid, itself or one of
its households); every row of the payload is accounted for in the report, and every unreadable
row is in the review queue, small and flat.

Each example works on a fresh copy of a prepared database, opened with a raw SQLCipher key (no
passphrase derivation), so that an example costs milliseconds and examples do not interact.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from census.cli import cli
from census.domain.config import LOCATOR_HARD_LIMIT
from census.domain.ids import new_id
from census.domain.model import Dwelling, HouseholdStatus, Role
from census.formats.payload import (
    PayloadError,
    Records,
    decode,
    dwelling_row,
    household_row,
    override_rows,
    visit_rows,
)
from census.formats.record_json import dwelling_from_json, with_seed
from census.storage.areas import area_levels, get_area, import_areas
from census.storage.exchange.peers import grant_areas, save_peer
from census.storage.exchange.review import review_items
from census.storage.exchange.transfers import missing_seqs
from census.storage.records import iter_dwellings
from census.storage.store import Store
from census.transfer.files import TransferError
from census.transfer.keys import KeyPair, PublicKey
from census.transfer.seal import MAGIC, seal
from census.usecases.bundles import import_bundle
from census.usecases.keys import card, init_keys, keypair
from census.validation.engine import Context, blocking, check_dwelling
from tests.hardening.fuzzing import (
    CAP,
    CFG,
    EA1,
    EA2,
    NOW,
    ROW_TABLES,
    STAMP,
    Deep,
    checkpointed,
    clear,
    fresh_copy,
    mutate,
    mutation,
    payload_bytes,
)
from tests.hardening.tally import count
from tests.helpers import RAW_KEY, dwelling, household
from tests.transfer.opening import open_sealed
from tests.usecases.fieldwork import REGISTER, dump

OUTCOMES: Counter[str] = Counter()


# -- the prepared databases ----------------------------------------------------------------------


def parsed(raw: dict[str, Any]) -> Dwelling:
    d, problems = dwelling_from_json(raw, CFG)
    assert d is not None, problems
    return replace(d, households=tuple(with_seed(h, None) for h in d.households))


def rows(dwellings: list[Dwelling], updated_by: str) -> dict[str, list[Any]]:
    body: dict[str, list[Any]] = {t: [] for t in ROW_TABLES}
    for d in dwellings:
        body["dwellings"].append(dwelling_row(d, None, STAMP))
        body["visits"] += visit_rows(d)
        body["overrides"] += override_rows(d.id, d.overrides)
        for h in d.households:
            body["households"].append(household_row(h, d.id, None, STAMP, updated_by, CFG))
            body["overrides"] += override_rows(h.id, h.overrides)
    # The sender's own entry session, as its app logs it.
    body["sessions"].append([updated_by, 1, updated_by, "entry", None, None,
                             "2026-11-28T09:00:00", "2026-11-28T09:30:00", 0, 1, 30, 0, 0, 0, 0])
    return body


@dataclass
class Receiver:
    """A database that trusts one downstream sender, as it was before any example."""

    pristine: Path
    folder: Path
    sender: KeyPair
    sender_code: str
    sender_role: Role
    to: PublicKey
    body: dict[str, Any]  # a valid payload: new revisions of stored records, and new records

    @property
    def ids(self) -> list[str]:
        return [r[0] for t in ("dwellings", "households") for r in self.body[t]]

    @contextmanager
    def fresh(self) -> Iterator[Store]:
        """A copy of the prepared database, open."""
        with fresh_copy(self.pristine, self.folder) as store:
            yield store

    def header(self, **fields: Any) -> dict[str, Any]:
        return {"id": new_id(), "sender": self.sender_code,
                "sender_role": str(self.sender_role), "recipient_code": "R",
                "created": "2026-11-28T12:00:00Z", "seq": 2,
                "counts": {"dwellings": 1, "households": 1}, **fields}

    def sealed(self, payload: bytes, header: dict[str, Any] | None = None,
               name: str = "hostile.census") -> Path:
        path = self.folder / name
        path.write_bytes(seal("bundle", header or self.header(), payload, self.sender,
                              self.to))
        return path


def _receiver(tmp: Path, role: Role, code: str, sender_role: Role, sender_code: str,
              areas: list[str], stored: list[Dwelling], later: list[Dwelling]) -> Receiver:
    folder = tmp / code
    folder.mkdir()
    store = Store.create(folder / "pristine.db", RAW_KEY, CFG, role, code)
    import_areas(store, REGISTER, code)
    init_keys(store)
    sender = KeyPair.generate()
    key = sender.public()
    with store.write() as chain:
        save_peer(store, chain, sender_code, sender_role, "downstream", key.enc,
                           key.sign, key.key_id, key.fingerprint())
        grant_areas(store, chain, sender_code, areas,
                             set_enumerator=sender_role is Role.ENUMERATOR)
    r = Receiver(folder / "pristine.db", folder, sender, sender_code, sender_role,
                 card(store).key, {})
    first = r.sealed(payload_bytes({**rows(stored, sender_code), "closed": [],
                                    "enumerators": []}), r.header(seq=1), "first.census")
    got = import_bundle(store, first, NOW)
    assert got.report.added == len(stored) + sum(len(d.households) for d in stored)
    assert got.report.flagged == 0
    r.body = rows(later, sender_code)
    r.body["closed"] = []
    r.body["enumerators"] = [[a, sender_code] for a in areas if a.count("-") == 2]
    if sender_role is not Role.ENUMERATOR:
        h = later[0].households[0]
        r.body["decisions"] = [[h.id, h.revision, "approved", None, None, "W001", sender_code,
                                STAMP]]
    checkpointed(store)
    return r


def _records(area: str, other: str) -> tuple[list[Dwelling], list[Dwelling]]:
    """Records merged before (stored) and the valid payload the mutations start from: newer
    revisions of stored records, new records (one of 16 persons with W001 confirmed), and a
    vacant dwelling."""
    big = {"female": {"25-34": 8, "0-4": 4}, "male": {"25-34": 4}}
    stored = [parsed(dwelling(1, 1, area=area)), parsed(dwelling(2, 1, area=area)),
              parsed(dwelling(1, 1, area=other, households=[household(1), household(2)]))]
    d1 = stored[0]
    h1 = replace(d1.households[0], revision=2,
                 residents={("female", "25-34"): 2, ("male", "35-44"): 1})
    newer = replace(d1, revision=2, locator="red door by the well", households=(h1,))
    new = parsed(dwelling(3, 1, area=area, households=[
        household(1, residents=big, overrides={"W001": "confirmed_with_respondent"}),
        household(2, status="draft", residents={})]))
    vacant = parsed(dwelling(4, 1, area=other, households=[], visits=[
        {"attempt": 1, "at": "2026-11-20T10:00", "outcome": "no_one_home",
         "callback_at": "2026-11-21T10:00"},
        {"attempt": 2, "at": "2026-11-21T10:00", "outcome": "vacant"}]))
    return stored, [newer, new, vacant]


@pytest.fixture(scope="module")
def receivers(tmp_path_factory: pytest.TempPathFactory) -> list[Receiver]:
    """A supervisor S01 trusting enumerator E001 (EA001, EA002), and an office HQ trusting
    supervisor S01 (district R01-D01 and everything in it)."""
    tmp = tmp_path_factory.mktemp("fuzz-bundles")
    stored, later = _records(EA1, EA2)
    sup = _receiver(tmp, Role.SUPERVISOR, "S01", Role.ENUMERATOR, "E001", [EA1, EA2],
                    stored, later)
    stored, later = _records(EA2, EA1)
    office = _receiver(tmp, Role.OFFICE, "HQ", Role.SUPERVISOR, "S01", ["R01-D01"],
                       stored, later)
    return [sup, office]


# -- the invariants ------------------------------------------------------------------------------


def depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        stack += [(x, d + 1) for x in items]
    return deepest


def every_record_stands(store: Store) -> None:
    """Every stored record reads back; a dwelling that breaks a rule is under review (it or
    one of its households); what the review queue holds is small and flat."""
    levels, lowest = area_levels(store), store.config.levels[-1]
    ctx = Context(store.config, NOW, lambda code: levels.get(code) == lowest)
    under_review = {r[0] for r in store.conn.execute(
        "SELECT record_id FROM review WHERE status = 'open'")}
    for d in iter_dwellings(store):
        assert levels.get(d.area) is not None
        assert d.locator is None or len(d.locator) <= LOCATOR_HARD_LIMIT
        for h in d.households:
            assert h.usual_residents <= CAP and len(h.seed) == 16
        problems = blocking(check_dwelling(d, ctx))
        if problems:
            assert {d.id, *(h.id for h in d.households)} & under_review, (
                d.id, [str(p) for p in problems])
    for kind, text in store.conn.execute(
            "SELECT kind, incoming FROM review WHERE incoming IS NOT NULL"):
        held = json.loads(text)
        assert len(text) <= 20_000 and depth(held) <= 4
        if kind == "invalid" and "row" in held:  # (else a household of an unknown dwelling)
            assert all(v.isprintable() for v in held["row"] if isinstance(v, str)), held


def judge(r: Receiver, store: Store, path: Path) -> str:
    """Import one file; check the invariants of the module docstring; say what happened."""
    before = dump(store)
    try:
        got = import_bundle(store, path, NOW)
    except TransferError as exc:
        clear(str(exc), path)
        assert dump(store) == before
        OUTCOMES["refused"] += 1
        return "refused"
    assert got.already is None
    assert store.verify_audit().ok
    payload = open_sealed(path.read_bytes(), keypair(store)).payload
    try:
        recs: Records = decode(payload, store.config)
    except PayloadError:  # pragma: no cover - the import would have refused it
        raise AssertionError("a payload decode refuses was merged") from None
    rep = got.report
    assert (rep.added + rep.updated + rep.unchanged + rep.older + rep.conflicts
            + rep.duplicates + rep.invalid) == (len(recs.dwellings) + len(recs.households)
                                                + len(recs.invalid))
    invalid = {x[0] for x in store.conn.execute(
        "SELECT record_id FROM review WHERE kind = 'invalid'")}
    assert {i.record_id for i in recs.invalid} <= invalid
    every_record_stands(store)
    if r.sender_role is Role.ENUMERATOR:
        # An enumerator's bundle closes nothing and names no other enumerator for an area.
        assert not store.conn.execute("SELECT 1 FROM area WHERE status = 'closed'").fetchall()
        assert {x[0] for x in store.conn.execute("SELECT enumerator FROM area")} <= {
            None, r.sender_code}
    OUTCOMES["merged"] += 1
    return "merged"


# -- the fuzz tests ------------------------------------------------------------------------------


def _hostile(receivers: list[Receiver], data: st.DataObject) -> None:
    r = data.draw(st.sampled_from(receivers), label="receiver")
    mutations = data.draw(st.lists(mutation(r.ids), min_size=1, max_size=4), label="mutations")
    body, header = mutate(r.body, r.header(), mutations)
    count("fuzz: bundle payloads (signed, hostile)", 1)
    with r.fresh() as store:
        judge(r, store, r.sealed(payload_bytes(body), header))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_bundles_with_hostile_payloads(receivers: list[Receiver],
                                              data: st.DataObject) -> None:
    """A trusted sender's key seals a payload whose rows were mutated (any cell set to a wrong
    type, a limit, another record's id or numbers, an unknown area or code, a huge or deeply
    nested value; rows dropped, doubled, cut or lengthened; top-level parts and header fields
    replaced): merged with every record standing, or refused whole with a clear message and
    nothing changed."""
    _hostile(receivers, data)


@pytest.mark.slow
@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_bundles_with_hostile_payloads_long(receivers: list[Receiver],
                                                   data: st.DataObject) -> None:
    """The same as test_signed_bundles_with_hostile_payloads, ten times the examples."""
    _hostile(receivers, data)


def test_the_hostile_payloads_were_both_merged_and_refused() -> None:
    """The fuzzing above is not vacuous: some hostile bundles were merged (the invariants of a
    merge were checked), and some were refused."""
    if not OUTCOMES:
        pytest.skip("run with test_signed_bundles_with_hostile_payloads")
    assert OUTCOMES["merged"] >= 5 and OUTCOMES["refused"] >= 5, OUTCOMES


@pytest.fixture(scope="module")
def shared(receivers: list[Receiver]) -> Iterator[tuple[Receiver, Store, bytes]]:
    """The supervisor's database (one copy for every example: a refusal changes nothing) and
    a valid bundle for it, not imported."""
    r = receivers[0]
    with r.fresh() as store:
        yield r, store, r.sealed(payload_bytes(r.body), name="valid.census").read_bytes()


def _refused(r: Receiver, store: Store, data: bytes, name: str) -> None:
    path = r.folder / name
    path.write_bytes(data)
    assert judge(r, store, path) == "refused"


RANDOM_BYTES = st.one_of(
    st.binary(max_size=300), st.binary(max_size=300).map(lambda b: MAGIC + b),
    st.binary(max_size=300).map(lambda b: MAGIC + struct.pack(">I", len(b)) + b))
BYTE_EDITS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete", "swap"]),
                                st.integers(0, 10**6), st.integers(0, 255)),
                      min_size=1, max_size=3)


def _random_bytes(shared: tuple[Receiver, Store, bytes], data: bytes) -> None:
    r, store, _valid = shared
    count("fuzz: bundle files (random bytes)", 1)
    _refused(r, store, data, "random.census")


@settings(max_examples=200, deadline=None)
@given(RANDOM_BYTES)
def test_random_bytes_are_refused(shared: tuple[Receiver, Store, bytes], data: bytes) -> None:
    """Random bytes (bare, or after the census marker and a plausible header length) given as
    a bundle: refused with a clear message, the database unchanged."""
    _random_bytes(shared, data)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(RANDOM_BYTES)
def test_random_bytes_are_refused_long(shared: tuple[Receiver, Store, bytes],
                                       data: bytes) -> None:
    """test_random_bytes_are_refused with ten times the examples."""
    _random_bytes(shared, data)


def _mutated_bytes(shared: tuple[Receiver, Store, bytes],
                   edits: list[tuple[str, int, int]]) -> None:
    r, store, valid = shared
    data = bytearray(valid)
    for kind, at, byte in edits:
        i = at % max(len(data), 1)
        if kind == "flip" and data:
            data[i] ^= 1 << (byte % 8)
        elif kind == "cut":
            del data[i:]
        elif kind == "insert":
            data[i:i] = bytes([byte])
        elif kind == "delete" and data:
            del data[i]
        elif kind == "swap" and len(data) > 1:
            j = (i + 1 + byte) % len(data)
            data[i], data[j] = data[j], data[i]
    assume(bytes(data) != valid)
    count("fuzz: bundle files (mutated bytes)", 1)
    _refused(r, store, bytes(data), "mutated.census")


@settings(max_examples=200, deadline=None)
@given(BYTE_EDITS)
def test_mutated_bundles_are_refused(shared: tuple[Receiver, Store, bytes],
                                     edits: list[tuple[str, int, int]]) -> None:
    """A valid bundle with bits flipped, bytes inserted, deleted or swapped, or cut short:
    refused with a clear message, the database unchanged."""
    _mutated_bytes(shared, edits)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(BYTE_EDITS)
def test_mutated_bundles_are_refused_long(shared: tuple[Receiver, Store, bytes],
                                          edits: list[tuple[str, int, int]]) -> None:
    """test_mutated_bundles_are_refused with ten times the examples."""
    _mutated_bytes(shared, edits)


def _through_the_cli(receivers: list[Receiver], data: st.DataObject) -> None:
    r = receivers[data.draw(st.integers(0, 1))]
    body, header = mutate(r.body, r.header(),
                          data.draw(st.lists(mutation(r.ids), min_size=1, max_size=3)))
    count("fuzz: bundle payloads (signed, hostile, CLI)", 1)
    with r.fresh() as store:
        path = r.sealed(payload_bytes(body), header)
        db = store.path
    result = CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}).invoke(
        cli, ["bundle", "import", "--db", str(db), str(path)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "Internal error" not in result.output
    if result.exit_code == 2:
        assert str(path) in result.output


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_bundles_through_the_cli(receivers: list[Receiver], data: st.DataObject) -> None:
    """`census bundle import` with a hostile signed bundle: exit status 0 (merged) or 2
    (refused, naming the file), never a traceback or an internal error."""
    _through_the_cli(receivers, data)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_bundles_through_the_cli_long(receivers: list[Receiver],
                                              data: st.DataObject) -> None:
    """test_hostile_bundles_through_the_cli with ten times the examples."""
    _through_the_cli(receivers, data)


# -- what the fuzzing found ----------------------------------------------------------------------


@contextmanager
def imported(r: Receiver, body: dict[str, Any], **header: Any) -> Iterator[tuple[str, Store]]:
    with r.fresh() as store:
        yield judge(r, store, r.sealed(payload_bytes(body), r.header(**header))), store


def test_an_override_of_a_rule_id_the_store_refuses_is_a_message(receivers: list[Receiver]
                                                                  ) -> None:
    """Found by the hostile payloads: an override row for rule "W1" (or "W٠٠١") passed the
    payload's check and broke the database's CHECK constraint: a database error instead of a
    refusal naming the file."""
    r = receivers[0]
    for rule in ("W1", "W٠٠١", "W0001"):
        body = json.loads(json.dumps(r.body))
        body["overrides"].append([body["dwellings"][0][0], rule, "observed_by_enumerator"])
        with imported(r, body) as (outcome, _store):
            assert outcome == "refused"


def test_a_deeply_nested_or_huge_value_is_held_small_and_flat(receivers: list[Receiver]) -> None:
    """Found by the hostile payloads: an unreadable row was kept for review as it came. A text
    of 300,000 characters made the review row too long for its CHECK, so INSERT OR IGNORE
    dropped it silently; a list nested 900 deep was stored, and loading the review queue from a
    slightly deeper call stack (the CLI, the app) then raised RecursionError, every time."""
    r = receivers[0]
    body = json.loads(json.dumps(r.body))
    body["dwellings"][1][2] = Deep(900)
    body["dwellings"][2][6] = "x" * 300_000
    with imported(r, body) as (outcome, store):
        assert outcome == "merged"
        items = {i.record_id: i for i in review_items(store)
                 if i.kind == "invalid" and i.record_type == "dwelling"}
        assert body["dwellings"][1][0] in items and body["dwellings"][2][0] in items

        def deep_call(n: int) -> int:
            return deep_call(n - 1) if n else len(review_items(store))

        assert deep_call(150) >= 2


def test_nan_in_a_payload_is_refused(receivers: list[Receiver]) -> None:
    """NaN and Infinity are not JSON, and census never writes them: a payload holding one is
    refused as not valid JSON (it used to be read, and NaN kept in the review queue)."""
    r = receivers[0]
    body = json.loads(json.dumps(r.body))
    body["households"][0][7] = float("nan")
    with imported(r, body) as (outcome, _store):
        assert outcome == "refused"


def test_a_huge_sequence_number_is_refused_and_gaps_stay_cheap(receivers: list[Receiver]
                                                                ) -> None:
    """Found by the hostile headers: seq 2**70 escaped as OverflowError from SQLite; and seq
    10**7 made every later import list ten million missing numbers (2 s and 400 MB; 2**31
    would take minutes and gigabytes). Now a sequence number is at most 2**31 - 1, and the
    missing ones are found from the gaps between the numbers received, at most 1,000."""
    r = receivers[0]
    with imported(r, r.body, seq=2**70) as (outcome, _store):
        assert outcome == "refused"
    with imported(r, r.body, seq=2**31 - 1) as (outcome, store):
        assert outcome == "merged"
        missing = missing_seqs(store, r.sender_code)
        assert missing[:3] == [2, 3, 4] and len(missing) == 1000


def test_a_supervisor_dwelling_in_a_district_is_flagged(receivers: list[Receiver]) -> None:
    """Found by the hostile payloads: the office trusts supervisor S01 for district R01-D01,
    the district included; a dwelling listed in the district itself (not an enumeration area)
    was merged unflagged, because the merge's rules knew any registered area. It is flagged
    now (E017), as `census check` finds it."""
    r = receivers[1]
    body = json.loads(json.dumps(r.body))
    body["dwellings"][1][1] = "R01-D01"
    with imported(r, body) as (outcome, store):
        assert outcome == "merged"
        flags = store.conn.execute("SELECT detail FROM review WHERE kind = 'flagged' AND "
                                   "record_id = ?", (body["dwellings"][1][0],)).fetchall()
        assert any("E017" in f[0] for f in flags), flags


def test_an_enumerator_cannot_name_another_enumerator_for_its_area(receivers: list[Receiver]
                                                                    ) -> None:
    """Found by the review: an enumerator's bundle listed who works each area, and the merge
    took it, so E001 could make the supervisor's progress per enumerator credit its area to
    anyone. From an enumerator, only pairs naming the sender count."""
    r = receivers[0]
    body = json.loads(json.dumps(r.body))
    body["enumerators"] = [[EA1, "E999"], [EA2, "E001"]]
    with imported(r, body) as (outcome, store):
        assert outcome == "merged"
        assert get_area(store, EA1).enumerator == "E001"  # type: ignore[union-attr]


def test_the_valid_payload_merges(receivers: list[Receiver]) -> None:
    """The starting point of the mutations is a good bundle for both receivers: merged, with
    its confirmed large household stored and nothing flagged."""
    for r in receivers:
        with imported(r, r.body) as (outcome, store):
            assert outcome == "merged"
            assert not store.conn.execute("SELECT 1 FROM review WHERE kind = 'flagged'").fetchall()
            assert store.conn.execute("SELECT count(*) FROM household WHERE status = ?",
                                      (str(HouseholdStatus.DRAFT),)).fetchone()[0] == 1


def test_review_show_quotes_a_held_record_printably(receivers: list[Receiver],
                                                   tmp_path: Path) -> None:
    """Found by the review: `census review show` printed a held record as JSON, which escapes
    only the control characters below U+0020; a locator held in a conflict could put C1
    controls (U+009B, a terminal's CSI) or a bidi override on the supervisor's screen."""
    r = receivers[0]
    body = json.loads(json.dumps(r.body))
    first = body["dwellings"][0]
    first[8] = 1  # the stored revision, with other content: a conflict, held whole
    first[6] = "gate \x9b2J by the \u202ewell"
    with imported(r, body) as (outcome, store):
        assert outcome == "merged"
        item = store.conn.execute("SELECT id FROM review WHERE kind = 'conflict' AND "
                                  "record_id = ?", (first[0],)).fetchone()
        db = store.path
        copy = tmp_path / "review.db"
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        shutil.copyfile(db, copy)
    assert item is not None
    result = CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}).invoke(
        cli, ["review", "show", "--db", str(copy), str(item[0])])
    assert result.exit_code == 0, result.output
    assert "\\u009b2J" in result.output
    assert all(line.isprintable() for line in result.output.splitlines()), result.output
