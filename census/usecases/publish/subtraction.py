"""The subtraction check of an export (issue 17): units known by the areas they cover, and a
release refused when subtracting (or adding and subtracting) published units would give away
areas too small to publish. The search itself is pure (`census.privacy.differencing`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from census.domain.errors import CensusError
from census.i18n import _
from census.privacy.differencing import combinations_found, leftovers
from census.storage.releases import published_units
from census.storage.store import Store

if TYPE_CHECKING:
    from census.usecases.publish.plan import Plan


class SubtractionError(CensusError):
    """A release a subtraction would turn into a disclosure (plan makes it an ExportError)."""


def refuse_leftovers(store: Store, plan: Plan) -> None:
    """Refuse a release when a unit of it, or a unit published before that holds one of its
    units, can be tiled by disjoint units published inside it but for areas below the minimum
    size that hold people or dwellings: the subtraction would publish them (README: Protected
    tables, units are the areas they cover)."""
    d = plan.config.disclosure
    known = {p.cells: p for p in published_units(store)}
    units = {p.cells: p.members for p in known.values()}
    names = {p.cells: f"{p.code} ({p.level})" for p in known.values()}
    for unit, key in plan.cells.items():
        units[key] = frozenset(plan.unit_areas[unit])
        names[key] = f"{unit} ({plan.request.level})"
    new = set(plan.cells.values())
    # The sizes of the areas are read once per plan: writing re-checks the ledger, which may
    # have gained units (and areas) since, not the data.
    areas = set().union(*units.values())
    source = plan.source
    if missing := sorted(areas - plan.area_seen):
        plan.area_sizes.update((leaf, (sum(counts), households)) for leaf, households, counts,
                               _keys in source.person_totals(missing))
        plan.area_seen.update(missing)
    if missing := sorted(areas - plan.listing_seen):
        plan.area_listed.update(source.listed_areas(missing))
        plan.listing_seen.update(missing)
    sizes, listed = plan.area_sizes, plan.area_listed
    unknown: set[str] = set()
    tiling_sizes, tiling_listed = sizes, listed
    if source.statuses is not None:
        # A collection of aggregates holds the sums of its closed areas only. An area of a
        # unit published before that is open in it now, or not collected, may be what a
        # subtraction gives away: it counts as holding something, with no persons or
        # households of its own (the least it can hold: a remainder is judged on its known
        # part, never made larger by a guess).
        unknown = {a for a in set().union(*units.values()) if source.statuses.get(a) != "closed"}
        tiling_sizes = {**sizes, **dict.fromkeys(unknown, (0, 0))}
        tiling_listed = listed | unknown
    found = leftovers(units, new, tiling_sizes, d.min_persons, d.min_households, tiling_listed)
    if not found:
        # The linear check leaves unknown areas out, as empty (as it did before they were
        # counted): as atoms they could push it past its limits and switch it off.
        linear = combinations_found(units, new, sizes, d.min_persons, d.min_households, listed)
        # Beyond MAX_LINEAR units or atoms the linear check is not made (README says so);
        # too many small atoms to try is refused like an uncheckable tiling.
        found = [f for f in linear if f.checked or f.areas]
        if found and found[0].checked:
            first = found[0]
            _refuse_unknown(first.areas & unknown, names, first.inner)
            shown = sorted(first.areas)
            raise SubtractionError(_(
                "Publishing this would give away {n} area(s) too small to publish ({areas}: "
                "{persons} persons, {households} households): adding and subtracting units "
                "published now and before ({units}) gives them exactly. Publish at a level "
                "where this does not happen, or leave out the unit that completes the "
                "combination; nothing was exported.").format(
                n=len(shown), areas=", ".join(shown[:10]) + (" …" if len(shown) > 10 else ""),
                persons=first.persons, households=first.households,
                units=", ".join(names.get(k, k) for k in first.inner[:6])
                + (" …" if len(first.inner) > 6 else "")))
    if not found:
        return
    first = found[0]
    shown = sorted(first.areas)
    inner = [names[k] for k in first.inner]
    _refuse_unknown(first.areas & unknown, names, first.inner)
    if not first.checked:
        raise SubtractionError(_(
            "{outer} holds too many small areas or overlapping units ({n} small areas) to be "
            "checked for areas that a subtraction would give away; nothing was exported. "
            "Publish at another level, or fewer areas (--areas).").format(
            outer=names.get(first.outer, _("the units concerned")), n=len(shown)))
    raise SubtractionError(_(
        "Publishing this would give away {n} area(s) too small to publish ({areas}: {persons} "
        "persons, {households} households): they are what is left of {outer} once the units "
        "published inside it ({inner}) are subtracted from it. Publish at a level where this "
        "does not happen, or leave out the unit that completes the subtraction; nothing was "
        "exported.").format(
        n=len(shown), areas=", ".join(shown[:10]) + (" …" if len(shown) > 10 else ""),
        persons=first.persons, households=first.households, outer=names[first.outer],
        inner=", ".join(inner[:5]) + (" …" if len(inner) > 5 else "")))




def _refuse_unknown(areas: set[str] | frozenset[str], names: dict[str, str],
                    inner: tuple[str, ...]) -> None:
    """Refuse a subtraction that would isolate areas whose sums the collection does not hold
    (open in it, or not collected): census cannot tell that they are large enough."""
    if not areas:
        return
    shown = sorted(areas)
    raise SubtractionError(_(
        "Publishing this could give away {areas} by subtraction from units published before "
        "({units}), and their sums are not in the aggregates (open there, or not collected), "
        "so census cannot tell whether they are large enough to publish; nothing was exported. "
        "Collect their districts once closed, or publish at a level where this does not "
        "happen.").format(
        areas=", ".join(shown[:10]) + (" …" if len(shown) > 10 else ""),
        units=", ".join(names.get(k, k) for k in inner[:6]) + (" …" if len(inner) > 6 else "")))
