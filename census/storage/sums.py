"""Tabulation sums: per area, the counts and cell-key sums of the published tables (DESIGN §6 and
§9), streamed: persons and households from the sums kept per area as households are written
(`census.storage.area_sums`), dwellings from one GROUP BY over the dwellings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from census.domain.model import LAST_VISIT_STATES, NOT_VISITED
from census.storage.store import Store


def _tabulation(store: Store, level: str | None, areas: Sequence[str] | None, alias: str
                ) -> tuple[str, str, str, list[str]]:
    """(WITH clause, area expression, joins and filter, params) that put each row of the
    table aliased `alias` (dwellings "d", kept sums "s") under its area at `level` (its own
    area when None), restricted to `areas` there."""
    params: list[str] = []
    if level is None:
        with_, area_expr, join = "", f"{alias}.area", ""
    else:
        with_ = ("WITH RECURSIVE up(code, top) AS (SELECT code, code FROM area WHERE level = ? "
                 "UNION SELECT a.code, up.top FROM area a JOIN up ON a.parent = up.code) ")
        params.append(level)
        area_expr, join = "up.top", f"JOIN up ON up.code = {alias}.area"
    where = "1"
    if areas is not None:  # one parameter, however many areas (SQLite limits parameters)
        where += f" AND {area_expr} IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(list(areas)))
    return with_, area_expr, f"{join} WHERE {where}", params


def person_sums(store: Store, areas: Sequence[str] | None = None, level: str | None = None
                ) -> Iterator[tuple[str, list[int], list[int]]]:
    """Per area (at `level`, or each household's own area): the counts and the key sums of
    every grid cell over its completed (or approved) households, streamed from one
    GROUP BY (DESIGN §6 and §9)."""
    for area, _households, counts, keys in person_totals(store, areas, level):
        yield area, counts, keys


def person_totals(store: Store, areas: Sequence[str] | None = None, level: str | None = None
                  ) -> Iterator[tuple[str, int, list[int], list[int]]]:
    """As `person_sums`, with the number of households counted in each area first. Read from
    the sums kept per area as households are written (a row per area, never a household)."""
    sums = ", ".join(f"sum(s.{c})" for c in (*store.counts, *store.keys))
    with_, area_expr, rest, params = _tabulation(store, level, areas, "s")
    n = len(store.counts)
    for row in store.conn.execute(
            f"{with_}SELECT {area_expr}, sum(s.households), {sums} FROM area_sums s {rest} "
            f"GROUP BY {area_expr} HAVING sum(s.households) > 0 ORDER BY {area_expr}", params):
        yield row[0], row[1], list(row[2:2 + n]), list(row[2 + n:])


def household_sizes(store: Store, areas: Sequence[str] | None = None, level: str | None = None
                    ) -> Iterator[tuple[str, int, int, int]]:
    """(area, size class, households, key sum) of completed households by their number of
    usual residents, LARGEST standing for "LARGEST or more". A household's key is the
    sum of its persons' keys, so a cell's key is the sum of its households' keys. Read from
    the sums kept per area and size class."""
    with_, area_expr, rest, params = _tabulation(store, level, areas, "s")
    for row in store.conn.execute(
            f"{with_}SELECT {area_expr}, s.size, sum(s.households), sum(s.key_sum) "
            f"FROM area_size_sums s {rest} "
            f"GROUP BY {area_expr}, s.size HAVING sum(s.households) > 0 "
            f"ORDER BY {area_expr}, s.size", params):
        yield row[0], row[1], row[2], row[3]


def dwelling_outcomes(store: Store, areas: Sequence[str] | None = None, level: str | None = None
                      ) -> Iterator[tuple[str, str, int]]:
    """(area, last visit outcome or "not_visited", dwellings): the operational table of
    dwellings, exact (DESIGN §6), rolled up to `level` when given. Grouped by area alone
    (one conditional count per outcome; each dwelling's last visit read through the visit
    key), so that nothing is sorted or held per dwelling."""
    with_, area_expr, rest, params = _tabulation(store, level, areas, "d")
    counts = ", ".join(f"sum(o = '{o}')" for o in LAST_VISIT_STATES)
    for row in store.conn.execute(
            f"{with_}SELECT a, {counts} FROM (SELECT {area_expr} AS a, coalesce((SELECT "
            "v.outcome FROM visit v WHERE v.dwelling_id = d.id ORDER BY v.attempt DESC "
            f"LIMIT 1), '{NOT_VISITED}') AS o FROM dwelling d {rest}) GROUP BY a ORDER BY a",
            params):
        for outcome, n in zip(LAST_VISIT_STATES, row[1:], strict=True):
            if n:
                yield row[0], outcome, n




def listed_areas(store: Store, areas: Sequence[str]) -> Iterator[str]:
    """Those of `areas` (enumeration areas) where a dwelling is listed, through the index of
    the dwellings' addresses (no visit read)."""
    for row in store.conn.execute(
            "SELECT DISTINCT area FROM dwelling WHERE area IN (SELECT value FROM json_each(?)) "
            "ORDER BY area", (json.dumps(list(areas)),)):
        yield row[0]
