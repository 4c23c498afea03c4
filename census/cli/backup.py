"""`census backup` and `census restore`: encrypted, checked copies of a database."""

from __future__ import annotations

from pathlib import Path

import click

from census.cli.common import UserError, db_options, db_path, get_passphrase, open_store
from census.i18n import _, counted


@click.command()
@db_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The backup file to write (a new file; e.g. on a USB stick).")
@click.option("--backup-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Encrypt the backup with the passphrase on this file's first line instead "
                   "of the database's own.")
def backup(db: Path | None, passphrase_file: Path | None, out: Path,
           backup_passphrase_file: Path | None) -> None:
    """Write an encrypted copy of the database to a new file, while other census programs go
    on using it (the copy is one consistent moment), and check it: it opens, SQLite's
    integrity check passes and its audit chain is intact."""
    from census.storage.backup import write_backup
    from census.validation.passphrase import weak_passphrase

    phrase = get_passphrase(passphrase_file)
    with open_store(db, passphrase_file, phrase) as store:
        if backup_passphrase_file is not None:
            phrase = get_passphrase(backup_passphrase_file)
            weak = weak_passphrase(phrase, [store.user, out.stem])
            if weak is not None:
                raise UserError(_("{why} Nothing was written.").format(why=weak))
        done = write_backup(store, out, phrase)
    click.echo(_("Backup written to {path} and checked: {households}, audit log intact "
                 "({entries} entries). It opens with {which}.").format(
        path=done.path, households=counted("{n} household", "{n} households", done.households),
        entries=done.audit_entries,
        which=_("the backup passphrase") if backup_passphrase_file else
        _("the database's passphrase")))


@click.command()
@db_options
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the database at --db if there is one.")
def restore(db: Path | None, passphrase_file: Path | None, file: Path, force: bool) -> None:
    """Check a backup (it opens with the passphrase, integrity, audit chain), then put it at
    --db. Refuses to replace an existing database without --force. Close every census program
    using that database first. The restored database keeps the backup's passphrase."""
    from census.storage.backup import restore_backup

    target = db_path(db)
    done = restore_backup(file, target, get_passphrase(passphrase_file), force)
    click.echo(_("Restored {path} from {file}: {households}, audit log intact "
                 "({entries} entries). If this device sends bundles, its supervisor must accept "
                 "its history again: `census keys trust USER --card CARD --replace-key` at the "
                 "supervisor.").format(path=done.path, file=file, households=counted(
                     "{n} household", "{n} households", done.households),
                                        entries=done.audit_entries))


def register(group: click.Group) -> None:
    """Add backup and restore to `group`."""
    group.add_command(backup)
    group.add_command(restore)
