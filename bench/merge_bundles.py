"""Benchmark: merge 1,000 sealed bundles (1,000,000 households) into a supervisor's database.

Setup (untimed): a supervisor database (`Store.create`, role supervisor, `init_keys`)
with the demo area register for --households (`census.usecases.demo.plan`); its enumeration
areas are
split into --bundles contiguous groups, each given to its own enumerator (a fresh
`KeyPair.generate()`), registered as a trusted downstream peer with its areas granted
(`save_peer` + `grant_areas`). The demo dwellings (`census.usecases.demo.dwellings`) are
cut by area into one bundle per enumerator: payload rows from census.formats.payload
(`dwelling_row`, `visit_rows`, `household_row`, `override_rows`, `encode`), sealed with
`seal("bundle", header, payload, enumerator keys, supervisor key)` and written to files. No
per-record Entry saves: building 1M households through them would take hours.

Census (timed, in a child process): `import_bundle(store, path, now)` for every file in
one process, as `census bundle import FILES` does: read → verify signature → decrypt → decode and
check every value → check areas → merge (digests, version decisions, rule engine, rows, audit
chain) → log, one transaction per bundle. Light timers around those steps (a few wrapped calls
per bundle, and the connection's execute/executemany) give where the time goes; a separate
cProfile run on the first --profile-bundles bundles (into a fresh copy of the setup database)
gives it per function.

Raw baseline (timed, in a child process, same run): the same rows census stored (read back from
its database per sender after the census run, so values are identical) are written untimed to
one plain SQLite file per bundle (stdlib sqlite3; the store's dwelling, visit and household
tables without their foreign keys), then merged into a fresh encrypted database made by
`Store.create` (same schema, same areas; same pragmas: key, WAL, synchronous=FULL, secure_delete,
foreign keys, and the 32 MiB page cache census uses while merging) by `ATTACH 'file' AS b KEY ''`
+ `INSERT INTO main.t SELECT * FROM b.t` for dwelling, visit, household, one transaction per file.
The raw side does not write overrides, audit entries, transfer log or review rows; census does.

Memory: the child's peak RSS (VmHWM, reset through /proc/self/clear_refs once the database is
open) after 10%, 50% and 100% of the bundles; it must not grow with the number of bundles.

Goal: households/s(census) / households/s(raw) >= 0.2. Exit status is 0 whether or not it is met.

    .venv/bin/python bench/merge_bundles.py                                  # 1M households
    .venv/bin/python bench/merge_bundles.py --households 20000 --bundles 20  # quick
    .venv/bin/python bench/merge_bundles.py --keep /tmp/merge-bench          # keep the files
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import itertools
import json
import math
import os
import pstats
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlcipher3
from _proc import reset_peak_rss, status_kib
from _raw import PASSPHRASE, apply_pragmas

from census.domain.config import SurveyConfig, default_config
from census.domain.ids import new_id
from census.domain.model import Area, Role
from census.formats.payload import dwelling_row, encode, household_row, override_rows, visit_rows
from census.storage import audit
from census.storage.areas import import_areas
from census.storage.exchange.peers import grant_areas, save_peer
from census.storage.store import BULK_CACHE_KIB, Store, utc_now
from census.transfer import seal as sealing
from census.transfer.keys import KeyPair, PublicKey
from census.transfer.seal import seal
from census.usecases import bundles as bundle_steps
from census.usecases import demo, intake
from census.usecases.bundles import import_bundle
from census.usecases.keys import card, init_keys

GOAL = 0.2
SUPERVISOR = "S001"
NOW = datetime(2026, 11, 28, 12, 0)
STAMP = "2026-11-28T12:00:00Z"
TABLES = ("dwelling", "visit", "household")
MILESTONES = (0.1, 0.5, 1.0)


# -- cpu -------------------------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- setup -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Bundle:
    """One sealed file and what it holds."""

    path: str
    sender: str
    dwellings: int = 0
    visits: int = 0
    households: int = 0
    overrides: int = 0
    payload_bytes: int = 0
    file_bytes: int = 0


def split_areas(cfg: SurveyConfig, households: int, bundles: int
                ) -> tuple[demo.DemoPlan, list[list[str]], list[str]]:
    """The demo plan with its enumeration areas cut into `bundles` contiguous groups, each
    group's areas given to its own enumerator; the groups (area codes) and enumerator codes."""
    plan = demo.plan(cfg, households)
    low = cfg.levels[-1]
    eas = [a for a in plan.areas if a.level == low]
    if bundles > len(eas):
        raise SystemExit(f"--bundles {bundles} is more than the {len(eas)} enumeration areas of "
                         f"{households} demo households; use fewer bundles")
    width = max(4, len(str(bundles)))
    codes = [f"E{b + 1:0{width}d}" for b in range(bundles)]
    groups = [[a.code for a in eas[b * len(eas) // bundles:(b + 1) * len(eas) // bundles]]
              for b in range(bundles)]
    owner = {code: codes[b] for b, group in enumerate(groups) for code in group}
    areas: list[Area] = [dataclasses.replace(a, enumerator=owner[a.code]) if a.level == low
                         else a for a in plan.areas]
    return demo.DemoPlan(plan.households, areas, codes[0]), groups, codes


def make_supervisor(path: Path, cfg: SurveyConfig, areas: list[Area], groups: list[list[str]],
                    codes: list[str]) -> tuple[PublicKey, list[KeyPair]]:
    """The supervisor's database with keys, areas and one trusted enumerator per group."""
    store = Store.create(path, PASSPHRASE, cfg, Role.SUPERVISOR, SUPERVISOR)
    try:
        init_keys(store)
        import_areas(store, areas, SUPERVISOR)
        pairs = [KeyPair.generate() for _ in codes]
        with store.write() as chain:
            for code, pair, group in zip(codes, pairs, groups, strict=True):
                key = pair.public()
                save_peer(store, chain, code, Role.ENUMERATOR, "downstream", key.enc,
                                   key.sign, key.key_id, key.fingerprint())
                grant_areas(store, chain, code, group, set_enumerator=True)
        return card(store).key, pairs
    finally:
        store.close()


def make_raw_target(path: Path, cfg: SurveyConfig, areas: list[Area]) -> None:
    """The raw baseline's database: same schema (Store.create) and the same area register,
    without the triggers that keep each area's sums (census's own work, which the baseline
    does not do: with them it would be slower and the ratio would flatter census)."""
    from census.storage.area_sums import TRIGGERS

    store = Store.create(path, PASSPHRASE, cfg, Role.SUPERVISOR, SUPERVISOR)
    try:
        import_areas(store, areas, SUPERVISOR)
        with store.write():
            for name in TRIGGERS:
                store.conn.execute(f"DROP TRIGGER {name}")
    finally:
        store.close()


def write_bundles(folder: Path, cfg: SurveyConfig, plan: demo.DemoPlan, groups: list[list[str]],
                  codes: list[str], pairs: list[KeyPair], supervisor: PublicKey) -> list[Bundle]:
    """One sealed bundle per enumerator, streamed from the demo generator (bounded memory)."""
    bundle_of = {code: b for b, group in enumerate(groups) for code in group}
    out: list[Bundle] = []

    def flush(b: int, body: dict[str, list[Any]]) -> None:
        code = codes[b]
        payload = encode(body, cfg)
        counts = {"dwellings": len(body["dwellings"]), "households": len(body["households"])}
        header = {"id": new_id(), "sender": code, "sender_role": "enumerator",
                  "recipient_code": SUPERVISOR, "created": utc_now(), "seq": 1,
                  "counts": counts}
        data = seal("bundle", header, payload, pairs[b], supervisor)
        path = folder / f"bundle-{b + 1:05d}-{code}.census"
        path.write_bytes(data)
        out.append(Bundle(str(path), code, len(body["dwellings"]), len(body["visits"]),
                          len(body["households"]), len(body["overrides"]), len(payload),
                          len(data)))

    def empty() -> dict[str, list[Any]]:
        return {"dwellings": [], "visits": [], "households": [], "overrides": [],
                "decisions": [], "closed": []}

    current, body = -1, empty()
    for d in demo.dwellings(cfg, plan, NOW):
        b = bundle_of[d.area]
        if b != current:
            if current >= 0:
                flush(current, body)
            if b != current + 1:
                raise SystemExit(f"the demo generator left the area order at bundle {b}")
            current, body = b, empty()
        body["dwellings"].append(dwelling_row(d, None, STAMP))
        body["visits"] += visit_rows(d)
        body["overrides"] += override_rows(d.id, d.overrides)
        for h in d.households:
            body["households"].append(household_row(h, d.id, None, STAMP, d.enumerator, cfg))
            body["overrides"] += override_rows(h.id, h.overrides)
    flush(current, body)
    if len(out) != len(codes):
        raise SystemExit(f"made {len(out)} bundles, expected {len(codes)}")
    return out


_FOREIGN_KEY = re.compile(r"\s+REFERENCES\s+\w+\s*\(\w+\)(\s+ON\s+DELETE\s+CASCADE)?", re.I)


def write_plain_files(census_db: Path, folder: Path, bundles: list[Bundle]) -> list[Path]:
    """Per bundle, the rows census stored from its sender, in a plain SQLite file with the
    store's table layout (its CREATE TABLE text without foreign keys)."""
    src = apply_pragmas(sqlcipher3.connect(str(census_db), isolation_level=None), key=True)
    try:
        ddl = dict(src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND "
                               "name IN ('dwelling', 'visit', 'household')").fetchall())
        width = {t: len(src.execute(f"SELECT * FROM {t} LIMIT 0").description) for t in TABLES}
        queries = {
            "dwelling": "SELECT * FROM dwelling WHERE source = ? ORDER BY id",
            "visit": "SELECT v.* FROM visit v JOIN dwelling d ON d.id = v.dwelling_id "
                     "WHERE d.source = ? ORDER BY v.dwelling_id, v.attempt",
            "household": "SELECT * FROM household WHERE source = ? ORDER BY id",
        }
        paths = []
        for b, bundle in enumerate(bundles):
            path = folder / f"raw-{b + 1:05d}-{bundle.sender}.sqlite"
            dst = sqlite3.connect(path, isolation_level=None)
            try:
                dst.execute("PRAGMA journal_mode = OFF")
                dst.execute("PRAGMA synchronous = OFF")
                for t in TABLES:
                    dst.execute(_FOREIGN_KEY.sub("", ddl[t]))
                dst.execute("BEGIN")
                got = {}
                for t in TABLES:
                    rows = src.execute(queries[t], (bundle.sender,)).fetchall()
                    got[t] = len(rows)
                    dst.executemany(f"INSERT INTO {t} VALUES ({','.join('?' * width[t])})", rows)
                dst.execute("COMMIT")
            finally:
                dst.close()
            expected = {"dwelling": bundle.dwellings, "visit": bundle.visits,
                        "household": bundle.households}
            if got != expected:
                raise SystemExit(f"{bundle.sender}: census stored {got}, the bundle held "
                                 f"{expected}")
            paths.append(path)
        return paths
    finally:
        src.close()


def table_counts(db: Path) -> dict[str, int]:
    conn = apply_pragmas(sqlcipher3.connect(str(db), isolation_level=None), key=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in (*TABLES, "override", "audit", "review", "transfer")}
    finally:
        conn.close()


# -- the timed children --------------------------------------------------------------------------


class Phases:
    """Inclusive seconds per call path ("import_bundle/merge/write"), and SQL per statement."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, name: str, seconds: float) -> None:
        path = "/".join([*self.stack, name])
        self.seconds[path] += seconds
        self.calls[path] += 1

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.stack.append(name)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                self.stack.pop()
                self.add(name, elapsed)
        return timed


_SQL_TARGET = re.compile(r"\b(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|FROM)\s+(\w+)",
                         re.I)


def sql_label(sql: str) -> str:
    words = sql.split()
    if words and words[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"):
        return " ".join(words[:2]).split("=")[0].strip()
    m = _SQL_TARGET.search(sql)
    if m is None:
        return words[0].upper() if words else "?"
    verb = m.group(1).split()[0].upper()
    return f"{'SELECT' if verb == 'FROM' else verb} {m.group(2)}"


class _Rows:
    """A fetched result, shaped like the cursor it replaces."""

    def __init__(self, rows: list[Any]) -> None:
        self._it = iter(rows)

    def fetchone(self) -> Any:
        return next(self._it, None)

    def fetchall(self) -> list[Any]:
        return list(self._it)

    def __iter__(self) -> Iterator[Any]:
        return self._it


class TimedConnection:
    """Times each execute/executemany (with the fetch of its rows) under the current phase."""

    def __init__(self, conn: Any, phases: Phases) -> None:
        self._conn = conn
        self._phases = phases

    def execute(self, sql: str, params: Any = ()) -> Any:
        t0 = time.perf_counter()
        cur = self._conn.execute(sql, params)
        result = _Rows(cur.fetchall()) if cur.description is not None else cur
        self._phases.add("SQL " + sql_label(sql), time.perf_counter() - t0)
        return result

    def executemany(self, sql: str, rows: Any) -> Any:
        t0 = time.perf_counter()
        cur = self._conn.executemany(sql, rows)
        self._phases.add("SQL " + sql_label(sql), time.perf_counter() - t0)
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _TimedVerifier:
    def __init__(self, key: Any, phases: Phases) -> None:
        self._key = key
        self._phases = phases

    def verify(self, signature: bytes, data: Any) -> None:
        t0 = time.perf_counter()
        try:
            self._key.verify(signature, data)
        finally:
            self._phases.add("verify signature (Ed25519)", time.perf_counter() - t0)


class _TimedSuite:
    def __init__(self, suite: Any, phases: Phases) -> None:
        self._suite = suite
        self._phases = phases

    def decrypt(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._suite.decrypt(*args, **kwargs)
        finally:
            self._phases.add("decrypt (HPKE X25519, AES-256-GCM)", time.perf_counter() - t0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._suite, name)


def instrument(store: Store, phases: Phases) -> Callable[..., Any]:
    """Wrap the steps import_bundle takes (module globals it calls), a few calls per bundle;
    returns the wrapped import_bundle."""
    original_ed25519 = PublicKey._ed25519

    def ed25519(self: PublicKey) -> Any:
        return _TimedVerifier(original_ed25519(self), phases)

    PublicKey._ed25519 = ed25519  # type: ignore[method-assign]
    sealing._SUITE = _TimedSuite(sealing._SUITE, phases)  # type: ignore[assignment]
    sealing._inflate = phases.wrap("inflate (zlib)", sealing._inflate)
    bundle_steps.read_file = phases.wrap("read file", bundle_steps.read_file)
    bundle_steps.open_from_peer = phases.wrap("open: header, sender, verify, decrypt",
                                              bundle_steps.open_from_peer)
    bundle_steps.decode = phases.wrap("decode: JSON + value checks", bundle_steps.decode)
    bundle_steps.check_areas = phases.wrap("check_areas", bundle_steps.check_areas)
    bundle_steps.merge = phases.wrap("merge", bundle_steps.merge)
    intake.Intake._flags = phases.wrap(  # type: ignore[method-assign]
        "validate (rule engine)", intake.Intake._flags)
    intake.write_records = phases.wrap("write rows", intake.write_records)
    bundle_steps.log_transfer = phases.wrap("log_transfer", bundle_steps.log_transfer)
    audit.Chain.add = phases.wrap("audit hash chain (Chain.add)",  # type: ignore[method-assign]
                                  audit.Chain.add)
    audit.Chain.flush = phases.wrap("audit insert (Chain.flush)",  # type: ignore[method-assign]
                                    audit.Chain.flush)
    store.conn = TimedConnection(store.conn, phases)
    return phases.wrap("import_bundle", bundle_steps.import_bundle)


def child_census(db: Path, files: list[Path], profile_to: Path | None) -> dict[str, Any]:
    store = Store.open(db, PASSPHRASE)
    phases = Phases()
    try:
        run = import_bundle if profile_to else instrument(store, phases)
        marks = sorted({max(1, math.ceil(f * len(files))) for f in MILESTONES})
        tenth = max(1, len(files) // 10)
        snap_at = {tenth: "first", len(files) - tenth: "before_last"}
        snapshots: dict[str, dict[str, float]] = {}
        memory = []
        report: dict[str, int] = defaultdict(int)
        per_bundle: list[float] = []
        profiler = cProfile.Profile() if profile_to else None
        rss_open = status_kib("VmRSS")
        resettable = reset_peak_rss()
        c0 = _cpu()
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for i, path in enumerate(files, 1):
            s = time.perf_counter()
            got = run(store, path, NOW)
            per_bundle.append(time.perf_counter() - s)
            if got.already is not None:
                raise SystemExit(f"{path} was imported before")
            for k, v in got.report.as_dict().items():
                report[k] += v
            if i in marks:
                memory.append({"bundles": i, "hwm_kib": status_kib("VmHWM"),
                               "rss_kib": status_kib("VmRSS")})
            if i in snap_at:
                snapshots[snap_at[i]] = dict(phases.seconds)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile_to))
        seconds = time.perf_counter() - t0
        cpu = _cpu() - c0
    finally:
        store.close()
    return {"seconds": seconds, "cpu": cpu, "per_bundle": per_bundle, "memory": memory,
            "rss_open_kib": rss_open, "resettable": resettable, "report": dict(report),
            "phases": dict(phases.seconds), "calls": dict(phases.calls), "tenth": tenth,
            "snapshots": snapshots}


def child_raw(db: Path, files: list[Path]) -> dict[str, Any]:
    conn = apply_pragmas(sqlcipher3.connect(str(db), isolation_level=None), key=True)
    try:
        conn.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
        marks = sorted({max(1, math.ceil(f * len(files))) for f in MILESTONES})
        memory = []
        per_bundle: list[float] = []
        resettable = reset_peak_rss()
        c0 = _cpu()
        t0 = time.perf_counter()
        for i, path in enumerate(files, 1):
            s = time.perf_counter()
            name = str(path).replace("'", "''")
            conn.execute(f"ATTACH DATABASE '{name}' AS b KEY ''")
            conn.execute("BEGIN IMMEDIATE")
            for t in TABLES:
                conn.execute(f"INSERT INTO main.{t} SELECT * FROM b.{t}")
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE b")
            per_bundle.append(time.perf_counter() - s)
            if i in marks:
                memory.append({"bundles": i, "hwm_kib": status_kib("VmHWM"),
                               "rss_kib": status_kib("VmRSS")})
        seconds = time.perf_counter() - t0
        cpu = _cpu() - c0
    finally:
        conn.close()
    return {"seconds": seconds, "cpu": cpu, "per_bundle": per_bundle, "memory": memory,
            "resettable": resettable}


def run_child(kind: str, db: Path, list_file: Path, profile_to: Path | None = None
              ) -> dict[str, Any]:
    """Run one timed side in a fresh process (its own RSS, no setup garbage); its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--db", str(db),
           "--files", str(list_file)]
    if profile_to is not None:
        cmd += ["--profile-to", str(profile_to)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- report ------------------------------------------------------------------------------------


def print_phases(census: dict[str, Any], households: list[int], rows: list[int]) -> None:
    """The call-path tree, children by time, with each node's own remainder: seconds, share,
    µs per household, and µs per row (dwelling, visit and household rows) over all bundles and
    over the first and the last tenth of them (does a step slow down as the database grows?)."""
    phases: dict[str, float] = census["phases"]
    total: float = census["seconds"]
    n = census["tenth"]
    first = census["snapshots"].get("first", {})
    before_last = census["snapshots"].get("before_last", {})
    h_all = max(1, sum(households))
    r_all, r_first, r_last = sum(rows), sum(rows[:n]), sum(rows[-n:])
    children: dict[str, list[str]] = defaultdict(list)
    for path in phases:
        children[path.rpartition("/")[0]].append(path)

    def line(depth: int, name: str, s: float, s_first: float, s_last: float) -> None:
        label = ("  " * depth + name)[:58]
        print(f"  {label:<58} {s:8.2f} {100 * s / total:5.1f}% {1e6 * s / h_all:7.1f} "
              f"{1e6 * s / r_all:7.2f} {1e6 * s_first / r_first:7.2f} "
              f"{1e6 * s_last / r_last:7.2f}")

    def show(path: str, depth: int) -> None:
        s = phases[path]
        s_first = first.get(path, 0.0)
        s_last = s - before_last.get(path, 0.0)
        line(depth, path.rpartition("/")[2], s, s_first, s_last)
        kids = sorted(children.get(path, []), key=lambda p: -phases[p])
        if kids:
            line(depth + 1, "(own Python, not below)", s - sum(phases[k] for k in kids),
                 s_first - sum(first.get(k, 0.0) for k in kids),
                 s_last - sum(phases[k] - before_last.get(k, 0.0) for k in kids))
        for k in kids:
            show(k, depth + 1)

    print(f"  {'':<58} {'':>8} {'':>6} {'µs per':>7} {'µs per row':>23}")
    print(f"  {'step':<58} {'seconds':>8} {'share':>6} {'house.':>7} {'all':>7} "
          f"{'first':>7} {'last':>7}  ({n} bundles)")
    for root in sorted(children.get("", []), key=lambda p: -phases[p]):
        show(root, 0)


def sql_totals(phases: dict[str, float]) -> list[tuple[str, float]]:
    out: dict[str, float] = defaultdict(float)
    for path, s in phases.items():
        name = path.rpartition("/")[2]
        if name.startswith("SQL "):
            out[name[4:]] += s
    return sorted(out.items(), key=lambda kv: -kv[1])


def memory_line(label: str, result: dict[str, Any]) -> tuple[str, bool]:
    marks = result["memory"]
    first, last = marks[0]["hwm_kib"] / 1024, marks[-1]["hwm_kib"] / 1024
    parts = ", ".join(f"after {m['bundles']} bundles {m['hwm_kib'] / 1024:.1f} MB "
                      f"(RSS now {m['rss_kib'] / 1024:.1f})" for m in marks)
    growth = last - first
    flat = growth <= max(10.0, 0.10 * first)
    return (f"{label} peak RSS (VmHWM): {parts}; {growth:+.1f} MB from the first to the last "
            f"mark: {'FLAT (within 10 MB or 10%)' if flat else 'GROWS'}"), flat


def rate_parts(per_bundle: list[float], rows: list[int]) -> str:
    """Rows/s over each tenth of the bundles (does it slow down as the database grows?)."""
    k = len(per_bundle)
    cuts = [round(i * k / 10) for i in range(11)]
    tenths = [f"{sum(rows[a:b]) / sum(per_bundle[a:b]) / 1000:.1f}k"
              for a, b in itertools.pairwise(cuts) if b > a]
    return (f"rows/s by tenth of the bundles {' '.join(tenths)}; slowest bundle "
            f"{max(per_bundle) * 1000:.0f} ms, median "
            f"{sorted(per_bundle)[k // 2] * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000,
                        help="households in all the bundles together (default 1000000)")
    parser.add_argument("--bundles", type=int, default=1000,
                        help="bundles, one per enumerator (default 1000)")
    parser.add_argument("--keep", type=Path, default=None, metavar="FOLDER",
                        help="make the databases and files in FOLDER (new or empty) and keep "
                             "them (default: a temporary folder, removed at the end)")
    parser.add_argument("--profile-bundles", type=int, default=20, metavar="N",
                        help="cProfile the import of the first N bundles into a fresh copy of "
                             "the setup database, an extra untimed run (default 20; 0: none)")
    parser.add_argument("--top", type=int, default=30, help="functions shown by the profile")
    parser.add_argument("--child", choices=("census", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        files = [Path(p) for p in args.files.read_text().splitlines()]
        result = (child_census(args.db, files, args.profile_to) if args.child == "census"
                  else child_raw(args.db, files))
        print(json.dumps(result))
        return 0
    if args.households < 100 or args.bundles < 1 or args.profile_bundles < 0:
        parser.error("--households must be >= 100, --bundles >= 1, --profile-bundles >= 0")

    print(f"merge_bundles: {args.households:,} households in {args.bundles:,} bundles; python "
          f"{sys.version.split()[0]}, sqlcipher {sqlcipher3.sqlite_version}, sqlite3 "
          f"{sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        if any(args.keep.iterdir()):
            parser.error(f"--keep {args.keep} is not empty")
        folder_cm: Any = _kept(args.keep)
    else:
        folder_cm = tempfile.TemporaryDirectory(prefix="census-merge-")
    with folder_cm as tmp:
        return run(Path(tmp), args)


class _kept:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> str:
        return str(self.path)

    def __exit__(self, *exc: object) -> None:
        return None


def run(folder: Path, args: argparse.Namespace) -> int:
    cfg = default_config()
    bundle_dir = folder / "bundles"
    plain_dir = folder / "raw-files"
    bundle_dir.mkdir()
    plain_dir.mkdir()
    census_db, raw_db = folder / "supervisor.db", folder / "raw.db"
    fresh_copy = folder / "supervisor-setup-copy.db"

    t0 = time.perf_counter()
    plan, groups, codes = split_areas(cfg, args.households, args.bundles)
    supervisor, pairs = make_supervisor(census_db, cfg, plan.areas, groups, codes)
    for suffix in ("-wal", "-shm"):  # closed cleanly: the WAL was checkpointed and removed
        if Path(str(census_db) + suffix).exists():
            raise SystemExit(f"{census_db}{suffix} is left after close")
    if args.profile_bundles:
        shutil.copyfile(census_db, fresh_copy)
    make_raw_target(raw_db, cfg, plan.areas)
    t1 = time.perf_counter()
    bundles = write_bundles(bundle_dir, cfg, plan, groups, codes, pairs, supervisor)
    t2 = time.perf_counter()
    households = sum(b.households for b in bundles)
    dwellings = sum(b.dwellings for b in bundles)
    visits = sum(b.visits for b in bundles)
    file_bytes = sum(b.file_bytes for b in bundles)
    payload_bytes = sum(b.payload_bytes for b in bundles)
    sizes = sorted(b.households for b in bundles)
    print(f"setup: {len(plan.areas):,} areas, {len(codes):,} enumerators with keys and areas "
          f"({t1 - t0:.1f} s); {len(bundles):,} bundles: {dwellings:,} dwellings, {visits:,} "
          f"visits, {households:,} households, {sum(b.overrides for b in bundles):,} overrides "
          f"({t2 - t1:.1f} s)")
    print(f"bundle files: {file_bytes / 1e6:,.1f} MB in all ({payload_bytes / 1e6:,.1f} MB of "
          f"JSON before compression), {file_bytes / len(bundles) / 1e3:,.1f} kB a bundle on "
          f"average; households a bundle min {sizes[0]:,}, median {sizes[len(sizes) // 2]:,}, "
          f"max {sizes[-1]:,}")
    empty = sum(1 for n in sizes if n == 0)
    if empty:
        print(f"({empty} of the bundles, at the end, hold only listed dwellings not yet "
              f"visited: the demo generator reaches its household count before the end of its "
              f"area list)")

    census_list = folder / "census-files.txt"
    census_list.write_text("\n".join(b.path for b in bundles))
    print("\ncensus: importing (child process) ...", flush=True)
    census = run_child("census", census_db, census_list)
    t3 = time.perf_counter()
    plain = write_plain_files(census_db, plain_dir, bundles)
    plain_bytes = sum(p.stat().st_size for p in plain)
    print(f"raw: {len(plain):,} plain SQLite files written from census's rows, "
          f"{plain_bytes / 1e6:,.1f} MB ({time.perf_counter() - t3:.1f} s, untimed); "
          f"merging (child process) ...", flush=True)
    raw_list = folder / "raw-files.txt"
    raw_list.write_text("\n".join(str(p) for p in plain))
    raw = run_child("raw", raw_db, raw_list)

    expected = {"dwelling": dwellings, "visit": visits, "household": households}
    got_census, got_raw = table_counts(census_db), table_counts(raw_db)
    for t, n in expected.items():
        if got_census[t] != n or got_raw[t] != n:
            raise SystemExit(f"{t}: census has {got_census[t]}, raw {got_raw[t]}, the bundles "
                             f"held {n}")

    profile = None
    if args.profile_bundles:
        n = min(args.profile_bundles, len(bundles))
        prof_list = folder / "profile-files.txt"
        prof_list.write_text("\n".join(b.path for b in bundles[:n]))
        prof_out = folder / "import.prof"
        prun = run_child("census", fresh_copy, prof_list, profile_to=prof_out)
        profile = (pstats.Stats(str(prof_out)), prun, n)

    # -- figures ---------------------------------------------------------------------------------
    per_h = [b.households for b in bundles]
    c_rate, r_rate = households / census["seconds"], households / raw["seconds"]
    ratio = c_rate / r_rate
    rows = dwellings + visits + households
    print(f"\n== {households:,} households ({rows:,} dwelling, visit and household rows) in "
          f"{len(bundles):,} bundles")
    print(f"census import_bundle x{len(bundles):<6} {census['seconds']:9.2f} s "
          f"{c_rate:11,.0f} households/s {rows / census['seconds']:11,.0f} rows/s   CPU "
          f"{census['cpu']:.2f} s")
    print(f"raw ATTACH + INSERT..SELECT   {raw['seconds']:9.2f} s {r_rate:11,.0f} households/s "
          f"{rows / raw['seconds']:11,.0f} rows/s   CPU {raw['cpu']:.2f} s")
    print(f"ratio census/raw = {ratio:.3f}  (goal >= {GOAL:g}; by CPU time "
          f"{raw['cpu'] / census['cpu']:.3f})")
    per_rows = [b.dwellings + b.visits + b.households for b in bundles]
    print(f"census: {rate_parts(census['per_bundle'], per_rows)}")
    print(f"raw:    {rate_parts(raw['per_bundle'], per_rows)}")
    r = census["report"]
    print(f"census report: {', '.join(f'{k} {v:,}' for k, v in r.items())}")
    print(f"rows stored: census {', '.join(f'{k} {v:,}' for k, v in got_census.items())}")
    print(f"             raw    {', '.join(f'{k} {got_raw[k]:,}' for k in TABLES)} (asserted "
          f"equal to the bundles' dwelling, visit and household rows on both sides)")
    print(f"database files: census {census_db.stat().st_size / 1e6:,.1f} MB, raw "
          f"{raw_db.stat().st_size / 1e6:,.1f} MB")

    print()
    c_line, c_flat = memory_line("census", census)
    r_line, _ = memory_line("raw", raw)
    print(c_line)
    print(r_line)
    if not census["resettable"]:
        print("NOTE: /proc/self/clear_refs was not writable: VmHWM covers the child's whole life")
    print(f"(census child RSS once its database was open, before the first bundle: "
          f"{census['rss_open_kib'] / 1024:.1f} MB)")

    print(f"\nwhere census time goes (timed run; inclusive seconds and share of the "
          f"{census['seconds']:.2f} s; SQL lines are execute/executemany with their fetch):")
    print_phases(census, per_h, per_rows)
    print("\nSQL by statement, all phases:")
    for label, s in sql_totals(census["phases"]):
        if s >= 0.0005 * census["seconds"]:
            print(f"  {label:<40} {s:9.2f} s {100 * s / census['seconds']:6.1f}%")

    if profile is not None:
        stats, prun, n = profile
        hh = sum(per_h[:n])
        print(f"\ncProfile of the first {n} bundles ({hh:,} households) into a fresh copy of the "
              f"setup database: {prun['seconds']:.2f} s under the profiler "
              f"({hh / prun['seconds']:,.0f} households/s); top {args.top} by own time:")
        stats.sort_stats("tottime").print_stats(args.top)
        print(f"top {args.top} by cumulative time:")
        stats.sort_stats("cumulative").print_stats(args.top)

    print(f"\nratio census/raw = {ratio:.3f}: goal (>= {GOAL:g}) "
          f"{'MET' if ratio >= GOAL else 'MISSED'}; peak memory "
          f"{'does not grow' if c_flat else 'GROWS'} with the number of bundles "
          f"(load average now {os.getloadavg()[0]:.2f})")
    if args.keep is not None:
        print(f"files kept in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
