"""`census passphrase change`: re-encrypt a database under a new passphrase."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from census.cli.common import (
    CensusGroup,
    UserError,
    db_options,
    get_passphrase,
    open_store,
    prompt_new_passphrase,
)
from census.i18n import _, ngettext


@click.group(cls=CensusGroup)
def passphrase() -> None:
    """The database's passphrase."""


@passphrase.command("change")
@db_options
@click.option("--new-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the new passphrase from this file's first line (else it is asked "
                   "twice, without echo).")
def change(db: Path | None, passphrase_file: Path | None,
           new_passphrase_file: Path | None) -> None:
    """Re-encrypt the database under a new passphrase (the old one from --passphrase-file,
    CENSUS_PASSPHRASE or a prompt). Close every other census program using it first. If it is
    interrupted, the database opens with exactly one of the two passphrases: try the new one,
    then the old one. Backups made before keep the passphrase they were made with."""
    from census.storage.rekey import change_passphrase
    from census.validation.passphrase import weak_passphrase

    old = get_passphrase(passphrase_file)
    with open_store(db, passphrase_file, old) as store:  # the old passphrase is right
        path, user = store.path, store.user

    def why(phrase: str) -> str | None:
        return weak_passphrase(phrase, [user, path.stem])

    if new_passphrase_file is not None:
        new = get_passphrase(new_passphrase_file)
    elif sys.stdin.isatty():
        new = prompt_new_passphrase(why)
    else:
        raise UserError(_("No new passphrase: use --new-passphrase-file, or run in a terminal "
                          "to be asked for it."))
    weak = why(new)
    if weak is not None:
        raise UserError(_("{why} Nothing was changed.").format(why=weak))
    done = change_passphrase(path, old, new)
    click.echo(ngettext(
        "The passphrase of {path} is changed: it opens with the new passphrase only ({n} "
        "household, audit log intact). Backups made before keep the old one.",
        "The passphrase of {path} is changed: it opens with the new passphrase only ({n} "
        "households, audit log intact). Backups made before keep the old one.",
        done.households).format(path=path, n=done.households))


def register(group: click.Group) -> None:
    """Add the passphrase group to `group`."""
    group.add_command(passphrase)
