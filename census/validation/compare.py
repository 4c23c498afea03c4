"""Independent verification of paper forms (issue 16): two clerks key the same batch into two
databases; their forms are matched by questionnaire number (area, structure, dwelling number,
household number: their record ids differ) and every field that differs is listed. Pure.

The fields are those a clerk keys from the paper: the dwelling's type and occupancy and its last
visit outcome; each household's respondent, every cell of the count grid, away, visitors and the
declared total. A form keyed by one clerk only is a difference too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from census.domain.model import Cell, Dwelling, Household

Value = str | int | None


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


def cell_field(cell: Cell) -> str:
    """The name of a grid cell's field: "residents:SEX:BAND"."""
    return f"residents:{cell[0]}:{cell[1]}"


def household_values(h: Household, cells: Sequence[Cell]) -> dict[str, Value]:
    """Every field of a household as keyed from the paper."""
    out: dict[str, Value] = {"respondent": str(h.respondent)}
    out.update((cell_field(c), int(h.residents.get(c, 0))) for c in cells)
    out.update(away=h.away, visitors=h.visitors, declared_total=h.declared_total)
    return out


def dwelling_values(d: Dwelling) -> dict[str, Value]:
    outcome = d.last_outcome
    return {"type": str(d.type), "occupancy": str(d.occupancy),
            "outcome": None if outcome is None else str(outcome)}


def _pairs(a: dict[str, Value], b: dict[str, Value]) -> Iterator[tuple[str, Value, Value]]:
    for name in a:
        if a[name] != b.get(name):
            yield name, a[name], b.get(name)


def compare_dwelling(a: Dwelling | None, b: Dwelling | None, cells: Sequence[Cell]
                     ) -> list[Mismatch]:
    """The differences between two keyings of one questionnaire (one of them may be
    missing)."""
    some = a or b
    if some is None:
        return []
    where = (some.area, some.structure, some.number)
    if a is None or b is None:
        return [Mismatch(*where, None, "keyed", "yes" if a else None, "yes" if b else None)]
    out = [Mismatch(*where, None, name, x, y)
           for name, x, y in _pairs(dwelling_values(a), dwelling_values(b))]
    mine = {h.number: h for h in a.households}
    theirs = {h.number: h for h in b.households}
    for number in sorted(mine.keys() | theirs.keys()):
        ha, hb = mine.get(number), theirs.get(number)
        if ha is None or hb is None:
            out.append(Mismatch(*where, number, "keyed", "yes" if ha else None,
                                "yes" if hb else None))
            continue
        out += [Mismatch(*where, number, name, x, y) for name, x, y
                in _pairs(household_values(ha, cells), household_values(hb, cells))]
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
