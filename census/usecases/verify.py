"""Independent verification of keyed paper forms (issue 16): the same batch keyed into two
databases by two clerks, compared form by form (`census.validation.compare`), an area at a
time, each database read in one snapshot."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from census.domain.errors import CensusError
from census.i18n import _
from census.storage.areas import area_levels, subtree
from census.storage.records import iter_dwellings
from census.storage.store import Store
from census.storage.sums import listed_areas
from census.validation.compare import Mismatch, compare


class VerifyError(CensusError):
    """Two databases that cannot be compared; the message says why."""


def same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def compare_keyings(a: Store, b: Store, areas: Sequence[str] | None = None
                    ) -> Iterator[tuple[int, list[Mismatch]]]:
    """Per area (in `areas` and below, or everywhere): the questionnaires compared and every
    difference between the forms keyed in `a` and in `b`, matched by questionnaire number.
    Streamed, so that memory does not grow with the differences; what makes the two
    databases incomparable is raised at once, before anything is read."""
    if same_file(a.path, b.path):
        raise VerifyError(_("{a} and {b} are the same database; give the two clerks' "
                            "databases.").format(a=a.path, b=b.path))
    for what, mine, theirs in ((_("count grid cells"), a.config.cells, b.config.cells),
                               (_("area levels"), a.config.levels, b.config.levels)):
        if tuple(mine) != tuple(theirs):
            raise VerifyError(_("The two databases' surveys have different {what}; their forms "
                                "cannot be compared field by field.").format(what=what))
    levels = (area_levels(a), area_levels(b))
    for code in areas or ():
        if code not in levels[0] and code not in levels[1]:
            raise VerifyError(_("Unknown area {code}; see `census area list`.").format(code=code))
    return _by_area(a, b, levels, areas)


def _by_area(a: Store, b: Store, levels: tuple[dict[str, str], dict[str, str]],
             areas: Sequence[str] | None) -> Iterator[tuple[int, list[Mismatch]]]:
    with a.snapshot(), b.snapshot():
        codes: set[str] = set()
        for store, known in zip((a, b), levels, strict=True):
            if areas:  # only the areas asked for, through the index of addresses
                codes.update(listed_areas(store, sorted(
                    {c for code in areas if code in known for c in subtree(store, code)})))
            else:
                codes.update(r[0] for r in store.conn.execute(
                    "SELECT DISTINCT area FROM dwelling"))
        for code in sorted(codes):
            yield compare(iter_dwellings(a, [code]), iter_dwellings(b, [code]), a.config.cells)
