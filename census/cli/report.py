"""`census report`: the daily field report, per enumerator and day (census.usecases.field_reports
defines each figure), as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import click

from census.cli.common import UserError, db_options, now, open_store, print_json
from census.i18n import _, wrapped

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@db_options
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: a header row, then the rows.")
@click.option("--days", type=click.IntRange(1, 366), default=None,
              help="Days in the period, up to --until (default 14).")
@click.option("--since", type=DATE, default=None,
              help="First day of the period (YYYY-MM-DD), instead of --days.")
@click.option("--until", type=DATE, default=None,
              help="Last day of the period (YYYY-MM-DD; default today).")
@click.option("--area", "area_code", help="Only this area (and the areas below it).")
@click.option("--enumerator", help="Only this enumerator's figures.")
@click.option("--tolerance", type=click.IntRange(0, 24 * 60), default=60, show_default=True,
              help="Minutes after an appointment within which a visit keeps it.")
def report(db: Path | None, passphrase_file: Path | None, as_json: bool, as_csv: bool,
           days: int | None, since: datetime | None, until: datetime | None,
           area_code: str | None, enumerator: str | None, tolerance: int) -> None:
    """Daily field report, per enumerator and day: dwellings visited, households completed,
    refusals, visits with no one home, appointments kept and missed, median minutes from the
    first visit to the completed form, forms returned and approved, idle days; and each
    enumerator's total over the period. Times only (paradata), nothing about people. On an
    enumerator's device, the report shows the user's own figures."""
    from census.domain.model import Role
    from census.usecases.field_reports import (
        DEFAULT_DAYS,
        KEYS,
        Period,
        check_day,
        field_report,
        legend,
        text_table,
        title,
    )

    if as_json and as_csv:
        raise UserError(_("Choose one of --json and --csv."))
    if since is not None and days is not None:
        raise UserError(_("Give the period with --since or with --days, not both."))
    at = now()
    last = check_day(until.date(), "--until") if until is not None else at.date()
    period = (Period(check_day(since.date(), "--since"), last) if since is not None
              else Period.ending(last, days or DEFAULT_DAYS))
    with open_store(db, passphrase_file) as store:
        result = field_report(store, at, period, area=area_code, enumerator=enumerator,
                              tolerance=tolerance)
        if store.role is Role.ENUMERATOR:
            enumerator = store.user
    rows = result.rows()
    if as_json:
        print_json([f.as_dict() for f in rows])
        return
    if as_csv:
        text = io.StringIO()
        out = csv.writer(text, lineterminator="\n")
        out.writerow(KEYS)
        for f in rows:
            out.writerow(["" if v is None else v for v in f.as_dict().values()])
        click.echo(text.getvalue(), nl=False)
        return
    click.echo("\n".join(wrapped(title(period, area_code, enumerator))))
    if not rows:
        click.echo(_("No visits, completed forms or decisions in this period."))
        return
    click.echo("")
    for line in text_table(result):
        click.echo(line)
    click.echo("")
    for line in legend():
        click.echo(line)


def register(group: click.Group) -> None:
    """Add report to `group`."""
    group.add_command(report)
