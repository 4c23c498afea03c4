"""`census keys | assign | assignment | bundle | receipt | review | area close`: the field
operation's file steps and the supervisor's review, as thin click commands (no Textual)."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from census.cli import (
    CensusGroup,
    UserError,
    _explain,
    _now,
    _print_json,
    _table,
    area,
    cli,
    db_options,
    json_option,
    open_store,
)
from census.i18n import N_, _, ngettext

#: Bundles with at least this many records say that they are being merged (it takes a while).
LARGE = 20_000

#: Words for the codes that list commands show.
WORDS = {"upstream": N_("upstream"), "downstream": N_("downstream"), "trusted": N_("trusted"),
         "revoked": N_("revoked"), "open": N_("open"), "kept": N_("kept"),
         "took_incoming": N_("took incoming"), "approved": N_("approved"),
         "returned": N_("returned"), "dismissed": N_("dismissed"),
         "superseded": N_("superseded")}


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in values:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


# -- keys ---------------------------------------------------------------------------------------


@cli.group(cls=CensusGroup)
def keys() -> None:
    """This database's keys, and the keys of the users it exchanges files with."""


@keys.command("init")
@db_options
def keys_init(db_path: Path | None, passphrase_file: Path | None) -> None:
    """Create this database's key pairs (encryption and signing), kept inside the encrypted
    database. Run once per database."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        card = transfer.init_keys(store)
    click.echo(_("Keys created. Your key card (give it to your supervisor or office):"))
    click.echo(card.to_text())
    click.echo(_("Fingerprint, to read aloud: {fp}").format(fp=card.key.fingerprint()))


@keys.command("show")
@db_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the key card to this file.")
def keys_show(db_path: Path | None, passphrase_file: Path | None, out: Path | None) -> None:
    """Print this database's key card (public keys only) and its fingerprint."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        card = transfer.card(store)
    text = card.to_text()
    if out is not None:
        # Written whole through a new temporary file and a rename, as every file census
        # sends: a link planted at --out is replaced, never written through.
        transfer.write_file(out, (text + "\n").encode("utf-8"))
    click.echo(text)
    click.echo(_("Fingerprint, to read aloud: {fp}").format(fp=card.key.fingerprint()))


@keys.command("list")
@db_options
@json_option
def keys_list(db_path: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """The users this database exchanges files with: role, key fingerprint, status."""
    from census.bundle.seal import PublicKey
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        found = exchange.peers(store)
        rows = [{"code": p.code, "role": str(p.role), "direction": p.direction,
                 "fingerprint": PublicKey(p.enc_key, p.sign_key).fingerprint(),
                 "status": p.status, "added_at": p.added_at, "sent": p.seq_out,
                 "received": p.seq_in, "areas": sorted(exchange.peer_areas(store, p.code))}
                for p in found]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        click.echo(_("No other users yet: assign work with `census assign`, or import your "
                     "assignment with `census assignment import`."))
        return
    _table([_("user"), _("role"), _("direction"), _("fingerprint"), _("status"), _("sent"),
            _("received")],
           [[r["code"], _(str(r["role"])), _(WORDS[str(r["direction"])]), r["fingerprint"],
             _(WORDS[str(r["status"])]), r["sent"], r["received"]] for r in rows])


@keys.command("revoke")
@db_options
@click.argument("user")
def keys_revoke(db_path: Path | None, passphrase_file: Path | None, user: str) -> None:
    """Stop accepting files signed by USER's key (a lost or stolen device)."""
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        exchange.revoke_peer(store, user)
    click.echo(_("Files signed by {code} are no longer accepted.").format(code=user))


@keys.command("forget")
@db_options
@click.argument("user")
def keys_forget(db_path: Path | None, passphrase_file: Path | None, user: str) -> None:
    """Forget USER's key, e.g. your supervisor's after they confirmed a new one; the next
    assignment file from them is then trusted on first use."""
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        exchange.forget_peer(store, user)
    click.echo(_("The key of {code} was forgotten.").format(code=user))


# -- assignment ---------------------------------------------------------------------------------


@cli.command()
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
def assign(db_path: Path | None, passphrase_file: Path | None, user: str,
           areas: tuple[str, ...], to: str, out: Path, replace_key: bool) -> None:
    """Assign areas to a user and write the assignment file for them: the areas, your public
    key, and the forms returned for correction (with rule ids and notes)."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        done = transfer.assign(store, user, _split(areas), to, out, replace_key)
    if done.new_peer:
        click.echo(_("New user {code} ({role}), key fingerprint {fp}: check it with them.")
                   .format(code=user, role=_(done.card.role), fp=done.card.key.fingerprint()))
    click.echo(_("{path}: {areas} assigned to {code}. Areas in the file: {n}; forms returned "
                 "for correction: {r}.").format(
        path=out, areas=", ".join(done.areas), code=user, n=done.counts.get("areas", 0),
        r=done.counts.get("returned", 0)))


@cli.group(cls=CensusGroup)
def assignment() -> None:
    """Assignment files from your supervisor (or, for a supervisor, from the office)."""


@assignment.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--expect-fingerprint", help="Refuse the file unless it is signed by the key "
                                           "with this fingerprint (read to you by the "
                                           "supervisor).")
def assignment_import(db_path: Path | None, passphrase_file: Path | None, file: Path,
                      expect_fingerprint: str | None) -> None:
    """Import an assignment file: your areas, your supervisor's key (trusted on first use) and
    forms returned for correction."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        result = transfer.import_assignment(store, file, expect_fingerprint)
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


# -- bundles ------------------------------------------------------------------------------------


@cli.group(cls=CensusGroup)
def bundle() -> None:
    """Sealed bundles of records: export to your supervisor, import from your team."""


@bundle.command("export")
@db_options
@json_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The bundle file to write.")
@click.option("--all", "everything", is_flag=True,
              help="Every record, not only those changed since the last receipt.")
def bundle_export(db_path: Path | None, passphrase_file: Path | None, as_json: bool, out: Path,
                  everything: bool) -> None:
    """Write a bundle for your supervisor: every record changed since the last receipt,
    encrypted to the supervisor's key and signed with yours."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        done = transfer.export_bundle(store, out, everything)
    if as_json:
        _print_json({"file": str(out), "id": done.id, "seq": done.seq,
                     "recipient": done.recipient, **done.counts})
        return
    click.echo(_("{path}: bundle {seq} for {code}: {d} dwellings, {h} households.").format(
        path=out, seq=done.seq, code=done.recipient, d=done.counts["dwellings"],
        h=done.counts["households"]))


@bundle.command("import")
@db_options
@json_option
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
def bundle_import(db_path: Path | None, passphrase_file: Path | None, as_json: bool,
                  files: tuple[Path, ...]) -> None:
    """Verify, decrypt, check and merge bundles, each in one transaction. A bundle imported
    before changes nothing; a bad one is refused whole with the reason. Exit status 2 if any
    file was refused."""
    from census.bundle import transfer
    from census.storage.connection import StoreError

    results: list[dict[str, Any]] = []
    refused = 0
    now = _now()
    with open_store(db_path, passphrase_file) as store:
        show_bar = len(files) > 1 and not as_json and sys.stderr.isatty()
        with click.progressbar(files, label=_("Importing bundles"), file=sys.stderr,
                               show_pos=True) if show_bar else nullcontext(files) as items:
            for path in items:
                def tell(dwellings: int, households: int, path: Path = path) -> None:
                    if dwellings + households >= LARGE and not as_json:
                        click.echo(_("{path}: merging {d} dwellings and {h} households…").format(
                            path=path, d=dwellings, h=households), err=True)

                try:
                    got = transfer.import_bundle(store, path, now, tell)
                except Exception as exc:
                    # One bad file is reported and the others still go in; a bug still stops.
                    why = str(exc) if isinstance(exc, StoreError) else _explain(exc)
                    if why is None:
                        raise
                    if not isinstance(exc, StoreError):
                        why = f"{path}: {why}"
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
        from census.storage import exchange

        gaps = {code: exchange.missing_seqs(store, code)
                for code in sorted({str(r["sender"]) for r in results if "sender" in r})}
        gaps = {code: seqs for code, seqs in gaps.items() if seqs}
    if as_json:
        _print_json({"files": results, "refused": refused, "missing": gaps})
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


# -- receipts -----------------------------------------------------------------------------------


@cli.group(cls=CensusGroup)
def receipt() -> None:
    """Signed receipts: what the supervisor holds, so a device can delete it."""


@receipt.command("export")
@db_options
@click.option("--enumerator", "--user", "user", required=True,
              help="Code of the user whose records the receipt covers.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The receipt file to write.")
def receipt_export(db_path: Path | None, passphrase_file: Path | None, user: str,
                   out: Path) -> None:
    """Write a signed receipt listing every record held from a user (merged or held for
    review), encrypted to that user's key."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        done = transfer.export_receipt(store, user, out)
    click.echo(_("{path}: receipt for {code}; records acknowledged: {n}.").format(
        path=out, code=user, n=done.counts["records"]))


@receipt.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def receipt_import(db_path: Path | None, passphrase_file: Path | None, file: Path) -> None:
    """Import a receipt from your supervisor. On an enumerator's device, the finished forms it
    covers are deleted for good (securely, WAL truncated); work still open stays."""
    from census.bundle import transfer

    with open_store(db_path, passphrase_file) as store:
        got = transfer.import_receipt(store, file)
    if got.already is not None:
        click.echo(_("{path}: this receipt was already imported on {at}; nothing changed.")
                   .format(path=file, at=got.already.at))
        return
    r = got.report
    click.echo(_("{path}: receipt from {code}; records acknowledged: {n}. Deleted from this "
                 "device: dwellings {d}, households {h}; unfinished work stays.").format(
        path=file, n=r.acknowledged, code=got.sender, d=r.purged_dwellings,
        h=r.purged_households))


# -- review -------------------------------------------------------------------------------------


@cli.group(cls=CensusGroup)
def review() -> None:
    """The review queue: conflicts, duplicates, flagged and invalid records; approve or return
    households."""


def _item_dict(item: Any) -> dict[str, Any]:
    return {"id": item.id, "kind": str(item.kind), "record_type": item.record_type,
            "record_id": item.record_id, "area": item.area, "other_id": item.other_id,
            "revision": item.revision, "source": item.source, "detail": item.detail,
            "status": item.status, "resolution": item.resolution,
            "created_at": item.created_at}


@review.command("list")
@db_options
@json_option
@click.option("--area", "area_code", help="Only this area (and the areas below it).")
@click.option("--kind", type=click.Choice(["conflict", "duplicate", "flagged", "invalid"]),
              help="Only this kind.")
@click.option("--all", "everything", is_flag=True, help="Resolved items too.")
def review_list(db_path: Path | None, passphrase_file: Path | None, as_json: bool,
                area_code: str | None, kind: str | None, everything: bool) -> None:
    """List review items (open ones unless --all)."""
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        items = exchange.review_items(store, status=None if everything else "open",
                                      area=area_code, kind=kind, limit=10_000)
    if as_json:
        _print_json([_item_dict(i) for i in items])
        return
    if not items:
        click.echo(_("Nothing to review."))
        return
    _table([_("id"), _("kind"), _("record"), _("area"), _("from"), _("rev."), _("detail"),
            _("status")],
           [[i.id, _(str(i.kind)), f"{_(i.record_type)} {i.record_id[:13]}…", i.area, i.source,
             i.revision, i.detail, _(WORDS[i.status if i.status == "open"
                                          else str(i.resolution)])]
            for i in items])


def _printable_json(data: Any) -> str:
    """JSON for a terminal: a held record came from another device, and JSON escapes only the
    control characters below U+0020; others (U+0080-U+009F, bidi controls) are escaped too."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == "\n" else json.dumps(c)[1:-1] for c in text)


@review.command("show")
@db_options
@json_option
@click.argument("item_id", type=int)
def review_show(db_path: Path | None, passphrase_file: Path | None, as_json: bool,
                item_id: int) -> None:
    """Show one review item: the held version next to the stored one."""
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        item = exchange.review_item(store, item_id)
        if item is None:
            raise UserError(_("There is no review item {id}; `census review list` shows them.")
                            .format(id=item_id))
        stored = store.record_json(item.record_type, item.other_id or item.record_id)
    data = {**_item_dict(item), "incoming": item.incoming, "stored": stored}
    if as_json:
        _print_json(data)
        return
    click.echo(_("Review item {id}: {kind} — {detail}").format(
        id=item.id, kind=_(str(item.kind)), detail=item.detail))
    click.echo(_("{type} {id} in {area}, revision {rev}, from {source}").format(
        type=_(item.record_type), id=item.record_id, area=item.area, rev=item.revision,
        source=item.source))
    if item.incoming is not None:
        click.echo(_("Held (incoming):"))
        click.echo(_printable_json(item.incoming))
    if stored is not None:
        click.echo(_("Stored:"))
        click.echo(_printable_json(stored))


@review.command("resolve")
@db_options
@click.argument("item_id", type=int)
@click.option("--keep", "choice", flag_value="keep",
              help="Keep the stored record; discard the held one (or dismiss a flag).")
@click.option("--take", "choice", flag_value="take",
              help="Replace the stored record by the held version (conflicts only).")
def review_resolve(db_path: Path | None, passphrase_file: Path | None, item_id: int,
                   choice: str | None) -> None:
    """Resolve a review item: --keep the stored record or --take the held version."""
    from census.storage import exchange

    if choice is None:
        raise UserError(_("Say how to resolve it: --keep or --take."))
    with open_store(db_path, passphrase_file) as store:
        if choice == "keep":
            item = exchange.resolve_keep(store, item_id, store.user)
        else:
            item = exchange.resolve_take(store, item_id, store.user, _now())
    if choice == "keep":
        click.echo(_("Review item {id} resolved: the stored record is kept.").format(id=item.id))
    else:
        click.echo(_("Review item {id} resolved: the held version replaces the stored record.")
                   .format(id=item.id))


@review.command("approve")
@db_options
@click.argument("household_id")
def review_approve(db_path: Path | None, passphrase_file: Path | None, household_id: str) -> None:
    """Approve a complete household (its flags are closed as approved)."""
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        h = exchange.decide_household(store, household_id, "approved", store.user)
    click.echo(_("Household {id} approved (revision {rev}).").format(id=h.id, rev=h.revision))


@review.command("return")
@db_options
@click.argument("household_id")
@click.option("--reason", required=True,
              type=click.Choice(["counts_wrong", "missing_persons", "wrong_dwelling",
                                 "duplicate", "revisit", "other"]),
              help="Why it goes back (a code).")
@click.option("--note", help="A short note for the enumerator (at most 80 characters, no "
                             "names or phone numbers; purged when the area is closed).")
def review_return(db_path: Path | None, passphrase_file: Path | None, household_id: str,
                  reason: str, note: str | None) -> None:
    """Return a household to its enumerator for correction; it travels in the next assignment
    file with its rule ids and your note."""
    from census.domain.model import ReturnReason
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        h = exchange.decide_household(store, household_id, "returned", store.user,
                                      reason=ReturnReason(reason), note=note)
    click.echo(_("Household {id} returned for correction (revision {rev}); it goes out with "
                 "the next `census assign` file.").format(id=h.id, rev=h.revision))


# -- close-out ----------------------------------------------------------------------------------


@area.command("close")
@db_options
@click.argument("code")
def area_close(db_path: Path | None, passphrase_file: Path | None, code: str) -> None:
    """Close a finished area: its locators (and review notes) are purged for good, and no more
    field records are accepted for it. Refused while work is open in it."""
    from census.domain.model import Role
    from census.storage import exchange

    with open_store(db_path, passphrase_file) as store:
        if store.role is Role.ENUMERATOR:
            raise UserError(_("Closing an area is the supervisor's step; your device deletes "
                              "its forms when it imports the supervisor's receipt."))
        found = store.area(code)
        if found is None:
            raise UserError(_("Unknown area {code}; see `census area list`.").format(code=code))
        if found.level != store.config.levels[-1]:
            raise UserError(_("{code} is not an enumeration area (its level is {level}); close "
                              "its enumeration areas one by one.").format(code=code,
                                                                         level=found.level))
        if str(found.status) == "closed":
            click.echo(_("{code} is already closed; nothing changed.").format(code=code))
            return
        missing = exchange.open_work(store, code)
        if missing:
            words = {"to_visit": _("dwellings to visit"), "callback": _("callbacks open"),
                     "in_progress": _("forms in progress"),
                     "returned": _("households returned for correction"),
                     "review": _("review items open"), "listed": _("dwellings listed")}
            parts = ", ".join(f"{words[k]}: {v}" for k, v in missing.items())
            raise UserError(_("{code} cannot be closed yet ({parts}). Finish that work first; "
                              "`census review list --area {code}` and `census progress --area "
                              "{code}` show it.").format(code=code, parts=parts))
        done = exchange.close_area(store, code, store.user)
    click.echo(_("{code} closed. Purged: locators {n}, notes {m}.").format(
        code=code, n=done.locators, m=done.notes))
