"""`census area import | list | close`: the area register, and closing a finished area."""

from __future__ import annotations

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
def area_list(db: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """List the registered areas."""
    from census.storage.areas import all_areas

    with open_store(db, passphrase_file) as store:
        areas = all_areas(store)
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
    """Close a finished area: its locators (and review notes) are purged for good, and no more
    field records are accepted for it. Refused while work is open in it."""
    from census.domain.model import Role
    from census.storage.areas import get_area
    from census.storage.exchange.closeout import close_area, open_work

    with open_store(db, passphrase_file) as store:
        if store.role is Role.ENUMERATOR:
            raise UserError(_("Closing an area is the supervisor's step; your device deletes "
                              "its forms when it imports the supervisor's receipt."))
        found = get_area(store, code)
        if found is None:
            raise UserError(_("Unknown area {code}; see `census area list`.").format(code=code))
        if found.level != store.config.levels[-1]:
            raise UserError(_("{code} is not an enumeration area (its level is {level}); close "
                              "its enumeration areas one by one.").format(code=code,
                                                                         level=found.level))
        if str(found.status) == "closed":
            click.echo(_("{code} is already closed; nothing changed.").format(code=code))
            return
        missing = open_work(store, code)
        if missing:
            words = {"to_visit": _("dwellings to visit"), "callback": _("callbacks open"),
                     "in_progress": _("forms in progress"),
                     "returned": _("households returned for correction"),
                     "review": _("review items open"), "listed": _("dwellings listed")}
            parts = ", ".join(f"{words[k]}: {v}" for k, v in missing.items())
            raise UserError(_("{code} cannot be closed yet ({parts}). Finish that work first; "
                              "`census review list --area {code}` and `census progress --area "
                              "{code}` show it.").format(code=code, parts=parts))
        done = close_area(store, code, store.user)
    click.echo(_("{code} closed. Purged: locators {n}, notes {m}.").format(
        code=code, n=done.locators, m=done.notes))


def register(group: click.Group) -> None:
    """Add the `area` group to `group`."""
    group.add_command(area)
