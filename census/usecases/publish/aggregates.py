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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from census.domain.model import Area, AreaStatus, Role
from census.i18n import _
from census.storage.areas import all_areas
from census.storage.store import Store
from census.storage.sums import dwelling_outcomes, household_sizes, person_totals
from census.usecases.publish.plan import ExportError

FORMAT = 1
"""The layout of an aggregates folder; a reader refuses another."""

LARGEST = 8
"""Household sizes are counted 1 to 7 and "8 or more", as the households table publishes them."""

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "areas": (("area", "string"), ("households", "int64"), ("persons", "int64")),
    "persons": (("area", "string"), ("sex", "string"), ("age_band", "string"),
                ("count", "int64"), ("key_sum", "int64")),
    "households": (("area", "string"), ("size", "int64"), ("count", "int64"),
                   ("key_sum", "int64")),
    "dwellings": (("area", "string"), ("outcome", "string"), ("count", "int64")),
}
"""Each file's columns and types. Key sums are plain 64-bit sums of 32-bit person keys (never
reduced, never floats): a cell's key is the sum over its areas, reduced mod 2^32 where used."""


@dataclass(frozen=True)
class Written:
    """What an export wrote: the districts' folders and the enumeration areas in them."""

    out: Path
    partitions: tuple[str, ...]
    areas: tuple[str, ...]
    rows: dict[str, int]


def partitions(areas: Sequence[Area], levels: Sequence[str]) -> dict[tuple[str, ...], list[str]]:
    """The closed enumeration areas (the lowest of `levels`) under each chain of the areas
    above them, top first: `{("R01", "R01-D01"): ["R01-D01-EA001", …]}`. Pure."""
    by_code = {a.code: a for a in areas}
    out: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for a in areas:
        if a.level != levels[-1] or a.status is not AreaStatus.CLOSED:
            continue
        chain: list[str] = []
        parent = a.parent
        while parent is not None and parent in by_code and len(chain) < len(levels):
            chain.append(parent)
            parent = by_code[parent].parent
        out[tuple(reversed(chain))].append(a.code)
    return {k: sorted(v) for k, v in sorted(out.items())}


def folder_name(chain: Sequence[str], areas: Sequence[Area], levels: Sequence[str]) -> Path:
    """`region=R01/district=R01-D01`: each area above the enumeration areas named by its level."""
    level_of = {a.code: a.level for a in areas}
    return Path(*(f"{level_of.get(code, levels[i])}={code}" for i, code in enumerate(chain)))


def _table_rows(store: Store, eas: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    cfg = store.config
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    for area, households, counts, keys in person_totals(store, eas):
        rows["areas"].append((area, households, sum(counts)))
        for (sex, band), n, k in zip(cfg.cells, counts, keys, strict=True):
            rows["persons"].append((area, sex, band, int(n or 0), int(k or 0)))
    for area, size, n, k in household_sizes(store, eas, largest=LARGEST):
        rows["households"].append((area, size, n, int(k)))
    rows["dwellings"] = [(area, outcome, n) for area, outcome, n in dwelling_outcomes(store, eas)]
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


def _owner_only(folder: Path) -> None:
    folder.chmod(0o700)
    for p in folder.iterdir():
        p.chmod(0o600)


def export_aggregates(store: Store, out: Path, now: str) -> Written:
    """Write the aggregates of every closed enumeration area under `out`, one folder per district
    with its manifest; a district exported before is replaced whole. Nothing else in `out` is
    touched."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ExportError(_("Aggregates are written as Parquet, which needs pyarrow: "
                            "pip install 'census[parquet]'.")) from None
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(_("{out} is not a folder; give a folder for the aggregates (it may "
                            "hold other districts' aggregates).").format(out=out))
    if store.role is Role.ENUMERATOR:
        raise ExportError(_("Aggregates are written by a supervisor or the office, from the "
                            "records merged there; this is an enumerator's database."))
    cfg = store.config
    areas = all_areas(store)
    parts = partitions(areas, cfg.levels)
    if not parts:
        raise ExportError(_("No enumeration area is closed; aggregates are written for closed "
                            "areas only (census area close CODE)."))
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[str] = []
    totals: dict[str, int] = defaultdict(int)
    for chain, eas in parts.items():
        name = folder_name(chain, areas, cfg.levels)
        target = out / name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            files = {}
            for table, rows in _table_rows(store, eas).items():
                files[f"{table}.parquet"] = _parquet(table, rows, tmp / f"{table}.parquet")
                totals[table] += len(rows)
            manifest = {
                "format": FORMAT, "kind": "census area aggregates",
                "survey": cfg.name, "config_digest": cfg.digest(),
                "levels": list(cfg.levels), "partition": dict(zip(
                    [part.split("=", 1)[0] for part in name.parts], chain, strict=True)),
                "areas": list(eas), "source": {"user": store.user, "role": str(store.role)},
                "created": now, "files": files,
                "note": "Exact, confidential counts: never publish these files.",
            }
            with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
                f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            _owner_only(tmp)
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.rename(target, old)
            os.rename(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ExportError(_("Writing the aggregates of {part} failed: {error}; that "
                                "district's folder is as it was.").format(
                part=name, error=exc.strerror or exc)) from None
        written.append(str(name))
    return Written(out, tuple(written), tuple(a for eas in parts.values() for a in eas),
                   dict(totals))
