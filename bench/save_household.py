"""Benchmark: durable save of ONE complete household through the real code path.

Each timed iteration calls `census.usecases.forms.store_dwellings(store, [dwelling], ...)` with
one new
dwelling (one completed visit, one complete household): rule checks, version lookups, digests,
key sums, the dwelling/visit/household rows and the hash-chained audit entries, all in one
BEGIN IMMEDIATE ... COMMIT with WAL and synchronous=FULL on an encrypted (SQLCipher) database.

Baseline, measured in the same run: a raw sqlcipher3 connection with the same pragmas (key, WAL,
synchronous=FULL, secure_delete, foreign_keys) doing one small-row INSERT + COMMIT per
iteration. For information: plain sqlite3 doing the same, and raw sqlcipher3 writing exactly the
rows census writes per save (census schema; dwelling, visit, household, two audit entries and
the audit head, built beforehand), which splits the cost into storage and census's own work.

Goal: median(census) / median(raw sqlcipher3) <= 4. Exit status is 0 whether or not it is met.

    .venv/bin/python bench/save_household.py            # N=300
    .venv/bin/python bench/save_household.py -n 50      # quick
    .venv/bin/python bench/save_household.py --profile  # also cProfile the census saves
    .venv/bin/python bench/save_household.py --register 100000  # with a full area register
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlcipher3
from _raw import PASSPHRASE, apply_pragmas
from sqlite_utils import Database

from census.domain.config import default_config
from census.domain.keys import key_sums
from census.domain.model import Area, Dwelling, Outcome, Role
from census.formats.record_json import (
    dwelling_digest,
    dwelling_to_json,
    household_digest,
    household_to_json,
    with_seed,
)
from census.storage.areas import import_areas
from census.storage.audit import entry_hash
from census.storage.records import changes, count_rows
from census.storage.schema import GENESIS, cell_columns, create_tables
from census.storage.store import Store
from census.usecases import demo
from census.usecases.forms import store_dwellings

GOAL = 4.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(name: str, times_ms: list[float]) -> str:
    return (f"{name:<28} n={len(times_ms):<5} median {statistics.median(times_ms):8.3f} ms   "
            f"p99 {percentile(times_ms, 99):8.3f} ms   mean {statistics.fmean(times_ms):8.3f} ms"
            f"   max {max(times_ms):8.3f} ms")


def households_to_save(count: int, ea: Area, now: datetime) -> list[Dwelling]:
    """`count` new dwellings in `ea`, each with one completed visit and one complete household.

    Realistic content comes from the demo generator; each record is moved to its own
    (structure, dwelling number) in the one EA so every save is a new, valid record.
    """
    cfg = default_config()
    plan = demo.plan(cfg, max(200, count * 2))
    out: list[Dwelling] = []
    for d in demo.dwellings(cfg, plan, now):
        if len(d.households) != 1 or len(d.visits) != 1 or d.visits[0].outcome != \
                Outcome.COMPLETED:
            continue
        n = len(out)
        visits = tuple(dataclasses.replace(v, enumerator=ea.enumerator) for v in d.visits)
        out.append(dataclasses.replace(d, area=ea.code, structure=n // 2 + 1, number=n % 2 + 1,
                                       enumerator=ea.enumerator, visits=visits))
        if len(out) == count:
            return out
    raise SystemExit(f"the demo generator gave only {len(out)} suitable dwellings")


def setup_records(n: int, register: int = 0) -> tuple[list[Area], list[Dwelling], datetime]:
    """The areas to import (parents first), `n` records to save in the first EA, and `now`.

    The areas are the first EA and its parents, or with `register` the whole demo register
    for that many households (to see how a save scales with the size of the area table).
    """
    cfg = default_config()
    now = datetime.now().replace(second=0, microsecond=0)
    plan = demo.plan(cfg, max(100, register))
    ea = next(a for a in plan.areas if a.level == cfg.levels[-1])
    if register:
        return plan.areas, households_to_save(n, ea, now), now
    by_code = {a.code: a for a in plan.areas}
    chain = []  # the area table has a foreign key to the parent, so the parents come too
    code: str | None = ea.code
    while code is not None:
        chain.append(by_code[code])
        code = by_code[code].parent
    return list(reversed(chain)), households_to_save(n, ea, now), now


def bench_census(folder: Path, areas: list[Area], records: list[Dwelling], now: datetime,
                 warmup: int, profile: bool) -> tuple[list[float], pstats.Stats | None]:
    cfg = default_config()
    user = next(a.enumerator for a in areas if a.enumerator)
    store = Store.create(folder / "census.db", PASSPHRASE, cfg, Role.ENUMERATOR, user)
    problems: list[str] = []

    def sink(line: int, problem: Any) -> None:
        problems.append(f"line {line}: {problem}")

    try:
        import_areas(store, areas, user)
        times: list[float] = []
        profiler = cProfile.Profile() if profile else None
        for i, record in enumerate(records):
            if profiler is not None and i == warmup:
                profiler.enable()
            t0 = time.perf_counter()
            report = store_dwellings(store, [record], now=now, sink=sink)
            elapsed = time.perf_counter() - t0
            if i >= warmup:
                times.append(elapsed * 1000)
            if report.households.added != 1 or report.dwellings.added != 1:
                raise SystemExit(f"save {i} did not add one dwelling and one household: "
                                 f"{report.as_dict()} {problems[:3]}")
        if profiler is not None:
            profiler.disable()
        stored = count_rows(store, "household"), count_rows(store, "audit")
    finally:
        store.close()
    print(f"census: stored {stored[0]} households, {stored[1]} audit entries")
    return times, (pstats.Stats(profiler) if profiler is not None else None)


def _open_raw(connect: Callable[[str], Any], path: Path, key: bool) -> Any:
    return apply_pragmas(connect(str(path)), key)


def census_rows(records: list[Dwelling], now: datetime, who: str
                ) -> list[tuple[tuple[Any, ...], ...]]:
    """Per record, the rows census writes for it: dwelling, visits, household, audit entries."""
    cfg = default_config()
    at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    head = GENESIS
    out = []
    for d in records:
        h = with_seed(d.households[0], None)
        dwelling = (d.id, d.area, d.structure, d.number, str(d.type), str(d.occupancy),
                    d.locator, d.enumerator, d.revision, dwelling_digest(d, cfg), at)
        visits = tuple((d.id, v.attempt, v.at.isoformat(timespec="minutes"), str(v.outcome),
                        None, v.enumerator) for v in d.visits)
        household = (h.id, d.id, d.area, h.number, str(h.status), str(h.respondent), h.revision,
                     household_digest(h, cfg, d.id), h.seed, h.away, h.visitors,
                     h.declared_total, h.usual_residents, at, who,
                     *[h.residents.get(c, 0) for c in cfg.cells],
                     *key_sums(h.seed, cfg.cells, h.residents))
        new_h = household_to_json(h, cfg)
        new_h["dwelling"] = d.id
        entries = [*changes("dwelling", d.id, None,
                            dwelling_to_json(d, cfg, with_households=False), who, at),
                   *changes("household", h.id, None, new_h, who, at)]
        audit_rows = []
        for e in entries:
            digest = entry_hash(head, e)
            audit_rows.append((e.at, e.who, e.record_type, e.record_id, e.field, e.old, e.new,
                               e.reason, head, digest))
            head = digest
        out.append((dwelling, visits, household, tuple(audit_rows)))
    return out


def bench_raw_census_rows(path: Path, areas: list[Area], records: list[Dwelling],
                          now: datetime, warmup: int) -> list[float]:
    """Raw sqlcipher3, census schema: the same rows census writes per save, one COMMIT each."""
    cfg = default_config()
    conn = _open_raw(lambda p: sqlcipher3.connect(p, isolation_level=None), path, key=True)
    try:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT")
        create_tables(Database(conn), cfg)
        for a in areas:
            if a.enumerator:
                conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)",
                             (a.enumerator,))
            conn.execute("INSERT INTO area (code, parent, level, name, expected_dwellings, "
                         "enumerator) VALUES (?, ?, ?, ?, ?, ?)",
                         (a.code, a.parent, a.level, a.name, a.expected_dwellings,
                          a.enumerator))
        counts, keys = cell_columns(cfg)
        grid = counts + keys
        household_sql = (
            "INSERT INTO household (id, dwelling_id, area, number, status, respondent, "
            "revision, digest, seed, away, visitors, declared_total, usual_residents, "
            f"updated_at, updated_by, {', '.join(grid)}) "
            f"VALUES ({','.join('?' * (15 + len(grid)))})")
        times: list[float] = []
        rows = census_rows(records, now, next(a.enumerator for a in areas if a.enumerator))
        for i, (dwelling, visits, household, audit_rows) in enumerate(rows):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO dwelling (id, area, structure, number, type, occupancy, "
                         "locator, enumerator, revision, digest, updated_at) "
                         "VALUES (?,?,?,?,?,?,?,?,?,?,?)", dwelling)
            conn.executemany("INSERT INTO visit VALUES (?, ?, ?, ?, ?, ?)", visits)
            conn.execute(household_sql, household)
            conn.executemany("INSERT INTO audit (at, who, record_type, record_id, field, old, "
                             "new, reason, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             audit_rows)
            conn.execute("INSERT INTO meta (key, value) VALUES ('audit_head', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         (f"{i}:{audit_rows[-1][-1]}",))
            conn.execute("COMMIT")
            elapsed = time.perf_counter() - t0
            if i >= warmup:
                times.append(elapsed * 1000)
        return times
    finally:
        conn.close()


def bench_raw(connect: Callable[[str], Any], path: Path, n: int, warmup: int,
              key: bool) -> list[float]:
    """One small row INSERT + COMMIT per iteration."""
    conn = _open_raw(connect, path, key)
    try:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
                     "payload TEXT NOT NULL)")
        times: list[float] = []
        for i in range(warmup + n):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (at, payload) VALUES (?, ?)",
                         (f"2026-01-01T00:{i % 60:02d}", f"row {i} " + "x" * 40))
            conn.execute("COMMIT")
            elapsed = time.perf_counter() - t0
            if i >= warmup:
                times.append(elapsed * 1000)
        return times
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--saves", type=int, default=300,
                        help="timed saves of one household each (default 300)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed saves before timing (default 10)")
    parser.add_argument("--register", type=int, default=0, metavar="HOUSEHOLDS",
                        help="import the whole demo area register for this many households "
                             "instead of one EA (default 0: one EA and its parents)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the timed census saves and print the top functions")
    parser.add_argument("--top", type=int, default=25, help="functions shown with --profile")
    args = parser.parse_args(argv)
    if args.saves < 1 or args.warmup < 0:
        parser.error("--saves must be >= 1 and --warmup >= 0")

    print(f"save_household: {args.saves} timed saves (+{args.warmup} warm-up), WAL, "
          f"synchronous=FULL, python {sys.version.split()[0]}, "
          f"sqlcipher {sqlcipher3.sqlite_version}, sqlite3 {sqlite3.sqlite_version}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    areas, records, now = setup_records(args.warmup + args.saves, args.register)
    print(f"areas imported: {len(areas)}")
    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        folder = Path(tmp)
        raw_cipher = bench_raw(lambda p: sqlcipher3.connect(p, isolation_level=None),
                               folder / "raw-cipher.db", args.saves, args.warmup, key=True)
        raw_plain = bench_raw(lambda p: sqlite3.connect(p, isolation_level=None),
                              folder / "raw-plain.db", args.saves, args.warmup, key=False)
        census_times, stats = bench_census(folder, areas, records, now, args.warmup,
                                           args.profile)
        shaped = bench_raw_census_rows(folder / "raw-shaped.db", areas, records, now,
                                       args.warmup)

    print()
    print(summary("census store_dwellings", census_times))
    print(summary("raw sqlcipher3 INSERT+COMMIT", raw_cipher))
    print(summary("raw sqlite3 INSERT+COMMIT", raw_plain))
    print(summary("raw sqlcipher3 census rows", shaped))
    median = statistics.median(census_times)
    ratio = median / statistics.median(raw_cipher)
    print()
    print(f"ratio median(census)/median(raw sqlcipher3) = {ratio:.2f}  (goal <= {GOAL:g})")
    print(f"ratio median(census)/median(raw sqlite3)    = "
          f"{median / statistics.median(raw_plain):.2f}  (information)")
    print(f"information: the same rows census writes (dwelling, visit, household, 2 audit "
          f"entries, audit head) by raw sqlcipher3 take {statistics.median(shaped):.3f} ms, "
          f"{statistics.median(shaped) / statistics.median(raw_cipher):.2f}x the one-row "
          f"baseline; census spends {median - statistics.median(shaped):.3f} ms a save "
          f"({100 * (1 - statistics.median(shaped) / median):.0f}%) beyond writing them")
    print(f"goal {'MET' if ratio <= GOAL else 'MISSED'}  (load average now "
          f"{os.getloadavg()[0]:.2f})")
    if stats is not None:
        print()
        print(f"cProfile of the {args.saves} timed census saves (top {args.top} by cumulative):")
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
