"""`census area import | list | close`: the area register, and closing a finished area."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    UserError,
    db_options,
    json_option,
    open_store,
    print_json,
    reading,
    table,
)
from census.i18n import _, ngettext


@click.group(cls=CensusGroup)
def area() -> None:
    """Register and list areas (regions, districts, enumeration areas)."""


@area.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def area_import(db: Path | None, passphrase_file: Path | None, file: Path) -> None:
    """Add or update areas from a CSV file with the columns
    code,parent,level,name,expected_dwellings,enumerator. All or nothing."""
    from census.formats.area_csv import read_areas
    from census.storage.areas import area_levels, import_areas

    with open_store(db, passphrase_file) as store:
        with reading(file), file.open(encoding="utf-8", newline="") as fh:
            areas, problems = read_areas(fh, store.config, area_levels(store))
        if problems:
            for p in problems:
                click.echo(p.render(str(file)))
            raise UserError(ngettext("{n} problem in {path}; no area was imported.",
                                     "{n} problems in {path}; no area was imported.",
                                     len(problems)).format(n=len(problems), path=file))
        added, updated, unchanged = import_areas(store, areas, store.user)
    click.echo(_("{path}: added {added}, updated {updated}, unchanged {unchanged}.").format(
        path=file, added=added, updated=updated, unchanged=unchanged))


@area.command("list")
@db_options
@json_option
@click.option("--csv", "as_csv", is_flag=True,
              help="Print the register as CSV, the columns `census area import` reads (to hand "
                   "it to another database, e.g. the office's).")
def area_list(db: Path | None, passphrase_file: Path | None, as_json: bool,
              as_csv: bool) -> None:
    """List the registered areas."""
    from census.storage.areas import all_areas

    with open_store(db, passphrase_file) as store:
        areas = all_areas(store)
    if as_csv:
        from census.formats.area_csv import write_areas

        click.echo(write_areas(areas), nl=False)
        return
    if as_json:
        print_json([{"code": a.code, "parent": a.parent, "level": a.level, "name": a.name,
                     "expected_dwellings": a.expected_dwellings, "enumerator": a.enumerator,
                     "status": str(a.status)} for a in areas])
        return
    if not areas:
        click.echo(_("No areas yet; import them with `census area import FILE.csv`."))
        return
    table([_("code"), _("level"), _("name"), _("parent"), _("expected"), _("enumerator"),
           _("status")],
          [[a.code, a.level, a.name, a.parent, a.expected_dwellings, a.enumerator, a.status]
           for a in areas])


@area.command("close")
@db_options
@click.argument("code")
def area_close(db: Path | None, passphrase_file: Path | None, code: str) -> None:
    """Close a finished area: its locators (and review notes) are purged for good, and nothing
    more is written in it until it is reopened (`census area reopen`). Refused while work is
    open in it. Supervisor or office."""
    from census.usecases.areas import close_area
    from census.usecases.files import default_places, files_on_disk

    with open_store(db, passphrase_file) as store:
        done = close_area(store, code)
        lingering = []
        if done.report is not None:
            with suppress(OSError):  # advice only: the area is closed whatever the disk says
                lingering = [f for f in files_on_disk(store, default_places(store.path)).files
                             if f.record is not None]
    if done.report is None:
        click.echo(_("{code} is already closed; nothing changed.").format(code=code))
        return
    click.echo(_("{code} closed. Purged: locators {n}, notes {m}.").format(
        code=code, n=done.report.locators, m=done.report.notes))
    if done.pending:
        click.echo(_("The purge is pending: another program is reading this database, so its "
                     "file still holds the locators. It is finished the next time census opens "
                     "it (`census status`)."))
    if lingering:
        click.echo(ngettext(
            "{n} sealed file this database wrote or read is still on disk and may hold the "
            "area's locators; see `census files` and remove it when its purpose is over.",
            "{n} sealed files this database wrote or read are still on disk and may hold the "
            "area's locators; see `census files` and remove them when their purpose is over.",
            len(lingering)).format(n=len(lingering)))


@area.command("reopen")
@db_options
@click.argument("code")
@click.option("--reason", required=True,
              type=click.Choice(["late_forms", "correction", "boundary_change"]),
              help="Why it opens again (a code; logged, and sent up with the area).")
def area_reopen(db: Path | None, passphrase_file: Path | None, code: str, reason: str) -> None:
    """Open a closed area again, the only way to write in it once closed: late forms, a
    correction, a change of boundary. Logged with the reason and sent up in the next bundle;
    the area is left out of published tables until it is closed again. Supervisor or office."""
    from census.domain.model import ReopenReason
    from census.usecases.areas import reopen

    with open_store(db, passphrase_file) as store:
        changed = reopen(store, code, ReopenReason(reason))
    if not changed:
        click.echo(_("{code} is open; nothing changed.").format(code=code))
        return
    click.echo(_("{code} is open again ({reason}); close it again when its work is done.")
               .format(code=code, reason=reason))


def register(group: click.Group) -> None:
    """Add the `area` group to `group`."""
    group.add_command(area)
