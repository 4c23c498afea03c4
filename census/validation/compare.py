"""Independent verification of paper forms (issue 16): two clerks key the same batch into two
databases; their forms are matched by questionnaire number (area, structure, dwelling number,
household number: their record ids differ) and every field that differs is listed. Pure.

The fields are those a clerk keys from the paper: the dwelling's type, occupancy and enumerator
code and every visit (outcome, time, callback time); each household's status, respondent, every
cell of the count grid, away, visitors and the declared total. A form keyed by one clerk only is a
difference too, and so is the same record in both (a copy is not a second keying).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from census.domain.keying import cell_name
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


def household_values(h: Household, cells: Sequence[Cell]) -> dict[str, Value]:
    """Every field of a household as keyed from the paper (its status: a form left as a
    draft by one clerk is not verified)."""
    out: dict[str, Value] = {"status": str(h.status), "respondent": str(h.respondent)}
    out.update((cell_name(c), int(h.residents.get(c, 0))) for c in cells)
    out.update(away=h.away, visitors=h.visitors, declared_total=h.declared_total)
    return out


def _minute(at: object) -> Value:
    return None if at is None else str(at)[:16].replace(" ", "T")


def dwelling_values(d: Dwelling) -> dict[str, Value]:
    """The listing line and every visit (by attempt: outcome, time, callback time) as keyed
    from the paper; the locator (free text, purged at close) is not compared."""
    out: dict[str, Value] = {"type": str(d.type), "occupancy": str(d.occupancy),
                             "enumerator": d.enumerator}
    for v in sorted(d.visits, key=lambda v: v.attempt):
        out[f"visit:{v.attempt}:outcome"] = str(v.outcome)
        out[f"visit:{v.attempt}:at"] = _minute(v.at)
        out[f"visit:{v.attempt}:callback_at"] = _minute(v.callback_at)
    return out


def _pairs(a: dict[str, Value], b: dict[str, Value]) -> Iterator[tuple[str, Value, Value]]:
    """The fields whose values differ; a visit keyed on one side only is one difference
    ("visit:N:keyed"), not three."""
    visits = {k.split(":")[1] for k in (*a, *b) if k.startswith("visit:")}
    alone = {n for n in visits if (f"visit:{n}:outcome" in a) != (f"visit:{n}:outcome" in b)}
    for name in dict.fromkeys((*a, *b)):
        if name.startswith("visit:") and name.split(":")[1] in alone:
            if name.endswith(":outcome"):
                n = name.split(":")[1]
                yield f"visit:{n}:keyed", "yes" if name in a else None, \
                    "yes" if name in b else None
            continue
        if a.get(name) != b.get(name):
            yield name, a.get(name), b.get(name)


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
    out = []
    if a.id == b.id:  # the same record: a copy, not a second clerk's keying
        out.append(Mismatch(*where, None, "same_record", a.id, b.id))
    out += [Mismatch(*where, None, name, x, y)
            for name, x, y in _pairs(dwelling_values(a), dwelling_values(b))]
    mine = {h.number: h for h in a.households}
    theirs = {h.number: h for h in b.households}
    for number in sorted(mine.keys() | theirs.keys()):
        ha, hb = mine.get(number), theirs.get(number)
        if ha is None or hb is None:
            out.append(Mismatch(*where, number, "keyed", "yes" if ha else None,
                                "yes" if hb else None))
            continue
        if ha.id == hb.id:
            out.append(Mismatch(*where, number, "same_record", ha.id, hb.id))
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
