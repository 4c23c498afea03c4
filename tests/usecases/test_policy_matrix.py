"""One policy, every path (issue 13): the same matrix of who (role, own area or another's) ×
household state before × state after × area open or closed drives every write path, and each
path writes exactly when the lifecycle policy says yes.

The paths: a forms import and a save in the app (this database's user: a form gives a
household), a decision (approve, return), taking a held version from review, a bundle merge (a
sender below: as a form, or as a decision when its decision row comes with it) and the returned
forms of an assignment (the level above). Each asks `census.domain.lifecycle.may`; this test
asks it too, and compares."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pytest

from census.domain.config import default_config
from census.domain.ids import new_id, new_seed
from census.domain.lifecycle import DECIDED, Act, Actor, may
from census.domain.lifecycle import Area as PolicyArea
from census.domain.model import (
    Area,
    Dwelling,
    Household,
    HouseholdStatus,
    Outcome,
    ReturnReason,
    ReviewKind,
    Role,
    Visit,
)
from census.formats.payload import Decision, IncomingDwelling, IncomingHousehold, Records
from census.formats.record_json import (
    dwelling_digest,
    dwelling_to_json,
    household_digest,
    household_to_json,
)
from census.storage.areas import import_areas
from census.storage.exchange.merge import Hold, hold
from census.storage.exchange.peers import grant_areas, save_peer
from census.storage.records import (
    DwellingRow,
    HouseholdRow,
    Origin,
    load_household,
    write_records,
)
from census.storage.store import Store, utc_now
from census.transfer.keys import KeyPair
from census.usecases.assign import apply_assignment
from census.usecases.bundles import merge
from census.usecases.entry import Entry
from census.usecases.forms import import_lines
from census.usecases.review import decide, resolve_take
from census.usecases.sources import Source, Via
from tests.helpers import RAW_KEY as KEY

NOW = datetime(2026, 11, 28, 12, 0)
MINE, THEIRS = "R01-D01-EA001", "R01-D01-EA002"
AREAS = [Area("R01", "region", "North"), Area("R01-D01", "district", "Riverside", "R01"),
         Area(MINE, "ea", "Riverside 1", "R01-D01", 50, "E001"),
         Area(THEIRS, "ea", "Riverside 2", "R01-D01", 50, "E002")]
RESIDENTS = {("female", "25-34"): 1, ("male", "25-34"): 1, ("female", "0-4"): 1}
S = HouseholdStatus
STATES: list[S | None] = [None, S.DRAFT, S.COMPLETE, S.RETURNED, S.APPROVED]
USERS = {Role.ENUMERATOR: "E001", Role.SUPERVISOR: "S01", Role.OFFICE: "HQ"}


@dataclass(frozen=True)
class Case:
    role: Role
    area: str
    open: bool
    before: HouseholdStatus | None
    after: HouseholdStatus


CASES = [Case(*c) for c in itertools.product(
    list(Role), [MINE, THEIRS], [True, False], STATES, [S.DRAFT, S.COMPLETE, S.RETURNED,
                                                       S.APPROVED])]


def expected(case: Case, actor: Actor, act: Act) -> bool:
    facts = PolicyArea(case.area, case.open, "E001" if case.area == MINE else "E002")
    return may(actor, facts, act, case.before, case.after) is None


# -- stores, one per role, reused: each case makes its own dwelling ------------------------------


_STORES: dict[tuple[str, Role], Store] = {}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("matrix")
    for store in _STORES.values():
        store.close()
    _STORES.clear()


def store_of(folder: Path, role: Role, name: str = "") -> Store:
    key = (name, role)
    if key not in _STORES:
        s = Store.create(folder / f"{name}{role}.db", KEY, default_config(), role, USERS[role])
        import_areas(s, AREAS, s.user)
        _STORES[key] = s
    return _STORES[key]


def area_open(store: Store, code: str, is_open: bool) -> None:
    store.conn.execute("UPDATE area SET status = ? WHERE code = ?",
                       ("open" if is_open else "closed", code))
    store.conn.commit()


def given_household(store: Store, case: Case, source: str | None = None
                    ) -> tuple[Dwelling, Household]:
    """A completed dwelling with one household in state `case.before` (none when None), written
    past the policy (set-up only); its area is then opened or closed as the case says."""
    area_open(store, case.area, True)
    h = Household(id=new_id(), number=1, seed=new_seed(),
                  status=case.before or S.COMPLETE, revision=1, residents=dict(RESIDENTS))
    d = Dwelling(id=new_id(), area=case.area, structure=1 + len(_STORES) * 1000 + _next(),
                 number=1, visits=(Visit(1, datetime(2026, 11, 20, 10), Outcome.COMPLETED),),
                 enumerator="E001" if case.area == MINE else "E002")
    origin = Origin() if source is None else Origin(source, "set-up", fields=False,
                                                    keep_base=False)
    with store.write() as chain:
        write_records(store, chain, [DwellingRow(d, dwelling_digest(d, store.config), True,
                                                 store.user)],
                      [] if case.before is None else [HouseholdRow(
                          h, d.id, household_digest(h, store.config, d.id), True, store.user)],
                      origin, utc_now())
    area_open(store, case.area, case.open)
    return d, h


_COUNTER = itertools.count(1)


def _next() -> int:
    return next(_COUNTER) % 9000


def changed(store: Store, h: Household, case: Case) -> bool:
    """True when the change was written: the household exists in its new state, at a new
    revision (a refused change leaves the stored one as it was)."""
    found = load_household(store, h.id)
    if found is None:
        return False
    now = found[1]
    if case.before is None:
        return now.status is case.after
    return now.revision > h.revision and now.status is case.after


# -- the paths -----------------------------------------------------------------------------------


def via_forms(folder: Path, case: Case) -> tuple[bool, bool]:
    store = store_of(folder, case.role)
    d, h = given_household(store, case)
    line = dwelling_to_json(d, store.config, with_households=False)
    line["households"] = [{**household_to_json(h, store.config), "status": str(case.after),
                           "revision": h.revision + (case.before is not None)}]
    import_lines(store, [json.dumps(line)], now=NOW, sink=lambda _l, _p: None)
    return changed(store, h, case), expected(case, Actor(case.role, store.user), Act.HOUSEHOLD)


def via_app(folder: Path, case: Case) -> tuple[bool, bool] | None:
    if case.after not in (S.DRAFT, S.COMPLETE) or (
            case.before is None and case.after is S.COMPLETE):
        return None  # the app saves drafts and completes; a new household starts as a draft
    store = store_of(folder, case.role)
    d, h = given_household(store, case)
    entry = Entry(store, clock=lambda: NOW)
    if case.before is None:
        saved = entry.add_household(d.id)
        done = saved.ok and len(saved.dwelling.households) == 1 if saved.dwelling else False
        return done, expected(case, Actor(case.role, store.user), Act.HOUSEHOLD)
    entry.save_household(d.id, h, complete=case.after is S.COMPLETE)
    return changed(store, h, case), expected(case, Actor(case.role, store.user), Act.HOUSEHOLD)


def via_decision(folder: Path, case: Case) -> tuple[bool, bool] | None:
    if case.after not in DECIDED or case.before is None:
        return None
    store = store_of(folder, case.role)
    _d, h = given_household(store, case)
    try:
        decide(store, h.id, "approved" if case.after is S.APPROVED else "returned",
               reason=ReturnReason.COUNTS_WRONG)
    except Exception as exc:  # refused: a message, nothing changed
        assert type(exc).__name__ == "DecisionError", exc
    # A decision taken here does something only where it changes the household: a complete
    # one is approved or returned, an approved one returned; approving an approved one does
    # nothing, a draft or a returned one is not returned (written out here, not asked of
    # `changes`, the function under test).
    does = case.before is S.COMPLETE or (case.after is S.RETURNED and case.before is S.APPROVED)
    return changed(store, h, case), does and expected(case, Actor(case.role, store.user),
                                                      Act.DECIDE)


def via_review(folder: Path, case: Case) -> tuple[bool, bool] | None:
    if case.before is None:
        return None  # a conflict needs a stored version
    store = store_of(folder, case.role)
    d, h = given_household(store, case)
    incoming = {**household_to_json(replace(h, status=case.after, revision=h.revision),
                                    store.config),
                "dwelling": d.id, "seed": h.seed.hex(), "updated_at": utc_now(),
                "updated_by": "E001"}
    with store.write():
        hold(store, [Hold(ReviewKind.CONFLICT, "household", h.id, case.area, 1, "0" * 64,
                          "E001", None, "same_revision", incoming)], utc_now())
    item = store.conn.execute("SELECT max(id) FROM review").fetchone()[0]
    try:
        resolve_take(store, item, NOW)
    except Exception as exc:
        assert type(exc).__name__ == "DecisionError", exc
    return changed(store, h, case), expected(case, Actor(case.role, store.user), Act.RESOLVE)


def _incoming(store: Store, d: Dwelling, h: Household, case: Case
              ) -> tuple[IncomingDwelling, IncomingHousehold]:
    new = replace(h, status=case.after, revision=h.revision + (case.before is not None))
    return (IncomingDwelling(d, None, utc_now()),
            IncomingHousehold(new, d.id, None, utc_now(), "E001"))


def via_bundle(folder: Path, case: Case, decided: bool) -> tuple[bool, bool] | None:
    """A sender one level below: an enumerator's bundle at its supervisor, a supervisor's at
    the office; `decided` sends the decision row with the household."""
    if case.role is Role.OFFICE or (decided and case.after not in DECIDED):
        return None
    receiver = store_of(folder, Role.SUPERVISOR if case.role is Role.ENUMERATOR else Role.OFFICE,
                        "receiver-")
    sender = USERS[case.role] if case.role is Role.SUPERVISOR else "E001"
    if case.role is Role.ENUMERATOR and receiver.conn.execute(
            "SELECT 1 FROM peer WHERE code = 'E001'").fetchone() is None:
        pair = KeyPair.generate().public()
        with receiver.write() as chain:
            save_peer(receiver, chain, "E001", Role.ENUMERATOR, "downstream", pair.enc,
                      pair.sign, pair.key_id, pair.fingerprint())
            grant_areas(receiver, chain, "E001", [MINE], set_enumerator=False)
    d, h = given_household(receiver, case, source=sender)
    inc_d, inc_h = _incoming(receiver, d, h, case)
    recs = Records(dwellings=[inc_d], households=[inc_h])
    if decided:
        recs.decisions.append(Decision(h.id, inc_h.household.revision,
                                       "approved" if case.after is S.APPROVED else "returned",
                                       "counts_wrong" if case.after is S.RETURNED else None,
                                       None, None, sender, utc_now()))
    granted = frozenset({MINE}) if case.role is Role.ENUMERATOR else None
    source = Source(Via.BUNDLE, sender, case.role, new_id(), granted=granted)
    if case.role is Role.ENUMERATOR and case.area != MINE:
        return None  # refused whole before any record (areas not assigned to the sender)
    with receiver.write() as chain:
        merge(receiver, chain, source, recs, NOW)
    act = Act.DECIDE if decided else Act.HOUSEHOLD
    return changed(receiver, h, case), expected(case, Actor(case.role, sender, granted,
                                                            remote=True), act)


def via_assignment(folder: Path, case: Case) -> tuple[bool, bool] | None:
    """The level above's returned forms: a supervisor's at an enumerator's device (with the
    decision row of a decided state, as the assignment carries it)."""
    if case.role is not Role.SUPERVISOR:
        return None
    device = store_of(folder, Role.ENUMERATOR, "device-")
    d, h = given_household(device, case, source="S01")
    inc_d, inc_h = _incoming(device, d, h, case)
    recs = Records(dwellings=[inc_d], households=[inc_h])
    if case.after in DECIDED:
        recs.decisions.append(Decision(h.id, inc_h.household.revision,
                                       "approved" if case.after is S.APPROVED else "returned",
                                       None, None, None, "S01", utc_now()))
    try:
        with device.write() as chain:
            apply_assignment(device, chain, Source(Via.ASSIGNMENT, "S01", Role.SUPERVISOR,
                                                   new_id()), recs)
    except Exception as exc:  # the whole file refused
        assert type(exc).__name__ in ("Refused", "TransferError"), exc
    act = Act.DECIDE if case.after in DECIDED else Act.HOUSEHOLD
    return changed(device, h, case), expected(case, Actor(Role.SUPERVISOR, "S01",
                                                          remote=True), act)


PATHS = {
    "forms": via_forms,
    "app": via_app,
    "decision": via_decision,
    "review": via_review,
    "bundle": lambda f, c: via_bundle(f, c, decided=False),
    "bundle+decision": lambda f, c: via_bundle(f, c, decided=True),
    "assignment": via_assignment,
}


def test_every_path_decides_as_the_policy(folder: Path) -> None:
    """Every case of the matrix on every path that can express it: written exactly when the
    policy says yes."""
    seen = {"written": 0, "refused": 0}
    for path, run in PATHS.items():
        for case in CASES:
            got = run(folder, case)
            if got is None:
                continue
            written, allowed = got
            assert written == allowed, (path, case)
            seen["written" if written else "refused"] += 1
    assert seen["written"] > 50 and seen["refused"] > 50, seen
