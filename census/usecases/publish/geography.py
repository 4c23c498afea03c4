"""Where an export's areas and sums come from: the area register with the status of each
enumeration area (the database's own, or what a collection of aggregates says), the places of
the level asked for, and the source of the exact sums (this database's records, or the
aggregates on the engine chosen)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from census.domain.model import Area, AreaStatus
from census.formats.aggregate_files import AggregatesError, collect
from census.i18n import _
from census.storage.areas import all_areas
from census.storage.engines import EngineError, RecordSums, SumSource, open_collected
from census.storage.store import Store
from census.tabulate import release as rel
from census.usecases.publish.errors import ExportError

if TYPE_CHECKING:
    from census.usecases.publish.plan import Request


def open_source(store: Store, request: Request) -> SumSource:
    """The records of `store`, or the collection of aggregates the request names, checked
    (manifests, files, survey config) and opened with its engine."""
    if request.collected is None:
        return RecordSums(store)
    try:
        collection = collect(request.collected, store.config.digest())
        return open_collected(request.engine or "duckdb", collection, store.config)
    except (AggregatesError, EngineError) as exc:
        raise ExportError(str(exc)) from None


def _areas(store: Store, statuses: dict[str, str] | None) -> list[Area]:
    """The area register; with `statuses` (a collection's), each enumeration area is closed
    when its aggregates say so and open otherwise (missing: not yet collected). An area of the
    collection that the register does not hold as an enumeration area is refused."""
    areas = all_areas(store)
    if statuses is None:
        return areas
    leaf = store.config.levels[-1]
    known = {a.code for a in areas if a.level == leaf}
    strange = sorted(set(statuses) - known)
    if strange:
        raise ExportError(_("The aggregates hold {n} enumeration area(s) this database's area "
                            "register does not ({areas}); import the register the districts "
                            "use (`census area import`), then export again.").format(
            n=len(strange), areas=", ".join(strange[:10]) + (" …" if len(strange) > 10 else "")))
    return [a if a.level != leaf else replace(a, status=AreaStatus(statuses.get(a.code, "open")))
            for a in areas]


def geography(store: Store, request: Request, statuses: dict[str, str] | None = None
               ) -> tuple[list[rel.Place], set[str], list[str], dict[str, list[str]]]:
    """(closed places in the trees concerned, the places selected, open places selected,
    the enumeration areas of every area)."""
    cfg = store.config
    areas = _areas(store, statuses)
    by_code = {a.code: a for a in areas}
    level_of = {a.code: a.level for a in areas}
    depth = {lv: i for i, lv in enumerate(cfg.levels)}
    target = depth[request.level]

    def chain(code: str) -> tuple[str, ...]:
        out: list[str] = []
        parent = by_code[code].parent
        while parent is not None and parent in by_code and len(out) < len(cfg.levels):
            out.append(parent)
            parent = by_code[parent].parent
        return tuple(out)

    chains = {a.code: chain(a.code) for a in areas}
    if request.areas is not None:
        for code in request.areas:
            if code not in by_code:
                raise ExportError(_("Unknown area {code}; see `census area list`.")
                                  .format(code=code))
            if depth.get(level_of[code], 99) > target:
                raise ExportError(_("{code} is a {level}, below the level {target} asked for; "
                                    "ask for --level {level}, or for an area at level {target} "
                                    "or above.").format(code=code, level=level_of[code],
                                                        target=request.level))
    leaves: dict[str, list[str]] = {}
    for a in areas:
        if a.level == cfg.levels[-1]:
            for up in (a.code, *chains[a.code]):
                leaves.setdefault(up, []).append(a.code)
    places = [a.code for a in areas if a.level == request.level and leaves.get(a.code)]

    shut = {a.code for a in areas if a.status == AreaStatus.CLOSED}
    closed = {p for p in places if shut.issuperset(leaves[p])}
    wanted = set(request.areas) if request.areas is not None else None
    selected = {p for p in places
                if wanted is None or p in wanted or not wanted.isdisjoint(chains[p])}
    tops = {(chains[p] or (p,))[-1] for p in selected}
    concerned = [rel.Place(p, chains[p]) for p in places
                 if p in closed and (chains[p] or (p,))[-1] in tops]
    return concerned, selected & closed, sorted(selected - closed), leaves
