"""`census keys init | show | list | trust | revoke | forget`: this database's keys, and the
keys of the users it exchanges files with."""

from __future__ import annotations

from pathlib import Path

import click

from census.cli.common import (
    WORDS,
    CensusGroup,
    confirm_fingerprint,
    db_options,
    json_option,
    open_store,
    print_json,
    table,
)
from census.i18n import _


@click.group(cls=CensusGroup)
def keys() -> None:
    """This database's keys, and the keys of the users it exchanges files with."""


@keys.command("init")
@db_options
def keys_init(db: Path | None, passphrase_file: Path | None) -> None:
    """Create this database's key pairs (encryption and signing), kept inside the encrypted
    database. Run once per database."""
    from census.usecases.keys import init_keys

    with open_store(db, passphrase_file) as store:
        made = init_keys(store)
    click.echo(_("Keys created. Your key card (give it to your supervisor or office):"))
    click.echo(made.to_text())
    click.echo(_("Fingerprint, to read aloud: {fp}").format(fp=made.key.fingerprint()))


@keys.command("show")
@db_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the key card to this file.")
@click.option("--fingerprint", "only_fingerprint", is_flag=True,
              help="Print the fingerprint alone (for --expect-fingerprint in a script).")
def keys_show(db: Path | None, passphrase_file: Path | None, out: Path | None,
              only_fingerprint: bool = False) -> None:
    """Print this database's key card (public keys only) and its fingerprint."""
    from census.transfer.files import write_file
    from census.usecases.keys import card

    with open_store(db, passphrase_file) as store:
        mine = card(store)
    text = mine.to_text()
    if out is not None:
        # Written whole through a new temporary file and a rename, as every file census
        # sends: a link planted at --out is replaced, never written through.
        write_file(out, (text + "\n").encode("utf-8"))
    if only_fingerprint:
        click.echo(mine.key.fingerprint())
        return
    click.echo(text)
    click.echo(_("Fingerprint, to read aloud: {fp}").format(fp=mine.key.fingerprint()))


@keys.command("trust")
@db_options
@click.argument("user")
@click.option("--card", "card_text", required=True,
              help="The user's key card (`census keys show` on their device), as text or as a "
                   "file.")
@click.option("--replace-key", is_flag=True,
              help="Replace the key known for USER (a new device), or trust it again after a "
                   "revocation.")
@click.option("--expect-fingerprint", help="The card's fingerprint as the user reads it to you; "
                                           "without it you are asked in a terminal.")
def keys_trust(db: Path | None, passphrase_file: Path | None, user: str, card_text: str,
               replace_key: bool, expect_fingerprint: str | None) -> None:
    """Trust USER's key again after `census keys revoke`, or their new key (a new device, or
    your supervisor's new key): the only way, with --replace-key, once the fingerprint is
    checked with them. Logged in the audit; their files numbered before are set aside."""
    from census.usecases.keys import trust_key

    with open_store(db, passphrase_file) as store:
        done = trust_key(store, user, card_text, replace_key=replace_key,
                         expect_fingerprint=expect_fingerprint, confirm=confirm_fingerprint)
    if not done.changed:
        click.echo(_("The key of {code} is trusted already; nothing changed.").format(
            code=user))
        return
    click.echo(_("Files signed by {code} with the key {fp} are accepted from now on.").format(
        code=user, fp=done.fingerprint))


@keys.command("list")
@db_options
@json_option
def keys_list(db: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """The users this database exchanges files with: role, key fingerprint, status."""
    from census.storage.exchange.peers import peer_areas, peers
    from census.transfer.keys import PublicKey

    with open_store(db, passphrase_file) as store:
        found = peers(store)
        rows = [{"code": p.code, "role": str(p.role), "direction": p.direction,
                 "fingerprint": PublicKey(p.enc_key, p.sign_key).fingerprint(),
                 "status": p.status, "added_at": p.added_at, "sent": p.seq_out,
                 "received": p.seq_in, "areas": sorted(peer_areas(store, p.code))}
                for p in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo(_("No other users yet: assign work with `census assign`, or import your "
                     "assignment with `census assignment import`."))
        return
    table([_("user"), _("role"), _("direction"), _("fingerprint"), _("status"), _("sent"),
           _("received")],
          [[r["code"], _(str(r["role"])), _(WORDS[str(r["direction"])]), r["fingerprint"],
            _(WORDS[str(r["status"])]), r["sent"], r["received"]] for r in rows])


@keys.command("revoke")
@db_options
@click.argument("user")
def keys_revoke(db: Path | None, passphrase_file: Path | None, user: str) -> None:
    """Stop accepting files signed by USER's key (a lost or stolen device)."""
    from census.storage.exchange.peers import revoke_peer

    with open_store(db, passphrase_file) as store:
        revoke_peer(store, user)
    click.echo(_("Files signed by {code} are no longer accepted.").format(code=user))


@keys.command("forget")
@db_options
@click.argument("user")
def keys_forget(db: Path | None, passphrase_file: Path | None, user: str) -> None:
    """Forget USER's key, e.g. your supervisor's after they confirmed a new one; the next
    assignment file from them is then trusted on first use."""
    from census.storage.exchange.peers import forget_peer

    with open_store(db, passphrase_file) as store:
        forget_peer(store, user)
    click.echo(_("The key of {code} was forgotten.").format(code=user))


def register(group: click.Group) -> None:
    """Add the `keys` group to `group`."""
    group.add_command(keys)
