"""`census check`: every rule over the stored data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from census.cli.common import db_options, json_option, now, open_store, print_json
from census.i18n import _


@click.command()
@db_options
@json_option
@click.option("--area", "area_code", help="Check only this area (and the areas below it).")
@click.option("--repair-sums", is_flag=True,
              help="Recount the sums kept for tables where they differ from the households.")
def check(db: Path | None, passphrase_file: Path | None, as_json: bool,
          area_code: str | None, repair_sums: bool) -> None:
    """Run every rule over the stored data, and recount the sums kept per area for tables
    against the households. Exit status 1 if any error is found."""
    from census.usecases import check as checking
    from census.validation.rules import Severity

    found: list[dict[str, Any]] = []
    errors = 0
    with open_store(db, passphrase_file) as store:
        for f in checking.check_stored(store, area_code, now()):  # an unknown area: a message
            p = f.problem
            errors += p.severity is Severity.ERROR
            found.append({"area": f.area, "dwelling": f.dwelling, "rule": p.rule_id,
                          "field": p.field, "severity": str(p.severity),
                          "message": p.message()})
            if not as_json:
                click.echo(f"{f.area} {f.dwelling} {p}".replace("  ", " "))
        if repair_sums:
            repaired = checking.repair_sums(store, area_code)
            wrong = checking.SumsState((), ())
        else:
            repaired, wrong = checking.SumsState((), ()), checking.sums_differ(store, area_code)
    problems = [("", _("The database lacks the triggers that keep the sums for tables up to "
                       "date (its schema was changed outside census?); `census check "
                       "--repair-sums` puts them back and recounts."))] \
        if wrong.triggers_missing else []
    problems += [(area, _("The sums kept for tables differ from a recount of the households "
                          "(the file was changed outside census?); `census check "
                          "--repair-sums` recounts them.")) for area in wrong.areas]
    for area, message in problems:
        errors += 1
        found.append({"area": area, "dwelling": "", "rule": "sums", "field": "",
                      "severity": "error", "message": message})
        if not as_json:
            click.echo(f"{area + ' ' if area else ''}✗ {message}")
    fixed = [*([_("(triggers)")] if repaired.triggers_missing else []), *repaired.areas]
    if fixed and not as_json:
        click.echo(_("Sums recounted for: {areas}.").format(areas=", ".join(fixed)))
    if as_json:
        print_json({"problems": found, "errors": errors,
                    "sums_repaired": list(repaired.areas),
                    "triggers_restored": list(repaired.triggers_missing)})
    else:
        click.echo(_("Problems: {n}; errors: {e}.").format(n=len(found), e=errors))
    if errors:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add check to `group`."""
    group.add_command(check)
