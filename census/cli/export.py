"""`census export tables | ledger`: protected tables, and the release ledger."""

from __future__ import annotations

from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    db_options,
    json_option,
    open_store,
    print_json,
    progress_bar,
    table,
)
from census.i18n import _, counted, ngettext


@click.group(cls=CensusGroup)
def export() -> None:
    """Publish protected aggregate tables (supervisor and office)."""


def area_codes(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """Codes given comma-separated, repeated, or both; None for none."""
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
@click.option("--method", type=click.Choice(["rr3", "ckm", "dp", "none"]),
              help="Protection of persons and households (default: the survey config's); dp "
                   "needs census[dp].")
@click.option("--rho", type=float,
              help="dp: the privacy loss (zCDP rho) this release may spend on a person "
                   "(default: a quarter of what is left of the survey's dp_rho_total).")
@click.option("--ptable", type=click.Path(dir_okay=False, path_type=Path),
              help="ckm: an ONS-format perturbation table (default: made from the config).")
@click.option("--override-release", "override",
              help="Publish areas whose data changed since their last release anyway; the "
                   "reason code is logged: correction, late_forms, boundary_change, "
                   "method_change.")
@click.option("--not-for-publication", is_flag=True,
              help="Required with --method none: exact counts for operational use.")
@click.option("--from", "collected", type=click.Path(file_okay=False, path_type=Path),
              help="Publish from a folder of area aggregates (`census export aggregates`, "
                   "collected from the districts) instead of this database's records; the "
                   "areas their manifests say are closed are published.")
@click.option("--engine", type=click.Choice(["sqlite", "duckdb", "spark"]),
              help="What tabulates: sqlite (default; the only one for records), duckdb "
                   "(default with --from; census[duckdb]) or spark (census[spark] and Java 17+; "
                   "local mode, or the cluster of your Spark configuration). Every engine "
                   "writes the same bytes.")
def export_tables(db: Path | None, passphrase_file: Path | None, as_json: bool, level: str,
                  areas: tuple[str, ...], out: Path, fmt: str, tables: str, method: str | None,
                  rho: float | None, ptable: Path | None, override: str | None,
                  not_for_publication: bool, collected: Path | None,
                  engine: str | None) -> None:
    """Write protected tables of closed areas: persons by sex and age band, households by
    size, dwellings by outcome (exact), and metadata.json. Every export is recorded in the
    release ledger; a changed area is not published twice unless overridden."""
    from census.usecases.publish import write
    from census.usecases.publish.plan import Request

    request = Request(level=level, areas=area_codes(areas),
                      tables=tuple(t.strip() for t in tables.split(",") if t.strip()),
                      method=method, fmt=fmt, ptable=ptable, override=override,
                      not_for_publication=not_for_publication, rho=rho, collected=collected,
                      engine=engine)
    with open_store(db, passphrase_file) as store, \
            progress_bar(_("Exporting")) as progress:
        report = write.export(store, request, out, progress)  # an ExportError is a message
    if as_json:
        print_json({"release": report.release, "released_at": report.released_at,
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
        click.echo(ngettext("Release {release}: {units} area written to {out}.",
                            "Release {release}: {units} areas written to {out}.",
                            report.units).format(release=report.release, units=report.units,
                                                 out=report.out))
    for name, n in report.files:
        click.echo(ngettext("  {table}: {rows} row", "  {table}: {rows} rows", n).format(
            table=name, rows=n))
    if report.combined:
        click.echo(ngettext("{n} group of small areas was combined with its parent (see "
                            "metadata.json).", "{n} groups of small areas were combined with "
                            "their parent (see metadata.json).", report.combined).format(
            n=report.combined))
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
def export_ledger(db: Path | None, passphrase_file: Path | None, as_json: bool,
                  limit: int) -> None:
    """The release ledger: every export of tables, newest first."""
    from census.storage.releases import releases

    with open_store(db, passphrase_file) as store:
        rows = releases(store, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo(_("No tables exported yet."))
        return
    table([_("release"), _("when"), _("last written"), _("user"), _("level"), _("method"),
           _("tables"), _("format"), _("areas"), _("override")],
          [[r["id"], r["created_at"][:16].replace("T", " "),
            (r["last_written_at"] or r["created_at"])[:16].replace("T", " ")
            + (f" (×{r['writes']})" if r["writes"] > 1 else ""), r["user"], r["level"],
            r["method"], r["tables"], r["format"], r["units"], r["override"] or ""]
           for r in rows])


@export.command("budget")
@db_options
@json_option
def export_budget(db: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """The differential privacy budget: the survey's dp_rho_total, and the most any area's
    people have spent so far."""
    from census.storage.dp import most_spent

    with open_store(db, passphrase_file) as store:
        total = store.config.disclosure.dp_rho_total
        used = most_spent(store)
    if as_json:
        print_json({"rho_total": total, "rho_spent_max": used,
                    "rho_left": max(0.0, total - used)})
        return
    click.echo(_("Privacy-loss budget (rho, zCDP): {total:g}; spent on the most exposed "
                 "people so far: {used:.4g}; left: {left:.4g}.").format(
        total=total, used=used, left=max(0.0, total - used)))


@export.command("aggregates")
@db_options
@json_option
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder of the aggregates: one folder per district is written (or replaced) "
                   "in it; other districts' folders are left as they are.")
def export_aggregates_cmd(db: Path | None, passphrase_file: Path | None, as_json: bool,
                          out: Path) -> None:
    """Exact counts and cell-key sums of every closed enumeration area, as Parquet, one folder
    per district with a manifest, for the level above to tabulate (supervisor and office).
    Confidential: never publish these files."""
    from census.storage.store import utc_now
    from census.usecases.publish.aggregates import export_aggregates

    with open_store(db, passphrase_file) as store, \
            progress_bar(_("Writing aggregates")) as progress:
        done = export_aggregates(store, out, utc_now(), progress)
    if as_json:
        print_json({"out": str(done.out), "districts": list(done.partitions),
                    "areas": len(done.areas), "rows": done.rows})
        return
    click.echo(_("Aggregates of {areas} written to {out}, in {folders}:").format(
        areas=counted("{n} closed area", "{n} closed areas", len(done.areas)), out=done.out,
        folders=counted("{n} folder", "{n} folders", len(done.partitions))))
    for name in done.partitions:
        click.echo(f"  {name}")
    click.echo(_("They are exact, confidential counts: keep them owner-only and never publish "
                 "them."))


def register(group: click.Group) -> None:
    """Add the `export` group to `group`."""
    group.add_command(export)

