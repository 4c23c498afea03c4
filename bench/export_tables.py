"""Benchmark: export of the protected persons table against a plain GROUP BY of the same counts.

Setup (not timed): a supervisor database made with the demo generator for a template of
--template households (about 20 EAs), then copied in SQL (`INSERT … SELECT`, new ids, each
copy on other EAs of the demo plan for --households) until it holds --households completed
households; every area is closed. All in the real encrypted schema.

Timed, in the same run on the same database, each in a fresh child process (so peak RSS is that
export's own):

* plain: `SELECT area, count(*), sum(n_00) … sum(n_15) FROM household WHERE status IN
  ('complete', 'approved') GROUP BY area`, every row fetched: the same counts, unprotected,
  with nothing written;
* census rr3 and census ckm: `census.usecases.publish.write.export(... level="ea",
  tables=("persons",))`,
  everything a user's `census export tables --tables persons` does after opening the database:
  ledger check, areas and units, the sums kept per area (a row per area: they are kept up to
  date as households are written), protection, the CSV file and metadata.json written and
  fsynced, the release recorded (the ckm run also builds its ptable);
* ons: the ONS reference implementation of the cell key method (`cell-key-perturbation`,
  pandas), as its users run it: one row per person read from Parquet (written beside the
  database, not timed, with record keys that give every cell census's cell key) and
  `create_perturbed_table` by area x sex x age band with the survey's ptable; the values of the
  last round are compared with census's ckm cell by cell.

Goals: census time <= 2x plain time, for both methods; census ckm faster than the ONS package
with identical values; peak RSS flat as households grow (the same export over 10%, 50% and 100%
of the areas, one child each). What census holds is a row of sums per area, so its memory grows
with the number of areas published, not with their households. The copies are inserted copy by
copy, so each area's households lie together as they do when they arrive area by area in
bundles (and go through the triggers that keep the sums, as every write does).

    .venv/bin/python bench/export_tables.py                       # 1,000,000 households
    .venv/bin/python bench/export_tables.py --households 100000   # quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from census.storage.areas import import_areas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import reset_peak_rss, status_kib

PASSPHRASE = "bench-export"
ROOT = Path(__file__).resolve().parent.parent


def build(db: Path, households: int, template: int) -> dict[str, Any]:
    from datetime import datetime

    from census.domain.config import default_config
    from census.domain.model import Role
    from census.storage.store import Store
    from census.usecases import demo
    from census.usecases.forms import store_dwellings

    cfg = default_config()
    plan = demo.plan(cfg, int(households * 1.35))  # areas for that many completed
    small = demo.plan(cfg, template)
    store = Store.create(db, PASSPHRASE, cfg, Role.SUPERVISOR, "S01")
    import_areas(store, plan.areas, "S01")
    now = datetime(2026, 11, 28, 12, 0)
    with store.bulk():
        store_dwellings(store, demo.dwellings(cfg, small, now), now=now,
                        sink=lambda line, p: None)
    conn = store.conn
    eas = [a.code for a in plan.areas if a.level == cfg.levels[-1]]
    tmpl = [r[0] for r in conn.execute("SELECT DISTINCT area FROM dwelling ORDER BY area")]
    have = conn.execute("SELECT count(*) FROM household WHERE status = 'complete'").fetchone()[0]
    copies = max(0, -(-households // have) - 1)
    copies = min(copies, len(eas) // len(tmpl) - 1)
    conn.execute("CREATE TEMP TABLE m (k INTEGER, old TEXT, new TEXT)")
    conn.executemany("INSERT INTO m VALUES (?, ?, ?)",
                     [(k, old, eas[k * len(tmpl) + j]) for k in range(1, copies + 1)
                      for j, old in enumerate(tmpl)])

    def cols(table: str) -> list[str]:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]

    def copy(table: str, id_cols: tuple[str, ...], area_col: str | None, join: str) -> None:
        exprs = []
        for c in cols(table):
            if c in id_cols:
                exprs.append(f"printf('%08x', m.k) || substr(t.{c}, 9)")
            elif c == area_col:
                exprs.append("m.new")
            else:
                exprs.append(f"t.{c}")
        # Copy by copy, in the template's order: each area's rows stay together, as when
        # they arrive area by area in bundles.
        conn.execute(f"INSERT INTO {table} SELECT {', '.join(exprs)} FROM {table} t {join} "
                     "ORDER BY m.k, t.rowid")

    started = time.perf_counter()
    if not conn.in_transaction:
        conn.execute("BEGIN")
    copy("dwelling", ("id",), "area", "JOIN m ON m.old = t.area")
    copy("visit", ("dwelling_id",), None,
         "JOIN dwelling d ON d.id = t.dwelling_id JOIN m ON m.old = d.area")
    copy("household", ("id", "dwelling_id"), "area", "JOIN m ON m.old = t.area")
    conn.execute("UPDATE area SET status = 'closed'")
    conn.execute("COMMIT")
    total = conn.execute("SELECT count(*) FROM household WHERE status IN ('complete', "
                         "'approved')").fetchone()[0]
    used = conn.execute("SELECT count(DISTINCT area) FROM household").fetchone()[0]
    store.close()
    return {"households": total, "eas": used, "copy_s": time.perf_counter() - started}


def ons_input(db: Path) -> int:
    """The ONS package's input beside the database (not timed): `persons.parquet`, one row per
    person (area, sex, age_band, record_key), and `ptable.csv`, the survey's ckm table. census
    keeps a key sum per household and cell, not each person's key; the first person of a cell
    carries the household's key sum mod the key range and the others 0, so that every cell's
    key (the sum mod the range, ONS's computation) is census's, and the two must publish
    identical values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from census.privacy.ptable.generate import generate
    from census.privacy.ptable.ons_csv import write_ons_csv
    from census.storage.store import Store

    store = Store.open(db, PASSPHRASE)
    d = store.config.disclosure
    table = generate(d.ckm_max_change, d.ckm_variance, d.ckm_threshold)
    (db.parent / "ptable.csv").write_text(write_ons_csv(table))
    cells = store.config.cells
    schema = pa.schema([("area", pa.string()), ("sex", pa.string()), ("age_band", pa.string()),
                        ("record_key", pa.int64())])
    rows = 0
    with pq.ParquetWriter(db.parent / "persons.parquet", schema) as out:
        cols: list[list[Any]] = [[], [], [], []]
        for r in store.conn.execute(
                f"SELECT area, {', '.join(store.counts)}, {', '.join(store.keys)} FROM household "
                "WHERE status IN ('complete', 'approved') ORDER BY area"):
            n = len(cells)
            for (sex, band), count, key in zip(cells, r[1:1 + n], r[1 + n:], strict=True):
                for i in range(count):
                    cols[0].append(r[0])
                    cols[1].append(sex)
                    cols[2].append(band)
                    cols[3].append(key % table.ckey_range if i == 0 else 0)
            if len(cols[0]) > 500_000:
                out.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=schema))
                rows += len(cols[0])
                cols = [[], [], [], []]
        out.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=schema))
        rows += len(cols[0])
    store.close()
    return rows


def ons_child(db: Path, out: Path) -> dict[str, Any]:
    """The ONS package as its users run it: person rows from Parquet, one call."""
    import pandas as pd
    from cell_key_perturbation.create_perturbed_table import create_perturbed_table

    started = time.perf_counter()
    data = pd.read_parquet(db.parent / "persons.parquet")
    ptable = pd.read_csv(db.parent / "ptable.csv")
    table = create_perturbed_table(data=data, ptable=ptable, geog=["area"],
                                   tab_vars=["sex", "age_band"], record_key="record_key",
                                   threshold=0)
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "ons.csv", index=False)
    return {"seconds": seconds, "rows": len(table)}


def same_values(census_csv: Path, ons_csv: Path) -> tuple[int, int]:
    """(cells compared, cells that differ): census's inner cells (no margin) against the ONS
    package's counts of the same (area, sex, age band)."""
    import csv

    with open(ons_csv, newline="") as f:
        ons = {(r["area"], r["sex"], r["age_band"]): r["count"] for r in csv.DictReader(f)}
    compared = differ = 0
    with open(census_csv, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["area"], r["sex"], r["age_band"])
            if key not in ons:
                continue
            compared += 1
            theirs = ons[key]
            differ += (float(theirs) if theirs else 0.0) != float(r["persons"] or 0)
    return compared, differ


def child(kind: str, db: str, out: str, areas: str | None) -> None:
    """One measurement in this process: prints JSON with seconds and peak RSS."""
    from census.storage.store import Store
    from census.usecases.publish.plan import Request
    from census.usecases.publish.write import export

    if kind == "ons":
        reset_peak_rss()
        got = ons_child(Path(db), Path(out))
        print(json.dumps({**got, "cpu": 0.0, "rss0_kib": 0, "peak_kib": status_kib("VmHWM")}))
        return
    store = Store.open(Path(db), PASSPHRASE)
    # ru_maxrss survives execve (it would be the parent's); VmHWM reset here is this run's own.
    reset_peak_rss()
    rss0 = status_kib("VmRSS")
    cpu = time.process_time()
    started = time.perf_counter()
    if kind == "plain":
        sums = ", ".join(f"sum({c})" for c in store.counts)
        rows = store.conn.execute(
            f"SELECT area, count(*), {sums} FROM household WHERE status IN ('complete', "
            "'approved') GROUP BY area ORDER BY area").fetchall()
        n = len(rows)
    else:
        method, _, level = kind.partition("@")
        # rr3 and ckm take turns on the same cells, which the ledger refuses without a
        # declared change of method.
        request = Request(level=level or "ea", tables=("persons",), method=method,
                          areas=tuple(areas.split(",")) if areas else None,
                          override="method_change")
        report = export(store, request, Path(out))
        n = dict(report.files)["persons"]
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = status_kib("VmHWM")
    store.close()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": n, "rss0_kib": rss0,
                      "peak_kib": peak}))


def measure(kind: str, db: Path, out: Path, areas: list[str] | None = None) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(db), str(out),
                           ",".join(areas or [])], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _copy_db(db: Path, to: Path) -> None:
    """A copy of the database as it is (its WAL checkpointed first)."""
    from census.storage.store import Store

    store = Store.open(db, PASSPHRASE)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    shutil.copy(db, to)


def _has_ons() -> bool:
    import importlib.util

    found = importlib.util.find_spec("cell_key_perturbation") is not None
    if not found:
        print("ONS baseline left out: pip install cell-key-perturbation pandas (the test extras)")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--template", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="Build the database in this folder and keep "
                        "it; reuse it when it is already there.")
    parser.add_argument("--no-ons", dest="ons", action="store_false",
                        help="Leave out the ONS cell-key-perturbation package's baseline.")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, db, out, areas = args.child
        child(kind, db, out, areas or None)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="census-bench-export-"))
    try:
        db = (args.keep or folder) / "s.db"
        if args.keep and db.exists():
            print(f"database: reused {db}")
        else:
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            info = build(db, args.households, args.template)
            print(f"database: {info['households']:,} completed households in {info['eas']:,} "
                  f"EAs (built in {time.perf_counter() - t:.0f} s; SQL copy "
                  f"{info['copy_s']:.0f} s)")
        ons = args.ons and _has_ons()
        if ons and not (db.parent / "persons.parquet").exists():
            t = time.perf_counter()
            print(f"ONS input: {ons_input(db):,} person rows written to Parquet "
                  f"({time.perf_counter() - t:.0f} s, not timed)")
        _copy_db(db, folder / "pristine.db")  # before any export: an empty ledger
        measure("plain", db, folder / "warm")  # warm the page cache for everyone
        # Rounds of plain, rr3, ckm back to back: this machine's speed drifts by +-20 % over
        # minutes, so each round's ratios are taken within the round, and the median reported.
        rounds: list[dict[str, dict[str, Any]]] = []
        kinds = ("plain", "rr3", "ckm", *(("ons",) if ons else ()))
        for round_ in range(args.repeat):
            rounds.append({kind: measure(kind, db, folder / f"{kind}-{round_}")
                           for kind in kinds})
        title = f"ratio (median, min-max of {args.repeat} rounds)"
        print(f"{'run':<8}{'median s':>10}{title:>40}{'rows':>10}{'peak RSS':>11}")
        ok = True
        for kind in kinds:
            ratios = sorted(r[kind]["seconds"] / r["plain"]["seconds"] for r in rounds)
            secs = statistics.median(r[kind]["seconds"] for r in rounds)
            mid = statistics.median(ratios)
            ok = ok and (kind == "plain" or mid <= 2.0)
            last = rounds[-1][kind]
            print(f"{kind:<8}{secs:>9.2f}s{mid:>22.2f}x  ({ratios[0]:.2f}-{ratios[-1]:.2f}x)"
                  f"{'':>6}{last['rows']:>10,}{last['peak_kib'] / 1024:>9.1f}MB")
        print(f"goal census <= 2x plain GROUP BY (median ratio): {'met' if ok else 'MISSED'}")
        if ons:
            last = args.repeat - 1
            compared, differ = same_values(folder / f"ckm-{last}" / "persons.csv",
                                           folder / f"ons-{last}" / "ons.csv")
            faster = sorted(r["ckm"]["seconds"] / r["ons"]["seconds"] for r in rounds)
            print(f"ONS package: {compared:,} cells compared with census ckm, {differ} differ; "
                  f"census ckm / ONS time: {statistics.median(faster):.2f}x "
                  f"({faster[0]:.2f}-{faster[-1]:.2f}x); goal < 1: "
                  f"{'met' if statistics.median(faster) < 1 and not differ else 'MISSED'}")
        from census.storage.store import Store

        store = Store.open(db, PASSPHRASE)
        eas = sorted(r[0] for r in store.conn.execute("SELECT DISTINCT area FROM household"))
        store.close()
        peaks = []
        for share in (0.1, 0.5, 1.0):
            subset = eas[:max(1, int(len(eas) * share))]
            got = measure("rr3", db, folder / f"mem-{share}", subset if share < 1 else None)
            peaks.append(got["peak_kib"] / 1024)
            print(f"memory: rr3 over {share:>4.0%} of the EAs ({len(subset):,}): peak RSS "
                  f"{got['peak_kib'] / 1024:.1f} MB, {got['seconds']:.2f} s")
        print(f"memory growth from 10% to 100% of the households: "
              f"{peaks[-1] - peaks[0]:+.1f} MB (with 10x the areas)")
        for level in ("district", "region"):
            # On a copy with an empty ledger: the runs above published every EA, and a
            # district less its published EAs would give away its smallest ones (refused).
            fresh = folder / f"fresh-{level}.db"
            shutil.copy(folder / "pristine.db", fresh)
            got = measure(f"rr3@{level}", fresh, folder / f"mem-{level}")
            fresh.unlink()
            units = got["rows"] // 27
            print(f"memory: rr3 by {level}, every household ({units:,} areas): peak RSS "
                  f"{got['peak_kib'] / 1024:.1f} MB, {got['seconds']:.2f} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
