"""The layout of an aggregates folder (`census export aggregates`, issue 18): its files, their
columns and the manifest; and the reading of a collection of such folders at the office
(`census export tables --from DIR`), every manifest and file checked before a number is used.

A collection is any folder holding district folders written by `census export aggregates`
(`DIR/region=R01/district=R01-D01/manifest.json` …), copied there from supervisors.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from census.domain.errors import CensusError
from census.i18n import _

FORMAT = 1
"""The layout of an aggregates folder; a reader refuses another."""

KIND = "census area aggregates"
MANIFEST = "manifest.json"
MANIFEST_LIMIT = 64 * 1024 * 1024
"""A manifest lists its areas; even a country's largest district stays far below this."""

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

TABLES = tuple(COLUMNS)


class AggregatesError(CensusError):
    """A collection of aggregates that cannot be used; the message names the folder or file
    and says how to fix it."""


@dataclass
class Collection:
    """What a collection holds: per table, its files; per enumeration area, its status and the
    folder it came from."""

    root: Path
    files: dict[str, list[Path]] = field(default_factory=lambda: {t: [] for t in TABLES})
    statuses: dict[str, str] = field(default_factory=dict)
    folder_of: dict[str, Path] = field(default_factory=dict)
    folders: list[Path] = field(default_factory=list)


def _regular(path: Path) -> bool:
    """A regular file, not a link (to a device, a pipe or anything else)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _manifest(path: Path) -> dict[str, Any]:
    if not _regular(path):
        raise AggregatesError(_("{path} is not a regular file (a link, a folder or a device); "
                                "copy the district's folder again as `census export "
                                "aggregates` wrote it.").format(path=path))
    try:
        with open(path, "rb") as f:
            data = f.read(MANIFEST_LIMIT + 1)
    except OSError as exc:
        raise AggregatesError(_("Cannot read {path}: {error}.").format(
            path=path, error=exc.strerror or exc)) from None
    if len(data) > MANIFEST_LIMIT:
        raise AggregatesError(_("{path} is too large for a manifest of aggregates.")
                              .format(path=path))
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AggregatesError(_("{path} is not a manifest of aggregates (not JSON); copy the "
                                "district's folder again as `census export aggregates` wrote "
                                "it.").format(path=path)) from None
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise AggregatesError(_("{path} is not a manifest of aggregates; copy the district's "
                                "folder again as `census export aggregates` wrote it.")
                              .format(path=path))
    found = raw.get("format")
    if type(found) is not int or found != FORMAT:
        raise AggregatesError(_("{path} is aggregates format {found}; this census reads format "
                                "{format}. Export them again with this version.").format(
            path=path, found=found, format=FORMAT))
    areas, files, closed = raw.get("areas"), raw.get("files"), raw.get("closed")
    if (not isinstance(areas, dict) or not isinstance(files, dict)
            or not isinstance(closed, list)
            or not all(isinstance(k, str) and v in ("open", "closed") for k, v in areas.items())
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
            or sorted(a for a, v in areas.items() if v == "closed") != closed):
        raise AggregatesError(_("{path} is damaged (its list of areas or files cannot be "
                                "read); export that district's aggregates again.")
                              .format(path=path))
    return raw


def _check_table(path: Path, raw: bytes, table: str, closed: frozenset[str]) -> None:
    """A file (`raw`: its bytes, read once for its digest and its rows) as `census export
    aggregates` writes it: readable Parquet with exactly the
    columns and types of COLUMNS, no empty value, no negative number, and rows of the
    manifest's closed areas only (`areas`: each of them once)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError):
        raise AggregatesError(_("{path} is not a readable Parquet file; copy or export that "
                                "district again.").format(path=path)) from None
    expected = [(name, kind) for name, kind in COLUMNS[table]]
    if [(f.name, str(f.type)) for f in data.schema] != expected:
        raise AggregatesError(_("{path} does not have the columns of census aggregates "
                                "({columns}); export that district again with this version.")
                              .format(path=path, columns=", ".join(
                                  f"{name} {kind}" for name, kind in expected)))
    for name, kind in expected:
        column = data.column(name)
        if column.null_count:
            raise AggregatesError(_("{path} has empty values in column {column}; export that "
                                    "district again.").format(path=path, column=name))
        if kind == "int64" and len(column) and pc.min(column).as_py() < 0:
            raise AggregatesError(_("{path} has negative numbers in column {column}; export "
                                    "that district again.").format(path=path, column=name))
    column = data.column("area")
    held = set(pc.unique(column).to_pylist())
    if (table == "areas" and (held != closed or len(column) != len(held))) or not held <= closed:
        raise AggregatesError(_(
            "{path} holds rows of areas its manifest does not give as closed ({areas}), or "
            "misses a closed one; the folder is not as `census export aggregates` wrote it. "
            "Export that district again.").format(
            path=path, areas=", ".join(sorted(held ^ closed)[:5]) or "-"))


def collect(root: Path, config_digest: str) -> Collection:
    """Every district folder under `root`, checked: its manifest (format, and the survey config
    of this database: the same cells, bands and rules), each file against its SHA-256 and
    against the layout (columns, types, no empty or negative value, the manifest's closed
    areas and no other), and no enumeration area in two folders. Folders an interrupted
    export left (hidden, `.name.…`) are not read. Raises AggregatesError, naming the folder and
    the fix."""
    root = Path(root)
    if not root.is_dir():
        raise AggregatesError(_("{root} is not a folder of aggregates; give the folder that "
                                "holds the districts' folders (`census export aggregates "
                                "--out`).").format(root=root))
    found = Collection(root)
    files: list[tuple[Path, str, frozenset[str], str]] = []

    def unreadable(exc: OSError) -> None:
        raise AggregatesError(_("Cannot read the folder {path}: {error}; a district that cannot "
                                "be read would be taken for one not yet collected. Make it "
                                "readable.").format(path=exc.filename, error=exc.strerror or exc))

    for here, dirs, names in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        folder = Path(here)
        for d in dirs:
            if (folder / d).is_symlink():
                raise AggregatesError(_("{path} is a link; a collection of aggregates holds "
                                        "real folders only. Copy the folder instead.")
                                      .format(path=folder / d))
        if MANIFEST not in names and MANIFEST not in dirs:
            continue
        manifest = _manifest(folder / MANIFEST)
        if manifest.get("config_digest") != config_digest:
            raise AggregatesError(_(
                "{folder} was written under another survey config ({theirs}) than this "
                "database's ({ours}); its cells cannot be added to these. Export it again from "
                "a database of this survey.").format(
                folder=folder, theirs=manifest.get("config_digest"), ours=config_digest))
        closed = frozenset(manifest["closed"])
        for table in TABLES:
            name = f"{table}.parquet"
            path = folder / name
            if name not in manifest["files"] or not _regular(path):
                raise AggregatesError(_("{path} is missing; copy the whole folder of that "
                                        "district again.").format(path=path))
            files.append((path, table, closed, manifest["files"][name]))
            found.files[table].append(path)
        for area, status in manifest["areas"].items():
            if area in found.folder_of:
                raise AggregatesError(_(
                    "Area {area} is in two folders, {first} and {second}; a collection holds "
                    "each district once. Remove the stale copy.").format(
                    area=area, first=found.folder_of[area], second=folder))
            found.folder_of[area] = folder
            found.statuses[area] = status
        found.folders.append(folder)
    if not found.folders:
        raise AggregatesError(_("No aggregates in {root} (no {manifest} below it); copy the "
                                "districts' folders written by `census export aggregates` "
                                "into it.").format(root=root, manifest=MANIFEST))
    # The files in threads (hashing and Parquet reading let go of the GIL); the first problem
    # in folder order is the one said.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for _done in pool.map(_check_file, files):
            pass
    return found


def _check_file(item: tuple[Path, str, frozenset[str], str]) -> None:
    path, table, closed, digest = item
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != digest:
        raise AggregatesError(_("{path} is not the file its manifest names (changed or damaged "
                                "since it was written); copy or export that district again.")
                              .format(path=path))
    _check_table(path, raw, table, closed)
