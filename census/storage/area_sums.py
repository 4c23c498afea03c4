"""Each area's exact sums, kept up to date as households are written (issue 18): per area, the
households counted and every cell's count and key sum (`area_sums`), and the households and key
sums by size class (`area_size_sums`). Households count when complete or approved, under the
area they are stored in.

They are kept by triggers on the household table, in the transaction of each write: whatever the
path (entry, forms import, bundle merge, decisions, receipts, a dwelling moved to another area,
a cascade from a dwelling removed), the old version's numbers are subtracted and the new one's
added. The sums are additive, so an export reads a row per area instead of every household, and
`census check` recounts them from the households (`recount_problems`).

Exact, confidential counts, like the households they come from: never shown, only tabulated
with protection."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from sqlite_utils import Database

from census.domain.config import SurveyConfig
from census.storage.schema import cell_columns as _columns
from census.storage.store import Store
from census.tabulate.households import LARGEST

COUNTED = "('complete', 'approved')"
TRIGGERS = ("area_sums_insert", "area_sums_delete", "area_sums_update")


def _triggers(config: SurveyConfig) -> dict[str, str]:
    """The three triggers that keep the sums, by name."""
    counts, keys = _columns(config)
    cells = counts + keys
    total_key = " + ".join(f"{{r}}.{k}" for k in keys)
    size = f"min({{r}}.usual_residents, {LARGEST})"

    def add(r: str) -> str:
        return (
            f"INSERT INTO area_sums (area, households, {', '.join(cells)}) "
            f"SELECT {r}.area, 1, {', '.join(f'{r}.{c}' for c in cells)} "
            f"WHERE {r}.status IN {COUNTED} ON CONFLICT (area) DO UPDATE SET "
            "households = households + 1, "
            + ", ".join(f"{c} = {c} + excluded.{c}" for c in cells) + ";\n"
            "INSERT INTO area_size_sums (area, size, households, key_sum) "
            f"SELECT {r}.area, {size.format(r=r)}, 1, {total_key.format(r=r)} "
            f"WHERE {r}.status IN {COUNTED} AND {r}.usual_residents > 0 "
            "ON CONFLICT (area, size) DO UPDATE SET households = households + 1, "
            "key_sum = key_sum + excluded.key_sum;")

    def subtract(r: str) -> str:
        return (
            "UPDATE area_sums SET households = households - 1, "
            + ", ".join(f"{c} = {c} - {r}.{c}" for c in cells)
            + f" WHERE area = {r}.area AND {r}.status IN {COUNTED};\n"
            "UPDATE area_size_sums SET households = households - 1, "
            f"key_sum = key_sum - ({total_key.format(r=r)}) WHERE area = {r}.area AND "
            f"size = {size.format(r=r)} AND {r}.status IN {COUNTED} AND "
            f"{r}.usual_residents > 0;")

    watched = ", ".join(["area", "status", "usual_residents", *cells])
    return {
        "area_sums_insert": "CREATE TRIGGER area_sums_insert AFTER INSERT ON household BEGIN\n"
                            f"{add('NEW')}\nEND",
        "area_sums_delete": "CREATE TRIGGER area_sums_delete AFTER DELETE ON household BEGIN\n"
                            f"{subtract('OLD')}\nEND",
        "area_sums_update": f"CREATE TRIGGER area_sums_update AFTER UPDATE OF {watched} ON "
                            f"household BEGIN\n{subtract('OLD')}\n{add('NEW')}\nEND",
    }


def _recounts(config: SurveyConfig, only: str = "") -> tuple[str, str]:
    """The SELECTs that recount both tables from the households (rows as the tables hold
    them), each restricted by `only` (a condition on `h.area`, or nothing): one recount for
    the migration's fill, the check and the repair."""
    counts, keys = _columns(config)
    where = f"h.status IN {COUNTED}" + (f" AND {only}" if only else "")
    return (f"SELECT h.area, count(*), {', '.join(f'sum(h.{c})' for c in counts + keys)} "
            f"FROM household h WHERE {where} GROUP BY h.area",
            f"SELECT h.area, min(h.usual_residents, {LARGEST}), count(*), "
            f"sum({' + '.join(f'h.{k}' for k in keys)}) FROM household h WHERE {where} AND "
            "h.usual_residents > 0 GROUP BY 1, 2")


def create_area_sums(db: Database, config: SurveyConfig) -> None:
    """Migration 0010: the two tables, filled by one recount of the households, and the
    triggers that keep them."""
    counts, keys = _columns(config)
    persons, sizes = _recounts(config)
    for sql in (
        "CREATE TABLE area_sums (area TEXT PRIMARY KEY CHECK (length(area) BETWEEN 1 AND 40), "
        "households INTEGER NOT NULL, "
        + ", ".join(f"{c} INTEGER NOT NULL" for c in counts + keys) + ") WITHOUT ROWID, STRICT",
        "CREATE TABLE area_size_sums (area TEXT NOT NULL CHECK (length(area) BETWEEN 1 AND 40), "
        "size INTEGER NOT NULL, "
        "households INTEGER NOT NULL, key_sum INTEGER NOT NULL, PRIMARY KEY (area, size)) "
        "WITHOUT ROWID, STRICT",
        f"INSERT INTO area_sums {persons}",
        f"INSERT INTO area_size_sums {sizes}",
        *_triggers(config).values(),
    ):
        db.execute(sql)


def missing_triggers(store: Store) -> list[str]:
    """The triggers that keep the sums and are not in the database (none, unless the schema
    was changed outside census)."""
    there = {r[0] for r in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'area_sums_%'")}
    return [t for t in TRIGGERS if t not in there]


def recount(store: Store, areas: Sequence[str] | None = None) -> Iterator[str]:
    """Those of `areas` (every area when None) whose kept sums differ from a recount of their
    households (none, unless the file was changed outside census), read in one snapshot, so
    that a save committed meanwhile by another program is not taken for a difference."""
    counts, keys = _columns(store.config)
    cells = counts + keys
    execute = store.conn.execute
    only, params = "", []
    if areas is not None:
        only = "area IN (SELECT value FROM json_each(?))"
        params = [json.dumps(list(areas))]
    persons, sizes = _recounts(store.config, f"h.{only}" if only else "")
    only = f" AND {only}" if only else ""
    with store.snapshot():
        kept = {r[0]: tuple(r[1:]) for r in execute(
            f"SELECT area, households, {', '.join(cells)} FROM area_sums WHERE (households "
            f"!= 0 OR {' OR '.join(f'{c} != 0' for c in cells)}){only}", params)}
        fresh = {r[0]: tuple(r[1:]) for r in execute(persons, params)}
        kept_sizes = {(r[0], r[1]): (r[2], r[3]) for r in execute(
            "SELECT area, size, households, key_sum FROM area_size_sums WHERE (households "
            f"!= 0 OR key_sum != 0){only}", params)}
        fresh_sizes = {(r[0], r[1]): (r[2], r[3]) for r in execute(sizes, params)}
    wrong = {a for a in kept.keys() | fresh.keys() if kept.get(a) != fresh.get(a)}
    wrong |= {a for a, size in kept_sizes.keys() | fresh_sizes.keys()
              if kept_sizes.get((a, size)) != fresh_sizes.get((a, size))}
    yield from sorted(wrong)


def rebuild(store: Store, areas: Sequence[str], missing: Sequence[str] | None = None) -> None:
    """Put back the triggers that are missing (`missing`, when the caller knows them), and
    recount the kept sums of `areas` from their households (inside the caller's write): one
    statement a table for all of them."""
    triggers = _triggers(store.config)
    for name in missing_triggers(store) if missing is None else missing:
        store.conn.execute(triggers[name])
    if not areas:
        return
    only = "IN (SELECT value FROM json_each(?))"
    chosen = (json.dumps(list(areas)),)
    persons, sizes = _recounts(store.config, f"h.area {only}")
    for table, recounted in (("area_sums", persons), ("area_size_sums", sizes)):
        store.conn.execute(f"DELETE FROM {table} WHERE area {only}", chosen)
        store.conn.execute(f"INSERT INTO {table} {recounted}", chosen)
