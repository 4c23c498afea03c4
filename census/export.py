"""Export protected tables (issue 5): plan, write, record.

`plan_export` checks the request (level, areas, method, ptable, format), finds the closed areas
and their publication units, tabulates the exact sums with three GROUP BY queries (one row per
area, never per household), and checks the release ledger. `write_export` writes the tables and
`metadata.json` into a temporary folder beside the destination, renames it into place, and
records the release, all or nothing. The TUI and the CLI are thin layers over these two.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from census.config import SurveyConfig
from census.domain.model import AreaStatus, Role
from census.i18n import _
from census.privacy.ptable import PTable, generate, publication_problem
from census.ptable_file import PTableFileError, read_ptable
from census.storage.schema import OVERRIDE_REASONS
from census.storage.store import Store, utc_now
from census.tabulate import release as rel
from census.tabulate.households import LARGEST

FORMATS = ("csv", "json", "parquet")
Progress = Callable[[float, str], None]
NOTICE = ("Cells of persons and households are {how}; every total (margin) is computed from the "
          "records and protected separately, so a total need not equal the sum of its cells. "
          "Counts of dwellings are exact.")
HOW = {"rr3": "randomly rounded to a multiple of 3 (the same cell is rounded the same way in "
              "every table)",
       "ckm": "perturbed by a small amount taken from a perturbation table (cell key method; "
              "the same cell gets the same amount in every table); small counts are never "
              "published as they are",
       "none": "NOT PROTECTED: exact counts for operational use, NOT FOR PUBLICATION"}


class ExportError(Exception):
    """A request that cannot be exported; the message says why and how to fix it."""


@dataclass(frozen=True)
class Request:
    level: str
    areas: tuple[str, ...] | None = None
    tables: tuple[str, ...] = rel.TABLES
    method: str | None = None
    """None: the survey config's method."""
    fmt: str = "csv"
    ptable: Path | None = None
    override: str | None = None
    not_for_publication: bool = False
    """Required with method "none"."""


@dataclass(frozen=True)
class Conflict:
    unit: str
    table: str
    release: str
    released_at: str
    changed: str = "data"
    """"data": the exact data changed; "method": published before under another method or
    perturbation table (two protected versions of the same cells can be combined)."""


@dataclass
class Plan:
    request: Request
    config: SurveyConfig
    method: str
    ptable: PTable | None
    ptable_digest: str | None
    units: list[rel.Unit]
    sums: dict[str, rel.Sums]
    left_open: list[str]
    withheld: list[str]
    digests: dict[tuple[str, str], str]
    """Digest of the exact data of each (unit, table)."""
    area_digests: dict[tuple[str, str], str]
    """Digest of the exact data of each (enumeration area, protected table) in the units."""
    cells: dict[str, str]
    """Per unit, a digest of the enumeration areas it covers: the same cells, whatever code."""
    content: str
    previous: tuple[str, str] | None
    """(release id, released at) of an identical earlier export, else None."""
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def protect(self) -> rel.Protect:
        return rel.protector(self.method, self.ptable)

    def unit_rows(self, table: str) -> Iterator[list[rel.Row]]:
        """The rows of each unit in turn (the tables are written a unit at a time)."""
        protect = self.protect
        for unit in self.units:
            yield rel.rows(table, self.config, self.request.level, unit.code,
                           self.sums[unit.code], protect)

    def rows(self, table: str) -> Iterator[rel.Row]:
        for chunk in self.unit_rows(table):
            yield from chunk

    def preview(self, table: str, limit: int = 50) -> list[rel.Row]:
        out: list[rel.Row] = []
        for chunk in self.unit_rows(table):
            out += chunk
            if len(out) >= limit:
                break
        return out[:limit]


@dataclass(frozen=True)
class Report:
    release: str
    released_at: str
    again: bool
    """True when an identical release was exported before (same id, same files)."""
    out: Path
    files: tuple[tuple[str, int], ...]
    units: int
    combined: int
    withheld: tuple[str, ...]
    left_open: tuple[str, ...]


# ------------------------------------------------------------------------------- planning


def _check_request(store: Store, request: Request) -> None:
    cfg = store.config
    if store.role is Role.ENUMERATOR:
        raise ExportError(_("Tables are published by supervisors and the office, from closed "
                            "areas; an enumerator's device sends its forms in a bundle instead."))
    if request.level not in cfg.levels:
        raise ExportError(_("Unknown level {level!r}; the levels of this survey are: {levels}.")
                          .format(level=request.level, levels=", ".join(cfg.levels)))
    twice = sorted({t for t in request.tables if request.tables.count(t) > 1})
    if twice:
        raise ExportError(_("Table(s) {tables} asked for more than once; name each table once.")
                          .format(tables=", ".join(twice)))
    unknown = [t for t in request.tables if t not in rel.TABLES]
    if unknown or not request.tables:
        raise ExportError(_("Unknown table(s) {tables}; choose from: {known}.").format(
            tables=", ".join(unknown) or "-", known=", ".join(rel.TABLES)))
    if request.fmt not in FORMATS:
        raise ExportError(_("Unknown format {fmt!r}; choose csv, json or parquet.")
                          .format(fmt=request.fmt))
    method = request.method or cfg.disclosure.method
    if method not in rel.METHODS:
        raise ExportError(_("Unknown method {method!r}; choose rr3, ckm or none.")
                          .format(method=method))
    if method == "none" and not request.not_for_publication:
        raise ExportError(_("--method none writes exact counts of persons and households; it "
                            "is for operational use only. Add --not-for-publication to confirm "
                            "(the export is recorded in the release ledger as unprotected)."))
    if request.ptable is not None and method != "ckm":
        raise ExportError(_("--ptable is used only with --method ckm."))
    if request.override is not None and request.override not in OVERRIDE_REASONS:
        raise ExportError(_("Unknown override reason {reason!r}; choose one of: {reasons}.")
                          .format(reason=request.override, reasons=", ".join(OVERRIDE_REASONS)))
    if request.fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError(_("Parquet files need the pyarrow package: pip install "
                                "'census[parquet]' (or export --format csv or json).")) from None


def _ptable(store: Store, request: Request, method: str) -> tuple[PTable | None, str | None]:
    if method != "ckm":
        return None, None
    if request.ptable is not None:
        try:
            table = read_ptable(request.ptable)
        except PTableFileError as exc:
            raise ExportError(str(exc)) from None
        problem = publication_problem(table, store.config.disclosure.ckm_threshold)
        if problem:
            raise ExportError(_("The perturbation table {path} would not protect the tables: "
                                "{problem}.").format(path=request.ptable, problem=problem))
    else:
        d = store.config.disclosure
        try:
            table = generate(d.ckm_max_change, d.ckm_variance, d.ckm_threshold)
        except ValueError as exc:  # pragma: no cover - the config parser checks these
            raise ExportError(str(exc)) from None
    return table, table.digest()


def _geography(store: Store, request: Request
               ) -> tuple[list[rel.Place], set[str], list[str], dict[str, list[str]]]:
    """(closed places in the trees concerned, the places selected, open places selected,
    the enumeration areas of every area)."""
    cfg = store.config
    areas = store.areas()
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


LISTED_LIMIT = 20_000
"""More areas than this are not bound one by one into a query (SQLite limits the number of
parameters): every area is read and the rest left out here."""


def _listed(codes: Iterable[str]) -> list[str] | None:
    chosen = sorted(codes)
    return chosen if len(chosen) <= LISTED_LIMIT else None


def plan_export(store: Store, request: Request, progress: Progress | None = None) -> Plan:
    """Everything an export publishes, decided and tabulated; nothing written yet."""
    _check_request(store, request)
    cfg = store.config
    method = request.method or cfg.disclosure.method
    ptable, ptable_digest = _ptable(store, request, method)
    places, selected, left_open, leaves = _geography(store, request)
    if request.areas is not None and left_open:
        raise ExportError(_("Only closed areas are published; still open: {areas}. Close them "
                            "with `census area close` once their work is done, or leave them "
                            "out.").format(areas=", ".join(left_open[:20])))
    if not selected:
        raise ExportError(_("No closed area to publish at level {level}: areas are published "
                            "once every enumeration area in them is closed (`census area "
                            "close`).").format(level=request.level))
    step = progress or (lambda _f, _w: None)
    step(0.0, _("counting persons"))
    # Every query groups by enumeration area (the households' own area, streamed in index
    # order); sums compose, so places and units are summed here, a row per area.
    leaf_place = {leaf: p.code for p in places for leaf in leaves[p.code]}
    leaf_sums = {leaf: rel.Sums(households, counts, keys) for leaf, households, counts, keys
                 in store.person_totals(None if request.areas is None else _listed(leaf_place))
                 if leaf in leaf_place}
    place_sums: dict[str, rel.Sums] = {}
    for leaf, s in leaf_sums.items():
        place_sums.setdefault(leaf_place[leaf], rel.Sums()).add_persons(s.households, s.counts,
                                                                         s.keys)
    sizes = {p: (sum(s.counts), s.households) for p, s in place_sums.items()}
    d = cfg.disclosure
    all_units = rel.plan_units(places, sizes, d.min_persons, d.min_households)
    units = [u for u in all_units.units if selected & set(u.members)]
    withheld = [w for w in all_units.withheld if w in selected]
    if not units:
        raise ExportError(_("Every area asked for is below the minimum size ({persons} persons, "
                            "{households} households), even combined with its neighbours up to "
                            "the top of the hierarchy; nothing can be published.").format(
            persons=d.min_persons, households=d.min_households))
    unit_of = {m: u.code for u in units for m in u.members}
    leaf_unit = {leaf: unit_of[p] for leaf, p in leaf_place.items() if p in unit_of}
    sums = {u.code: rel.Sums() for u in units}
    for place, s in place_sums.items():
        if place in unit_of:
            sums[unit_of[place]].add_persons(s.households, s.counts, s.keys)
    if "households" in request.tables:
        step(0.3, _("counting households"))
        for leaf, size, n, key in store.household_sizes(_listed(leaf_unit), largest=LARGEST):
            if leaf not in leaf_unit:
                continue
            sums[leaf_unit[leaf]].add_size(size, n, key)
            leaf_sums.setdefault(leaf, rel.Sums()).add_size(size, n, key)
    if "dwellings" in request.tables:
        step(0.5, _("counting dwellings"))
        for leaf, outcome, n in store.dwelling_outcomes(_listed(leaf_unit)):
            if leaf in leaf_unit:
                sums[leaf_unit[leaf]].add_outcome(outcome, n)
    digests = {(u.code, t): rel.exact_digest(t, cfg, u, sums[u.code])
               for u in units for t in request.tables}
    # Per enumeration area too: an area published before (alone, in a group, or inside a
    # district) whose data changed must not go out again inside anything, unless overridden.
    area_digests = {(leaf, t): digests[(leaf, t)] if (leaf, t) in digests else
                    rel.exact_digest(t, cfg, rel.Unit(leaf, (leaf,)),
                                     leaf_sums.get(leaf, rel.Sums()))
                    for leaf in leaf_unit for t in request.tables if t in rel.PROTECTED}
    covered: dict[str, list[str]] = {}
    for leaf, unit in sorted(leaf_unit.items()):
        covered.setdefault(unit, []).append(leaf)
    cells = {u: hashlib.sha256("\n".join(leaves).encode()).hexdigest()[:40]
             for u, leaves in covered.items()}
    plan = Plan(request, cfg, method, ptable, ptable_digest, units, sums, left_open, withheld,
                digests, area_digests, cells, "", None)
    plan.content = rel.release_digest({
        "level": request.level, "method": method, "ptable": ptable_digest,
        "tables": list(request.tables), "survey": cfg.digest(),
        "units": [[u, t, digests[(u, t)]] for u, t in sorted(digests)],
        # Everything the files say besides the values (columns, categories, notices, combined
        # and withheld areas): a program that lays them out otherwise makes a new release.
        "layout": _layout(plan)})
    row = store.conn.execute("SELECT id, created_at FROM release WHERE content = ? ORDER BY seq "
                             "LIMIT 1", (plan.content,)).fetchone()
    plan.previous = (row[0], row[1]) if row else None
    if method != "none":
        plan.conflicts = _conflicts(store, plan)
    method_changed = any(c.changed == "method" for c in plan.conflicts)
    if plan.conflicts and (request.override is None
                           or (method_changed and request.override != "method_change")):
        first = next((c for c in plan.conflicts if c.changed == "method"), plan.conflicts[0])
        if first.changed == "method":
            raise ExportError(_(
                "{unit} ({table}) was published in release {release} of {at} with another "
                "protection method or perturbation table. Two differently protected versions of "
                "the same cells can be combined to estimate the exact counts, so this is refused. "
                "Export with the method and table used then, or, if the change of method is "
                "decided, give the override reason method_change (--override-release "
                "method_change; recorded in the release ledger).").format(
                unit=first.unit, table=first.table, release=first.release,
                at=_minute(first.released_at)))
        raise ExportError(_(
            "{n} published cell group(s) changed since they were released, first {unit} "
            "({table}) in release {release} of {at}. Publishing both versions would let a reader "
            "subtract one from the other and find the households that changed, so a second, "
            "different release of an area is refused. If it must be published (a correction, "
            "late forms), give an override reason (--override-release), one of: {reasons}; "
            "the override is recorded in the release ledger.").format(
            n=len(plan.conflicts), unit=first.unit, table=first.table, release=first.release,
            at=_minute(first.released_at), reasons=", ".join(OVERRIDE_REASONS)))
    step(0.6, _("tables ready"))
    return plan


def _layout(plan: Plan) -> dict[str, Any]:
    """metadata.json without what depends on the file format (the same release may be
    written as CSV, JSON and Parquet)."""
    meta = metadata(plan, "", "", ())
    del meta["format"]
    for table in meta["tables"]:
        del table["file"]
    return meta


def _minute(stamp: str) -> str:
    """A stored UTC timestamp as "YYYY-MM-DD HH:MM" for messages."""
    return stamp[:16].replace("T", " ")


def _conflicts(store: Store, plan: Plan) -> list[Conflict]:
    """Published units, and enumeration areas inside them, whose exact data differ from what
    was last published there; and sets of cells (the enumeration areas a unit covers, whatever
    its code) last published under another method or perturbation table. The ledger holds one
    row per unit, area and set ever published, read in one pass each."""
    digests = {"unit": plan.digests, "area": plan.area_digests}
    found: dict[tuple[str, str, str], Conflict] = {}
    for kind, code, table, before, release, at in store.conn.execute(
            "SELECT s.kind, s.code, s.tbl, s.digest, r.id, r.created_at FROM release_state s "
            "JOIN release r ON r.seq = s.seq"):
        now = digests[kind].get((code, table))
        if now is not None and before != now:
            # At the lowest level a unit and its area are one: said once.
            found.setdefault((code, table, "data"), Conflict(code, table, release, at))
    units_of: dict[str, list[str]] = {}
    for unit, key in plan.cells.items():
        units_of.setdefault(key, []).append(unit)
    tables = [t for t in plan.request.tables if t in rel.PROTECTED]
    for key, table, release, at, method, ptable in store.conn.execute(
            "SELECT c.cells, c.tbl, r.id, r.created_at, r.method, r.ptable FROM release_cells c "
            "JOIN release r ON r.seq = c.seq"):
        if key in units_of and table in tables and (method, ptable) != (plan.method,
                                                                        plan.ptable_digest):
            # The same cells under another method: two noisy readings of each count.
            for unit in units_of[key]:
                found.setdefault((unit, table, "method"),
                                 Conflict(unit, table, release, at, "method"))
    return sorted(found.values(), key=lambda c: (c.unit, c.table, c.changed))


# ------------------------------------------------------------------------------- writing


def _check_out(out: Path) -> None:
    if out.is_symlink() or out.resolve() == Path.cwd().resolve():
        raise ExportError(_("Give the export a folder of its own (a new folder name, not the "
                            "current folder or a link); got {out}.").format(out=out))
    if out.exists():
        if not out.is_dir():
            raise ExportError(_("{out} exists and is a file; give a new folder for the export.")
                              .format(out=out))
        if any(out.iterdir()):
            raise ExportError(_("The folder {out} already holds files; give a new or empty "
                                "folder (an export never mixes with other files).")
                              .format(out=out))
    elif not out.parent.is_dir():
        raise ExportError(_("The folder {parent} does not exist; create it first.")
                          .format(parent=out.parent))


def _csv(table: str, chunks: Iterable[list[rel.Row]], f: IO[str]) -> int:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(rel.COLUMNS[table])
    n = 0
    for chunk in chunks:
        w.writerows(chunk)  # None (no response rate) is written as an empty field
        n += len(chunk)
    return n


def _json(table: str, chunks: Iterable[list[rel.Row]], f: IO[str]) -> int:
    cols = rel.COLUMNS[table]
    n = 0
    f.write("[")
    for chunk in chunks:
        for row in chunk:
            f.write(",\n " if n else "\n ")
            f.write(json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False,
                               separators=(", ", ": ")))
            n += 1
    f.write("\n]\n" if n else "]\n")
    return n


def _parquet(table: str, chunks: Iterable[list[rel.Row]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = rel.COLUMNS[table]
    data: list[list[Any]] = [[] for _ in cols]
    for chunk in chunks:
        for row in chunk:
            for i, v in enumerate(row):
                data[i].append(v)
    types = {"area": pa.string(), "level": pa.string(), "sex": pa.string(),
             "age_band": pa.string(), "size": pa.string(), "response_rate": pa.float64()}
    schema = pa.schema([(c, types.get(c, pa.int64())) for c in cols])
    pq.write_table(pa.Table.from_arrays([pa.array(d, type=schema.field(c).type)
                                         for c, d in zip(cols, data, strict=True)],
                                        schema=schema), path, compression="zstd")
    return len(data[0])


def metadata(plan: Plan, release: str, released_at: str, files: Sequence[tuple[str, int]]
             ) -> dict[str, Any]:
    """What a reader of the files must know. Never the protection parameters, never digests
    of exact counts (they could be checked against guesses)."""
    cfg = plan.config
    rows = dict(files)
    sizes = [*(str(s) for s in range(1, LARGEST)), f"{LARGEST}+"]
    describe = {
        "persons": ("Usual residents present, by sex and age band, with margins (total).",
                    ["area", "level", "sex", "age_band"], "persons"),
        "households": ("Completed households by number of usual residents (1 to "
                       f"{LARGEST - 1}, {LARGEST}+), with the total.",
                       ["area", "level", "size"], "households"),
        "dwellings": ("Listed dwellings, those visited at least once, the outcome of their "
                      "last visit, and the response rate (completed over listed less vacant and "
                      "not found, in percent). Exact: operational counts of dwellings.",
                      ["area", "level"], "listed"),
    }
    tables = []
    for t in plan.request.tables:
        text, dims, value = describe[t]
        tables.append({
            "name": t, "file": f"{t}.{plan.request.fmt}", "rows": rows.get(t, 0),
            "description": text, "dimensions": dims, "value": value,
            "protected": t in rel.PROTECTED and plan.method != "none",
            "columns": list(rel.COLUMNS[t])})
    return {
        "release": release,
        "released_at": released_at,
        "survey": cfg.name,
        "level": plan.request.level,
        "format": plan.request.fmt,
        "method": {"rr3": "random rounding to base 3 (cell keys)",
                   "ckm": "cell key method (perturbation table)",
                   "none": "none (operational, not for publication)"}[plan.method],
        "notice": NOTICE.format(how=HOW[plan.method]),
        "tables": tables,
        "categories": {
            "sex": [{"code": s.code, "label": s.label} for s in cfg.sexes]
            + [{"code": rel.TOTAL, "label": "All"}],
            "age_band": [b.code for b in cfg.age_bands] + [rel.TOTAL],
            "size": [*sizes, rel.TOTAL],
            "outcome": list(rel.OUTCOMES),
        },
        "areas": {
            "units": len(plan.units),
            "combined": [{"area": u.code, "members": list(u.members)}
                         for u in plan.units if u.combined],
            "combined_rule": ("An area with fewer usual residents or households than the "
                              "survey's minimum is never published alone: it is combined with "
                              "the other small areas of its parent, as PARENT:other."),
            "withheld": plan.withheld,
        },
    }


def _write_all(plan: Plan, folder: Path, release: str, released_at: str,
               step: Progress) -> list[tuple[str, int]]:
    files: list[tuple[str, int]] = []
    fmt = plan.request.fmt
    for i, table in enumerate(plan.request.tables):
        step(0.6 + 0.35 * i / len(plan.request.tables), _("writing {table}").format(table=table))
        path = folder / f"{table}.{fmt}"
        if fmt == "parquet":
            n = _parquet(table, plan.unit_rows(table), path)
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                n = (_csv if fmt == "csv" else _json)(table, plan.unit_rows(table), f)
                f.flush()
                os.fsync(f.fileno())
        files.append((table, n))
    meta = metadata(plan, release, released_at, files)
    with open(folder / "metadata.json", "w", encoding="utf-8", newline="") as f:
        f.write(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return files


def write_export(store: Store, plan: Plan, out: Path, progress: Progress | None = None
                 ) -> Report:
    """Write the files into a temporary folder beside `out`, rename it to `out` and record the
    release in one transaction: afterwards either everything is there and recorded, or
    nothing is (a full disk removes the partial files and says so)."""
    step = progress or (lambda _f, _w: None)
    out = Path(out)
    _check_out(out)
    if plan.previous is not None:
        release, released_at = plan.previous
    else:
        release, released_at = f"R-{secrets.token_hex(4).upper()}", utc_now()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise ExportError(_("Cannot write in {parent}: {error}.").format(
            parent=out.parent, error=exc.strerror or exc)) from None
    emptied = moved = False
    try:
        try:
            files = _write_all(plan, tmp, release, released_at, step)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ExportError(_("The disk filled up while writing the tables; nothing was "
                                    "exported (the partial files were removed). Free some space "
                                    "and export again.")) from None
            raise ExportError(_("Writing the tables failed: {error}; nothing was exported.")
                              .format(error=exc.strerror or exc)) from None
        step(0.97, _("recording the release"))
        with store.write():
            cur = store.conn.execute(
                "INSERT INTO release (id, created_at, user, level, method, ptable, tables, "
                "format, units, content, override) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (release, utc_now(), store.user, plan.request.level, plan.method,
                 plan.ptable_digest, ",".join(plan.request.tables), plan.request.fmt,
                 len(plan.units), plan.content, plan.request.override))
            seq = cur.lastrowid
            if plan.method != "none":
                # What is now published is the reference for the next protected release.
                # (Unprotected exports are recorded above, but are no such reference.)
                store.conn.executemany(
                    "INSERT INTO release_state (kind, code, tbl, digest, seq) VALUES "
                    "(?, ?, ?, ?, ?) ON CONFLICT (kind, code, tbl) DO UPDATE SET "
                    "digest = excluded.digest, seq = excluded.seq",
                    [(kind, name, table, digest, seq)
                     for kind, digests in (("unit", plan.digests), ("area", plan.area_digests))
                     for (name, table), digest in sorted(digests.items())
                     if table in rel.PROTECTED])
                store.conn.executemany(
                    "INSERT INTO release_cells (cells, tbl, seq) VALUES (?, ?, ?) ON CONFLICT "
                    "(cells, tbl) DO UPDATE SET seq = excluded.seq",
                    sorted({(key, table, seq) for key in plan.cells.values()
                            for table in plan.request.tables if table in rel.PROTECTED}))
            if out.exists():
                out.rmdir()
                emptied = True
            os.rename(tmp, out)
            moved = True
    except BaseException:
        # Not recorded, so not published: whatever was written goes, the folder is as before.
        shutil.rmtree(out if moved else tmp, ignore_errors=True)
        if emptied:
            out.mkdir(exist_ok=True)
        raise
    step(1.0, _("done"))
    return Report(release, released_at, plan.previous is not None, out, tuple(files),
                  len(plan.units), sum(1 for u in plan.units if u.combined),
                  tuple(plan.withheld), tuple(plan.left_open))


def export(store: Store, request: Request, out: Path, progress: Progress | None = None
           ) -> Report:
    """Plan and write in one call (the CLI). The folder is checked before the tables are
    counted, so a folder in use is said at once (write_export checks it again, cheaply)."""
    _check_out(Path(out))
    return write_export(store, plan_export(store, request, progress), out, progress)


def releases(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The release ledger, newest first."""
    cols = ("seq", "id", "created_at", "user", "level", "method", "tables", "format", "units",
            "override")
    return [dict(zip(cols, r, strict=True)) for r in store.conn.execute(
        f"SELECT {', '.join(cols)} FROM release ORDER BY seq DESC LIMIT ?", (limit,))]
