"""The JSON form of a dwelling record: parsing with rule IDs and field paths, writing, digests."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from census.domain.config import default_config
from census.domain.model import (
    DwellingType,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Respondent,
)
from census.formats.record_json import (
    dwelling_digest,
    dwelling_from_json,
    dwelling_to_json,
    household_digest,
    household_to_json,
    with_seed,
)
from census.validation.rules import RULES, Problem

CFG = default_config()
DID = "0192f6c4-3b1e-7a2c-9f00-000000000001"
HID1 = "0192f6c4-3b1e-7a2c-9f00-1234567890ab"
HID2 = "0192f6c4-3b1e-7a2c-9f00-1234567890ac"
COUNT_PATH = "households[0].residents.female.0-4"

#: A full record in exactly the form `dwelling_to_json` writes.
FULL: dict[str, Any] = {
    "id": DID,
    "revision": 3,
    "area": "EA001",
    "structure": 12,
    "dwelling": 2,
    "type": "apartment",
    "occupancy": "occupied",
    "locator": "blue gate by the water tower",
    "enumerator": "enum07",
    "visits": [
        {"attempt": 1, "at": "2026-11-27T09:15", "outcome": "callback",
         "callback_at": "2026-11-28T17:30", "enumerator": "enum07"},
        {"attempt": 2, "at": "2026-11-28T17:35", "outcome": "completed"},
    ],
    "overrides": {"W005": "observed_by_enumerator"},
    "households": [
        {"id": HID1, "number": 1, "revision": 2, "status": "complete", "respondent": "member",
         "residents": {"female": {"0-4": 1, "25-34": 1}, "male": {"5-14": 2, "25-34": 12}},
         "away": 1, "visitors": 0, "declared_total": 17,
         "overrides": {"W001": "confirmed_with_respondent"}},
        {"id": HID2, "number": 2, "revision": 1, "status": "draft", "respondent": "proxy",
         "residents": {"male": {"65+": 1}}, "away": 0, "visitors": 2},
    ],
}


def full(**changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(FULL)
    rec.update(changes)
    return rec


def household_with(**changes: Any) -> dict[str, Any]:
    rec = full()
    rec["households"][0].update(changes)
    return rec


def visit_with(**changes: Any) -> dict[str, Any]:
    rec = full()
    rec["visits"][0].update(changes)
    return rec


def problems_of(raw: object) -> list[tuple[str, str]]:
    dwelling, problems = dwelling_from_json(raw, CFG)
    assert (dwelling is None) == bool(problems)
    for p in problems:
        assert p.rule_id in RULES
        assert p.message()
    return [(p.rule_id, p.field) for p in problems]


def only_problem(raw: object) -> Problem:
    dwelling, problems = dwelling_from_json(raw, CFG)
    assert dwelling is None
    assert len(problems) == 1, problems
    return problems[0]


# --- A valid record ---------------------------------------------------------------------------

def test_full_record_parses() -> None:
    d, problems = dwelling_from_json(full(), CFG)
    assert problems == []
    assert d is not None
    assert (d.id, d.revision, d.area, d.structure, d.number) == (DID, 3, "EA001", 12, 2)
    assert d.type is DwellingType.APARTMENT and d.occupancy is Occupancy.OCCUPIED
    assert d.locator == "blue gate by the water tower" and d.enumerator == "enum07"
    assert [v.outcome for v in d.visits] == [Outcome.CALLBACK, Outcome.COMPLETED]
    assert d.visits[0].callback_at == datetime(2026, 11, 28, 17, 30)
    assert d.visits[0].at == datetime(2026, 11, 27, 9, 15)
    assert d.overrides == {"W005": OverrideReason.OBSERVED_BY_ENUMERATOR}
    first, second = d.households
    assert first.id == HID1 and first.seed == b""
    assert first.residents == {("female", "0-4"): 1, ("female", "25-34"): 1,
                               ("male", "5-14"): 2, ("male", "25-34"): 12}
    assert first.usual_residents == 17 and first.declared_total == 17
    assert first.overrides == {"W001": OverrideReason.CONFIRMED_WITH_RESPONDENT}
    assert second.status is HouseholdStatus.DRAFT and second.respondent is Respondent.PROXY
    assert second.visitors == 2


def test_full_record_round_trips() -> None:
    d, _ = dwelling_from_json(full(), CFG)
    assert d is not None
    assert dwelling_to_json(d, CFG) == FULL
    assert json.loads(json.dumps(dwelling_to_json(d, CFG))) == FULL
    again, problems = dwelling_from_json(dwelling_to_json(d, CFG), CFG)
    assert problems == [] and again == d


def test_equivalent_spellings_normalise_to_the_same_record() -> None:
    rec = full()
    rec["visits"].reverse()                      # visits out of attempt order
    rec["visits"][0]["at"] = "2026-11-28 17:35"  # space instead of T
    h = rec["households"][0]
    h["residents"]["female"]["5-14"] = 0         # an explicit zero
    d, problems = dwelling_from_json(rec, CFG)
    assert problems == [] and d is not None
    assert dwelling_to_json(d, CFG) == FULL


def test_minimal_record_gets_defaults() -> None:
    d, problems = dwelling_from_json({"id": DID, "area": "EA001", "structure": 1,
                                      "dwelling": 1}, CFG)
    assert problems == [] and d is not None
    assert (d.revision, d.type, d.occupancy, d.locator) == (1, "house", "occupied", None)
    assert d.visits == () and d.households == () and d.overrides == {}
    out = dwelling_to_json(d, CFG)
    assert out == {"id": DID, "revision": 1, "area": "EA001", "structure": 1, "dwelling": 1,
                   "type": "house", "occupancy": "occupied", "visits": [], "households": []}


def test_household_defaults() -> None:
    d, problems = dwelling_from_json(full(households=[{"id": HID1, "number": 1}]), CFG)
    assert problems == [] and d is not None
    [h] = d.households
    assert (h.status, h.respondent, h.revision, h.residents, h.away, h.visitors,
            h.declared_total, h.overrides) == (HouseholdStatus.COMPLETE, Respondent.MEMBER, 1,
                                               {}, 0, 0, None, {})
    assert household_to_json(h, CFG) == {
        "id": HID1, "number": 1, "revision": 1, "status": "complete", "respondent": "member",
        "residents": {}, "away": 0, "visitors": 0}


def test_nulls_for_optional_fields_are_accepted() -> None:
    rec = full(locator=None, enumerator=None, overrides=None)
    rec["visits"][1]["callback_at"] = None
    rec["households"][0].update(residents=None, declared_total=None, overrides=None)
    d, problems = dwelling_from_json(rec, CFG)
    assert problems == [] and d is not None
    assert d.locator is None and d.households[0].residents == {}


def test_empty_locator_is_no_locator() -> None:
    d, _ = dwelling_from_json(full(locator=""), CFG)
    assert d is not None and d.locator is None


# --- E031 / E032 --------------------------------------------------------------------------------

@pytest.mark.parametrize(("rec", "path"), [
    (full(phone="0712345678"), "phone"),
    (visit_with(note="dog"), "visits[0].note"),
    (household_with(head="Jo"), "households[0].head"),
])
def test_unknown_field_is_e031_with_path(rec: dict[str, Any], path: str) -> None:
    p = only_problem(rec)
    assert (p.rule_id, p.field) == ("E031", path)
    name = path.rsplit(".", 1)[-1]
    assert repr(name) in p.message()


def test_unknown_field_message_lists_allowed() -> None:
    p = only_problem(full(phone="x"))
    assert "a dwelling" in p.message() and "locator" in p.message()


@pytest.mark.parametrize("key", ["id", "area", "structure", "dwelling"])
def test_missing_dwelling_field_is_e032(key: str) -> None:
    rec = full()
    del rec[key]
    assert ("E032", key) in problems_of(rec)


@pytest.mark.parametrize("key", ["attempt", "at", "outcome"])
def test_missing_visit_field_is_e032(key: str) -> None:
    rec = full()
    del rec["visits"][1][key]
    found = problems_of(rec)
    assert ("E032", f"visits[1].{key}") in found
    p = next(p for p in dwelling_from_json(rec, CFG)[1] if p.rule_id == "E032")
    assert repr(key) in p.message() and "a visit" in p.message()


@pytest.mark.parametrize("key", ["id", "number"])
def test_missing_household_field_is_e032(key: str) -> None:
    rec = full()
    del rec["households"][1][key]
    assert ("E032", f"households[1].{key}") in problems_of(rec)


# --- Counts -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "rule"), [
    (-1, "E001"), (61, "E001"), (10**12, "E001"),
    # In a JSON file a count is a JSON integer: text and floats are refused, even "3" and 3.0.
    ("1000000", "E002"), ("3", "E002"), ("", "E002"), (3.0, "E002"),
    (2.5, "E002"), ("3a", "E002"), ("2.5", "E002"), (True, "E002"), (False, "E002"),
    (None, "E002"), ([1], "E002"), ({"n": 1}, "E002"),
])
def test_bad_count_in_grid(value: object, rule: str) -> None:
    rec = household_with(residents={"female": {"0-4": value}})
    p = only_problem(rec)
    assert (p.rule_id, p.field) == (rule, COUNT_PATH)
    assert "60" in p.message()


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (0, 0), (60, 60)])
def test_good_count_in_grid(value: object, expected: int) -> None:
    d, problems = dwelling_from_json(household_with(residents={"female": {"0-4": value}}), CFG)
    assert problems == [] and d is not None
    assert d.households[0].residents.get(("female", "0-4"), 0) == expected


@pytest.mark.parametrize("key", ["away", "visitors"])
@pytest.mark.parametrize(("value", "rule"), [(-2, "E001"), (61, "E001"), ("x", "E002"),
                                             (1.5, "E002"), (True, "E002"), (None, "E002")])
def test_bad_away_and_visitors(key: str, value: object, rule: str) -> None:
    assert problems_of(household_with(**{key: value})) == [(rule, f"households[0].{key}")]


def test_declared_total_allows_twice_the_limit() -> None:
    d, problems = dwelling_from_json(household_with(declared_total=120), CFG)
    assert problems == [] and d is not None and d.households[0].declared_total == 120
    assert problems_of(household_with(declared_total=121)) == [
        ("E001", "households[0].declared_total")]
    assert problems_of(household_with(declared_total="many")) == [
        ("E002", "households[0].declared_total")]


def test_count_message_has_value() -> None:
    p = only_problem(household_with(residents={"female": {"0-4": 61}}))
    assert "61" in p.message() and "60" in p.message()


# --- Codes (E011), numbers (E014), date-times (E016) ----------------------------------------------

@pytest.mark.parametrize(("rec", "path", "allowed"), [
    (visit_with(outcome="gone"), "visits[0].outcome", "no_one_home"),
    (full(type="hut"), "type", "traditional"),
    (full(occupancy="empty"), "occupancy", "under_construction"),
    (household_with(residents={"x": {"0-4": 1}}), "households[0].residents.x", "female"),
    (household_with(residents={"female": {"0-5": 1}}), "households[0].residents.female.0-5",
     "65+"),
    (household_with(status="done"), "households[0].status", "approved"),
    (household_with(respondent="neighbour"), "households[0].respondent", "proxy"),
    (household_with(overrides={"W001": "because"}), "households[0].overrides.W001",
     "supervisor_instructed"),
    (full(overrides={"W005": 1}), "overrides.W005", "observed_by_enumerator"),
    (full(type="House"), "type", "house"),
    (full(type=None), "type", "house"),
])
def test_unknown_code_is_e011(rec: dict[str, Any], path: str, allowed: str) -> None:
    p = only_problem(rec)
    assert (p.rule_id, p.field) == ("E011", path)
    assert allowed in p.message()


@pytest.mark.parametrize(("rec", "path"), [
    (full(structure=0), "structure"),
    (full(structure=10000), "structure"),
    (full(dwelling="x"), "dwelling"),
    (full(revision=0), "revision"),
    (full(revision=1.5), "revision"),
    (visit_with(attempt=0), "visits[0].attempt"),
    (visit_with(attempt=100), "visits[0].attempt"),
    (household_with(number=100), "households[0].number"),
    (household_with(revision=True), "households[0].revision"),
    (full(visits=[{"attempt": i + 1, "at": "2026-11-28T10:00", "outcome": "no_one_home"}
                  for i in range(100)]), "visits"),
])
def test_number_out_of_range_is_e014(rec: dict[str, Any], path: str) -> None:
    assert problems_of(rec) == [("E014", path)]


@pytest.mark.parametrize("value", ["2026-13-40T25:00", "tomorrow", "2026-11-28", "", 20261128,
                                   "2026-11-28T17:30Z"])
@pytest.mark.parametrize("key", ["at", "callback_at"])
def test_bad_datetime_is_e016(key: str, value: object) -> None:
    p = only_problem(visit_with(**{key: value}))
    assert (p.rule_id, p.field) == ("E016", f"visits[0].{key}")
    assert "YYYY-MM-DDTHH:MM" in p.message()


def test_missing_at_is_reported_once_as_missing_and_once_as_unreadable() -> None:
    rec = full()
    del rec["visits"][0]["at"]
    assert problems_of(rec) == [("E032", "visits[0].at"), ("E016", "visits[0].at")]


# --- Types (E033) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_id", ["123", DID.upper(), DID[:-1], DID + "0", "", 17, None,
                                    "{" + DID + "}", DID.replace("-", "")])
def test_non_uuid_dwelling_id_is_e033(bad_id: object) -> None:
    assert ("E033", "id") in problems_of(full(id=bad_id))


def test_non_uuid_household_id_is_e033() -> None:
    p = only_problem(household_with(id="household-1"))
    assert (p.rule_id, p.field) == ("E033", "households[0].id")
    assert "UUID" in p.message()


@pytest.mark.parametrize(("rec", "path"), [
    (full(visits={"attempt": 1}), "visits"),
    (full(households="none"), "households"),
    (full(visits=[3]), "visits[0]"),
    (full(households=[[HID1]]), "households[0]"),
    (household_with(residents=[1, 2]), "households[0].residents"),
    (household_with(residents={"female": 3}), "households[0].residents.female"),
    (household_with(overrides=["W001"]), "households[0].overrides"),
    (full(overrides="W005"), "overrides"),
    (full(locator=12), "locator"),
    (full(area=""), "area"),
    (full(area="x" * 41), "area"),
    (full(area="EA\n01"), "area"),
    (full(area=7), "area"),
    (full(enumerator=["a"]), "enumerator"),
    (visit_with(enumerator=""), "visits[0].enumerator"),
])
def test_wrong_type_is_e033(rec: dict[str, Any], path: str) -> None:
    p = only_problem(rec)
    assert (p.rule_id, p.field) == ("E033", path)
    assert p.message()


@pytest.mark.parametrize("raw", [None, [], [FULL], "a line", 3, 2.5, True])
def test_non_object_record_is_e033_at_top(raw: object) -> None:
    d, problems = dwelling_from_json(raw, CFG)
    assert d is None
    assert [(p.rule_id, p.field) for p in problems] == [("E033", "")]
    assert "JSON object" in problems[0].message()


def test_every_problem_is_reported_in_one_pass() -> None:
    rec = full(type="hut", structure=-1, phone="1")
    rec["visits"][0]["at"] = "tomorrow"
    rec["households"][1]["residents"] = {"male": {"65+": "many"}}
    del rec["area"]
    found = problems_of(rec)
    assert sorted(found) == sorted([
        ("E031", "phone"), ("E032", "area"), ("E011", "type"), ("E014", "structure"),
        ("E016", "visits[0].at"), ("E002", "households[1].residents.male.65+")])


# --- Writing and digests ------------------------------------------------------------------------

def parse(rec: dict[str, Any]) -> Any:
    d, problems = dwelling_from_json(rec, CFG)
    assert problems == [] and d is not None
    return d


def test_equal_content_gives_equal_digest() -> None:
    a = parse(full())
    shuffled = dict(reversed(list(full().items())))
    b = parse(shuffled)
    assert dwelling_digest(a, CFG) == dwelling_digest(b, CFG)
    for ha, hb in zip(a.households, b.households, strict=True):
        assert household_digest(ha, CFG, DID) == household_digest(hb, CFG, DID)
    assert len(dwelling_digest(a, CFG)) == 64


def test_revision_does_not_enter_the_digests() -> None:
    a = parse(full())
    b = parse(full(revision=9))
    assert dwelling_digest(a, CFG) == dwelling_digest(b, CFG)
    c = parse(household_with(revision=5))
    assert household_digest(a.households[0], CFG, DID) == household_digest(c.households[0], CFG,
                                                                             DID)


def test_content_changes_the_digest() -> None:
    a = parse(full())
    assert dwelling_digest(a, CFG) != dwelling_digest(parse(full(locator="red door")), CFG)
    assert dwelling_digest(a, CFG) != dwelling_digest(parse(visit_with(outcome="no_one_home")),
                                                      CFG)
    h = a.households[0]
    more = parse(household_with(away=2)).households[0]
    assert household_digest(h, CFG, DID) != household_digest(more, CFG, DID)
    other_dwelling = "0192f6c4-3b1e-7a2c-9f00-000000000002"
    assert household_digest(h, CFG, DID) != household_digest(h, CFG, other_dwelling)


def test_households_do_not_enter_the_dwelling_digest() -> None:
    a = parse(full())
    b = parse(full(households=[]))
    assert dwelling_digest(a, CFG) == dwelling_digest(b, CFG)


def test_seed_never_written() -> None:
    d = parse(full())
    h = with_seed(d.households[0], None)
    assert len(h.seed) == 16
    assert household_to_json(h, CFG) == household_to_json(d.households[0], CFG)
    assert "seed" not in json.dumps(dwelling_to_json(d, CFG))
    kept = with_seed(d.households[0], b"k" * 16)
    assert kept.seed == b"k" * 16
    assert with_seed(kept, None).seed == b"k" * 16


# --- Regressions (bugs found by these tests) ------------------------------------------------------

def test_id_with_trailing_newline_is_e033() -> None:
    assert ("E033", "id") in problems_of(full(id=DID + "\n"))


def test_very_long_digit_string_is_e014() -> None:
    assert problems_of(full(structure="1" * 5000)) == [("E014", "structure")]


def test_a_households_first_completion_is_read_and_written_but_is_not_its_content() -> None:
    rec = full()
    rec["households"][0]["completed_at"] = "2026-11-27T09:40:59"  # seconds are dropped
    d, problems = dwelling_from_json(rec, CFG)
    assert problems == [] and d is not None
    first = d.households[0]
    assert first.completed_at == datetime(2026, 11, 27, 9, 40)
    assert dwelling_to_json(d, CFG)["households"][0]["completed_at"] == "2026-11-27T09:40"
    again, _ = dwelling_from_json(dwelling_to_json(d, CFG), CFG)
    assert again is not None and again.households[0].completed_at == first.completed_at
    # Not part of the household's content: the same digest, no conflict between two copies.
    plain, _ = dwelling_from_json(full(), CFG)
    assert plain is not None and plain.households[0].completed_at is None
    assert household_digest(first, CFG, DID) == household_digest(plain.households[0], CFG, DID)
    assert "completed_at" not in household_to_json(first, CFG)
    assert "completed_at" in household_to_json(first, CFG, completion=True)
