"""Exact area aggregates for the level above (DESIGN §8; issue 18, first part): for every closed
enumeration area, the per-cell counts and cell-key sums of the tables census publishes, written as
Parquet, one folder per district (partitioned by the levels above the enumeration areas, e.g.
`region=R01/district=R01-D01/`), each with a manifest.

rr3 and ckm are additive (a cell's count and its key are sums over households), so these sums are
all an office needs to publish the same tables as the record-level path. No household record,
locator, record id or seed is written: only area codes, cell labels and integers. They are exact,
confidential counts: never published, kept owner-only.

Exporting again replaces a district's folder as a whole (a new folder renamed into place), so a
collection of districts is brought up to date by exporting or copying districts into it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from census.domain.model import Area, AreaStatus, Role
from census.formats.aggregate_files import COLUMNS, FORMAT, KIND, MANIFEST
from census.i18n import _
from census.storage.areas import all_areas
from census.storage.store import Store
from census.storage.sums import dwelling_outcomes, household_sizes, person_totals
from census.usecases.publish.plan import ExportError


@dataclass(frozen=True)
class Written:
    """What an export wrote: the folders (one per area above the enumeration areas) and the
    closed enumeration areas whose sums are in them."""

    out: Path
    partitions: tuple[str, ...]
    areas: tuple[str, ...]
    rows: dict[str, int]


def partitions(areas: Sequence[Area], levels: Sequence[str]
               ) -> dict[tuple[str, ...], list[Area]]:
    """Every enumeration area (the lowest of `levels`, open or closed) under its chain of the
    areas above it, top first: `{("R01", "R01-D01"): [EA001, …]}`; an enumeration area with
    nothing above it is its own chain. Pure."""
    by_code = {a.code: a for a in areas}
    out: dict[tuple[str, ...], list[Area]] = defaultdict(list)
    for a in areas:
        if a.level != levels[-1]:
            continue
        chain: list[str] = []
        parent = a.parent
        while parent is not None and parent in by_code and len(chain) < len(levels):
            chain.append(parent)
            parent = by_code[parent].parent
        out[tuple(reversed(chain)) or (a.code,)].append(a)
    return {k: sorted(v, key=lambda a: a.code) for k, v in sorted(out.items())}


def folder_name(chain: Sequence[str], areas: Sequence[Area], levels: Sequence[str]) -> Path:
    """`region=R01/district=R01-D01`: each area of the chain named by its level."""
    level_of = {a.code: a.level for a in areas}
    return Path(*(f"{level_of.get(code, levels[i])}={code}" for i, code in enumerate(chain)))


def _table_rows(store: Store, closed: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of every table for the closed enumeration areas `closed`: each has its rows in
    `areas` and `persons` even without a counted household (zeros)."""
    cfg = store.config
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    totals = {area: (households, counts, keys)
              for area, households, counts, keys in person_totals(store, closed)} \
        if closed else {}
    zeros = [0] * len(cfg.cells)
    for area in closed:
        households, counts, keys = totals.get(area, (0, zeros, zeros))
        rows["areas"].append((area, households, sum(int(n or 0) for n in counts)))
        for (sex, band), n, k in zip(cfg.cells, counts, keys, strict=True):
            rows["persons"].append((area, sex, band, int(n or 0), int(k or 0)))
    if closed:
        for area, size, n, k in household_sizes(store, closed):
            rows["households"].append((area, size, n, int(k)))
        rows["dwellings"] = [(area, outcome, n)
                             for area, outcome, n in dwelling_outcomes(store, closed)]
    return rows


def _parquet(table: str, rows: list[tuple[Any, ...]], path: Path) -> str:
    """Write one table; its SHA-256."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"string": pa.string(), "int64": pa.int64()}
    cols = COLUMNS[table]
    schema = pa.schema([(name, types[kind]) for name, kind in cols])
    arrays = [pa.array([r[i] for r in rows], type=types[kind])
              for i, (_name, kind) in enumerate(cols)]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path, compression="zstd")
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        return hashlib.sha256(f.read()).hexdigest()


def _folders(out: Path, name: Path) -> Path:
    """`out / name`, its folders made owner-only as they are created; a link on the way is
    refused (files must land in `out`, nowhere else)."""
    here = out
    for part in name.parts:
        here = here / part
        if here.is_symlink():
            raise ExportError(_("{path} is a link; aggregates are written in real folders "
                                "only. Remove the link.").format(path=here))
        if not here.exists():
            here.mkdir(mode=0o700)
            here.chmod(0o700)
    return here


def _tidy(parent: Path, name: str) -> None:
    """Put back or remove what an interrupted export left beside a folder `name`: its previous
    version moved aside (put back when the folder is missing) and half-written new ones."""
    for leftover in sorted(parent.glob(f".{name}.old-*")):
        if not (parent / name).exists():
            os.rename(leftover, parent / name)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    for partial in parent.glob(f".{name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def _replace(tmp: Path, target: Path) -> None:
    """Put the folder `tmp` in place of `target`; if that fails, `target` is as it was."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_partition(store: Store, folder: Path, chain: tuple[str, ...], eas: Sequence[Area],
                     now: str) -> dict[str, int]:
    cfg = store.config
    closed = [a.code for a in eas if a.status is AreaStatus.CLOSED]
    files, counts = {}, {}
    for table, rows in _table_rows(store, closed).items():
        files[f"{table}.parquet"] = _parquet(table, rows, folder / f"{table}.parquet")
        counts[table] = len(rows)
    manifest = {
        "format": FORMAT, "kind": KIND,
        "survey": cfg.name, "config_digest": cfg.digest(), "levels": list(cfg.levels),
        "partition": {part.split("=", 1)[0]: code for part, code in zip(
            folder_name(chain, eas, cfg.levels).parts, chain, strict=True)},
        # Every enumeration area of the folder with its status: a reader sees what is
        # missing (an open area's sums are not here) and never takes a part for the whole.
        "areas": {a.code: str(a.status) for a in eas},
        "closed": closed,
        "source": {"database": store.path.name, "user": store.user, "role": str(store.role)},
        "created": now, "files": files,
        "note": "Exact, confidential counts: never publish these files.",
    }
    with open(folder / MANIFEST, "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    folder.chmod(0o700)
    for p in folder.iterdir():
        p.chmod(0o600)
    return counts


def export_aggregates(store: Store, out: Path, now: str,
                      progress: Callable[[float, str], None] | None = None) -> Written:
    """Write, under `out`, one folder per area above the enumeration areas (e.g. per district)
    with the sums of its closed enumeration areas and a manifest naming every enumeration area
    of it and its status; a folder written before is replaced whole, also when none of its
    areas is closed any more (reopened: its old sums must not stay). Nothing else in `out` is
    touched."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ExportError(_("Aggregates are written as Parquet, which needs pyarrow: "
                            "pip install 'census[parquet]'.")) from None
    if store.role is Role.ENUMERATOR:
        raise ExportError(_("Aggregates are written by a supervisor or the office, from the "
                            "records merged there; this is an enumerator's database."))
    out = Path(out)
    if out.is_symlink():
        raise ExportError(_("{path} is a link; aggregates are written in real folders only. "
                            "Remove the link.").format(path=out))
    if out.exists() and not out.is_dir():
        raise ExportError(_("{out} is not a folder; give a folder for the aggregates (it may "
                            "hold other districts' aggregates).").format(out=out))
    cfg = store.config
    areas = all_areas(store)
    parts = partitions(areas, cfg.levels)
    if not out.exists():
        out.mkdir(mode=0o700, parents=True)
    written: list[str] = []
    totals: dict[str, int] = defaultdict(int)
    for i, (chain, eas) in enumerate(parts.items()):
        name = folder_name(chain, areas, cfg.levels)
        if progress is not None:
            progress(i / len(parts), str(name))
        target = out / name
        try:
            parent = _folders(out, name.parent)
            _tidy(parent, target.name)
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=parent))
            try:
                for table, n in _write_partition(store, tmp, chain, eas, now).items():
                    totals[table] += n
                _replace(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        except OSError as exc:
            raise ExportError(_("Writing the aggregates of {part} failed: {error}; that "
                                "district's folder is as it was.").format(
                part=name, error=exc.strerror or exc)) from None
        written.append(str(name))
    closed = tuple(a.code for eas in parts.values() for a in eas
                   if a.status is AreaStatus.CLOSED)
    return Written(out, tuple(written), closed, dict(totals))
