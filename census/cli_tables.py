"""`census export tables | export ledger | ptable make | ptable check`: protected tables and
perturbation tables, as thin click commands over census.export and census.privacy."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from census.cli import CensusGroup, UserError, _print_json, _table, cli, db_options, json_option
from census.cli import open_store as _open_store
from census.i18n import _

#: The largest ptable file read (ROW_LIMIT rows of "pcv,ckey,pvalue" fit well within it).


@cli.group(cls=CensusGroup)
def export() -> None:
    """Publish protected aggregate tables (supervisor and office)."""


def _areas(values: tuple[str, ...]) -> tuple[str, ...] | None:
    out = tuple(v.strip() for item in values for v in item.split(",") if v.strip())
    return out or None


@export.command("tables")
@db_options
@json_option
@click.option("--level", required=True, help="Area level of the rows (e.g. region, district, "
              "ea; see `census config`).")
@click.option("--areas", "areas", multiple=True,
              help="Only these areas (codes at that level or above, comma-separated); "
                   "default: every closed area.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="A new (or empty) folder for the files and metadata.json.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "parquet"]), default="csv",
              show_default=True, help="File format (parquet needs census[parquet]).")
@click.option("--tables", "tables", default="persons,households,dwellings", show_default=True,
              help="Which tables, comma-separated.")
@click.option("--method", type=click.Choice(["rr3", "ckm", "none"]),
              help="Protection of persons and households (default: the survey config's).")
@click.option("--ptable", type=click.Path(dir_okay=False, path_type=Path),
              help="ckm: an ONS-format perturbation table (default: made from the config).")
@click.option("--override-release", "override",
              help="Publish areas whose data changed since their last release anyway; the "
                   "reason code is logged: correction, late_forms, boundary_change, "
                   "method_change.")
@click.option("--not-for-publication", is_flag=True,
              help="Required with --method none: exact counts for operational use.")
def export_tables(db_path: Path | None, passphrase_file: Path | None, as_json: bool, level: str,
                  areas: tuple[str, ...], out: Path, fmt: str, tables: str, method: str | None,
                  ptable: Path | None, override: str | None, not_for_publication: bool) -> None:
    """Write protected tables of closed areas: persons by sex and age band, households by
    size, dwellings by outcome (exact), and metadata.json. Every export is recorded in the
    release ledger; a changed area is not published twice unless overridden."""
    from census.export import ExportError, Request, export

    request = Request(level=level, areas=_areas(areas),
                      tables=tuple(t.strip() for t in tables.split(",") if t.strip()),
                      method=method, fmt=fmt, ptable=ptable, override=override,
                      not_for_publication=not_for_publication)
    with _open_store(db_path, passphrase_file) as store:
        try:
            report = export(store, request, out)
        except ExportError as exc:
            raise UserError(str(exc)) from None
    if as_json:
        _print_json({"release": report.release, "released_at": report.released_at,
                     "again": report.again, "out": str(report.out),
                     "files": dict(report.files), "units": report.units,
                     "combined": report.combined, "withheld": list(report.withheld),
                     "left_open": list(report.left_open)})
        return
    if report.again:
        click.echo(_("Release {release} again (the same data, method and areas as on {at}): "
                     "every published value is the same.").format(release=report.release,
                                                        at=report.released_at[:10]))
    else:
        click.echo(_("Release {release}: {units} areas written to {out}.").format(
            release=report.release, units=report.units, out=report.out))
    for table, n in report.files:
        click.echo(_("  {table}: {rows} rows").format(table=table, rows=n))
    if report.combined:
        click.echo(_("{n} group(s) of small areas were combined with their parent "
                     "(see metadata.json).").format(n=report.combined))
    if report.withheld:
        click.echo(_("Withheld, too small even combined: {areas}.").format(
            areas=", ".join(report.withheld)))
    if report.left_open:
        click.echo(_("Left out, still open: {areas}.").format(
            areas=", ".join(report.left_open[:20])))


@export.command("ledger")
@db_options
@json_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000),
              help="Show at most this many exports.")
def export_ledger(db_path: Path | None, passphrase_file: Path | None, as_json: bool,
                  limit: int) -> None:
    """The release ledger: every export of tables, newest first."""
    from census.export import releases

    with _open_store(db_path, passphrase_file) as store:
        rows = releases(store, limit)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        click.echo(_("No tables exported yet."))
        return
    _table([_("release"), _("when"), _("user"), _("level"), _("method"), _("tables"),
            _("format"), _("areas"), _("override")],
           [[r["id"], r["created_at"][:16].replace("T", " "), r["user"], r["level"],
             r["method"], r["tables"], r["format"], r["units"], r["override"] or ""]
            for r in rows])


@cli.group(cls=CensusGroup)
def ptable() -> None:
    """Perturbation tables for the cell key method (ONS format: pcv,ckey,pvalue)."""


@ptable.command("make")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The CSV file to write (must not exist).")
@click.option("--max-change", "D", default=5, show_default=True, type=int,
              help="D: the largest change to a count.")
@click.option("--variance", "V", default=3.0, show_default=True, type=float,
              help="V: the variance of the changes.")
@click.option("--threshold", "js", default=2, show_default=True, type=int,
              help="js: counts 1..js are never published.")
@click.option("--ckeys", default=256, show_default=True, type=click.IntRange(1, 65536),
              help="Number of cell key classes (a power of two keeps ONS compatibility).")
@click.option("--max-count", "max_pcv", default=750, show_default=True,
              type=click.IntRange(1, 5000),
              help="Rows for counts 1..this (ONS reuses 501..750 for larger counts).")
def ptable_make(out: Path, D: int, V: float, js: int, ckeys: int, max_pcv: int) -> None:
    """Make a maximum-entropy perturbation table (as sdcTools ptable does): for every count,
    changes of at most D, mean 0, variance V, never landing on 1..js; zeros stay zero."""
    from census.privacy.ptable import ROW_LIMIT, check_parameters, generate, write_ons_csv

    if ckeys * max_pcv > ROW_LIMIT:
        raise UserError(_("{ckeys} cell keys × {pcv} counts would make {rows:,} rows; at most "
                          "{limit:,} are allowed (256 or 4096 cell keys are usual).").format(
            ckeys=ckeys, pcv=max_pcv, rows=ckeys * max_pcv, limit=ROW_LIMIT))
    problem = check_parameters(D, V, js)
    if problem:
        raise UserError(_("These parameters cannot make a perturbation table: {problem}. The "
                          "defaults (D=5, V=3, js=2) work.").format(problem=problem))
    if out.exists():
        raise UserError(_("{out} already exists; give a new file name.").format(out=out))
    try:
        table = generate(D, V, js, max_pcv=max_pcv, ckey_range=ckeys)
    except ValueError as exc:
        raise UserError(_("These parameters cannot make a perturbation table: {problem}.")
                        .format(problem=exc)) from None
    text = write_ons_csv(table)
    # A new, unpredictable temporary name (O_EXCL): a link planted at a fixed name such as
    # ".FILE.partial" would have the table written through it, over the file it points to.
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial",
                                dir=out.parent if str(out.parent) else ".")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        tmp.replace(out)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    click.echo(_("Wrote {out}: counts 1..{pcv} × {ckeys} cell keys ({rows} rows). Keep the "
                 "parameters private: they are never written into published files.")
               .format(out=out, pcv=max_pcv, ckeys=ckeys, rows=max_pcv * ckeys))


@ptable.command("check")
@json_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def ptable_check(as_json: bool, file: Path) -> None:
    """Read a perturbation table and show what it does to small counts: the changes it can
    make, their mean and variance, and whether any count lands on 1..js."""
    from census.privacy.ptable import probabilities
    from census.ptable_file import PTableFileError, read_ptable

    try:
        table = read_ptable(file)
    except PTableFileError as exc:
        raise UserError(str(exc)) from None
    rows: list[dict[str, Any]] = []
    for pcv in range(1, min(table.max_pcv, 12) + 1):
        dist = probabilities(table, pcv)
        mean = math.fsum(v * p for v, p in dist.items())
        var = math.fsum((v - mean) ** 2 * p for v, p in dist.items())
        rows.append({"count": pcv, "changes": sorted(dist), "mean": round(mean, 4),
                     "variance": round(var, 4),
                     "smallest": min(pcv + v for v in dist if pcv + v > 0) if any(
                         pcv + v > 0 for v in dist) else 0})
    smallest = min((r["smallest"] for r in rows if r["smallest"]), default=0)
    if as_json:
        _print_json({"max_count": table.max_pcv, "ckeys": table.ckey_range, "rows": rows,
                     "smallest_published": smallest})
        return
    click.echo(_("{file}: counts 1..{pcv}, {ckeys} cell keys; smallest non-zero count "
                 "published: {smallest}.").format(file=file, pcv=table.max_pcv,
                                                  ckeys=table.ckey_range, smallest=smallest))
    _table([_("count"), _("changes"), _("mean"), _("variance")],
           [[r["count"], " ".join(f"{v:+d}" for v in r["changes"]), f"{r['mean']:.3f}",
             f"{r['variance']:.3f}"] for r in rows])
    if table.max_pcv < 750:
        click.echo(_("Note: counts above {pcv} are published unchanged with this table (the "
                     "ONS rule looks up rows 501..750 for them).").format(pcv=table.max_pcv))
