"""Fuzzing the rule engine (issue 6, part 3): every field of the household count grid and of a
dwelling record given random values, as the app's form and the import hand them over (typed
text, JSON values of any type) and as records built in Python with any numbers and codes.

What every example proves: the engine answers with a value or with Problems and never raises;
every Problem has a known rule id, a field path and a message that formats in the current
language, fits on a line (at most a few hundred characters) and quotes nothing raw (no control
character reaches a terminal); a value it accepts is within its limits.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
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
from census.validation.engine import (
    Context,
    check_dwelling,
    check_household,
    check_locator,
    parse_code,
    parse_count,
    parse_datetime,
    parse_number,
    personal_data,
)
from census.validation.rules import RULES, Problem
from tests.hardening.tally import count

CFG = default_config()
CTX = Context(CFG, datetime(2026, 11, 28, 12, 0), lambda code: code == "R01-D01-EA001")
#: What a user may type into a cell of the grid or a number field.
TYPED = st.one_of(st.text(alphabet=string.digits + " -+.,e\u0660\u0661١٢³", max_size=12),
                  st.text(max_size=20))
#: What a JSON line may hold where a number or a code is expected.
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10**40), 10**40),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50),
              st.integers(41, 5000).map(lambda n: "\x1b[2J" + "x" * n)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=20)
CODES = st.one_of(st.sampled_from([c for enum in (Outcome, HouseholdStatus, Respondent,
                                                  OverrideReason, DwellingType, Occupancy)
                                   for c in enum]), st.text(max_size=12))
NUMBERS = st.one_of(st.integers(-5, 120), st.integers(), st.sampled_from([0, 60, 61, 10**12]))


def _twins(examples: int, *strategies: Any, name: str, **named: Any
           ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a property as two tests of this module: `name` with `examples` examples (every
    run), and `name`_long with ten times as many, marked slow (`python -m pytest -m slow`)."""
    def register(body: Callable[..., None]) -> Callable[..., None]:
        for test, n in ((name, examples), (f"{name}_long", 10 * examples)):
            made = settings(max_examples=n, deadline=None)(given(*strategies, **named)(body))
            made.__name__ = made.__qualname__ = test
            globals()[test] = made if n == examples else pytest.mark.slow(made)
        return body
    return register


def well_formed(problems: list[Problem]) -> None:
    for p in problems:
        assert isinstance(p, Problem) and p.rule_id in RULES
        text = str(p)
        assert text.isprintable() and len(text) <= 600, text


@_twins(400, name="test_every_cell_of_the_count_grid", value=st.one_of(TYPED, JSONISH),
        strict=st.booleans(), cell=st.sampled_from(CFG.cells))
def _every_cell_of_the_count_grid(value: object, strict: bool,
                                      cell: tuple[str, str]) -> None:
    """A cell of the grid (and the away, visitors and declared-total fields, which take the
    same parse) given anything typed or any JSON value: a count from 0 to the maximum, or a
    Problem (E001, E002) with a readable message."""
    count("fuzz: count grid cells", 1)
    field = f"residents.{cell[0]}.{cell[1]}"
    found = parse_count(value, field, CFG.max_household_size, strict=strict)
    if isinstance(found, Problem):
        assert found.rule_id in ("E001", "E002") and found.field == field
        well_formed([found])
    else:
        assert type(found) is int and 0 <= found <= CFG.max_household_size


@_twins(300, name="test_number_fields", value=st.one_of(TYPED, JSONISH), strict=st.booleans(),
        limits=st.sampled_from([(1, 9999), (1, 99), (1, 10**9)]))
def _number_fields(value: object, strict: bool, limits: tuple[int, int]) -> None:
    """Structure, dwelling, household, attempt numbers and revisions given anything: a whole
    number within the limits, or E014 with a readable message."""
    count("fuzz: number fields", 1)
    found = parse_number(value, "structure", "structure number", *limits, strict=strict)
    if isinstance(found, Problem):
        assert found.rule_id == "E014"
        well_formed([found])
    else:
        assert type(found) is int and limits[0] <= found <= limits[1]


@_twins(300, name="test_date_and_code_fields",
        value=st.one_of(JSONISH, st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
                        st.from_regex(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?",
                                      fullmatch=True)),
        codes=st.sampled_from([Outcome, HouseholdStatus, Respondent, OverrideReason,
                               DwellingType, Occupancy]))
def _date_and_code_fields(value: object, codes: type) -> None:
    """Visit times, appointments and every code list (outcome, status, respondent, reason,
    dwelling type, occupancy) given anything: a value, or E016 / E011 with a readable
    message."""
    count("fuzz: date and code fields", 1)
    when = parse_datetime(value, "visits[0].at")
    if isinstance(when, Problem):
        assert when.rule_id == "E016"
        well_formed([when])
    else:
        assert isinstance(when, datetime) and when.second == 0 and when.tzinfo is None
    code = parse_code(value, "outcome", codes, "visit outcome")
    if isinstance(code, Problem):
        assert code.rule_id == "E011"
        well_formed([code])
    else:
        assert isinstance(code, codes)


@_twins(300, name="test_the_locator",
        text=st.one_of(st.text(max_size=300),
                       st.text(alphabet="0123456789 +-()./@a.", max_size=80),
                       st.integers(61, 100_000).map(lambda n: "7" * n)))
def _the_locator(text: str) -> None:
    """The only free text, given anything: E009 (too long) and E010 (looks like personal data)
    or nothing, with readable messages; a text without a problem is short and plain."""
    count("fuzz: locator", 1)
    problems = check_locator(text, CFG)
    well_formed(problems)
    assert {p.rule_id for p in problems} <= {"E009", "E010"}
    if not problems and text:
        assert len(text) <= CFG.rules.locator_max_length and personal_data(text) is None


CELLS = st.one_of(st.sampled_from(CFG.cells), st.tuples(st.text(max_size=6), st.text(max_size=6)))


@st.composite
def households(draw: st.DrawFn, number: int | None = None) -> Household:
    return Household(
        id=draw(st.sampled_from(["0193a5b2-7c10-7def-8a11-0000000000a1",
                                 "0193a5b2-7c10-7def-8a11-0000000000a2", "x"])),
        number=number if number is not None else draw(NUMBERS), seed=b"\0" * 16,
        status=draw(st.sampled_from(HouseholdStatus)), revision=draw(NUMBERS),
        respondent=draw(st.sampled_from(Respondent)),
        residents=draw(st.dictionaries(CELLS, NUMBERS, max_size=6)),
        away=draw(NUMBERS), visitors=draw(NUMBERS),
        declared_total=draw(st.none() | NUMBERS),
        overrides=draw(st.dictionaries(st.one_of(st.sampled_from(list(RULES)), st.text(max_size=8)),
                                       st.sampled_from(OverrideReason), max_size=3)))


@_twins(300, households(), name="test_household_forms")
def _household_forms(h: Household) -> None:
    """A household form with any numbers in its grid and fields, any (even unknown) cells and
    any confirmations: Problems with readable messages, never an exception."""
    count("fuzz: household forms", 1)
    well_formed(check_household(h, CTX))


@st.composite
def dwellings(draw: st.DrawFn) -> Dwelling:
    times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    visits = draw(st.lists(st.builds(Visit, attempt=NUMBERS, at=times,
                                     outcome=st.sampled_from(Outcome),
                                     callback_at=st.none() | times,
                                     enumerator=st.none() | st.text(max_size=8)), max_size=5))
    return Dwelling(
        id="0193a5b2-7c10-7def-8a11-000000000001",
        area=draw(st.sampled_from(["R01-D01-EA001", "R01-D01", "ZZ", "\x1b[2J"])),
        structure=draw(NUMBERS), number=draw(NUMBERS),
        type=draw(st.sampled_from(DwellingType)), occupancy=draw(st.sampled_from(Occupancy)),
        locator=draw(st.none() | st.text(max_size=80)), revision=draw(NUMBERS),
        visits=tuple(visits), households=tuple(draw(st.lists(households(), max_size=4))),
        overrides=draw(st.dictionaries(st.one_of(st.sampled_from(list(RULES)),
                                                 st.text(max_size=8)),
                                       st.sampled_from(OverrideReason), max_size=3)))


@_twins(300, dwellings(), name="test_dwelling_records")
def _dwelling_records(d: Dwelling) -> None:
    """A whole dwelling record with any visits (times from year 1 to 9999, any attempts and
    outcomes), households, locator and confirmations: Problems with readable messages, never an
    exception."""
    count("fuzz: dwelling records", 1)
    well_formed(check_dwelling(d, CTX))
