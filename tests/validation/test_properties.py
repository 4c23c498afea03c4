"""Property tests of the pure core: household invariants, problem shape, parsers never raise."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from census.domain.config import default_config
from census.domain.model import (
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Respondent,
    Visit,
)
from census.formats.record_json import dwelling_from_json, dwelling_to_json
from census.validation.engine import (
    Context,
    blocking,
    check_dwelling,
    check_household,
    check_locator,
    parse_count,
    parse_datetime,
    parse_number,
)
from census.validation.rules import RULES, Problem, Severity

CFG = default_config()
CAP = CFG.max_household_size
NOW = datetime(2026, 11, 28, 18, 0)
CTX = Context(CFG, now=NOW, area_known=lambda code: code == "EA001")
DID = "0192f6c4-3b1e-7a2c-9f00-000000000001"
HID = "0192f6c4-3b1e-7a2c-9f00-1234567890ab"
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

reasons = st.sampled_from(list(OverrideReason))


def check_problem(p: Problem, top_level_ok: bool = False) -> None:
    """A problem names a known rule, a field (a path), and its message renders."""
    assert isinstance(p, Problem)
    assert p.rule_id in RULES, p
    if not p.field:
        assert top_level_ok and p.rule_id in {"E030", "E033"}, p
    text = p.message()
    assert isinstance(text, str) and text
    assert str(p).startswith(p.rule_id)


# --- (a) A household that does not block is consistent ------------------------------------------

counts = st.one_of(st.integers(0, 4), st.integers(0, CAP))


@st.composite
def complete_households(draw: st.DrawFn) -> Household:
    residents = draw(st.dictionaries(st.sampled_from(CFG.cells), counts, max_size=len(CFG.cells)))
    h = Household(
        id=HID, number=draw(st.integers(1, 99)), seed=b"s" * 16,
        status=draw(st.sampled_from([HouseholdStatus.COMPLETE, HouseholdStatus.RETURNED,
                                     HouseholdStatus.APPROVED])),
        respondent=draw(st.sampled_from(list(Respondent))),
        residents=residents, away=draw(counts), visitors=draw(counts),
        declared_total=draw(st.none() | st.integers(0, 2 * CAP)),
    )
    fired = {p.rule_id for p in check_household(h, CTX) if p.severity is Severity.WARNING}
    return replace(h, overrides={rule_id: draw(reasons) for rule_id in fired})


@SETTINGS
@given(complete_households())
def test_unblocked_household_is_consistent(h: Household) -> None:
    problems = check_household(h, CTX)
    for p in problems:
        check_problem(p)
        if p.severity is Severity.WARNING:
            assert p.confirmed and not p.blocks
    assert "E018" not in {p.rule_id for p in problems}
    grid = sum(h.residents.values())
    consistent = (grid + h.away == h.usual_residents
                  and 1 <= h.usual_residents <= CAP
                  and h.declared_total in (None, h.usual_residents))
    if not blocking(problems):
        assert grid + h.away == h.usual_residents
        assert 1 <= h.usual_residents <= CAP
        assert h.declared_total is None or h.declared_total == h.usual_residents
    # The converse: with every warning confirmed, only an inconsistency blocks.
    assert bool(blocking(problems)) == (not consistent)


@SETTINGS
@given(complete_households())
def test_draft_blocks_only_on_value_errors(h: Household) -> None:
    draft = replace(h, status=HouseholdStatus.DRAFT, overrides={})
    problems = check_household(draft, CTX)
    assert all(not p.blocks for p in problems if p.severity is not Severity.ERROR)
    assert {p.rule_id for p in blocking(problems)} <= {"E008"}
    assert bool(blocking(problems)) == (draft.usual_residents > CAP)


# --- (b) Problems from random and mutated JSON ----------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30))
interesting: st.SearchStrategy[Any] = st.sampled_from([
    "", " ", "0", "1", "3", "61", "3a", "-1", "2.5", "1e3", "2026-11-28T10:00",
    "2026-11-28T19:00", "2026-13-40T25:00", "tomorrow", DID, HID, DID.upper(), "female", "male",
    "0-4", "65+", "W001", "W003", "E001", "completed", "callback", "vacant", "no_one_home",
    "house", "draft", "complete", "proxy", "confirmed_with_respondent", "EA001", "call 0712345678",
    "a@b.cd", 0, 1, 2, 61, -1, 10**12, 2.5, True, False, None, [], {},
])
json_values = st.recursive(
    st.one_of(json_scalars, interesting),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10) | interesting.filter(
                                   lambda v: isinstance(v, str)), children, max_size=4)),
    max_leaves=20,
)

BASE: dict[str, Any] = {
    "id": DID, "revision": 1, "area": "EA001", "structure": 1, "dwelling": 1, "type": "house",
    "occupancy": "occupied", "locator": "blue gate",
    "visits": [
        {"attempt": 1, "at": "2026-11-27T09:00", "outcome": "callback",
         "callback_at": "2026-11-28T10:00"},
        {"attempt": 2, "at": "2026-11-28T10:00", "outcome": "completed"},
    ],
    "households": [
        {"id": HID, "number": 1, "status": "complete",
         "residents": {"female": {"25-34": 1}, "male": {"25-34": 1, "0-4": 2}},
         "away": 0, "visitors": 0, "overrides": {}},
    ],
    "overrides": {},
}


def containers(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict and list inside `obj`, `obj` itself included."""
    out = [path] if isinstance(obj, dict | list) else []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(
        obj, list) else ()
    for key, value in items:
        out += containers(value, (*path, key))
    return out


@st.composite
def mutated_records(draw: st.DrawFn) -> Any:
    rec = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = containers(rec)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        target: Any = rec
        for key in path:
            target = target[key]
        value = copy.deepcopy(draw(json_values))  # never share the strategy's [] and {}
        if isinstance(target, dict):
            keys = sorted(target)
            action = draw(st.sampled_from(["set", "delete", "add"]))
            if action == "add" or not keys:
                target[draw(st.text(max_size=8) | st.sampled_from(
                    ["phone", "name", "0-4", "65+", "W001", "x"]))] = value
            elif action == "set":
                target[draw(st.sampled_from(keys))] = value
            else:
                del target[draw(st.sampled_from(keys))]
        elif target:
            index = draw(st.integers(0, len(target) - 1))
            if draw(st.booleans()):
                target[index] = value
            else:
                del target[index]
        else:
            target.append(value)
    return rec


def check_record(raw: Any) -> None:
    dwelling, problems = dwelling_from_json(raw, CFG)
    assert (dwelling is None) == bool(problems)
    for p in problems:
        check_problem(p, top_level_ok=p.rule_id == "E033" and not isinstance(raw, dict))
    if dwelling is None:
        return
    for p in check_dwelling(dwelling, CTX):
        check_problem(p)
    # What was read is written back in a form that reads back the same.
    out = dwelling_to_json(dwelling, CFG)
    again, more = dwelling_from_json(out, CFG)
    assert more == []
    assert again is not None and dwelling_to_json(again, CFG) == out


def test_base_record_is_valid() -> None:
    d, problems = dwelling_from_json(BASE, CFG)
    assert problems == [] and d is not None
    assert blocking(check_dwelling(d, CTX)) == []


@SETTINGS
@given(json_values)
def test_arbitrary_json_never_raises(raw: Any) -> None:
    check_record(raw)


@SETTINGS
@given(mutated_records())
def test_mutated_records_give_well_formed_problems(raw: Any) -> None:
    check_record(raw)


def test_empty_unknown_key_has_a_path() -> None:
    _d, problems = dwelling_from_json({**BASE, "": 1}, CFG)
    assert [p.rule_id for p in problems] == ["E031"]
    assert problems[0].field != ""


def test_null_area_is_refused() -> None:
    dwelling, problems = dwelling_from_json({**BASE, "area": None}, CFG)
    assert dwelling is None
    assert ("E033", "area") in [(p.rule_id, p.field) for p in problems]


# --- A generated dwelling survives writing and reading -------------------------------------------

minutes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda t: t.replace(second=0, microsecond=0))
# Area and enumerator codes: letters, digits, - and _ (never a name with spaces).
codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", fullmatch=True)


@st.composite
def dwellings(draw: st.DrawFn) -> Dwelling:
    attempts = sorted(draw(st.sets(st.integers(1, 99), max_size=5)))
    visits = tuple(Visit(attempt=a, at=draw(minutes), outcome=draw(st.sampled_from(list(Outcome))),
                         callback_at=draw(st.none() | minutes),
                         enumerator=draw(st.none() | codes)) for a in attempts)
    households = []
    for i in range(draw(st.integers(0, 3))):
        households.append(Household(
            id=f"0192f6c4-3b1e-7a2c-9f00-{i:012x}", number=draw(st.integers(1, 99)), seed=b"",
            status=draw(st.sampled_from(list(HouseholdStatus))),
            revision=draw(st.integers(1, 10**9)),
            respondent=draw(st.sampled_from(list(Respondent))),
            residents=draw(st.dictionaries(st.sampled_from(CFG.cells), st.integers(1, CAP))),
            away=draw(st.integers(0, CAP)), visitors=draw(st.integers(0, CAP)),
            declared_total=draw(st.none() | st.integers(0, 2 * CAP)),
            overrides=draw(st.dictionaries(st.sampled_from(["W001", "W002", "W004"]), reasons)),
        ))
    return Dwelling(
        id=DID, area=draw(codes), structure=draw(st.integers(1, 9999)),
        number=draw(st.integers(1, 9999)), type=draw(st.sampled_from(list(DwellingType))),
        occupancy=draw(st.sampled_from(list(Occupancy))),
        # Locators are stored stripped (a blank one is none): generate them in that form.
        locator=draw(st.none() | st.text(min_size=1, max_size=80).map(str.strip).filter(bool)),
        revision=draw(st.integers(1, 10**9)), enumerator=draw(st.none() | codes),
        visits=visits, households=tuple(households),
        overrides=draw(st.dictionaries(st.sampled_from(["W003", "W005"]), reasons)))


@settings(SETTINGS, max_examples=100)
@given(dwellings())
def test_generated_dwelling_round_trips(d: Dwelling) -> None:
    again, problems = dwelling_from_json(dwelling_to_json(d, CFG), CFG)
    assert problems == []
    assert again == d
    for p in check_dwelling(d, CTX):
        check_problem(p)


# --- (c) The value parsers never raise ---------------------------------------------------------

@SETTINGS
@given(st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none()))
def test_parse_count_never_raises(value: object) -> None:
    result = parse_count(value, "away", CAP)
    if isinstance(result, Problem):
        assert result.rule_id in {"E001", "E002"}
        assert result.field == "away"
        assert str(CAP) in result.message()
    else:
        assert type(result) is int and 0 <= result <= CAP
        if isinstance(value, str):
            stripped = value.strip()
            assert stripped == "" or (stripped.isascii() and stripped.isdigit())


@SETTINGS
@given(st.text(alphabet="0123456789 ", max_size=12))
def test_parse_count_of_digits_is_the_number(text: str) -> None:
    result = parse_count(text, "away", CAP)
    stripped = text.strip()
    if stripped == "":
        assert result == 0
    elif " " in stripped:
        assert isinstance(result, Problem) and result.rule_id == "E002"
    elif len(stripped) <= 6 and int(stripped) <= CAP:
        assert result == int(stripped)
    else:
        assert isinstance(result, Problem) and result.rule_id == "E001"


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.integers(), st.floats(), st.booleans(), st.none()))
def test_parse_number_and_datetime_never_raise(value: object) -> None:
    number = parse_number(value, "structure", "structure number")
    if isinstance(number, Problem):
        assert number.rule_id == "E014" and number.message()
    else:
        assert 1 <= number <= 9999
    when = parse_datetime(value, "at")
    if isinstance(when, Problem):
        assert when.rule_id == "E016" and when.message()
    else:
        assert isinstance(when, datetime) and isinstance(value, str)


@SETTINGS
@given(st.text(max_size=100))
def test_check_locator_never_raises(text: str) -> None:
    problems = check_locator(text, CFG)
    for p in problems:
        assert p.rule_id in {"E009", "E010"} and p.field == "locator"
        assert p.message()
    assert ("E009" in {p.rule_id for p in problems}) == (len(text) > 60)
