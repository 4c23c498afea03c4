"""`census receipt export | import`: what the supervisor holds, so a device can delete it."""

from __future__ import annotations

from pathlib import Path

import click

from census.cli.common import CensusGroup, db_options, open_store, remove_option, removed
from census.i18n import _


@click.group(cls=CensusGroup)
def receipt() -> None:
    """Signed receipts: what the supervisor holds, so a device can delete it."""


@receipt.command("export")
@db_options
@click.option("--enumerator", "--user", "user", required=True,
              help="Code of the user whose records the receipt covers.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The receipt file to write.")
def receipt_export(db: Path | None, passphrase_file: Path | None, user: str,
                   out: Path) -> None:
    """Write a signed receipt listing every record held from a user (merged or held for
    review), encrypted to that user's key."""
    from census.usecases.receipts import export_receipt

    with open_store(db, passphrase_file) as store:
        done = export_receipt(store, user, out)
    click.echo(_("{path}: receipt for {code}; records acknowledged: {n}.").format(
        path=out, code=user, n=done.counts["records"]))


@receipt.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@remove_option
def receipt_import(db: Path | None, passphrase_file: Path | None, file: Path,
                   remove: bool) -> None:
    """Import a receipt from your supervisor. On an enumerator's device, the finished forms it
    covers are deleted for good (securely, WAL truncated); work still open stays."""
    from census.usecases.receipts import import_receipt

    with open_store(db, passphrase_file) as store:
        got = import_receipt(store, file)
        if remove:
            removed(store, file)
    if got.already is not None:
        click.echo(_("{path}: this receipt was already imported on {at}; nothing changed.")
                   .format(path=file, at=got.already.at))
        return
    r = got.report
    if got.pending:
        click.echo(_("{path}: receipt from {code}; records acknowledged: {n}. Removed from the "
                     "forms: dwellings {d}, households {h}; the purge is pending: another "
                     "program is reading this database, so the file still holds them. It is "
                     "finished the next time census opens it (`census status`); until then do "
                     "not copy the file.").format(
            path=file, n=r.acknowledged, code=got.sender, d=r.purged_dwellings,
            h=r.purged_households))
        return
    click.echo(_("{path}: receipt from {code}; records acknowledged: {n}. Deleted from this "
                 "device: dwellings {d}, households {h}; unfinished work stays.").format(
        path=file, n=r.acknowledged, code=got.sender, d=r.purged_dwellings,
        h=r.purged_households))


def register(group: click.Group) -> None:
    """Add the `receipt` group to `group`."""
    group.add_command(receipt)
