"""Benchmark: national tables from area aggregates (issue 18), on DuckDB, SQLite and Spark, against
a plain DuckDB GROUP BY of the same counts.

Setup (not timed): synthetic aggregates for --households households, written exactly as
`census export aggregates` writes them (one folder per district with its manifest and the
SHA-256 of each file; the default survey config's cells): 100 households an enumeration area
(60 to 140), 100 areas a district, 50 districts a region; and an office database (encrypted,
role office) holding the area register, every area open in it (the manifests say which are
closed).

Timed, each in a fresh child process (so its peak RSS is its own; Spark's JVM is a child of it
and counted when it ends), at the levels ea, district and region:

* plain: DuckDB reads every Parquet file and GROUPs BY the level (persons by sex and age band,
  households by size, dwellings by outcome: the same counts and key sums), every row fetched,
  nothing checked, protected or written;
* census duckdb / sqlite / spark: `census export tables --from DIR --engine E --method rr3`
  as the office runs it (`census.usecases.publish.write.export`): every manifest and file
  checked against its digest, the sums per enumeration area from the engine, units and the
  ledger's checks (conflicts, subtractions), rr3, three CSV files and metadata.json written and
  fsynced, the release recorded. Each run on a fresh copy of the office database (an empty
  ledger), so that no run is "again".

The ratio is census's time over plain's at the same level (goal: <= 1.5 for DuckDB). The engines
must give identical files: the runs' tables are compared byte for byte.

    .venv/bin/python bench/national.py                        # 10,000,000 households
    .venv/bin/python bench/national.py --households 1000000   # quicker
    .venv/bin/python bench/national.py --spark                # Spark too (Java 17+)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import reset_peak_rss, status_kib

PASSPHRASE = "bench-national"
PER_EA, EAS_PER_DISTRICT, DISTRICTS_PER_REGION = 100, 100, 50
LEVELS = ("ea", "district", "region")


def build(folder: Path, households: int, seed: int = 18) -> dict[str, Any]:
    """The aggregates under folder/agg and the office database folder/office.db."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from census.domain.config import default_config
    from census.domain.model import LAST_VISIT_STATES, Area, AreaStatus, Role
    from census.formats.aggregate_files import COLUMNS, FORMAT, KIND
    from census.storage.areas import import_areas
    from census.storage.store import Store
    from census.tabulate.households import LARGEST

    cfg = default_config()
    rng = np.random.default_rng(seed)
    n_eas = max(1, households // PER_EA)
    cells = cfg.cells
    agg = folder / "agg"
    areas: list[Area] = []
    types = {"string": pa.string(), "int64": pa.int64()}
    total = 0
    for d0 in range(0, n_eas, EAS_PER_DISTRICT):
        d = d0 // EAS_PER_DISTRICT
        region = f"R{d // DISTRICTS_PER_REGION + 1:02d}"
        district = f"{region}-D{d % DISTRICTS_PER_REGION + 1:03d}"
        if d % DISTRICTS_PER_REGION == 0:
            areas.append(Area(region, "region", region))
        areas.append(Area(district, "district", district, region))
        codes = [f"{district}-EA{i + 1:03d}" for i in range(min(EAS_PER_DISTRICT, n_eas - d0))]
        areas += [Area(c, "ea", c, district) for c in codes]
        k = len(codes)
        hh = rng.integers(60, 141, size=k)
        total += int(hh.sum())
        sizes = np.stack([rng.multinomial(h, [.2, .2, .2, .15, .1, .08, .04, .03]) for h in hh])
        persons = (sizes * np.minimum(np.arange(1, LARGEST + 1), 9)).sum(axis=1)
        share = rng.dirichlet(np.ones(len(cells)) * 5, size=k)
        counts = np.stack([rng.multinomial(p, s) for p, s in zip(persons, share, strict=True)])
        keys = counts * (2 ** 31) + rng.integers(0, 2 ** 31, size=counts.shape)
        size_keys = sizes * (2 ** 31) + rng.integers(0, 2 ** 31, size=sizes.shape)
        outcomes = np.stack([rng.multinomial(int(h * 1.15), [.87, .03, .02, .05, .02, .01])
                             for h in hh])
        rows = {
            "areas": [codes, hh.tolist(), counts.sum(axis=1).tolist()],
            "persons": [[c for c in codes for _ in cells], [s for _ in codes for s, _b in cells],
                        [b for _ in codes for _s, b in cells], counts.ravel().tolist(),
                        keys.ravel().tolist()],
            "households": [[c for c in codes for _ in range(LARGEST)],
                           list(range(1, LARGEST + 1)) * k, sizes.ravel().tolist(),
                           size_keys.ravel().tolist()],
            "dwellings": [[c for c in codes for _ in range(6)],
                          list(LAST_VISIT_STATES[:6]) * k, outcomes.ravel().tolist()],
        }
        where = agg / f"region={region}" / f"district={district}"
        where.mkdir(parents=True)
        files = {}
        for table, cols in COLUMNS.items():
            data = rows[table]
            if table in ("households", "dwellings"):  # zero cells are left out, as census does
                keep = [i for i, n in enumerate(data[2]) if n]
                data = [[col[i] for i in keep] for col in data]
            schema = pa.schema([(name, types[kind]) for name, kind in cols])
            path = where / f"{table}.parquet"
            pq.write_table(pa.Table.from_arrays(
                [pa.array(col, type=types[kind]) for col, (_n, kind) in zip(data, cols,
                                                                            strict=True)],
                schema=schema), path, compression="zstd")
            files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest = {"format": FORMAT, "kind": KIND, "survey": cfg.name,
                    "config_digest": cfg.digest(), "levels": list(cfg.levels),
                    "partition": {"region": region, "district": district},
                    "areas": {c: "closed" for c in codes}, "closed": codes,
                    "source": {"database": "bench", "user": "S01", "role": "supervisor"},
                    "created": "2026-12-06T00:00:00Z", "files": files}
        (where / "manifest.json").write_text(json.dumps(manifest))
    store = Store.create(folder / "office.db", PASSPHRASE, cfg, Role.OFFICE, "N01")
    import_areas(store, [a for a in areas if a.status is AreaStatus.OPEN], "N01")
    store.close()
    return {"households": total, "eas": n_eas, "districts": -(-n_eas // EAS_PER_DISTRICT),
            "parquet_mib": round(sum(p.stat().st_size for p in agg.rglob("*.parquet"))
                                 / 2 ** 20, 1)}


def child(kind: str, level: str, folder: str, out: str) -> None:
    import duckdb

    from census.storage.store import Store
    from census.usecases.publish.plan import Request
    from census.usecases.publish.write import export

    here = Path(folder)
    reset_peak_rss()
    start = time.perf_counter()
    if kind == "plain":
        con = duckdb.connect()
        group = {"ea": "area", "district": "district", "region": "region"}[level]
        files = str(here / "agg" / "**" / "{}.parquet")
        rows = 0
        for table, cells in (("persons", "sex, age_band"), ("households", "size"),
                             ("dwellings", "outcome")):
            sums = "sum(count)" + (", sum(key_sum)" if table != "dwellings" else "")
            rows += len(con.execute(
                f"SELECT {group}, {cells}, {sums} FROM read_parquet('{files.format(table)}', "
                f"hive_partitioning = true) GROUP BY ALL").fetchall())
        info = {"rows": rows}
    else:
        store = Store.open(Path(out).parent / "office.db", PASSPHRASE)
        report = export(store, Request(level, method="rr3", collected=here / "agg",
                                       engine=kind), Path(out))
        store.close()
        info = {"units": report.units, "rows": dict(report.files)}
    seconds = time.perf_counter() - start
    peak = status_kib("VmHWM") / 1024
    if kind == "spark":  # and its JVM's peak (a child process of this one)
        from pyspark import SparkContext

        jvm = SparkContext._gateway.proc.pid  # type: ignore[union-attr]
        with open(f"/proc/{jvm}/status", encoding="ascii") as fh:
            hwm = [int(r.split()[1]) for r in fh if r.startswith("VmHWM:")]
        info["jvm_peak_mib"] = hwm[0] / 1024
        peak += hwm[0] / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, **info}))


def measure(kind: str, level: str, folder: Path, runs: Path) -> dict[str, Any]:
    work = runs / f"{kind}-{level}"
    work.mkdir()
    shutil.copy(folder / "office.db", work / "office.db")  # an empty ledger for each run
    done = subprocess.run([sys.executable, __file__, "--child", kind, level, str(folder),
                           str(work / "out")], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} at {level} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def tables(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=10_000_000)
    ap.add_argument("--spark", action="store_true", help="also Spark in local mode (Java 17+)")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="census-national-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        made = build(folder, args.households)
        print(f"setup: {made['households']:,} households in {made['eas']:,} enumeration areas, "
              f"{made['districts']:,} districts; {made['parquet_mib']} MiB of Parquet "
              f"({time.perf_counter() - t0:.1f} s, not timed)")
        runs = folder / "runs"
        runs.mkdir()
        kinds = ["plain", "duckdb", "sqlite", *(["spark"] if args.spark else [])]
        print(f"{'level':<9}{'engine':<8}{'seconds':>9}{'peak MiB':>10}{'ratio':>7}")
        for level in LEVELS:
            plain = None
            for kind in kinds:
                got = measure(kind, level, folder, runs)
                plain = plain or got["seconds"]
                ratio = "" if kind == "plain" else f"{got['seconds'] / plain:7.2f}"
                print(f"{level:<9}{kind:<8}{got['seconds']:9.2f}{got['peak_mib']:10.0f}{ratio}"
                      + (f"   (JVM {got['jvm_peak_mib']:.0f} MiB)" if "jvm_peak_mib" in got
                         else ""))
            first = tables(runs / f"duckdb-{level}" / "out")
            for kind in kinds[2:]:
                same = tables(runs / f"{kind}-{level}" / "out") == first
                print(f"  {kind} tables identical to duckdb's: {same}")
                if not same:
                    return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
