"""Independent verification of paper forms (issue 16): two clerks key the same batch into two
databases; their forms are matched by questionnaire number (area, structure, dwelling number,
household number: their record ids differ) and every field that differs is listed. Pure.

The fields are those a clerk keys from the paper: the dwelling's type, occupancy and enumerator
code and every visit (outcome, time, callback time); each household's status, respondent, every
cell of the count grid, away, visitors and the declared total. A form keyed by one clerk only is a
difference too, and so is the same record in both (a copy is not a second keying).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from census.domain.keying import cell_name
from census.domain.model import Cell, Dwelling, Household, Visit

Value = str | int | None
R = TypeVar("R")


@dataclass(frozen=True)
class Mismatch:
    """One field keyed differently: where (questionnaire number; `household` None for the
    dwelling's own fields), which field, and the two values (None: not keyed there)."""

    area: str
    structure: int
    dwelling: int
    household: int | None
    field: str
    a: Value
    b: Value

    @property
    def order(self) -> tuple[str, int, int, int]:
        """Questionnaire order: the dwelling's own fields before its households' (and, within
        one, the fields in the order of the paper form)."""
        return (self.area, self.structure, self.dwelling,
                -1 if self.household is None else self.household)

    @property
    def questionnaire(self) -> str:
        """AREA/STRUCTURE/DWELLING[/HOUSEHOLD], as forms are addressed elsewhere."""
        tail = "" if self.household is None else f"/{self.household}"
        return f"{self.area}/{self.structure}/{self.dwelling}{tail}"


def household_values(h: Household, cells: Sequence[Cell]) -> dict[str, Value]:
    """Every field of a household as keyed from the paper (its status: a form left as a
    draft by one clerk is not verified)."""
    out: dict[str, Value] = {"status": str(h.status), "respondent": str(h.respondent)}
    out.update((cell_name(c), int(h.residents.get(c, 0))) for c in cells)
    out.update(away=h.away, visitors=h.visitors, declared_total=h.declared_total)
    return out


def _minute(at: datetime | None) -> Value:
    return None if at is None else at.isoformat(timespec="minutes")


def dwelling_values(d: Dwelling) -> dict[str, Value]:
    """The listing line as keyed from the paper; the locator (free text, purged at close) is
    not compared."""
    return {"type": str(d.type), "occupancy": str(d.occupancy), "enumerator": d.enumerator}


def visit_values(v: Visit) -> dict[str, Value]:
    return {"outcome": str(v.outcome), "at": _minute(v.at),
            "callback_at": _minute(v.callback_at)}


def _keyed_twice(where: tuple[str, int, int], household: int | None, field: str,
                 a: R | None, b: R | None, values: Callable[[R], dict[str, Value]],
                 record_id: Callable[[R], str] | None = None) -> list[Mismatch]:
    """The differences between two keyings of one record (a dwelling's line, a visit, a
    household): keyed by one clerk only (`field`, "yes" on the side that has it), the same
    record on both sides (`record_id`: a copy, not a second keying), then every field that
    differs, named with `field`'s prefix."""
    if a is None or b is None:
        return [Mismatch(*where, household, field, "yes" if a else None, "yes" if b else None)]
    ids = (record_id(a), record_id(b)) if record_id else None
    out = [Mismatch(*where, household, "same_record", *ids)] if ids and ids[0] == ids[1] else []
    prefix = field[:-len("keyed")]
    va, vb = values(a), values(b)
    out += [Mismatch(*where, household, prefix + name, va.get(name), vb.get(name))
            for name in dict.fromkeys((*va, *vb)) if va.get(name) != vb.get(name)]
    return out


def compare_dwelling(a: Dwelling | None, b: Dwelling | None, cells: Sequence[Cell]
                     ) -> list[Mismatch]:
    """The differences between two keyings of one questionnaire (one of them may be
    missing): the listing line, every visit by attempt ("visit:N:keyed" for a visit keyed by
    one clerk only), every household by number."""
    some = a or b
    if some is None:
        return []
    where = (some.area, some.structure, some.number)
    out = _keyed_twice(where, None, "keyed", a, b, dwelling_values, lambda d: d.id)
    if a is None or b is None:
        return out
    visits = ({v.attempt: v for v in a.visits}, {v.attempt: v for v in b.visits})
    for n in sorted(visits[0].keys() | visits[1].keys()):
        out += _keyed_twice(where, None, f"visit:{n}:keyed", visits[0].get(n),
                            visits[1].get(n), visit_values)
    homes = ({h.number: h for h in a.households}, {h.number: h for h in b.households})
    for n in sorted(homes[0].keys() | homes[1].keys()):
        out += _keyed_twice(where, n, "keyed", homes[0].get(n), homes[1].get(n),
                            lambda h: household_values(h, cells), lambda h: h.id)
    return out


def compare(a: Iterable[Dwelling], b: Iterable[Dwelling], cells: Sequence[Cell]
            ) -> tuple[int, list[Mismatch]]:
    """(questionnaires compared, every mismatch in questionnaire order) between two keyings
    of the same forms."""
    mine = {(d.area, d.structure, d.number): d for d in a}
    theirs = {(d.area, d.structure, d.number): d for d in b}
    out: list[Mismatch] = []
    keys = sorted(mine.keys() | theirs.keys())
    for key in keys:
        out += compare_dwelling(mine.get(key), theirs.get(key), cells)
    return len(keys), out
