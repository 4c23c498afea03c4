"""Independent verification (issue 16): `compare` finds exactly the fields that two keyings of
the same paper forms differ in, matched by questionnaire number, whatever their record ids."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from census.domain.config import default_config
from census.domain.ids import new_id
from census.domain.keying import cell_name
from census.domain.model import (
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    Respondent,
    Visit,
)
from census.validation.compare import Mismatch, compare

CELLS = default_config().cells
AT = datetime(2026, 11, 20, 10, 0)


@st.composite
def households(draw: st.DrawFn, number: int) -> Household:
    residents = {c: n for c in CELLS if (n := draw(st.integers(0, 3)))}
    return Household(new_id(), number, b"\0" * 16, respondent=draw(st.sampled_from(Respondent)),
                     residents=residents, away=draw(st.integers(0, 2)),
                     visitors=draw(st.integers(0, 2)),
                     declared_total=draw(st.none() | st.integers(0, 20)))


@st.composite
def dwellings(draw: st.DrawFn, structure: int, number: int) -> Dwelling:
    n = draw(st.integers(0, 3))
    return Dwelling(new_id(), "R01-D01-EA001", structure, number,
                    type=draw(st.sampled_from(DwellingType)),
                    occupancy=draw(st.sampled_from(Occupancy)),
                    visits=(Visit(1, AT, draw(st.sampled_from(Outcome))),),
                    households=tuple(draw(households(i + 1)) for i in range(n)))


FIELDS = ["type", "occupancy", "outcome", "status", "respondent", "away", "visitors",
          "declared_total", *(cell_name(c) for c in CELLS)]


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Dwelling], list[Dwelling], set[tuple[object, ...]]]:
    """A batch keyed by A, the same batch keyed by B with some fields (and forms) keyed
    otherwise, and the set of (questionnaire, field) that differ, worked out as the changes
    are made."""
    size = draw(st.integers(1, 6))
    first = [draw(dwellings(s + 1, 1)) for s in range(size)]
    second: list[Dwelling] = []
    expected: set[tuple[object, ...]] = set()
    for d in first:
        where = (d.area, d.structure, d.number)
        if draw(st.integers(0, 9)) == 0:  # B did not key this form
            expected.add((*where, None, "keyed"))
            continue
        e = dataclasses.replace(d, id=new_id())  # B's record has its own id
        for name in draw(st.sets(st.sampled_from(["type", "occupancy", "outcome"]))):
            if name == "type":
                e = dataclasses.replace(e, type=draw(st.sampled_from(DwellingType)))
                changed = e.type != d.type
            elif name == "occupancy":
                e = dataclasses.replace(e, occupancy=draw(st.sampled_from(Occupancy)))
                changed = e.occupancy != d.occupancy
            else:
                e = dataclasses.replace(e, visits=(Visit(1, AT, draw(st.sampled_from(Outcome))),))
                changed = e.visits[0].outcome != d.visits[0].outcome
                name = "visit:1:outcome"
            if changed:
                expected.add((*where, None, name))
        if draw(st.integers(0, 4)) == 0:  # B keyed a second visit that A did not
            e = dataclasses.replace(e, visits=(*e.visits, Visit(
                2, datetime(2026, 11, 21, 9, 0), draw(st.sampled_from(Outcome)))))
            expected.add((*where, None, "visit:2:keyed"))
        hs = []
        for h in d.households:
            if draw(st.integers(0, 9)) == 0:
                expected.add((*where, h.number, "keyed"))
                continue
            g = dataclasses.replace(h, id=new_id())
            for name in draw(st.sets(st.sampled_from(FIELDS[3:]), max_size=4)):
                if name.startswith("residents:"):
                    cell = next(c for c in CELLS if cell_name(c) == name)
                    value = draw(st.integers(0, 3))
                    residents = {**g.residents, cell: value}
                    g = dataclasses.replace(g, residents={k: v for k, v in residents.items()
                                                          if v})
                    changed = value != h.residents.get(cell, 0)
                elif name == "status":
                    g = dataclasses.replace(g, status=draw(st.sampled_from(HouseholdStatus)))
                    changed = g.status != h.status
                elif name == "respondent":
                    g = dataclasses.replace(g, respondent=draw(st.sampled_from(Respondent)))
                    changed = g.respondent != h.respondent
                elif name == "declared_total":
                    g = dataclasses.replace(g, declared_total=draw(st.none() | st.integers(0, 20)))
                    changed = g.declared_total != h.declared_total
                else:
                    g = dataclasses.replace(g, **{name: draw(st.integers(0, 2))})
                    changed = getattr(g, name) != getattr(h, name)
                if changed:
                    expected.add((*where, h.number, name))
            hs.append(g)
        if draw(st.integers(0, 9)) == 0:  # B keyed a household that A did not
            extra = draw(households(len(d.households) + 1))
            hs.append(extra)
            expected.add((*where, extra.number, "keyed"))
        second.append(dataclasses.replace(e, households=tuple(hs)))
    return first, second, expected


@settings(max_examples=300, deadline=None)
@given(batch=batches())
def test_compare_finds_exactly_the_fields_that_differ(
        batch: tuple[list[Dwelling], list[Dwelling], set[tuple[object, ...]]]) -> None:
    first, second, expected = batch
    forms, found = compare(first, second, CELLS)
    assert forms == len(first)
    assert {(m.area, m.structure, m.dwelling, m.household, m.field) for m in found} == expected
    assert [m.order for m in found] == sorted(m.order for m in found)  # questionnaire order
    for m in found:  # and each with the two values keyed
        assert m.a != m.b


def test_the_same_keying_twice_has_no_mismatch_and_sides_are_named() -> None:
    d = Dwelling(new_id(), "R01-D01-EA001", 3, 2, visits=(Visit(1, AT, Outcome.COMPLETED),),
                 households=(Household(new_id(), 1, b"\0" * 16,
                                       residents={CELLS[0]: 2}),))
    again = dataclasses.replace(d, id=new_id(), households=(
        dataclasses.replace(d.households[0], id=new_id()),))
    assert compare([d], [again], CELLS) == (1, [])
    other = dataclasses.replace(again, households=(dataclasses.replace(
        again.households[0], residents={CELLS[0]: 3}),))
    (m,) = compare([d], [other], CELLS)[1]
    assert m == Mismatch("R01-D01-EA001", 3, 2, 1, cell_name(CELLS[0]), 2, 3)
    assert m.questionnaire == "R01-D01-EA001/3/2/1"


def test_a_copy_is_not_a_second_keying() -> None:
    """Found by review: the same database twice (or a copy, or the same import) passed as
    verified. The same record ids on both sides are named."""
    d = Dwelling(new_id(), "R01-D01-EA001", 1, 1, visits=(Visit(1, AT, Outcome.COMPLETED),),
                 households=(Household(new_id(), 1, b"\0" * 16),))
    _forms, found = compare([d], [d], CELLS)
    assert [(m.household, m.field) for m in found] == [(None, "same_record"), (1, "same_record")]
