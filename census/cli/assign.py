"""`census assign` and `census assignment import`: handing out areas, and taking them on."""

from __future__ import annotations

from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    confirm_fingerprint,
    db_options,
    open_store,
    remove_option,
    removed,
)
from census.i18n import _, ngettext


def split_codes(values: tuple[str, ...]) -> list[str]:
    """Codes given comma-separated, repeated, or both."""
    out: list[str] = []
    for v in values:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


@click.command()
@db_options
@click.option("--enumerator", "--user", "user", required=True,
              help="Code of the user who gets the work (an enumerator, or a supervisor when "
                   "the office assigns).")
@click.option("--areas", "areas", multiple=True, required=True,
              help="Area codes, comma-separated or repeated; an area includes the areas below "
                   "it.")
@click.option("--to", "to", required=True,
              help="That user's key card (`census keys show` on their device), as text or as "
                   "a file.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The assignment file to write.")
@click.option("--replace-key", is_flag=True,
              help="Accept a new key for a user already known with another key.")
def assign(db: Path | None, passphrase_file: Path | None, user: str,
           areas: tuple[str, ...], to: str, out: Path, replace_key: bool) -> None:
    """Assign areas to a user and write the assignment file for them: the areas, your public
    key, and the forms returned for correction (with rule ids and notes)."""
    from census.usecases.assign import assign_areas

    with open_store(db, passphrase_file) as store:
        done = assign_areas(store, user, split_codes(areas), to, out, replace_key)
    if done.new_peer:
        click.echo(_("New user {code} ({role}), key fingerprint {fp}: check it with them.")
                   .format(code=user, role=_(done.card.role), fp=done.card.key.fingerprint()))
    click.echo(_("{path}: {areas} assigned to {code}. Areas in the file: {n}; forms returned "
                 "for correction: {r}.").format(
        path=out, areas=", ".join(done.areas), code=user, n=done.counts.get("areas", 0),
        r=done.counts.get("returned", 0)))


@click.group(cls=CensusGroup)
def assignment() -> None:
    """Assignment files from your supervisor (or, for a supervisor, from the office)."""


@assignment.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--expect-fingerprint", help="Refuse the file unless it is signed by the key "
                                           "with this fingerprint (read to you by the "
                                           "supervisor). The first file needs it, or a "
                                           "confirmation in a terminal.")
@remove_option
def assignment_import(db: Path | None, passphrase_file: Path | None, file: Path,
                      expect_fingerprint: str | None, remove: bool) -> None:
    """Import an assignment file: your areas, your supervisor's key (trusted the first time once
    you confirm its fingerprint, then only that key) and forms returned for correction. The
    office takes no assignment."""
    from census.usecases.assign import import_assignment

    with open_store(db, passphrase_file) as store:
        result = import_assignment(store, file, expect_fingerprint, confirm_fingerprint)
        if remove:
            removed(store, file)
    if result.already is not None:
        click.echo(_("{path}: this assignment was already imported on {at}; nothing changed.")
                   .format(path=file, at=result.already.at))
        return
    if result.new_trust:
        click.echo(_("Now trusting {code} as your supervisor; key fingerprint {fp}. Check it "
                     "with them: later files must carry this key.").format(
            code=result.sender, fp=result.fingerprint))
    r = result.report
    click.echo(_("{path}: areas added {added}, updated {updated}; forms returned for "
                 "correction {returned}.").format(path=file, added=r.areas_added,
                                                   updated=r.areas_updated, returned=r.returned))
    if r.kept_local:
        click.echo(ngettext("{n} returned form had been edited here since it was sent; your "
                            "edits were kept and it is marked returned.",
                            "{n} returned forms had been edited here since they were sent; "
                            "your edits were kept and they are marked returned.",
                            r.kept_local).format(n=r.kept_local))


def register(group: click.Group) -> None:
    """Add assign and the `assignment` group to `group`."""
    group.add_command(assign)
    group.add_command(assignment)
