"""The supervisor's review and decisions: approve a household or return it for correction, and
resolve what the review queue holds (keep the stored record, or take the incoming version).
Each asks the lifecycle policy (`census.domain.lifecycle`) first, as every write path does.
A household is named by its id or by its address, AREA/STRUCTURE/DWELLING/HOUSEHOLD
(`find_household`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from census.domain.config import SurveyConfig
from census.domain.errors import CensusError
from census.domain.ids import is_code, is_id
from census.domain.keying import NUMBER_LIMITS
from census.domain.lifecycle import Act, Refusal
from census.domain.model import (
    NOTE_LIMIT,
    Dwelling,
    Household,
    HouseholdStatus,
    Resolution,
    ReturnReason,
    ReviewKind,
    Role,
)
from census.formats.record_json import dwelling_digest, dwelling_from_json, household_digest
from census.i18n import Quoted, _
from census.storage.audit import Chain
from census.storage.exchange.decisions import record_decision
from census.storage.exchange.review import (
    ReviewItem,
    close_item,
    dwelling_held_with,
    open_item,
)
from census.storage.pending import at_address, household_address
from census.storage.records import (
    DwellingRow,
    HouseholdRow,
    Origin,
    dwelling_versions,
    household_versions,
    load_dwelling,
    load_household,
    write_records,
)
from census.storage.store import Store, utc_now
from census.usecases.sources import local_refusal, refusal_text
from census.validation.engine import personal_data


class DecisionError(CensusError):
    """A decision or resolution that cannot be taken; nothing was changed."""


@dataclass(frozen=True)
class Decided:
    """What a decision did: the household as it is now, and whether anything changed (False:
    it was approved already, and approving it again does nothing)."""

    household: Household
    changed: bool = True


def decider_refusal(store: Store) -> str | None:
    """Why this database's user takes no decision on households, or None when it may: approving,
    returning and the list of households awaiting a decision are a supervisor's or the office's
    steps (the lifecycle policy's "a decision of a supervisor or the office")."""
    if store.role is not Role.ENUMERATOR:
        return None
    return _("Deciding on households (approving, returning, listing those awaiting a decision) "
             "is a supervisor's or the office's step; this is the database of enumerator "
             "{user}. Your supervisor decides once your households reach them.").format(
        user=store.user)


def require_decider(store: Store) -> None:
    """Refuse, up front, a decision step on a database whose user takes none."""
    why = decider_refusal(store)
    if why is not None:
        raise DecisionError(why)


def changes(action: str, status: HouseholdStatus) -> bool:
    """True when the decision `action` ('approved' or 'returned') changes a household in
    `status`: a complete household is approved or returned, an approved one returned. Anything
    else changes nothing: approving an approved household does nothing (and says so); returning
    a returned one (it comes back when its enumerator completes it again) or a draft (still
    being entered) is refused. `decide` keeps to it; the app shows a decision's key only
    when it applies."""
    return status is HouseholdStatus.COMPLETE or (
        action == "returned" and status is HouseholdStatus.APPROVED)


def decide(store: Store, household_id: str, action: str, *, reason: ReturnReason | None = None,
           note: str | None = None) -> Household:
    """Approve a household, or return it for correction (see `decision`); the household as it
    is after."""
    return decision(store, household_id, action, reason=reason, note=note).household


def decision(store: Store, household_id: str, action: str, *,
             reason: ReturnReason | None = None, note: str | None = None) -> Decided:
    """Approve a household, or return it for correction with a coded reason and an optional
    short note (checked like a locator: no names, phone numbers or e-mail addresses). The
    decision is a new revision made here; a return travels in the next assignment file.
    Approving an approved household changes nothing (`Decided.changed` is False); returning a
    returned household or a draft is refused (`changes`)."""
    require_decider(store)
    if note is not None:
        note = " ".join(note.split()) or None
    if note is not None:
        if len(note) > NOTE_LIMIT:
            raise DecisionError(_("The note has {n} characters; at most {max} are kept. Shorten "
                                  "it.").format(n=len(note), max=NOTE_LIMIT))
        why = personal_data(note)
        if why is not None:
            raise DecisionError(_("The note looks like it holds personal data ({why}); notes "
                                  "may not name or identify anyone. Rewrite it.").format(
                why=_(why)))
    with store.write() as chain:
        found = load_household(store, household_id)
        if found is None:
            raise DecisionError(_("There is no household {id} here.").format(id=household_id))
        dwelling_id, h = found
        named = household_address(store, h.id) or household_id
        if action == "approved":
            status = HouseholdStatus.APPROVED
        else:
            if reason is None:
                raise DecisionError(_("Say why the household goes back: --reason with one of "
                                      "{codes}.").format(codes=", ".join(ReturnReason)))
            status = HouseholdStatus.RETURNED
        area = _area_of(store, dwelling_id)
        no = local_refusal(store, area, Act.DECIDE, h.status, status)
        if no is Refusal.NOT_COMPLETE:
            raise DecisionError(_("Household {id} is {status}; only a complete household can "
                                  "be approved.").format(id=named, status=_(str(h.status))))
        if no is not None:
            raise DecisionError(refusal_text(store, no, area, named, status))
        if not changes(action, h.status):
            if h.status is HouseholdStatus.APPROVED and status is HouseholdStatus.APPROVED:
                return Decided(h, changed=False)
            if h.status is HouseholdStatus.RETURNED:
                raise DecisionError(_(
                    "Household {household} is already returned for correction; it comes back "
                    "when its enumerator completes it again. Nothing changed.").format(
                    household=named))
            raise DecisionError(_(
                "Household {household} is a draft; only a complete or approved household can "
                "be returned. Nothing changed.").format(household=named))
        return Decided(record_decision(store, chain, dwelling_id, h, status, reason, note,
                                       store.user))


ADDRESS_EXAMPLE = "R01-D01-EA001/4/1/1"


def find_household(store: Store, ref: str) -> str:
    """The id of the household `ref` names: a household id, or an address
    AREA/STRUCTURE/DWELLING/HOUSEHOLD (`R01-D01-EA001/4/1/1`: household 1 of dwelling 4/1 in
    area R01-D01-EA001). Nothing is changed; a reference that names no household is refused
    with what was wrong, where, and how to write it."""
    ref = ref.strip()
    if "/" not in ref:
        if is_id(ref):
            return ref
        raise DecisionError(_(
            "{ref!r} is neither a household id nor an address. Write the address as "
            "AREA/STRUCTURE/DWELLING/HOUSEHOLD, e.g. {example}; `census review pending` lists "
            "the households awaiting a decision with their addresses.").format(
            ref=Quoted(ref), example=ADDRESS_EXAMPLE))
    parts = ref.split("/")
    if len(parts) != 4:
        raise DecisionError(_(
            "{ref!r} has {n} parts; a household address has four: AREA/STRUCTURE/DWELLING/"
            "HOUSEHOLD, e.g. {example}.").format(ref=Quoted(ref), n=len(parts),
                                                 example=ADDRESS_EXAMPLE))
    area = parts[0]
    if not is_code(area):
        raise DecisionError(_(
            "{ref!r}: {area!r} is not an area code (letters, digits, - and _); the address "
            "begins with the area, e.g. {example}.").format(ref=Quoted(ref), area=Quoted(area),
                                                            example=ADDRESS_EXAMPLE))
    names = (_("structure"), _("dwelling"), _("household"))
    numbers = []
    for name, text, top in zip(names, parts[1:], NUMBER_LIMITS, strict=True):
        # The length first: int() of thousands of digits is refused by Python itself.
        value = text.lstrip("0") or "0"
        digits = text.isascii() and text.isdigit() and len(value) <= len(str(top))
        if not digits or not 1 <= int(value) <= top:
            raise DecisionError(_(
                "{ref!r}: the {what} number {value!r} is not a number from 1 to {max}; write "
                "AREA/STRUCTURE/DWELLING/HOUSEHOLD, e.g. {example}.").format(
                ref=Quoted(ref), what=name, value=Quoted(text), max=top,
                example=ADDRESS_EXAMPLE))
        numbers.append(int(value))
    structure, dwelling, number = numbers
    found = at_address(store, area, structure, dwelling, number)
    if not found.area_known:
        raise DecisionError(_("{ref!r}: there is no area {area} here; `census area list` shows "
                              "the areas.").format(ref=Quoted(ref), area=area))
    if found.dwelling_id is None:
        raise DecisionError(_(
            "{ref!r}: area {area} has no dwelling {s}/{d}; `census review pending --area "
            "{area}` lists the households awaiting a decision there.").format(
            ref=Quoted(ref), area=area, s=structure, d=dwelling))
    if found.household_id is None:
        there = ", ".join(str(n) for n in found.numbers) or "—"
        raise DecisionError(_(
            "{ref!r}: dwelling {s}/{d} of {area} has no household {h} (its households: "
            "{there}).").format(ref=Quoted(ref), s=structure, d=dwelling, area=area,
                                h=number, there=there))
    return found.household_id


INTERNAL = ("base", "updated_at", "updated_by", "seed")
"""Fields a held version carries for the merge, not entered by anyone."""


def held_dwelling(incoming: dict[str, Any] | None, cfg: SurveyConfig) -> Dwelling | None:
    """The dwelling (listing line and visits) a review item holds, or None when it holds
    none or it cannot be read."""
    if not incoming or "row" in incoming:
        return None
    d, _problems = dwelling_from_json({k: v for k, v in incoming.items() if k not in INTERNAL},
                                      cfg)
    return d


def held_household(incoming: dict[str, Any] | None, cfg: SurveyConfig
                   ) -> tuple[str, Household] | None:
    """(dwelling id, household) of the household a review item holds, or None when it holds
    none or it cannot be read."""
    if not incoming or "row" in incoming or not isinstance(incoming.get("dwelling"), str):
        return None
    data = {k: v for k, v in incoming.items() if k not in (*INTERNAL, "dwelling")}
    wrapper = {"id": incoming["dwelling"], "area": "A", "structure": 1, "dwelling": 1,
               "households": [data]}
    d, _problems = dwelling_from_json(wrapper, cfg)
    if d is None or not d.households:
        return None
    return incoming["dwelling"], d.households[0]


def _area_of(store: Store, dwelling_id: str) -> str:
    d = load_dwelling(store, dwelling_id, with_households=False)
    return d.area if d is not None else ""


def resolve_keep(store: Store, item_id: int) -> ReviewItem:
    """Keep the stored record; the held incoming version is discarded (nothing is written, so
    this is allowed in a closed area too). For a held dwelling, the households held with it
    (they came with it) are closed the same way."""
    with store.write() as chain:
        item = open_item(store, item_id)
        close_item(store, chain, item,
                   Resolution.DISMISSED if item.kind in (ReviewKind.FLAGGED, ReviewKind.INVALID)
                   else Resolution.KEPT, store.user)
        if item.record_type == "dwelling":
            for held in dwelling_held_with(store, item.record_id):
                close_item(store, chain, held, Resolution.KEPT, store.user)
    return item


def resolve_take(store: Store, item_id: int, now: datetime) -> ReviewItem:
    """Replace the stored record by the held incoming version of a conflict. The result is a
    new revision made here, so it travels up as a normal update; the policy decides as for any
    save of this database's user (a held 'approved' is no decision, a closed area takes
    nothing)."""
    with store.write() as chain:
        item = open_item(store, item_id)
        if item.kind is not ReviewKind.CONFLICT or item.incoming is None:
            raise DecisionError(_("Only a conflict can take the incoming version; review item "
                                  "{id} is of kind {kind}. Keep the stored record; a duplicate "
                                  "listing stays on its device until it is renumbered there.")
                                .format(id=item_id, kind=item.kind))
        _take(store, chain, item)
        close_item(store, chain, item, Resolution.TOOK_INCOMING, store.user)
    return item


def _take(store: Store, chain: Chain, item: ReviewItem) -> None:
    cfg = store.config
    data = dict(item.incoming or {})
    stamp = utc_now()
    who = store.user
    # The taken version is a new revision made here: no source, no base; its audit entry names
    # the review item.
    taken = Origin(reason=f"review {item.id}", fields=False, keep_base=False)
    if item.record_type == "dwelling":
        for k in ("base", "updated_at"):
            data.pop(k, None)
        d, problems = dwelling_from_json(data, cfg)
        if d is None:
            raise DecisionError(_("The held version cannot be read: {problem}").format(
                problem=problems[0] if problems else "?"))
        stored = dwelling_versions(store, [d.id]).get(d.id)
        for area in sorted({d.area, stored.area if stored else d.area}):
            _allowed(store, item, area, Act.RECORD)
        d = replace(d, revision=max(d.revision, stored.held.revision if stored else 0) + 1)
        write_records(store, chain, [DwellingRow(d, dwelling_digest(d, cfg), stored is None, who)],
                      [], taken, stamp)
        return
    dwelling_id = data.pop("dwelling")
    if load_dwelling(store, dwelling_id, with_households=False) is None:
        raise DecisionError(_("The held household's dwelling is not stored here (it is held for "
                              "review too); resolve the dwelling first."))
    seed = bytes.fromhex(data.pop("seed"))
    for k in ("base", "updated_at", "updated_by"):
        data.pop(k, None)
    wrapper = {"id": dwelling_id, "area": item.area, "structure": 1, "dwelling": 1,
               "households": [data]}
    parsed, problems = dwelling_from_json(wrapper, cfg)
    if parsed is None or not parsed.households:
        raise DecisionError(_("The held version cannot be read: {problem}").format(
            problem=problems[0] if problems else "?"))
    h = parsed.households[0]
    s = household_versions(store, [h.id]).get(h.id)
    if s is not None and s.dwelling_id != dwelling_id:
        raise DecisionError(_("The held version belongs to another dwelling; keep the stored "
                              "one and return it for correction instead."))
    _allowed(store, item, _area_of(store, dwelling_id), Act.RESOLVE,
             s.status if s else None, h.status)
    h = replace(h, seed=s.seed if s else seed,
                revision=max(h.revision, s.held.revision if s else 0) + 1)
    write_records(store, chain, [], [HouseholdRow(
        h, dwelling_id, household_digest(h, cfg, dwelling_id), s is None, who,
        updated_by=who)], taken, stamp)


def _allowed(store: Store, item: ReviewItem, area: str, act: Act,
             before: HouseholdStatus | None = None, after: HouseholdStatus | None = None
             ) -> None:
    no = local_refusal(store, area, act, before, after)
    if no is Refusal.AREA_CLOSED:
        raise DecisionError(_("Review item {id} arrived after its area was closed; it can only "
                              "be kept out (resolve it with --keep).").format(id=item.id))
    if no is not None:
        raise DecisionError(_("Review item {id} cannot be taken: {why}").format(
            id=item.id, why=refusal_text(store, no, area, status=after)))
