"""`census review list | show | resolve | pending | approve | return`: the supervisor's review
queue, and the decisions on complete households (named by id or by address,
AREA/STRUCTURE/DWELLING/HOUSEHOLD)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from census.cli.common import (
    WORDS,
    CensusGroup,
    UserError,
    db_options,
    json_option,
    now,
    open_store,
    print_json,
    table,
)
from census.i18n import _, ngettext, wrapped

if TYPE_CHECKING:
    from census.storage.exchange.review import ReviewItem
    from census.storage.pending import PendingHousehold
    from census.storage.store import Store


@click.group(cls=CensusGroup)
def review() -> None:
    """The review queue: conflicts, duplicates, flagged and invalid records; approve or return
    households."""


def item_dict(item: ReviewItem) -> dict[str, Any]:
    """A review item as JSON shows it (without the held record)."""
    return {"id": item.id, "kind": str(item.kind), "record_type": item.record_type,
            "record_id": item.record_id, "area": item.area, "other_id": item.other_id,
            "revision": item.revision, "source": item.source, "detail": item.detail,
            "status": item.status, "resolution": item.resolution,
            "created_at": item.created_at}


def record_name(store: Store, item: ReviewItem) -> str:
    """A review item's record by its address (`household R01-D01-EA001/4/1/1`, `dwelling
    R01-D01-EA001/4/1`), from the stored record or the held version; else the end of its id."""
    from census.storage.pending import record_numbers

    numbers = record_numbers(store, item)
    where = "/".join(str(x) for x in numbers if x is not None) if numbers else None
    return f"{_(item.record_type)} {where or '…' + item.record_id[-8:]}"


def printable(text: str) -> str:
    """Text from another device, safe for a terminal (control characters escaped)."""
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def printable_json(data: Any) -> str:
    """JSON for a terminal: a held record came from another device, and JSON escapes only the
    control characters below U+0020; others (U+0080-U+009F, bidi controls) are escaped too."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == "\n" else json.dumps(c)[1:-1] for c in text)


@review.command("list")
@db_options
@json_option
@click.option("--area", "area_code", help="Only this area (and the areas below it).")
@click.option("--kind", type=click.Choice(["conflict", "duplicate", "flagged", "invalid"]),
              help="Only this kind.")
@click.option("--all", "everything", is_flag=True, help="Resolved items too.")
def review_list(db: Path | None, passphrase_file: Path | None, as_json: bool,
                area_code: str | None, kind: str | None, everything: bool) -> None:
    """List review items (open ones unless --all)."""
    from census.storage.exchange.review import review_items
    from census.storage.pending import pending_count
    from census.usecases.review import decider_refusal

    with open_store(db, passphrase_file) as store:
        items = review_items(store, status=None if everything else "open", area=area_code,
                             kind=kind, limit=10_000)
        # An enumerator decides nothing: no hint to.
        waiting = 0 if as_json or items or decider_refusal(store) else pending_count(
            store, area_code)
        names = {} if as_json else {i.id: printable(record_name(store, i)) for i in items}
    if as_json:
        print_json([item_dict(i) for i in items])
        return
    if not items:
        click.echo(_("Nothing to review."))
        if waiting:
            click.echo(ngettext(
                "{n} complete household awaits a decision: `census review pending` lists it.",
                "{n} complete households await a decision: `census review pending` lists them.",
                waiting).format(n=waiting))
        return
    table([_("id"), _("kind"), _("record"), _("area"), _("from"), _("rev."), _("detail"),
           _("status")],
          [[i.id, _(str(i.kind)), names[i.id], i.area, i.source, i.revision, i.detail,
            _(WORDS[i.status if i.status == "open" else str(i.resolution)])]
           for i in items])


@review.command("show")
@db_options
@json_option
@click.argument("item_id", type=int)
def review_show(db: Path | None, passphrase_file: Path | None, as_json: bool,
                item_id: int) -> None:
    """Show one review item: the held version next to the stored one."""
    from census.storage.exchange.review import review_item
    from census.storage.records import record_json

    with open_store(db, passphrase_file) as store:
        item = review_item(store, item_id)
        if item is None:
            raise UserError(_("There is no review item {id}; `census review list` shows them.")
                            .format(id=item_id))
        stored = record_json(store, item.record_type, item.other_id or item.record_id)
    data = {**item_dict(item), "incoming": item.incoming, "stored": stored}
    if as_json:
        print_json(data)
        return
    click.echo(_("Review item {id}: {kind} — {detail}").format(
        id=item.id, kind=_(str(item.kind)), detail=item.detail))
    click.echo(_("{type} {id} in {area}, revision {rev}, from {source}").format(
        type=_(item.record_type), id=item.record_id, area=item.area, rev=item.revision,
        source=item.source))
    if item.incoming is not None:
        click.echo(_("Held (incoming):"))
        click.echo(printable_json(item.incoming))
    if stored is not None:
        click.echo(_("Stored:"))
        click.echo(printable_json(stored))


@review.command("resolve")
@db_options
@click.argument("item_id", type=int)
@click.option("--keep", "choice", flag_value="keep",
              help="Keep the stored record; discard the held one (or dismiss a flag).")
@click.option("--take", "choice", flag_value="take",
              help="Replace the stored record by the held version (conflicts only).")
def review_resolve(db: Path | None, passphrase_file: Path | None, item_id: int,
                   choice: str | None) -> None:
    """Resolve a review item: --keep the stored record or --take the held version."""
    from census.usecases.review import resolve_keep, resolve_take

    if choice is None:
        raise UserError(_("Say how to resolve it: --keep or --take."))
    with open_store(db, passphrase_file) as store:
        if choice == "keep":
            item = resolve_keep(store, item_id)
        else:
            item = resolve_take(store, item_id, now())
    if choice == "keep":
        click.echo(_("Review item {id} resolved: the stored record is kept.").format(id=item.id))
    else:
        click.echo(_("Review item {id} resolved: the held version replaces the stored record.")
                   .format(id=item.id))


def pending_dict(p: PendingHousehold) -> dict[str, Any]:
    """A household awaiting a decision as JSON shows it."""
    return {"address": p.address, "id": p.household_id, "area": p.area,
            "structure": p.structure, "dwelling": p.dwelling, "household": p.number,
            "enumerator": p.enumerator, "completed_at": p.completed_at,
            "usual_residents": p.usual_residents, "visitors": p.visitors,
            "warnings": p.warnings, "flagged": list(p.flags), "held": list(p.held)}


def _held(p: PendingHousehold) -> str:
    """`⚠ held in review (duplicate)`: something held for review may change the household."""
    if not p.held:
        return "—"
    return _("⚠ held in review ({kinds})").format(kinds=", ".join(_(k) for k in p.held))


def _warnings(p: PendingHousehold) -> str:
    shown = [f"{r} ({_('confirmed')})" for r in sorted(p.warnings)]
    shown += [f"{r} ({_('flagged')})" for r in p.flags if r not in p.warnings]
    return ", ".join(shown) or "—"


@review.command("pending")
@db_options
@json_option
@click.option("--area", "area_code", help="Only this area (and the areas below it).")
@click.option("--enumerator", help="Only the households of this enumerator (who completed "
                                   "them).")
def review_pending(db: Path | None, passphrase_file: Path | None, as_json: bool,
                   area_code: str | None, enumerator: str | None) -> None:
    """List the complete households awaiting a decision (in open areas), with the address that
    `census review approve` and `return` take."""
    from census.storage.areas import get_area
    from census.storage.pending import pending_page
    from census.usecases.review import require_decider

    with open_store(db, passphrase_file) as store:
        require_decider(store)
        if area_code is not None and get_area(store, area_code) is None:
            raise UserError(_("Unknown area {code}; `census area list` shows the areas.")
                            .format(code=area_code))
        rows = pending_page(store, area_code, enumerator, any_enumerator=enumerator is None,
                            limit=1_000_000)
    if as_json:
        print_json([pending_dict(p) for p in rows])
        return
    if not rows:
        click.echo(_("No household awaits a decision."))
        return
    # Within 80 columns: the visitors are in --json (a decision is made on the counts).
    table([_("address"), _("enum."), _("completed"), _("persons"), _("warnings"), _("review")],
          [[p.address, p.enumerator or "—", p.completed, p.usual_residents, _warnings(p),
            _held(p)] for p in rows])
    click.echo(ngettext("{n} household awaits a decision.",
                        "{n} households await a decision.", len(rows)).format(n=len(rows)))
    click.echo("\n".join(wrapped(_(
        "Approve one with `census review approve ADDRESS`, or return it with `census review "
        "return ADDRESS --reason CODE`."))))


@review.command("approve")
@db_options
@click.argument("household")
def review_approve(db: Path | None, passphrase_file: Path | None, household: str) -> None:
    """Approve a complete household (its flags are closed as approved). HOUSEHOLD is its
    address AREA/STRUCTURE/DWELLING/HOUSEHOLD (e.g. R01-D01-EA001/4/1/1, as `census review
    pending` lists it) or its id."""
    from census.usecases.review import decision, find_household, require_decider

    with open_store(db, passphrase_file) as store:
        require_decider(store)
        done = decision(store, find_household(store, household), "approved")
    if not done.changed:
        click.echo(_("Household {id} is already approved (revision {rev}); nothing changed.")
                   .format(id=household, rev=done.household.revision))
        return
    click.echo(_("Household {id} approved (revision {rev}).").format(
        id=household, rev=done.household.revision))


@review.command("return")
@db_options
@click.argument("household")
@click.option("--reason", required=True,
              type=click.Choice(["counts_wrong", "missing_persons", "wrong_dwelling",
                                 "duplicate", "revisit", "other"]),
              help="Why it goes back (a code).")
@click.option("--note", help="A short note for the enumerator (at most 80 characters, no "
                             "names or phone numbers; purged when the area is closed).")
def review_return(db: Path | None, passphrase_file: Path | None, household: str,
                  reason: str, note: str | None) -> None:
    """Return a household to its enumerator for correction; it travels in the next assignment
    file with its rule ids and your note. HOUSEHOLD is its address
    AREA/STRUCTURE/DWELLING/HOUSEHOLD (e.g. R01-D01-EA001/4/1/1) or its id."""
    from census.domain.model import ReturnReason
    from census.usecases.review import decide, find_household, require_decider

    with open_store(db, passphrase_file) as store:
        require_decider(store)
        h = decide(store, find_household(store, household), "returned",
                   reason=ReturnReason(reason), note=note)
    click.echo(_("Household {id} returned for correction (revision {rev}); it goes out with "
                 "the next `census assign` file.").format(id=household, rev=h.revision))


def register(group: click.Group) -> None:
    """Add the `review` group to `group`."""
    group.add_command(review)
