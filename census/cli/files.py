"""`census files`: the sealed files census wrote or read that are still on a disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from census.cli.common import db_options, json_option, open_store, print_json, table
from census.i18n import N_, _, ngettext

STATES = {
    "acknowledged": N_("acknowledged by the receiver: remove it"),
    "waiting": N_("not yet acknowledged: keep it"),
    "imported": N_("imported: remove it"),
    "not_imported": N_("for this database, not imported yet"),
    "other": N_("not written or read by this database"),
}


def _holds(summary: str) -> str:
    try:
        counts = json.loads(summary)
    except ValueError:
        return ""
    if not isinstance(counts, dict):
        return ""
    return ", ".join(f"{str(k).replace('_', ' ')} {v}" for k, v in sorted(counts.items())
                     if v)


@click.command("files")
@db_options
@json_option
@click.argument("places", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--remove-done", is_flag=True,
              help="Overwrite and remove the files whose purpose is over (imported here, or "
                   "acknowledged by their receiver).")
def files(db: Path | None, passphrase_file: Path | None, as_json: bool,
          places: tuple[Path, ...], remove_done: bool) -> None:
    """List the sealed files (bundles, assignments, receipts) in PLACES (files or folders,
    three levels deep, hidden folders left out; default: the database's folder, removable
    media and this folder) and what each holds: kind, sender and receiver, when it was made,
    and whether its purpose is over. A file is known by its bytes, so copies are found too."""
    from census.transfer.files import SEARCH_FILES
    from census.usecases.files import default_places, files_on_disk
    from census.usecases.files import remove_done as remove

    with open_store(db, passphrase_file) as store:
        where = list(places) or default_places(store.path)
        listing = files_on_disk(store, where)
        me = store.user
    found = listing.files
    removed = remove(found) if remove_done else []
    rows: list[dict[str, Any]] = []
    for f in found:
        r = f.record
        sender, receiver = ((me, r.peer) if r.direction == "out" else (r.peer, me)) if r \
            else ("", "")
        rows.append({"file": str(f.path), "kind": f.kind, "sender": sender or None,
                     "receiver": receiver or None, "number": r.seq if r else None,
                     "created": r.created if r else None,
                     "holds": _holds(r.summary) if r else None, "state": f.state,
                     "done": f.done, "removed": f.path in removed,
                     "acknowledged_at": r.acked_at if r else None,
                     "imported_at": r.at if r and r.direction == "in" else None})
    if as_json:
        print_json({"places": [str(p) for p in where], "files": rows,
                    "not_searched_to_the_end": [str(p) for p in listing.cut_short]})
        return
    for place in listing.cut_short:
        click.echo(_("{place} holds more than {n} files; only the first {n} were looked at. "
                     "Name the folders to search (e.g. the USB stick).").format(
            place=place, n=SEARCH_FILES), err=True)
    if not rows:
        click.echo(_("No census sealed files in {places}.").format(
            places=", ".join(str(p) for p in where)))
        return
    table([_("file"), _("kind"), _("from"), _("to"), _("created"), _("holds"), _("state")],
          [[r["file"], r["kind"] or "?", r["sender"] or "", r["receiver"] or "",
            (r["created"] or "")[:16], r["holds"] or "",
            _("removed") if r["removed"] else _(STATES[str(r["state"])])] for r in rows])
    done = sum(1 for r in rows if r["done"] and not r["removed"])
    if done:
        click.echo(ngettext(
            "{n} file can go: `census files --remove-done` removes it (then wipe the USB stick "
            "it travelled on).",
            "{n} files can go: `census files --remove-done` removes them (then wipe the USB "
            "stick they travelled on).", done).format(n=done))


def register(group: click.Group) -> None:
    """Add `files` to `group`."""
    group.add_command(files)
