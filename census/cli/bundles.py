"""`census bundle export | import`: sealed bundles of records between levels."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from census.cli.common import (
    CensusGroup,
    db_options,
    explain,
    json_option,
    now,
    open_store,
    print_json,
    remove_option,
    removed,
)
from census.i18n import _, counted

#: Bundles with at least this many records say that they are being merged (it takes a while).
LARGE = 20_000


@click.group(cls=CensusGroup)
def bundle() -> None:
    """Sealed bundles of records: export to your supervisor, import from your team."""


@bundle.command("export")
@db_options
@json_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The bundle file to write.")
@click.option("--all", "everything", is_flag=True,
              help="Every record, not only those changed since the last receipt.")
def bundle_export(db: Path | None, passphrase_file: Path | None, as_json: bool, out: Path,
                  everything: bool) -> None:
    """Write a bundle for your supervisor: every record changed since the last receipt,
    encrypted to the supervisor's key and signed with yours."""
    from census.usecases.bundles import export_bundle

    with open_store(db, passphrase_file) as store:
        done = export_bundle(store, out, everything)
    if as_json:
        print_json({"file": str(out), "id": done.id, "seq": done.seq,
                    "recipient": done.recipient, **done.counts})
        return
    d, h = done.counts["dwellings"], done.counts["households"]
    click.echo(_("{path}: bundle {seq} for {code}: {dwellings}, {households}.").format(
        path=out, seq=done.seq, code=done.recipient,
        dwellings=counted("{n} dwelling", "{n} dwellings", d),
        households=counted("{n} household", "{n} households", h)))


@bundle.command("import")
@db_options
@json_option
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@remove_option
def bundle_import(db: Path | None, passphrase_file: Path | None, as_json: bool,
                  files: tuple[Path, ...], remove: bool) -> None:
    """Verify, decrypt, check and merge bundles, each in one transaction. A bundle imported
    before changes nothing; a bad one is refused whole with the reason. Exit status 2 if any
    file was refused."""
    from census.domain.errors import CensusError
    from census.storage.exchange.transfers import missing_seqs
    from census.usecases.bundles import import_bundle

    results: list[dict[str, Any]] = []
    refused = 0
    started = now()
    with open_store(db, passphrase_file) as store:
        show_bar = len(files) > 1 and not as_json and sys.stderr.isatty()
        with click.progressbar(files, label=_("Importing bundles"), file=sys.stderr,
                               show_pos=True) if show_bar else nullcontext(files) as items:
            for path in items:
                def tell(dwellings: int, households: int, path: Path = path) -> None:
                    if dwellings + households >= LARGE and not as_json:
                        click.echo(_("{path}: merging {dwellings} and {households}…").format(
                            path=path,
                            dwellings=counted("{n} dwelling", "{n} dwellings", dwellings),
                            households=counted("{n} household", "{n} households",
                                               households)), err=True)

                try:
                    got = import_bundle(store, path, started, tell)
                except Exception as exc:
                    # One bad file is reported and the others still go in; a bug still stops.
                    if isinstance(exc, CensusError):
                        why = str(exc)  # the whole message, naming the file where it matters
                    else:
                        known = explain(exc)
                        if known is None:
                            raise
                        why = f"{path}: {known}"
                    refused += 1
                    results.append({"file": str(path), "refused": why})
                    if not as_json:
                        click.echo(_("Refused: {why} Nothing was changed.").format(why=why),
                                   err=True)
                    continue
                item: dict[str, Any] = {"file": str(path), "id": got.id, "sender": got.sender,
                                        "seq": got.seq, **got.report.as_dict()}
                if got.already is not None:
                    item["already_imported_at"] = got.already.at
                results.append(item)
                if remove:
                    item.update(removed(store, path, quiet=as_json))
                if as_json:
                    continue
                if got.already is not None:
                    click.echo(_("{path}: bundle {seq} from {code} was already imported on {at}; "
                                 "nothing changed.").format(path=path, seq=got.seq,
                                                            code=got.sender, at=got.already.at))
                    continue
                r = got.report
                if r.closed:
                    click.echo(_("{path}: areas closed by {code}: {areas}.").format(
                        path=path, code=got.sender, areas=", ".join(r.closed)))
                click.echo(_("{path}: bundle {seq} from {code}: added {added}, updated "
                             "{updated}, unchanged {unchanged} (older {older}); flagged "
                             "{flagged}, conflicts {conflicts}, duplicates {duplicates}, invalid "
                             "{invalid}.").format(path=path, seq=got.seq, code=got.sender,
                                                  **r.as_dict()))
        held = sum(int(r.get(k, 0)) for r in results
                   for k in ("flagged", "conflicts", "duplicates", "invalid"))
        gaps = {code: missing_seqs(store, code)
                for code in sorted({str(r["sender"]) for r in results if "sender" in r})}
        gaps = {code: seqs for code, seqs in gaps.items() if seqs}
    if as_json:
        print_json({"files": results, "refused": refused, "missing": gaps})
        if refused:
            sys.exit(2)
        return
    for code, seqs in gaps.items():
        shown = ", ".join(map(str, seqs[:10])) + (" …" if len(seqs) > 10 else "")
        click.echo(_("Not received from {code}: bundle number {numbers}. Nothing is lost: that "
                     "device sends everything not yet acknowledged in its next bundle.").format(
            code=code, numbers=shown))
    if held:
        click.echo(_("Records to review: {n}. See `census review list`.").format(n=held))
    if refused:
        sys.exit(2)


def register(group: click.Group) -> None:
    """Add the `bundle` group to `group`."""
    group.add_command(bundle)
