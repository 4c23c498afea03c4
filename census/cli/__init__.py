"""The `census` command line: a thin click layer over the library (never imports Textual).

Heavy modules (the encrypted store, cryptography) are imported inside the commands that need
them, so `census --help` starts as fast as click itself. Every failure becomes a message that
says what went wrong and how to fix it, with a non-zero exit status; no traceback reaches a user.

Each module of this package holds one command group (or a few setup commands) and exposes
`register(group)`, which adds its commands to the group it is handed; none imports this one.
"""

from __future__ import annotations

import os
import sys

import click

from census.cli import (
    areas,
    assign,
    audit,
    backup,
    bundles,
    check,
    export,
    files,
    forms,
    keying,
    keys,
    passphrase,
    progress,
    ptable,
    receipts,
    report,
    review,
    setup,
    verify,
)
from census.cli.common import CensusGroup
from census.i18n import set_language


@click.group(cls=CensusGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", help="Language of messages (en, fr, es, zh_CN); default: the locale.")
@click.version_option(package_name="census", message="census %(version)s")
@click.pass_context
def cli(ctx: click.Context, lang: str | None) -> None:
    """census: enter household counts door to door, merge them, publish protected tables.

    It counts people and never records who they are. Run `census demo` to make a demo database,
    then `census` to open it. Every command has --help.
    """
    set_language(lang)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(setup.tui)
        else:
            ctx.invoke(setup.status)


setup.register(cli)
areas.register(cli)
forms.register(cli)
check.register(cli)
progress.register(cli)
report.register(cli)
audit.register(cli)
backup.register(cli)
passphrase.register(cli)
keys.register(cli)
assign.register(cli)
bundles.register(cli)
receipts.register(cli)
review.register(cli)
export.register(cli)
ptable.register(cli)
files.register(cli)
verify.register(cli)
keying.register(cli)


def main() -> None:
    """Console entry point. Every file census makes (databases, backups, key cards, sealed
    files, exports) is for its owner only: the umask is set before anything is written."""
    os.umask(0o077)
    cli.main(prog_name="census")
