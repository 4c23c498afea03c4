"""Every rule of the catalogue is triggered (reject) and not triggered by a nearby case (accept).

The cases go through the public functions of the engine and of `records.dwelling_from_json`.
E030 (a line that is not JSON, from `forms.import_lines`) and E019 (revision conflict, needs
the store) are left to the storage/CLI tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from census.domain.config import default_config, parse_config
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
from census.formats.record_json import dwelling_from_json
from census.validation.engine import (
    Context,
    NaturalKey,
    blocking,
    check_area,
    check_dwelling,
    check_household,
    check_listing_size,
    check_locator,
    parse_code,
    parse_count,
    parse_date_and_time,
    parse_datetime,
    parse_number,
)
from census.validation.rules import RULES, Problem, Severity, Stage

CFG = default_config()
NOW = datetime(2026, 11, 28, 18, 0)
MORNING = datetime(2026, 11, 28, 10, 0)
CTX = Context(CFG, now=NOW, area_known=lambda code: code == "EA001")
HID = "0192f6c4-3b1e-7a2c-9f00-1234567890ab"
HID2 = "0192f6c4-3b1e-7a2c-9f00-1234567890ac"
DID = "0192f6c4-3b1e-7a2c-9f00-000000000001"
CONFIRM = OverrideReason.CONFIRMED_WITH_RESPONDENT
ADULTS = {("female", "25-34"): 1, ("male", "25-34"): 1}

BASE_HOUSEHOLD = Household(id=HID, number=1, seed=b"s" * 16, status=HouseholdStatus.COMPLETE,
                           residents=ADULTS)


def hh(**kw: Any) -> Household:
    return replace(BASE_HOUSEHOLD, **kw)


def visit(attempt: int = 1, at: datetime = MORNING, outcome: Outcome = Outcome.COMPLETED,
          callback_at: datetime | None = None) -> Visit:
    return Visit(attempt=attempt, at=at, outcome=outcome, callback_at=callback_at)


BASE_DWELLING = Dwelling(id=DID, area="EA001", structure=1, number=1, visits=(visit(),),
                         households=(hh(),))


def dw(**kw: Any) -> Dwelling:
    return replace(BASE_DWELLING, **kw)


def record(**kw: Any) -> dict[str, Any]:
    """A valid dwelling JSON record; keyword None removes a field."""
    rec: dict[str, Any] = {
        "id": DID, "revision": 1, "area": "EA001", "structure": 1, "dwelling": 1,
        "type": "house", "occupancy": "occupied",
        "visits": [{"attempt": 1, "at": "2026-11-28T10:00", "outcome": "completed"}],
        "households": [{"id": HID, "number": 1, "status": "complete",
                        "residents": {"female": {"25-34": 1}, "male": {"25-34": 1}}}],
    }
    for key, value in kw.items():
        if value is None:
            rec.pop(key, None)
        else:
            rec[key] = value
    return rec


def parsed(raw: object) -> list[Problem]:
    return dwelling_from_json(raw, CFG)[1]


def one(result: object) -> list[Problem]:
    """A parse_* result as a list of problems (empty when a value was parsed)."""
    return [result] if isinstance(result, Problem) else []


def listed(result: object) -> list[Problem]:
    """A parse result that is a value or a list of problems, as that list."""
    return result if isinstance(result, list) else []


def ids(problems: list[Problem]) -> set[str]:
    return {p.rule_id for p in problems}


def no_contact_visits(n: int) -> tuple[Visit, ...]:
    return tuple(visit(attempt=i + 1, at=MORNING + timedelta(hours=i),
                       outcome=Outcome.NO_ONE_HOME) for i in range(n))


# --- One case that triggers each rule, and one nearby case that does not. ---------------------

Case = Callable[[], list[Problem]]

REJECT: dict[str, Case] = {
    "E001": lambda: one(parse_count("61", "away", 60)),
    "E002": lambda: one(parse_count("3a", "away", 60)),
    "E003": lambda: check_household(hh(residents={}), CTX),
    "E004": lambda: check_dwelling(dw(visits=(visit(outcome=Outcome.VACANT),)), CTX),
    "E005": lambda: check_area([NaturalKey("EA001", 1, 1, 1, "rec-a"),
                                NaturalKey("EA001", 1, 1, 1, "rec-b")]),
    "E006": lambda: check_dwelling(dw(visits=(
        visit(outcome=Outcome.COMPLETED),
        visit(2, MORNING + timedelta(hours=2), Outcome.CALLBACK, MORNING + timedelta(hours=1)),
    )), CTX),
    "E007": lambda: check_household(hh(declared_total=3), CTX),
    "E008": lambda: check_household(hh(residents={("female", "25-34"): 60,
                                                  ("male", "25-34"): 1}), CTX),
    "E009": lambda: check_locator("x" * 61, CFG),
    "E010": lambda: check_locator("call 0712 345 678", CFG),
    "E011": lambda: one(parse_code("hut", "type", DwellingType, "dwelling type")),
    "E012": lambda: check_dwelling(dw(visits=(
        visit(), visit(2, MORNING + timedelta(hours=1), Outcome.CALLBACK))), CTX),
    "E013": lambda: check_dwelling(dw(visits=(visit(outcome=Outcome.NO_ONE_HOME),)), CTX),
    "E014": lambda: one(parse_number("0", "structure", "structure number")),
    "E015": lambda: check_dwelling(dw(visits=(visit(1), visit(1, MORNING + timedelta(hours=1)))),
                                   CTX),
    "E016": lambda: one(parse_datetime("tomorrow", "visits[0].at")),
    "E023": lambda: listed(parse_date_and_time("28/11/2026", "17:30", "callback_at")),
    "E025": lambda: check_household(hh(completed_at=NOW + timedelta(minutes=11)), CTX),
    "E024": lambda: listed(parse_date_and_time("2026-11-28", "25:00", "callback_at")),
    "E017": lambda: check_dwelling(dw(area="EA999"), CTX),
    "E018": lambda: check_household(hh(overrides={"W001": CONFIRM}), CTX),
    "E020": lambda: check_dwelling(dw(visits=(visit(at=NOW + timedelta(minutes=11)),)), CTX),
    "E022": lambda: check_dwelling(dw(visits=(
        visit(1, MORNING, Outcome.NO_ONE_HOME), visit(2, MORNING - timedelta(days=1)))), CTX),
    "E031": lambda: parsed(record(phone="0712345678")),
    "E032": lambda: parsed(record(area=None)),
    "E033": lambda: parsed(record(id="not-a-uuid")),
    "W001": lambda: check_household(hh(residents={("female", "25-34"): 16}), CTX),
    "W002": lambda: check_household(hh(residents={("female", "5-14"): 2}), CTX),
    "W003": lambda: check_dwelling(dw(visits=(*no_contact_visits(4), visit(
        5, MORNING + timedelta(hours=5)))), CTX),
    "W004": lambda: check_household(hh(visitors=3), CTX),
    "W005": lambda: check_dwelling(dw(occupancy=Occupancy.VACANT), CTX),
    "I001": lambda: check_household(hh(respondent=Respondent.PROXY), CTX),
    "I002": lambda: check_listing_size("EA001", 13, 10),
}

ACCEPT: dict[str, Case] = {
    "E001": lambda: one(parse_count("60", "away", 60)),
    "E002": lambda: one(parse_count(" 3 ", "away", 60)),
    "E003": lambda: check_household(hh(residents={}, away=1), CTX),
    "E004": lambda: check_dwelling(dw(visits=(visit(outcome=Outcome.VACANT),),
                                      households=(hh(residents={}, status=HouseholdStatus.DRAFT),)
                                      ), CTX),
    "E005": lambda: check_area([NaturalKey("EA001", 1, 1, 1, "rec-a"),
                                NaturalKey("EA001", 1, 1, 2, "rec-b"),
                                NaturalKey("EA001", 1, 1, 1, "rec-a")]),
    "E006": lambda: check_dwelling(dw(visits=(
        visit(outcome=Outcome.COMPLETED),
        visit(2, MORNING + timedelta(hours=2), Outcome.CALLBACK, MORNING + timedelta(hours=3)),
    )), CTX),
    "E007": lambda: check_household(hh(declared_total=2), CTX),
    "E008": lambda: check_household(hh(residents={("female", "25-34"): 59,
                                                  ("male", "25-34"): 1}), CTX),
    "E009": lambda: check_locator("x" * 60, CFG),
    "E010": lambda: check_locator("blue gate by the water tower", CFG),
    "E011": lambda: one(parse_code("traditional", "type", DwellingType, "dwelling type")),
    "E012": lambda: check_dwelling(dw(visits=(
        visit(), visit(2, MORNING + timedelta(hours=1), Outcome.CALLBACK,
                       MORNING + timedelta(hours=2)))), CTX),
    "E013": lambda: check_dwelling(dw(visits=(visit(outcome=Outcome.NO_ONE_HOME),
                                              visit(2, MORNING + timedelta(hours=1),
                                                    Outcome.PARTIAL))), CTX),
    "E014": lambda: one(parse_number("1", "structure", "structure number")),
    "E015": lambda: check_dwelling(dw(visits=(visit(1), visit(2, MORNING + timedelta(hours=1)))),
                                   CTX),
    "E016": lambda: one(parse_datetime("2026-11-28T17:30", "visits[0].at")),
    "E023": lambda: listed(parse_date_and_time("2026-11-28", "17:30", "callback_at")),
    "E025": lambda: check_household(hh(completed_at=NOW + timedelta(minutes=10)), CTX),
    "E024": lambda: listed(parse_date_and_time("2026-11-28", "1730", "callback_at")),
    "E017": lambda: check_dwelling(dw(area="EA001"), CTX),
    "E018": lambda: check_household(hh(residents={("female", "25-34"): 16},
                                       overrides={"W001": CONFIRM}), CTX),
    "E020": lambda: check_dwelling(dw(visits=(visit(at=NOW + timedelta(minutes=10)),)), CTX),
    "E022": lambda: check_dwelling(dw(visits=(
        visit(1, MORNING - timedelta(days=1), Outcome.NO_ONE_HOME), visit(2, MORNING))), CTX),
    "E031": lambda: parsed(record(locator="blue gate", enumerator="enum01")),
    "E032": lambda: parsed(record(type=None, occupancy=None, revision=None)),
    "E033": lambda: parsed(record(id=DID)),
    "W001": lambda: check_household(hh(residents={("female", "25-34"): 15}), CTX),
    "W002": lambda: check_household(hh(residents={("female", "5-14"): 2,
                                                  ("female", "15-24"): 1}), CTX),
    "W003": lambda: check_dwelling(dw(visits=(*no_contact_visits(3), visit(
        4, MORNING + timedelta(hours=4)))), CTX),
    "W004": lambda: check_household(hh(visitors=2), CTX),
    "W005": lambda: check_dwelling(dw(occupancy=Occupancy.OCCUPIED), CTX),
    "I001": lambda: check_household(hh(respondent=Respondent.MEMBER), CTX),
    "I002": lambda: check_listing_size("EA001", 12, 10),
}

# E019/E021 need the store, E030/E034 the file reader: tests/storage covers them. E040-E045
# are the lifecycle policy's refusals: the policy matrix drives each on every path
# (tests/usecases/test_policy_matrix.py), and tests/usecases/test_authority.py reads each.
LEFT_TO_STORAGE_TESTS = {"E030", "E019", "E021", "E034",
                         "E040", "E041", "E042", "E043", "E044", "E045"}


def test_every_rule_is_covered() -> None:
    assert set(REJECT) | LEFT_TO_STORAGE_TESTS == set(RULES)
    assert set(ACCEPT) | LEFT_TO_STORAGE_TESTS == set(RULES)
    assert not set(REJECT) & LEFT_TO_STORAGE_TESTS


@pytest.mark.parametrize("rule_id", sorted(REJECT))
def test_rule_rejects(rule_id: str) -> None:
    problems = REJECT[rule_id]()
    assert rule_id in ids(problems), problems
    for p in problems:
        assert p.rule_id in RULES
        text = p.message()
        assert text and "{" not in text, text
        assert str(p).startswith(f"{p.rule_id} ")


@pytest.mark.parametrize("rule_id", sorted(ACCEPT))
def test_rule_accepts_nearby_case(rule_id: str) -> None:
    problems = ACCEPT[rule_id]()
    assert rule_id not in ids(problems), problems
    for p in problems:
        assert p.message()


# --- Catalogue --------------------------------------------------------------------------------

def test_catalogue_is_consistent() -> None:
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule_id[0] == {"error": "E", "warning": "W", "info": "I"}[rule.severity]
        assert rule.title and rule.template
    assert all(RULES[r].stage is Stage.COMPLETE for r in RULES if r[0] in "WI")


# --- parse_count / parse_number / parse_datetime / parse_code ----------------------------------

@pytest.mark.parametrize("value", [0, 60, "0", "60", " 7 ", "", 3.0])
def test_parse_count_accepts(value: object) -> None:
    assert isinstance(parse_count(value, "f", 60), int)


def test_parse_count_values() -> None:
    assert parse_count("", "f", 60) == 0
    assert parse_count(" 7 ", "f", 60) == 7
    assert parse_count(3.0, "f", 60) == 3


@pytest.mark.parametrize(("value", "rule"), [
    (-1, "E001"), (61, "E001"), ("61", "E001"), (10**12, "E001"), ("1000000", "E001"),
    ("3a", "E002"), ("-1", "E002"), ("2.5", "E002"), (2.5, "E002"), (True, "E002"),
    (False, "E002"), (None, "E002"), ("٣", "E002"), ("³", "E002"), (float("nan"), "E002"),
    (float("inf"), "E002"), ([3], "E002"), ("3 4", "E002"),
])
def test_parse_count_rejects(value: object, rule: str) -> None:
    result = parse_count(value, "households[0].away", 60)
    assert isinstance(result, Problem)
    assert result.rule_id == rule
    assert result.field == "households[0].away"
    assert "60" in result.message()


def test_count_message_names_the_value_and_maximum() -> None:
    p = parse_count("61", "away", 60)
    assert isinstance(p, Problem)
    assert "61" in p.message() and "60" in p.message()
    p = parse_count("3a", "away", 60)
    assert isinstance(p, Problem)
    assert "'3a'" in p.message() and "60" in p.message()


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("12", 12), (" 9999 ", 9999), (4.0, 4)])
def test_parse_number_accepts(value: object, expected: int) -> None:
    assert parse_number(value, "structure", "structure number") == expected


@pytest.mark.parametrize("value", [0, 10000, "0", "x", "1.5", 1.5, True, None, -3, "", [1]])
def test_parse_number_rejects(value: object) -> None:
    result = parse_number(value, "structure", "structure number")
    assert isinstance(result, Problem) and result.rule_id == "E014"
    message = result.message()
    assert "1" in message and "9999" in message and "structure number" in message


def test_parse_number_custom_range() -> None:
    assert parse_number(99, "a", "visit attempt number", 1, 99) == 99
    p = parse_number(100, "a", "visit attempt number", 1, 99)
    assert isinstance(p, Problem) and "100" in p.message() and "99" in p.message()


@pytest.mark.parametrize("text", ["2026-11-28T17:30", "2026-11-28 17:30", "2026-11-28T17:30:05",
                                  " 2026-11-28T17:30 "])
def test_parse_datetime_accepts(text: str) -> None:
    result = parse_datetime(text, "at")
    assert isinstance(result, datetime)
    assert (result.year, result.month, result.day, result.hour, result.minute) == (
        2026, 11, 28, 17, 30)


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-40T25:00", "2026-02-30T10:00",
                                   "28/11/2026 17:30", "2026-11-28", "", None, 1764350000])
def test_parse_datetime_rejects(value: object) -> None:
    result = parse_datetime(value, "visits[0].at")
    assert isinstance(result, Problem) and result.rule_id == "E016"
    assert result.field == "visits[0].at"
    if isinstance(value, str) and value:
        assert repr(value) in result.message()


def test_parse_code() -> None:
    assert parse_code("vacant", "occupancy", Occupancy, "occupancy") is Occupancy.VACANT
    for bad in ("Vacant", "", None, 1):
        p = parse_code(bad, "occupancy", Occupancy, "occupancy")
        assert isinstance(p, Problem) and p.rule_id == "E011"
        assert "under_construction" in p.message()  # allowed codes are listed


# --- Locator ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "call 0712 345 678", "+44 20 7946 0958", "0712345678", "(071) 234-5678",
    "ask for jo@example.com", "mail a.b@c.org",
])
def test_locator_with_contact_data_is_e010(text: str) -> None:
    problems = check_locator(text, CFG)
    assert [p.rule_id for p in problems] == ["E010"]
    assert problems[0].field == "locator"


def test_locator_phone_and_email_messages_differ() -> None:
    phone = check_locator("+44 20 7946 0958", CFG)[0].message()
    mail = check_locator("jo@example.com", CFG)[0].message()
    assert "phone number" in phone
    assert "e-mail" in mail


@pytest.mark.parametrize("text", ["blue gate\nsecond line", "tab\there", "bell\x07"])
def test_locator_with_control_characters_is_e010(text: str) -> None:
    problems = check_locator(text, CFG)
    assert "E010" in ids(problems)
    assert any("control characters" in p.message() for p in problems)


@pytest.mark.parametrize("text", ["blue gate by the water tower", "house 12, plot 345",
                                  "behind the mosque, 2nd left", "", None, "x" * 60])
def test_normal_landmark_passes(text: str | None) -> None:
    assert check_locator(text, CFG) == []


def test_61_char_locator_is_e009() -> None:
    problems = check_locator("a" * 61, CFG)
    assert [p.rule_id for p in problems] == ["E009"]
    assert "61" in problems[0].message() and "60" in problems[0].message()


def test_locator_limit_follows_config() -> None:
    cfg = parse_config("[rules]\nlocator_max_length = 20\n")
    assert check_locator("x" * 20, cfg) == []
    assert ids(check_locator("x" * 21, cfg)) == {"E009"}


def test_dwelling_locator_problems_are_reported() -> None:
    problems = check_dwelling(dw(locator="call 0712 345 678"), CTX)
    assert [(p.rule_id, p.field) for p in blocking(problems)] == [("E010", "locator")]


# --- Warnings, confirmations and blocking -----------------------------------------------------

def test_clean_household_has_no_problems() -> None:
    assert check_household(hh(), CTX) == []
    assert check_dwelling(dw(), CTX) == []


def test_warning_blocks_complete_household_until_confirmed() -> None:
    big = {("female", "25-34"): 16}
    [p] = check_household(hh(residents=big), CTX)
    assert (p.rule_id, p.confirmed, p.blocks) == ("W001", False, True)
    assert p.severity is Severity.WARNING
    assert blocking([p]) == [p]

    [q] = check_household(hh(residents=big, overrides={"W001": CONFIRM}), CTX)
    assert (q.rule_id, q.confirmed, q.blocks) == ("W001", True, False)
    assert blocking([q]) == []


def test_every_reason_confirms() -> None:
    for reason in OverrideReason:
        problems = check_household(hh(visitors=5, overrides={"W004": reason}), CTX)
        assert [(p.rule_id, p.confirmed, p.blocks) for p in problems] == [("W004", True, False)]


def test_several_warnings_need_each_a_confirmation() -> None:
    kids = {("female", "5-14"): 16}
    problems = check_household(hh(residents=kids, overrides={"W001": CONFIRM}), CTX)
    state = {p.rule_id: (p.confirmed, p.blocks) for p in problems}
    assert state == {"W001": (True, False), "W002": (False, True)}
    problems = check_household(hh(residents=kids, overrides={"W001": CONFIRM, "W002": CONFIRM}),
                               CTX)
    assert blocking(problems) == []


def test_warnings_on_a_draft_do_not_block() -> None:
    problems = check_household(hh(status=HouseholdStatus.DRAFT,
                                  residents={("female", "5-14"): 16}, visitors=20), CTX)
    assert ids(problems) == {"W001", "W002", "W004"}
    assert all(not p.blocks and not p.confirmed for p in problems)


def test_draft_skips_completion_errors_but_not_value_errors() -> None:
    draft = HouseholdStatus.DRAFT
    assert check_household(hh(status=draft, residents={}), CTX) == []
    assert check_household(hh(status=draft, declared_total=9), CTX) == []
    problems = check_household(hh(status=draft, away=61, residents={}), CTX)
    assert {"E001", "E008"} <= ids(blocking(problems))


def test_info_never_blocks() -> None:
    [p] = check_household(hh(respondent=Respondent.PROXY), CTX)
    assert (p.rule_id, p.blocks) == ("I001", False)
    [q] = check_listing_size("EA001", 13, 10)
    assert not q.blocks and "30%" in q.message()


@pytest.mark.parametrize(("key", "why"), [
    ("W001", "does not apply"),       # a warning that did not fire
    ("W003", "does not apply"),       # a dwelling-level warning on a household
    ("E001", "not a warning rule"),   # an error cannot be confirmed
    ("I001", "not a warning rule"),
    ("X999", "not a warning rule"),   # not a rule at all
])
def test_override_that_does_not_apply_is_e018(key: str, why: str) -> None:
    problems = check_household(hh(respondent=Respondent.PROXY, overrides={key: CONFIRM}), CTX)
    [e018] = [p for p in problems if p.rule_id == "E018"]
    assert e018.field == f"overrides.{key}"
    assert e018.blocks
    assert key in e018.message() and why in e018.message()


def test_override_on_a_draft_that_does_not_apply_still_blocks() -> None:
    problems = check_household(hh(status=HouseholdStatus.DRAFT, overrides={"W002": CONFIRM}),
                               CTX)
    assert [p.rule_id for p in blocking(problems)] == ["E018"]


def test_dwelling_warnings_are_confirmed_on_the_dwelling() -> None:
    visits = (*no_contact_visits(4), visit(5, MORNING + timedelta(hours=5)))
    [w] = check_dwelling(dw(visits=visits), CTX)
    assert (w.rule_id, w.field, w.blocks) == ("W003", "visits", True)
    assert "4" in w.message() and "3" in w.message()
    [c] = check_dwelling(dw(visits=visits, overrides={"W003": CONFIRM}), CTX)
    assert (c.rule_id, c.confirmed, c.blocks) == ("W003", True, False)
    problems = check_dwelling(dw(overrides={"W003": CONFIRM}), CTX)
    assert [(p.rule_id, p.field) for p in problems] == [("E018", "overrides.W003")]


def test_w005_confirmed_on_the_dwelling() -> None:
    [w] = check_dwelling(dw(occupancy=Occupancy.UNDER_CONSTRUCTION), CTX)
    assert (w.rule_id, w.blocks) == ("W005", True)
    assert re.search(r"under.construction", w.message())  # the code or its label
    [c] = check_dwelling(dw(occupancy=Occupancy.VACANT,
                            overrides={"W005": OverrideReason.OBSERVED_BY_ENUMERATOR}), CTX)
    assert (c.rule_id, c.confirmed, c.blocks) == ("W005", True, False)


def test_household_problems_get_the_household_path() -> None:
    third = "0192f6c4-3b1e-7a2c-9f00-1234567890ad"
    problems = check_dwelling(dw(households=(hh(), hh(id=HID2, number=2, visitors=9),
                                             hh(id=third, number=3, away=61))), CTX)
    fields = {(p.rule_id, p.field) for p in problems}
    assert ("W004", "households[1].visitors") in fields
    assert ("E001", "households[2].away") in fields
    assert ("E008", "households[2].residents") in fields
    assert not any(f.startswith("households[0]") for _r, f in fields)


# --- Individual rules in more detail ----------------------------------------------------------

def test_e001_cell_over_the_cap() -> None:
    problems = check_household(hh(residents={("female", "0-4"): 61}), CTX)
    e001 = [p for p in problems if p.rule_id == "E001"]
    assert [p.field for p in e001] == ["residents.female.0-4"]
    assert "61" in e001[0].message() and "60" in e001[0].message()


def test_e001_negative_away_and_visitors() -> None:
    problems = check_household(hh(away=-1, visitors=-2), CTX)
    assert {(p.rule_id, p.field) for p in problems} >= {("E001", "away"), ("E001", "visitors")}


def test_e003_completed_dwelling_without_residents() -> None:
    empty = hh(residents={})
    problems = check_dwelling(dw(households=(empty,)), CTX)
    assert ("E003", "households") in {(p.rule_id, p.field) for p in problems}
    assert ("E003", "households[0].residents") in {(p.rule_id, p.field) for p in problems}
    no_households = check_dwelling(dw(households=()), CTX)
    assert [(p.rule_id, p.field) for p in no_households] == [("E003", "households")]
    assert "the dwelling" in no_households[0].message()
    draft = check_dwelling(dw(households=(replace(empty, status=HouseholdStatus.DRAFT),)), CTX)
    assert "E003" not in ids(draft)


def test_e004_not_a_dwelling_and_not_found() -> None:
    problems = check_dwelling(dw(occupancy=Occupancy.NOT_DWELLING), CTX)
    [p] = [p for p in problems if p.rule_id == "E004"]
    assert p.field == "households[0].residents"
    assert re.search(r"not.(a.)?dwelling", p.message())  # the code or its label
    assert "2 persons" in p.message()
    problems = check_dwelling(dw(visits=(visit(outcome=Outcome.NOT_FOUND),),
                                 households=(hh(residents={}, away=0, visitors=1),)), CTX)
    assert "E004" in ids(problems)


def test_e005_duplicate_household_number_in_a_dwelling() -> None:
    problems = check_dwelling(dw(households=(hh(), hh(id=HID2))), CTX)
    [p] = [p for p in problems if p.rule_id == "E005"]
    assert p.field == "households[1].number"
    assert re.search(r"\b1\b", p.params["key"]) and p.params["key"] in p.message()
    assert "households[0]" in p.message()


def test_e005_area_message_names_both_records() -> None:
    [p] = check_area([NaturalKey("EA001", 3, 4, 1, "rec-a"), NaturalKey("EA001", 3, 4, 1, "rec-b")])
    assert p.field == "rec-b"
    assert re.search(r"EA001\D+3\D+4\D+1\b", p.message())  # area, structure, dwelling, hh
    assert "rec-a" in p.message()


def test_e006_callback_equal_to_visit_time() -> None:
    problems = check_dwelling(dw(visits=(visit(), visit(2, MORNING + timedelta(hours=1),
                                                        Outcome.CALLBACK,
                                                        MORNING + timedelta(hours=1)))), CTX)
    [p] = [p for p in problems if p.rule_id == "E006"]
    assert p.field == "visits[1].callback_at"
    assert "2026-11-28T11:00" in p.message()


def test_e007_message() -> None:
    [p] = check_household(hh(declared_total=5), CTX)
    assert p.field == "declared_total"
    assert "5" in p.message() and "2" in p.message()


def test_e008_away_counts_towards_the_limit() -> None:
    problems = check_household(hh(residents={("female", "25-34"): 50}, away=11), CTX)
    [p] = [p for p in problems if p.rule_id == "E008"]
    assert "61" in p.message() and "60" in p.message()
    assert "E008" not in ids(check_household(hh(residents={("female", "25-34"): 50}, away=10),
                                             CTX))


def test_e011_cell_not_in_config() -> None:
    problems = check_household(hh(residents={**ADULTS, ("other", "0-4"): 1}), CTX)
    [p] = [p for p in problems if p.rule_id == "E011"]
    assert p.field == "residents.other.0-4"
    assert "female.0-4" in p.message()


def test_e013_no_visit_at_all() -> None:
    problems = check_dwelling(dw(visits=()), CTX)
    [p] = problems
    assert (p.rule_id, p.field) == ("E013", "households[0].residents")
    assert "household 1" in p.message()


def test_e015_and_e012_fields() -> None:
    problems = check_dwelling(dw(visits=(visit(1), visit(1, MORNING + timedelta(hours=1),
                                                         Outcome.CALLBACK))), CTX)
    fields = {(p.rule_id, p.field) for p in problems}
    assert ("E015", "visits[1].attempt") in fields
    assert ("E012", "visits[1].callback_at") in fields


def test_e017_needs_a_known_area_check() -> None:
    assert "E017" not in ids(check_dwelling(dw(area="EA999"), Context(CFG, now=NOW)))
    [p] = check_dwelling(dw(area="EA999"), CTX)
    assert (p.rule_id, p.field) == ("E017", "area") and "EA999" in p.message()


def test_e020_future_visit_needs_a_clock() -> None:
    late = dw(visits=(visit(at=NOW + timedelta(days=1)),))
    assert check_dwelling(late, Context(CFG, area_known=CTX.area_known)) == []
    [p] = check_dwelling(late, CTX)
    assert (p.rule_id, p.field) == ("E020", "visits[0].at")
    assert "2026-11-29T18:00" in p.message() and "2026-11-28T18:00" in p.message()


def test_w002_adult_age_follows_config() -> None:
    cfg = parse_config('[persons]\nage_bands = ["0-17", "18-64", "65+"]\n'
                       "[rules]\nadult_age = 18\n")
    ctx = Context(cfg)
    teen = hh(residents={("female", "0-17"): 2})
    [p] = check_household(teen, ctx)
    assert p.rule_id == "W002" and "18" in p.message()
    assert check_household(hh(residents={("female", "0-17"): 2, ("male", "65+"): 1}), ctx) == []
    assert "W002" not in ids(check_household(hh(residents={}, away=2), ctx))


def test_w004_message() -> None:
    [p] = check_household(hh(visitors=3), CTX)
    assert p.field == "visitors" and "3 visitors" in p.message() and "2 usual" in p.message()


def test_i002_needs_an_expected_count() -> None:
    assert check_listing_size("EA001", 500, None) == []
    assert check_listing_size("EA001", 500, 0) == []
    [p] = check_listing_size("EA001", 20, 10)
    assert "EA001" in p.message() and "100%" in p.message() and "20" in p.message()


# --- Regressions (bugs found by these tests) --------------------------------------------------

def test_visit_problem_path_uses_record_order() -> None:
    bad = visit(2, MORNING + timedelta(hours=2), Outcome.CALLBACK, MORNING + timedelta(hours=1))
    good = visit(1, MORNING, Outcome.COMPLETED)
    d = dw(visits=(bad, good))
    assert d.visits[0] is bad
    problems = check_dwelling(d, CTX)
    assert [p.field for p in problems if p.rule_id == "E006"] == ["visits[0].callback_at"]


def test_long_locator_is_checked_quickly() -> None:
    text = "x" * 20_000
    start = time.perf_counter()
    problems = check_locator(text, CFG)
    elapsed = time.perf_counter() - start
    assert ids(problems) == {"E009"}
    assert elapsed < 0.5, f"{elapsed:.2f} s for a {len(text)}-character locator"


@pytest.mark.parametrize(("date", "time", "expected"), [
    ("2026-11-28", "17:30", datetime(2026, 11, 28, 17, 30)),
    (" 2026-11-28 ", "1730", datetime(2026, 11, 28, 17, 30)),
    ("2026-11-28", "9:05", datetime(2026, 11, 28, 9, 5)),
    ("2026-11-28", "17.30", datetime(2026, 11, 28, 17, 30)),
    ("2026-11-28", "17h30", datetime(2026, 11, 28, 17, 30)),
    ("2026-11-28", "17", datetime(2026, 11, 28, 17, 0)),
    ("2026-11-28", "0:00", datetime(2026, 11, 28, 0, 0)),
])
def test_date_and_time_fields_accept(date: str, time: str, expected: datetime) -> None:
    assert parse_date_and_time(date, time, "callback_at") == expected


@pytest.mark.parametrize(("date", "time", "rules"), [
    ("2026-11-31", "17:30", ["E023"]), ("tomorrow", "17:30", ["E023"]),
    ("2026-11-28", "24:00", ["E024"]), ("2026-11-28", "17:60", ["E024"]),
    ("2026-11-28", "", ["E024"]), ("2026-11-28", "5pm", ["E024"]),
    ("", "", ["E023", "E024"]),
])
def test_date_and_time_fields_name_the_field_that_is_wrong(date: str, time: str,
                                                            rules: list[str]) -> None:
    problems = parse_date_and_time(date, time, "callback_at")
    assert isinstance(problems, list)
    assert [p.rule_id for p in problems] == rules
    assert [p.field for p in problems] == [
        {"E023": "callback_at.date", "E024": "callback_at.time"}[r] for r in rules]
    assert all("YYYY-MM-DDTHH:MM" not in p.message() for p in problems)


def test_e025_a_completion_before_2000_is_refused_too() -> None:
    problems = check_household(hh(completed_at=datetime(1970, 1, 1)), CTX)
    assert [p.rule_id for p in problems] == ["E025"]
    assert "1970-01-01T00:00" in problems[0].message()
