"""Planning an export of protected tables: check the request (level, areas, method, ptable,
format), find the closed areas and their publication units, tabulate the exact sums with three
GROUP BY queries (one row per area, never per household), and check the release ledger.
Nothing is written; `census.usecases.publish.write` writes what a plan says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from census.domain.config import SurveyConfig
from census.domain.model import RELEASE_OVERRIDES, Role
from census.formats.ptable_file import PTableFileError, read_ptable
from census.i18n import _
from census.privacy import dp
from census.privacy.ptable.generate import generate
from census.privacy.ptable.table import PTable, measure, publication_problem
from census.storage.dp import Noise
from census.storage.engines import ENGINES, SumSource
from census.storage.releases import (
    ledger_mark,
    published,
    published_cells,
    same_content,
)
from census.storage.store import Store
from census.tabulate import release as rel
from census.tabulate.households import LARGEST
from census.usecases.publish.errors import ExportError as ExportError  # where callers find it
from census.usecases.publish.geography import geography, open_source
from census.usecases.publish.noise import DP_NOTICE, NoiseError, add_noise, privacy
from census.usecases.publish.subtraction import SubtractionError, refuse_leftovers

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
    rho: float | None = None
    """Method "dp": the privacy loss (zCDP rho) this release may spend on a person; None: a
    quarter of what is left of the survey's budget."""
    collected: Path | None = None
    """A collection of area aggregates to publish from (`census export aggregates`), instead of
    this database's records; which enumeration areas are closed is then what its manifests
    say."""
    engine: str | None = None
    """What tabulates the sums: "sqlite" (default for records, the only engine for them),
    "duckdb" (default for a collection) or "spark"."""


@dataclass(frozen=True)
class Conflict:
    unit: str
    table: str
    release: str
    released_at: str
    changed: str = "data"
    """"data": the exact data changed; "method": published before under another method or
    perturbation table (two protected versions of the same cells can be combined)."""
    area: bool = False
    """An enumeration area whose data changed (the cause; listed before the units holding
    it)."""


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
    unit_areas: dict[str, list[str]]
    """Per unit, the enumeration areas it covers."""
    unit_digests: dict[tuple[str, str], str]
    """Digest of the exact data of each (set of enumeration areas, protected table): a unit's
    identity in the ledger is the areas it covers, not its name."""
    content: str
    previous: tuple[str, str] | None
    """(release id, released at) of an identical earlier export, else None."""
    source: SumSource
    """Where the exact sums come from (read again when the ledger has gained units)."""
    conflicts: list[Conflict] = field(default_factory=list)
    ptable_min_variance: float | None = None
    """The measured floor of the perturbation table used (never its parameters)."""
    noisy: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Method "dp": per unit and protected table, the noisy inner cells (sums of its areas')."""
    dp_used: dict[str, list[Noise]] = field(default_factory=dict)
    """Method "dp": per table, the noise of every area published (stored or new)."""
    dp_new: list[tuple[str, str, Noise]] = field(default_factory=list)
    """Method "dp": noise drawn for this release, kept when it is written."""
    area_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    area_seen: set[str] = field(default_factory=set)
    """The subtraction check's persons and households of the areas read so far (an area seen
    and not in `area_sizes` holds none)."""
    area_listed: set[str] = field(default_factory=set)
    listing_seen: set[str] = field(default_factory=set)
    """The areas with dwellings, among those whose listing was read so far."""
    checked_at: tuple[int, int] | None = None
    """The ledger's mark when the plan last passed its checks (`recheck` skips them while the
    ledger has recorded nothing since)."""

    def close(self) -> None:
        """Let go of the source's engine (the records' source holds nothing)."""
        self.source.close()

    @property
    def protect(self) -> rel.Protect:
        if self.method == "dp":
            raise ValueError("differential privacy publishes noisy sums, not protected cells")
        return rel.protector(self.method, self.ptable)

    def unit_rows(self, table: str) -> Iterator[list[rel.Row]]:
        """The rows of each unit in turn (the tables are written a unit at a time)."""
        if self.method == "dp":
            for unit in self.units:
                yield rel.noisy_rows(table, self.config, self.request.level, unit.code,
                                     self.sums[unit.code], self.noisy.get(unit.code, {}))
            return
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
        raise ExportError(_("Unknown method {method!r}; choose rr3, ckm, dp or none.")
                          .format(method=method))
    if request.rho is not None and method != "dp":
        raise ExportError(_("--rho is used only with --method dp."))
    if request.rho is not None and not 0 < request.rho <= cfg.disclosure.dp_rho_total:
        raise ExportError(_("--rho must be above 0 and at most the survey's budget "
                            "(dp_rho_total = {total:g}).").format(
            total=cfg.disclosure.dp_rho_total))
    if method == "dp" and not dp.available():
        raise ExportError(_("Differential privacy needs the opendp package: pip install "
                            "'census[dp]' (or export --method rr3 or ckm)."))
    if method == "none" and not request.not_for_publication:
        raise ExportError(_("--method none writes exact counts of persons and households; it "
                            "is for operational use only. Add --not-for-publication to confirm "
                            "(the export is recorded in the release ledger as unprotected)."))
    if request.ptable is not None and method != "ckm":
        raise ExportError(_("--ptable is used only with --method ckm."))
    if request.override is not None and request.override not in RELEASE_OVERRIDES:
        raise ExportError(_("Unknown override reason {reason!r}; choose one of: {reasons}.")
                          .format(reason=request.override, reasons=", ".join(RELEASE_OVERRIDES)))
    if request.engine is not None and request.engine not in ENGINES:
        raise ExportError(_("Unknown engine {engine!r}; choose sqlite, duckdb or spark.")
                          .format(engine=request.engine))
    if request.engine in ("duckdb", "spark") and request.collected is None:
        raise ExportError(_("The {engine} engine tabulates area aggregates: give their folder "
                            "with --from (written by `census export aggregates`). This "
                            "database's own records are tabulated by --engine sqlite.")
                          .format(engine=request.engine))
    if request.fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError(_("Parquet files need the pyarrow package: pip install "
                                "'census[parquet]' (or export --format csv or json).")) from None


def _ptable(store: Store, request: Request, method: str) -> tuple[PTable | None, str | None]:
    if method != "ckm":
        return None, None
    d = store.config.disclosure
    if request.ptable is not None:
        try:
            table = read_ptable(request.ptable)
        except PTableFileError as exc:
            raise ExportError(str(exc)) from None
    else:
        try:
            table = generate(d.ckm_max_change, d.ckm_variance, d.ckm_threshold)
        except ValueError as exc:  # pragma: no cover - the config parser checks these
            raise ExportError(str(exc)) from None
    # A brought table, and the survey's own: a database's config was checked when it was made,
    # by the rules of then (and only under ckm), so the floor is applied here to either.
    problem = publication_problem(table, d.ckm_threshold, d.ckm_min_variance,
                                  d.ckm_max_unchanged)
    if problem and request.ptable is not None:
        raise ExportError(_("The perturbation table {path} would not protect the tables: "
                            "{problem}.").format(path=request.ptable, problem=problem))
    if problem:
        raise ExportError(_("The perturbation table made from this survey's config would "
                            "not protect the tables: {problem}. Bring a table that does "
                            "(--ptable), or publish with rr3.").format(problem=problem))
    return table, table.digest()


def plan_export(store: Store, request: Request, progress: Progress | None = None) -> Plan:
    """Everything an export publishes, decided and tabulated; nothing written yet."""
    _check_request(store, request)
    cfg = store.config
    method = request.method or cfg.disclosure.method
    ptable, ptable_digest = _ptable(store, request, method)
    if request.collected is not None and progress is not None:
        progress(0.0, _("checking the aggregates"))
    source = open_source(store, request)
    try:
        return _plan(store, request, method, ptable, ptable_digest, source, progress)
    except BaseException:
        source.close()
        raise


def _plan(store: Store, request: Request, method: str, ptable: PTable | None,
          ptable_digest: str | None, source: SumSource, progress: Progress | None) -> Plan:
    cfg = store.config
    places, selected, left_open, leaves = geography(store, request, source.statuses)
    if request.areas is not None and left_open and request.collected is not None:
        raise ExportError(_("Only closed areas are published; open or not yet collected in "
                            "{folder}: {areas}. Collect their districts' aggregates once they "
                            "are closed, or leave them out.").format(
            folder=request.collected, areas=", ".join(left_open[:20])))
    if request.areas is not None and left_open:
        raise ExportError(_("Only closed areas are published; still open: {areas}. Close them "
                            "with `census area close` once their work is done, or leave them "
                            "out.").format(areas=", ".join(left_open[:20])))
    if not selected and request.collected is not None:
        raise ExportError(_("No area at level {level} has every enumeration area closed in the "
                            "aggregates of {folder}: an area is published once the aggregates "
                            "of all its enumeration areas are collected, closed. Collect the "
                            "missing or still open districts again once their supervisors have "
                            "closed them.").format(level=request.level,
                                                   folder=request.collected))
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
                 in source.person_totals(None if request.areas is None else sorted(leaf_place))
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
        for leaf, size, n, key in source.household_sizes(sorted(leaf_unit)):
            sums[leaf_unit[leaf]].add_size(size, n, key)
            leaf_sums.setdefault(leaf, rel.Sums()).add_size(size, n, key)
    listed: set[str] = set()
    if "dwellings" in request.tables:
        step(0.5, _("counting dwellings"))
        for leaf, outcome, n in source.dwelling_outcomes(sorted(leaf_unit)):
            sums[leaf_unit[leaf]].add_outcome(outcome, n)
            listed.add(leaf)
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
    unit_digests = {(cells[u.code], t): rel.exact_digest(t, cfg, rel.Unit(cells[u.code], tuple(
        covered[u.code])), sums[u.code]) for u in units for t in request.tables
        if t in rel.PROTECTED}
    plan = Plan(request, cfg, method, ptable, ptable_digest, units, sums, left_open, withheld,
                digests, area_digests, cells, covered, unit_digests, "", None, source)
    # What the subtraction check needs of the areas in the units is read already: their
    # persons and households, and (with the dwellings table) whether they have dwellings; it
    # reads only the rest.
    plan.area_sizes.update((leaf, (sum(leaf_sums[leaf].counts), leaf_sums[leaf].households))
                           for leaf in leaf_unit if leaf in leaf_sums)
    plan.area_seen.update(leaf_unit)
    if "dwellings" in request.tables:
        plan.area_listed.update(listed)
        plan.listing_seen.update(leaf_unit)
    # The ledger's refusals first: under dp, nothing is drawn (and spent) for a refused plan.
    check_ledger(store, plan)
    if method == "dp":
        step(0.55, _("adding noise"))
        try:
            add_noise(store, plan, leaf_sums)
        except NoiseError as exc:
            raise ExportError(str(exc)) from None
    if ptable is not None:
        floor = measure(ptable, cfg.disclosure.ckm_threshold)
        plan.ptable_min_variance = None if floor is None else round(floor.min_variance, 6)
    plan.content = rel.release_digest({
        "level": request.level, "method": method, "ptable": ptable_digest,
        "tables": list(request.tables), "survey": cfg.digest(),
        "units": [[u, t, digests[(u, t)]] for u, t in sorted(digests)],
        # Everything the files say besides the values (columns, categories, notices, combined
        # and withheld areas): a program that lays them out otherwise makes a new release.
        "layout": _layout(plan),
        # Under differential privacy, the noisy values themselves.
        "noisy": plan.noisy})
    plan.previous = same_content(store, plan.content)
    step(0.6, _("tables ready"))
    return plan


def recheck(store: Store, plan: Plan) -> None:
    """What the ledger says now of a plan: an identical release recorded (`previous`), areas
    changed or cells published under another method since (refused unless overridden), and
    areas a subtraction would give away (refused). Run when a plan is made and again when it
    is written, so that a plan kept for a while (the app's preview) is never written on what
    the ledger said before."""
    plan.previous = same_content(store, plan.content)
    if plan.checked_at is not None and plan.checked_at == ledger_mark(store):
        return  # nothing recorded since the plan passed: the same answers
    check_ledger(store, plan)


def check_ledger(store: Store, plan: Plan) -> None:
    """The ledger's refusals of a plan (see `recheck`); they do not depend on the values."""
    request, method = plan.request, plan.method
    plan.checked_at = None
    # The mark before any read: a release another program records while these checks read
    # the ledger moves it past this one, so the next recheck checks again.
    mark = ledger_mark(store)
    plan.conflicts = _conflicts(store, plan) if method != "none" else []
    if method in ("rr3", "ckm") or (method == "dp" and "dwellings" in request.tables):
        # Under differential privacy a subtraction of noisy tables is post-processing, which
        # the guarantee covers; but the dwellings table is exact under every method.
        try:
            refuse_leftovers(store, plan)
        except SubtractionError as exc:
            raise ExportError(str(exc)) from None
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
            at=_minute(first.released_at), reasons=", ".join(RELEASE_OVERRIDES)))
    plan.checked_at = mark


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
    # Units are known by the areas they cover (the cells key), areas by their code.
    digests = {"unit": plan.unit_digests, "area": plan.area_digests}
    named = {key: unit for unit, key in plan.cells.items()}
    found: dict[tuple[str, str, str], Conflict] = {}
    for p in published(store):
        now = digests[p.kind].get((p.code, p.table))
        if now is not None and p.digest != now:
            code = named.get(p.code, p.code) if p.kind == "unit" else p.code
            # At the lowest level a unit and its area are one: said once.
            found.setdefault((code, p.table, "data"),
                             Conflict(code, p.table, p.release, p.released_at,
                                      area=p.kind == "area"))
    units_of: dict[str, list[str]] = {}
    for unit, key in plan.cells.items():
        units_of.setdefault(key, []).append(unit)
    tables = [t for t in plan.request.tables if t in rel.PROTECTED]
    for c in published_cells(store):
        if c.cells in units_of and c.table in tables and (c.method, c.ptable) != (
                plan.method, plan.ptable_digest):
            # The same cells under another method: two noisy readings of each count.
            for unit in units_of[c.cells]:
                found.setdefault((unit, c.table, "method"),
                                 Conflict(unit, c.table, c.release, c.released_at, "method"))
    return sorted(found.values(), key=lambda c: (not c.area, c.unit, c.table, c.changed))


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
    protection: dict[str, Any] = {}
    if plan.method == "ckm":
        protection = {"perturbation_table_sha256": plan.ptable_digest,
                      "perturbation_min_variance": plan.ptable_min_variance}
    if plan.method == "dp":
        protection = {"privacy": privacy(plan)}
    return {
        "release": release,
        "released_at": released_at,
        "survey": cfg.name,
        "level": plan.request.level,
        "format": plan.request.fmt,
        "method": {"rr3": "random rounding to base 3 (cell keys)",
                   "ckm": "cell key method (perturbation table)",
                   "dp": "differential privacy (discrete Gaussian, zCDP)",
                   "none": "none (operational, not for publication)"}[plan.method],
        "notice": DP_NOTICE if plan.method == "dp" else NOTICE.format(how=HOW[plan.method]),
        **protection,
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
