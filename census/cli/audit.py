"""`census audit verify`: the append-only, hash-chained audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from census.cli.common import CensusGroup, db_options, json_option, open_store, print_json
from census.i18n import _, ngettext


@click.group(cls=CensusGroup)
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify")
@db_options
@json_option
def audit_verify(db: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """Recompute the audit chain, and check it against the audit heads anchored with other
    levels (sent up in bundles, confirmed back by receipts); exit status 1 if any entry was
    changed, added or removed."""
    with open_store(db, passphrase_file) as store:
        result = store.verify_audit()
    if as_json:
        print_json(result.__dict__)
    elif result.ok:
        click.echo(ngettext("Audit log intact: {n} entry verified.",
                            "Audit log intact: {n} entries verified.",
                            result.entries).format(n=result.entries))
        if result.anchors:
            click.echo(ngettext("It holds the {n} audit head anchored with another level.",
                                "It holds the {n} audit heads anchored with other levels.",
                                result.anchors).format(n=result.anchors))
    else:
        click.echo(_("Audit log BROKEN at entry {seq}: {reason}. {n} entries before it verify."
                     ).format(seq=result.broken_at, reason=result.reason, n=result.entries))
    if not result.ok:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add the `audit` group to `group`."""
    group.add_command(audit)
