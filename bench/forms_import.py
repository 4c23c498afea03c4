"""Benchmark: `census forms import` of a large JSONL file, run as the real CLI (a subprocess).

For each size (by default 25% and 100% of --households) it makes a fresh encrypted database
with `census init --role supervisor` (forms keyed at a district office) and `census area
import` (the demo areas as CSV), writes a JSONL file of demo dwelling records
(`census.usecases.demo` + `census.formats.record_json.dwelling_to_json`, one record a line),
then times `census forms import FILE --db DB` and reads the child's peak RSS (wait4 rusage).

Baseline, measured in the same run on the same rows: a raw sqlcipher3 database with the same
schema (census.storage.schema.create_tables), the same areas, key and pragmas (WAL,
synchronous=FULL, secure_delete, foreign_keys), filled with three `executemany` calls
(dwelling, visit and household rows, the same columns and values that census stores) in one
transaction. The timed part is connect + key + pragmas + BEGIN + executemany + COMMIT + close;
the rows are built beforehand. The same into plain sqlite3 is shown for information. Census
also writes an audit entry per record, which the baseline does not.

Rows are households. Goal: rows/s(census) / rows/s(raw sqlcipher3) >= 0.25 at full size.
Exit status is 0 whether or not the goal is met.

    .venv/bin/python bench/forms_import.py                      # 100,000 households
    .venv/bin/python bench/forms_import.py --households 4000    # quick
    .venv/bin/python bench/forms_import.py --profile            # + cProfile of the small import
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pstats
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlcipher3
from _raw import PASSPHRASE, apply_pragmas
from sqlite_utils import Database

from census.domain.config import SurveyConfig, default_config
from census.domain.ids import new_seed
from census.domain.keys import key_sums
from census.formats.record_json import dwelling_digest, dwelling_to_json, household_digest
from census.storage.connection import BUSY_TIMEOUT_MS
from census.storage.schema import cell_columns, create_tables
from census.usecases import demo

GOAL = 0.25


@dataclass
class Dataset:
    """One generated size: the files for the CLI and the same rows for the baselines."""

    households: int
    jsonl: Path
    areas_csv: Path
    areas: list[Any]
    dwelling_rows: list[tuple[Any, ...]] = field(default_factory=list)
    visit_rows: list[tuple[Any, ...]] = field(default_factory=list)
    household_rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Run:
    """One timed child process."""

    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    output: str


def _dt(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def make_dataset(folder: Path, cfg: SurveyConfig, households: int, now: datetime) -> Dataset:
    """Write the areas CSV and the JSONL file; build the baseline rows from the same records."""
    plan = demo.plan(cfg, households)
    ds = Dataset(households, folder / f"forms-{households}.jsonl",
                 folder / f"areas-{households}.csv", plan.areas)
    with ds.areas_csv.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "parent", "level", "name", "expected_dwellings", "enumerator"])
        for a in plan.areas:
            w.writerow([a.code, a.parent or "", a.level, a.name,
                        "" if a.expected_dwellings is None else a.expected_dwellings,
                        a.enumerator or ""])
    stamp = "2026-01-01T00:00:00Z"
    with ds.jsonl.open("w", encoding="utf-8") as fh:
        for d in demo.dwellings(cfg, plan, now):
            fh.write(json.dumps(dwelling_to_json(d, cfg)) + "\n")
            ds.dwelling_rows.append((d.id, d.area, d.structure, d.number, str(d.type),
                                     str(d.occupancy), d.locator, d.enumerator, d.revision,
                                     dwelling_digest(d, cfg), stamp))
            for v in d.visits:
                ds.visit_rows.append((d.id, v.attempt, _dt(v.at), str(v.outcome),
                                      _dt(v.callback_at), v.enumerator))
            for h in d.households:
                seed = new_seed()
                ds.household_rows.append(
                    (h.id, d.id, d.area, h.number, str(h.status), str(h.respondent), h.revision,
                     household_digest(h, cfg, d.id), seed, h.away, h.visitors, h.declared_total,
                     h.usual_residents, stamp, d.enumerator,
                     *[h.residents.get(c, 0) for c in cfg.cells],
                     *key_sums(seed, cfg.cells, h.residents)))
    return ds


# The child's peak RSS is read by a small launcher process, not by this one: on Linux a child's
# ru_maxrss starts from the RSS of the process that forked it (the high-water mark of the forked
# address space is carried across exec), and this process holds every baseline row in memory.
LAUNCHER = """
import os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - t0
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{seconds} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(proc.returncode)
"""


def run_child(argv: list[str], env: dict[str, str]) -> Run:
    """Run a command to completion: its wall time, own peak RSS and CPU time (wait4)."""
    with tempfile.TemporaryDirectory(prefix="census-launch-") as tmp:
        figures = Path(tmp) / "rusage"
        proc = subprocess.run([sys.executable, "-c", LAUNCHER, str(figures), *argv], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        text = proc.stdout.decode("utf-8", errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed with status {proc.returncode}:\n{text}")
        seconds, maxrss_kb, cpu = figures.read_text().split()
    return Run(float(seconds), int(maxrss_kb) / 1024, float(cpu), text)


def census_import(folder: Path, ds: Dataset, census: str, env: dict[str, str],
                  profile_to: Path | None = None) -> Run:
    """A fresh database (init + area import, untimed), then the timed `census forms import`."""
    db = folder / f"census-{ds.households}{'-profile' if profile_to else ''}.db"
    run_child([census, "init", "--db", str(db), "--role", "supervisor", "--user", "S01"], env)
    run_child([census, "area", "import", str(ds.areas_csv), "--db", str(db)], env)
    cmd = [census, "forms", "import", str(ds.jsonl), "--db", str(db)]
    if profile_to is not None:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile_to), "-m", "census",
               *cmd[1:]]
    run = run_child(cmd, env)
    conn = sqlcipher3.connect(str(db))
    try:
        apply_pragmas(conn, key=True)
        stored = conn.execute("SELECT count(*) FROM household").fetchone()[0]
    finally:
        conn.close()
    if stored != len(ds.household_rows):
        raise SystemExit(f"the database holds {stored} households, expected "
                         f"{len(ds.household_rows)}:\n{run.output[-2000:]}")
    return run


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raw_import(driver: Any, path: Path, ds: Dataset, cfg: SurveyConfig,
               key: bool) -> tuple[float, float, float]:
    """Seconds for the whole raw load (open to close), for executemany + COMMIT alone, and
    the CPU seconds of the whole load."""
    conn = driver.connect(str(path), isolation_level=None)
    apply_pragmas(conn, key)
    create_tables(Database(conn), cfg)
    conn.execute("BEGIN")
    for a in ds.areas:
        if a.enumerator:
            conn.execute("INSERT OR IGNORE INTO enumerator (code) VALUES (?)", (a.enumerator,))
        conn.execute("INSERT INTO area (code, parent, level, name, expected_dwellings, "
                     "enumerator) VALUES (?, ?, ?, ?, ?, ?)",
                     (a.code, a.parent, a.level, a.name, a.expected_dwellings, a.enumerator))
    conn.execute("COMMIT")
    conn.close()

    counts, keys = cell_columns(cfg)
    grid = counts + keys
    columns = ("id, dwelling_id, area, number, status, respondent, revision, digest, seed, "
               "away, visitors, declared_total, usual_residents, updated_at, updated_by, "
               + ", ".join(grid))
    marks = ",".join("?" * (15 + len(grid)))
    c0 = _cpu()
    t0 = time.perf_counter()
    conn = driver.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    apply_pragmas(conn, key)
    t1 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO dwelling (id, area, structure, number, type, occupancy, "
                     "locator, enumerator, revision, digest, updated_at) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?)", ds.dwelling_rows)
    conn.executemany("INSERT INTO visit VALUES (?, ?, ?, ?, ?, ?)", ds.visit_rows)
    conn.executemany(f"INSERT INTO household ({columns}) VALUES ({marks})", ds.household_rows)
    conn.execute("COMMIT")
    t2 = time.perf_counter()
    n = conn.execute("SELECT count(*) FROM household").fetchone()[0]
    conn.close()
    t3 = time.perf_counter()
    cpu = _cpu() - c0
    assert n == len(ds.household_rows), n
    return t3 - t0, t2 - t1, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000,
                        help="households in the full-size file (default 100000)")
    parser.add_argument("--small", type=float, default=0.25,
                        help="the smaller file, as a fraction of --households (default 0.25)")
    parser.add_argument("--census", default=str(Path(sys.executable).parent / "census"),
                        help="the census console script (default: next to this python)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile `census forms import` of the smaller file (an extra "
                             "run) and print the top functions by cumulative time")
    parser.add_argument("--top", type=int, default=45, help="functions shown with --profile")
    args = parser.parse_args(argv)
    if args.households < 10 or not 0 < args.small < 1:
        parser.error("--households must be >= 10 and 0 < --small < 1")

    cfg = default_config()
    now = datetime.now().replace(second=0, microsecond=0)
    env = {**os.environ, "CENSUS_PASSPHRASE": PASSPHRASE, "CENSUS_LANG": "en"}
    sizes = [max(10, round(args.households * args.small)), args.households]
    print(f"forms_import: sizes {sizes} households, python {sys.version.split()[0]}, "
          f"sqlcipher {sqlcipher3.sqlite_version}, sqlite3 {sqlite3.sqlite_version}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    results = []
    profiled: tuple[pstats.Stats, float, int] | None = None
    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            t0 = time.perf_counter()
            ds = make_dataset(folder, cfg, size, now)
            made = time.perf_counter() - t0
            mb = ds.jsonl.stat().st_size / 1e6
            print(f"\n== {size} households: {len(ds.dwelling_rows)} dwellings, "
                  f"{len(ds.visit_rows)} visits, {len(ds.household_rows)} households, "
                  f"{len(ds.areas)} areas; JSONL {mb:.1f} MB (generated in {made:.1f} s)")
            run = census_import(folder, ds, args.census, env)
            cipher_total, cipher_insert, cipher_cpu = raw_import(
                sqlcipher3, folder / f"raw-{size}.db", ds, cfg, key=True)
            plain_total, plain_insert, plain_cpu = raw_import(
                sqlite3, folder / f"plain-{size}.db", ds, cfg, key=False)
            rows = len(ds.household_rows)
            census_rate = rows / run.seconds
            cipher_rate = rows / cipher_total
            plain_rate = rows / plain_total
            ratio = census_rate / cipher_rate
            print(f"census forms import (CLI)   {run.seconds:8.2f} s  {census_rate:10,.0f} rows/s"
                  f"  peak RSS {run.peak_rss_mb:7.1f} MB  CPU {run.cpu_seconds:.2f} s")
            print(f"raw sqlcipher3 executemany  {cipher_total:8.2f} s  {cipher_rate:10,.0f} rows/s"
                  f"  (executemany+COMMIT {cipher_insert:.2f} s)  CPU {cipher_cpu:.2f} s")
            print(f"raw sqlite3 executemany     {plain_total:8.2f} s  {plain_rate:10,.0f} rows/s"
                  f"  (executemany+COMMIT {plain_insert:.2f} s)  CPU {plain_cpu:.2f} s")
            print(f"ratio census/raw sqlcipher3 = {ratio:.3f}   census/raw sqlite3 = "
                  f"{census_rate / plain_rate:.3f}   (by CPU time, which other load on the "
                  f"machine disturbs less: {cipher_cpu / run.cpu_seconds:.3f} and "
                  f"{plain_cpu / run.cpu_seconds:.3f})")
            print(f"census says: {run.output.strip()}")
            results.append((size, run, ratio))
            if args.profile and size == sizes[0]:
                prof = folder / "import.prof"
                prun = census_import(folder, ds, args.census, env, profile_to=prof)
                profiled = (pstats.Stats(str(prof)), prun.seconds, size)
            ds.dwelling_rows.clear()
            ds.visit_rows.clear()
            ds.household_rows.clear()

    print("\n== summary")
    for size, run, ratio in results:
        print(f"{size:>9} households: {size / run.seconds:10,.0f} rows/s, ratio {ratio:.3f}, "
              f"peak RSS {run.peak_rss_mb:.1f} MB")
    (small, small_run, _r), (full, full_run, full_ratio) = results
    growth = full_run.peak_rss_mb - small_run.peak_rss_mb
    flat = growth <= max(10.0, 0.15 * small_run.peak_rss_mb)
    print(f"peak memory {small_run.peak_rss_mb:.1f} MB -> {full_run.peak_rss_mb:.1f} MB for "
          f"{full / small:.1f}x the file ({growth:+.1f} MB, "
          f"{100 * growth / small_run.peak_rss_mb:+.0f}%): "
          f"{'flat (within 10 MB or 15%)' if flat else 'GROWS with the file'}")
    print(f"ratio census/raw sqlcipher3 at full size = {full_ratio:.3f}  (goal >= {GOAL:g})")
    print(f"goal {'MET' if full_ratio >= GOAL else 'MISSED'}  (load average now "
          f"{os.getloadavg()[0]:.2f})")
    if profiled is not None:
        stats, seconds, size = profiled
        print(f"\ncProfile of `census forms import` of {size} households ({seconds:.1f} s under "
              f"the profiler), top {args.top} by cumulative time:")
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"top {args.top} by own time:")
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
