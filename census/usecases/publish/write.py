"""Writing an export: the tables and `metadata.json` go into a temporary folder beside the
destination, which is renamed into place in the transaction that records the release; so either
everything is there and recorded, or nothing is. The TUI and the CLI are thin layers over
`plan_export` and `write_export` (or `export`, both in one call).
"""

from __future__ import annotations

import csv
import errno
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from census.i18n import _
from census.storage.releases import Release, record_release
from census.storage.store import Store, utc_now
from census.tabulate import release as rel
from census.usecases.publish.plan import (
    ExportError,
    Plan,
    Progress,
    Report,
    Request,
    metadata,
    plan_export,
    recheck,
)


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


def _write_all(plan: Plan, folder: Path, release: str, released_at: str,
               step: Progress) -> list[tuple[str, int]]:
    files: list[tuple[str, int]] = []
    fmt = plan.request.fmt
    tables = plan.request.tables
    for i, table in enumerate(tables):
        what = _("writing {table}").format(table=table)
        step(0.6 + 0.35 * i / len(tables), what)

        def rows(table: str = table, at: float = 0.6 + 0.35 * i / len(tables),
                 what: str = what) -> Iterator[list[rel.Row]]:
            """The table's units, saying how far along every 500 units."""
            for n, chunk in enumerate(plan.unit_rows(table), 1):
                if n % 500 == 0:
                    step(at + 0.35 / len(tables) * n / len(plan.units), what)
                yield chunk

        path = folder / f"{table}.{fmt}"
        if fmt == "parquet":
            n = _parquet(table, rows(), path)
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                n = (_csv if fmt == "csv" else _json)(table, rows(), f)
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
    recheck(store, plan)  # a plan kept for a while: the ledger may have moved since
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
            # Again in the write transaction: another export may have been recorded since.
            used = plan.previous
            recheck(store, plan)
            if plan.previous != used:
                raise ExportError(_("Another export recorded the same tables while these were "
                                    "written; nothing was exported. Export again."))
            protected = plan.method != "none"
            # What is now published is the reference for the next protected release.
            # (Unprotected exports are recorded, but are no such reference.)
            states = {(kind, name, table): digest
                      for kind, digests in (("unit", plan.unit_digests),
                                            ("area", plan.area_digests))
                      for (name, table), digest in digests.items()
                      if protected and table in rel.PROTECTED}
            cells = [(key, table) for key in plan.cells.values()
                     for table in plan.request.tables if protected and table in rel.PROTECTED]
            units = [(plan.cells[u], u, plan.unit_areas[u]) for u in plan.cells] \
                if protected else []
            record_release(store, Release(
                release, plan.request.level, plan.method, plan.ptable_digest,
                plan.request.tables, plan.request.fmt, len(plan.units), plan.content,
                plan.request.override, plan.ptable_min_variance, released_at), states, cells,
                units)
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
    plan = plan_export(store, request, progress)
    try:
        return write_export(store, plan, out, progress)
    finally:
        plan.close()
