"""Independent verification of keyed paper forms (issue 16): the same batch keyed into two
databases by two clerks, compared form by form (`census.validation.compare`), an area at a
time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from census.domain.errors import CensusError
from census.i18n import _
from census.storage.areas import area_levels, subtree
from census.storage.records import iter_dwellings
from census.storage.store import Store
from census.validation.compare import Mismatch, compare


class VerifyError(CensusError):
    """Two databases that cannot be compared; the message says why."""


@dataclass(frozen=True)
class Compared:
    forms: int
    """Questionnaires (dwellings) compared."""
    mismatches: list[Mismatch]


def compare_keyings(a: Store, b: Store, areas: Sequence[str] | None = None) -> Compared:
    """Every difference between the forms keyed in `a` and in `b` (in `areas` and below, or
    everywhere), matched by questionnaire number."""
    if a.config.digest() != b.config.digest():
        raise VerifyError(_("The two databases are of different survey configs ({a} and {b}); "
                            "their forms cannot be compared field by field.").format(
            a=a.config.digest(), b=b.config.digest()))
    known = set(area_levels(a)) | set(area_levels(b))
    for code in areas or ():
        if code not in known:
            raise VerifyError(_("Unknown area {code}; see `census area list`.").format(code=code))
    codes: set[str] = set()
    for store in (a, b):
        held = {r[0] for r in store.conn.execute("SELECT DISTINCT area FROM dwelling")}
        if areas:
            levels = area_levels(store)
            held &= {c for code in areas if code in levels for c in subtree(store, code)}
        codes |= held
    forms, found = 0, []
    for code in sorted(codes):
        n, diff = compare(iter_dwellings(a, [code]), iter_dwellings(b, [code]), a.config.cells)
        forms += n
        found += diff
    return Compared(forms, found)
