"""`census forms import`: household-count forms keyed elsewhere, as JSON Lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from census.cli.common import (
    CensusGroup,
    db_options,
    json_option,
    now,
    open_store,
    print_json,
    reading,
)
from census.i18n import _


@click.group(cls=CensusGroup)
def forms() -> None:
    """Import household-count forms keyed elsewhere (JSON Lines)."""


@forms.command("import")
@db_options
@json_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--all-or-nothing", is_flag=True,
              help="Store nothing unless every line is valid.")
def forms_import(db: Path | None, passphrase_file: Path | None, as_json: bool, file: Path,
                 all_or_nothing: bool) -> None:
    """Import dwelling records, one JSON object per line (schema in README).

    Every line goes through the rules; an invalid line is reported as FILE:LINE: RULE field:
    message and not stored. Exit status 1 if any line was invalid. Importing the same file
    again changes nothing.
    """
    from census.usecases.forms import import_lines, read_lines

    found: list[dict[str, Any]] = []

    def sink(line: int, problem: Any) -> None:
        if as_json:
            found.append({"line": line, "rule": problem.rule_id, "field": problem.field,
                          "severity": str(problem.severity), "message": problem.message()})
        else:
            click.echo(f"{file}:{line}: {problem}")

    with open_store(db, passphrase_file) as store, reading(file), file.open("rb") as fh:
        report = import_lines(store, read_lines(fh), now=now(), sink=sink,
                              all_or_nothing=all_or_nothing)
    if as_json:
        print_json({**report.as_dict(), "problems_found": found})
    else:
        d, h = report.dwellings, report.households
        click.echo(_("{path}: lines {lines}, invalid {invalid}. Dwellings: added {da}, updated "
                     "{du}, unchanged {dn}, older skipped {do}. Households: added {ha}, updated "
                     "{hu}, unchanged {hn}, older skipped {ho}.").format(
            path=file, lines=report.lines, invalid=report.invalid_lines, da=d.added,
            du=d.updated, dn=d.unchanged, do=d.older, ha=h.added, hu=h.updated, hn=h.unchanged,
            ho=h.older))
        if not report.stored:
            click.echo(_("--all-or-nothing: nothing was stored because of the invalid lines."))
    if report.invalid_lines:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add the `forms` group to `group`."""
    group.add_command(forms)
