"""The one intake: every dwelling and household that enters the store is decided here, whatever
its way in (a save in the app, `census forms import`, the demo, a bundle from another device,
the forms an assignment returns for correction). For each incoming record one path takes:

1. the revision verdict (`census.domain.revisions.verdict`): new, update, unchanged, older or
   conflict; importing the same file twice changes nothing, an older revision never overwrites
   a newer one;
2. the address checks: a dwelling's numbers (area, structure, dwelling) and a household's number
   in its dwelling belong to one record only, a household never moves to another dwelling, and
   a household's dwelling must be known;
3. the rules (`census.validation.engine`) on the dwelling as it will stand;
4. what is written, by the one writer (`census.storage.records.write_records`).

What differs by source is the `Source`, a parameter of this one path: this database's own user
(app, forms, demo) is refused with the rule's message and nothing of the record is stored;
another device's record (bundle) is held for review, or written and flagged when only the rules
object, never dropped; an upstream's returned form refuses the whole file when it does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from census.domain.config import SurveyConfig
from census.domain.lifecycle import DECIDED, Act, Refusal, may
from census.domain.lifecycle import Area as PolicyArea
from census.domain.model import (
    Area,
    Dwelling,
    Household,
    HouseholdStatus,
    ReviewKind,
    Role,
)
from census.domain.revisions import Base, Held, Verdict, verdict
from census.formats.payload import IncomingDwelling, IncomingHousehold, Records
from census.formats.record_json import (
    dwelling_text,
    dwelling_to_json,
    household_text,
    household_to_json,
    with_seed,
)
from census.i18n import _
from census.storage.areas import area_facts, area_levels
from census.storage.audit import Chain
from census.storage.exchange.assignments import Refused, forget_handed_over
from census.storage.exchange.merge import Hold, hold, supersede_flags
from census.storage.records import (
    DONE,
    DwellingRow,
    HouseholdRow,
    Origin,
    StoredHousehold,
    dwelling_areas,
    dwelling_versions,
    earlier_completions,
    household_numbers,
    household_versions,
    households_of,
    load_household,
    local_minutes,
    natural_key_owners,
    select_dwellings,
    set_base,
    write_records,
)
from census.storage.store import Store, utc_now
from census.usecases.reports import ImportReport, MergeReport, ReturnedReport
from census.usecases.sources import (
    WHERE,
    ProblemSink,
    Source,
    Via,
    context,
)
from census.validation.engine import blocking, check_dwelling
from census.validation.rules import Problem


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Addresses:
    """Which record holds each dwelling address and household number: in the store, and
    claimed by records taken earlier in the same batch."""

    def __init__(self, store: Store, keys: Iterable[tuple[str, int, int]],
                 dwelling_ids: Iterable[str]) -> None:
        self.owners = natural_key_owners(store, sorted(set(keys)))
        self.numbers = household_numbers(store, sorted(set(dwelling_ids)))
        self.claimed: dict[tuple[str, int, int], str] = {}

    def dwelling_other(self, key: tuple[str, int, int], dwelling_id: str) -> str | None:
        """Another dwelling holding `key`, or None."""
        other = self.owners.get(key)
        if other in (None, dwelling_id):
            other = self.claimed.get(key)
        return other if other not in (None, dwelling_id) else None

    def household_other(self, dwelling_id: str, number: int, household_id: str) -> str | None:
        """Another household with `number` in the dwelling, or None."""
        owner = self.numbers.get((dwelling_id, number))
        return owner if owner not in (None, household_id) else None

    def claim(self, key: tuple[str, int, int], dwelling_id: str) -> None:
        self.claimed[key] = dwelling_id

    def claim_number(self, dwelling_id: str, number: int, household_id: str) -> None:
        self.numbers[(dwelling_id, number)] = household_id


def _duplicate(d: Dwelling, other: str) -> Problem:
    return Problem("E005", "dwelling", {"key": f"{d.area} {d.structure}/{d.number}",
                                        "other": other})


# -- the intake ---------------------------------------------------------------------------------


class Intake:
    """Decides and writes incoming records from one `Source`, inside the caller's write
    transaction. `sink` hears the refused records' problems (this database's own user);
    `checked` hears every problem (blocking or not) of each record stored, as the rules judged
    the record merged with its stored households, which is what is now stored."""

    def __init__(self, store: Store, source: Source, now: datetime,
                 report: ImportReport | None = None, sink: ProblemSink | None = None,
                 checked: Callable[[str, list[Problem]], None] | None = None) -> None:
        self.store = store
        self.cfg: SurveyConfig = store.config
        self.source = source
        self.now = now
        self.report = report or ImportReport()
        self.sink = sink
        self.checked = checked
        self.ctx = context(store, now)
        #: The households a bundle wrote (its decisions are kept for those only).
        self.written_households: set[str] = set()
        self.areas: dict[str, Area] = {}

    def _know_areas(self, codes: Iterable[str]) -> None:
        self.areas.update(area_facts(self.store, set(codes) - set(self.areas)))

    def refusal(self, area: str | None, act: Act, before: HouseholdStatus | None = None,
                after: HouseholdStatus | None = None) -> Refusal | None:
        """The policy's answer for a change in `area` by this source (None: allowed). An
        unknown area is left to the rules (E017) and the file checks."""
        found = self.areas.get(area) if area else None
        if found is None:
            return None
        return may(self.source.actor(found), PolicyArea.of(found), act, before, after)

    def refused(self, refusal: Refusal, field: str, area: str, household: str = "",
                status: HouseholdStatus | None = None) -> Problem:
        """The problem that says why (the policy's refusal, as a rule of the catalogue)."""
        return Problem(refusal.rule_id, field, {
            "area": area, "user": self.source.sender, "id": household,
            "status": str(status) if status else "", "role": str(self.source.role)})

    def reject(self, line: int, problems: list[Problem]) -> None:
        """Refuse one record (a line of a file, or a save) with its problems."""
        self.report.invalid_lines += 1
        self.report.problems += len(problems)
        if self.sink is not None:
            for p in problems:
                self.sink(line, p)

    # -- this database's own user: a record is stored whole or refused with its problems ------

    def take_records(self, chain: Chain, batch: list[tuple[int, Dwelling]]) -> None:
        """Decide and write dwelling records (each with its households) of the app, a forms
        import or the demo; a record with a problem is refused whole (see module docstring)."""
        store, cfg, source = self.store, self.cfg, self.source
        dv = dwelling_versions(store, [d.id for _, d in batch])
        stored_households = households_of(store, [d.id for _, d in batch if d.id in dv])
        hv = household_versions(store, [h.id for _, d in batch for h in d.households])
        book = Addresses(store, [(d.area, d.structure, d.number) for _, d in batch],
                         [d.id for _, d in batch])
        self._know_areas([d.area for _, d in batch] + [s.area for s in dv.values()])
        d_rows: list[DwellingRow] = []
        h_rows: list[HouseholdRow] = []
        for line, d in batch:
            # The rules judge what the store will hold: the record as given plus the households
            # already stored in it that the record does not carry (an import never deletes one).
            carried = {h.id for h in d.households}
            kept = tuple(h for h in stored_households.get(d.id, ()) if h.id not in carried)
            found = check_dwelling(replace(d, households=d.households + kept) if kept else d,
                                   self.ctx)
            problems = [p for p in found if source.gate(p)]
            key = (d.area, d.structure, d.number)
            other = book.dwelling_other(key, d.id)
            if other is not None:
                problems.append(_duplicate(d, other))
            d_text = dwelling_text(d, cfg)
            d_digest = _sha(d_text)
            stored = dv.get(d.id)
            d_verdict = verdict(stored.held if stored else None, d.revision, d_digest,
                                sender=source.peer)
            if d_verdict is Verdict.CONFLICT:
                problems.append(Problem("E019", "revision", {"id": d.id,
                                                             "revision": d.revision}))
            planned: list[tuple[Household, str, str, Verdict]] = []
            for i, h in enumerate(d.households):
                s = hv.get(h.id)
                if s is not None and s.dwelling_id != d.id:
                    problems.append(Problem("E021", f"households[{i}].id", {
                        "id": h.id, "other": s.dwelling_id}))
                    continue
                h_text = household_text(h, cfg, d.id)
                h_digest = _sha(h_text)
                v = verdict(s.held if s else None, h.revision, h_digest, sender=source.peer)
                if v is Verdict.CONFLICT:
                    problems.append(Problem("E019", f"households[{i}].revision", {
                        "id": h.id, "revision": h.revision}))
                owner = book.household_other(d.id, h.number, h.id)
                if owner is not None:
                    problems.append(Problem("E005", f"households[{i}].number", {
                        "key": f"{d.area} {d.structure}/{d.number} #{h.number}",
                        "other": owner}))
                if v.writes:
                    no = self.refusal(d.area, Act.HOUSEHOLD, s.status if s else None, h.status)
                    if no is not None and no not in WHERE:  # the area is said once, below
                        problems.append(self.refused(no, f"households[{i}].status", d.area,
                                                     h.id, h.status))
                planned.append((with_seed(h, s.seed if s else None), h_digest, h_text, v))
            if d_verdict.writes or any(p[3].writes for p in planned):
                # Where the record is, and where it was (a dwelling moved out of an area).
                for area in sorted({d.area, stored.area if stored else d.area}):
                    if (no := self.refusal(area, Act.RECORD)) is not None:
                        problems.append(self.refused(no, "area", area))
            if problems:
                self.reject(line, problems)
                continue
            book.claim(key, d.id)
            if self.checked is not None:
                self.checked(d.id, found)
            self.report.dwellings.bump(d_verdict)
            # A keyed paper form is audited as its operator's work (a clerk, by code).
            who = source.sender if source.via is Via.KEYING else d.enumerator or store.user
            if d_verdict.writes:
                d_rows.append(DwellingRow(d, d_digest, d_verdict is Verdict.NEW, who, d_text))
            for h, h_digest, h_text, v in planned:
                self.report.households.bump(v)
                if v.writes:
                    h_rows.append(HouseholdRow(h, d.id, h_digest, v is Verdict.NEW, who,
                                               h_text))
        # A form completed for the first time is completed now, by this device's clock.
        write_records(store, chain, d_rows, h_rows, source.origin, utc_now(),
                      self.now.strftime("%Y-%m-%dT%H:%M"))

    # -- another device: a record is written, held for review, or written and flagged ---------

    def take_bundle(self, chain: Chain, recs: Records) -> MergeReport:
        """Decide and write the records of a bundle (see module docstring); what cannot be
        taken as it stands is held for review with its full content, so nothing is lost and
        nothing is overwritten without a person deciding."""
        store, cfg, source = self.store, self.cfg, self.source
        stamp = utc_now()
        rep = MergeReport()
        held: list[Hold] = []

        def keep(kind: ReviewKind, record_type: str, record_id: str, area: str, revision: int,
                 digest: str, detail: str, incoming: dict[str, Any] | None,
                 other: str | None = None) -> None:
            held.append(Hold(kind, record_type, record_id, area, revision, digest,
                             source.sender, source.transfer, detail, incoming, other))
            rep.count(kind)

        for bad in recs.invalid:
            keep(ReviewKind.INVALID, bad.record_type, bad.record_id, bad.area or "?", 1,
                 _sha(json.dumps(bad.row, sort_keys=True, default=str)), bad.detail,
                 {"row": bad.row})

        dv = dwelling_versions(store, [i.dwelling.id for i in recs.dwellings])
        book = Addresses(store, [(i.dwelling.area, i.dwelling.structure, i.dwelling.number)
                                 for i in recs.dwellings],
                         [i.dwelling_id for i in recs.households])
        self._know_areas([i.dwelling.area for i in recs.dwellings]
                         + [s.area for s in dv.values()])
        write_d: list[DwellingRow] = []
        held_d: dict[str, ReviewKind] = {}
        held_area: dict[str, str] = {}
        for inc in recs.dwellings:
            d = inc.dwelling
            digest = _sha(dwelling_text(d, cfg))
            stored = dv.get(d.id)
            v = verdict(stored.held if stored else None, d.revision, digest,
                        sender=source.peer, base=inc.base)
            if v in (Verdict.UNCHANGED, Verdict.OLDER):
                rep.count(v)
                continue
            key = (d.area, d.structure, d.number)
            other = book.dwelling_other(key, d.id)
            kind, detail = _hold_reason(v, stored.held if stored else None, d.revision, other)
            no = self.refusal(d.area, Act.RECORD) or (
                self.refusal(stored.area, Act.RECORD) if stored is not None else None)
            if no is not None:
                kind, detail = ReviewKind.CONFLICT, str(no)
            elif kind is None:
                book.claim(key, d.id)
                write_d.append(DwellingRow(d, digest, v is Verdict.NEW, source.sender,
                                           base=inc.base, updated_at=inc.updated_at))
                continue
            held_d[d.id], held_area[d.id] = kind, d.area
            incoming = _dwelling_incoming(inc, cfg)  # built only for what is held
            if detail == Refusal.AREA_CLOSED:
                incoming.pop("locator", None)  # a closed area keeps no locator
            keep(kind, "dwelling", d.id, d.area, d.revision, digest, detail, incoming, other)

        # Households: where their dwelling is (this bundle or the store) decides their area.
        hv = household_versions(store, [i.household.id for i in recs.households])
        parent_area = dwelling_areas(store, sorted({i.dwelling_id for i in recs.households}))
        parent_area.update({r.dwelling.id: r.dwelling.area for r in write_d})
        self._know_areas(parent_area.values())
        # A decided state (approved, returned) comes with its decision, or it is no decision.
        decided = {(x.household_id, x.revision) for x in recs.decisions}
        write_h: list[HouseholdRow] = []
        known: list[tuple[str, str | None, str]] = []  # earlier first completions of versions
        # held already: (household id, stored, earlier)
        for hinc in recs.households:
            h = hinc.household
            digest = _sha(household_text(h, cfg, hinc.dwelling_id))
            s = hv.get(h.id)
            v = verdict(s.held if s else None, h.revision, digest, sender=source.peer,
                        base=hinc.base)
            if v in (Verdict.UNCHANGED, Verdict.OLDER):
                rep.count(v)
                # Another copy's earlier first completion is a write like any other: only
                # where the policy lets this sender write (not in a closed area).
                area = parent_area.get(hinc.dwelling_id) or held_area.get(hinc.dwelling_id)
                at = h.completed_at.strftime("%Y-%m-%dT%H:%M") if h.completed_at else None
                if (at is not None and s is not None and (s.completed_at is None or at <
                        s.completed_at) and area is not None
                        and self.refusal(area, Act.RECORD) is None):
                    known.append((h.id, s.completed_at, at))
                continue
            area = parent_area.get(hinc.dwelling_id) or held_area.get(hinc.dwelling_id)
            other = book.household_other(hinc.dwelling_id, h.number, h.id)
            kind, detail = _hold_reason(v, s.held if s else None, h.revision, other)
            if hinc.dwelling_id in held_d and hinc.dwelling_id not in parent_area:
                kind, detail, other = held_d[hinc.dwelling_id], "dwelling_held", None
            elif area is None:
                kind, detail, other = ReviewKind.INVALID, "unknown_dwelling", None
            elif (no := self.refusal(area, _act(h, decided), s.status if s else None,
                                     h.status)) in WHERE:
                kind, detail, other = ReviewKind.CONFLICT, str(no), None
            elif s is not None and s.dwelling_id != hinc.dwelling_id:
                kind, detail, other = ReviewKind.CONFLICT, "moved_dwelling", None
            elif kind is None and no is not None:  # a state its sender may not give it
                kind, detail, other = ReviewKind.CONFLICT, str(no), None
            elif kind is None:
                book.claim_number(hinc.dwelling_id, h.number, h.id)
                # The signature proves who sent it: an enumerator's file names no other editor.
                editor = (source.sender if source.role is Role.ENUMERATOR
                          else hinc.updated_by)
                if h.completed_at is None and h.status in DONE:  # from an earlier version
                    h = replace(h, completed_at=datetime.fromisoformat(
                        local_minutes(hinc.updated_at)))
                write_h.append(HouseholdRow(
                    h if s is None or h.seed == s.seed else replace(h, seed=s.seed),
                    hinc.dwelling_id, digest, s is None, source.sender, base=hinc.base,
                    updated_at=hinc.updated_at, updated_by=editor))
                continue
            keep(kind, "household", h.id, area or "?", h.revision, digest, detail,
                 _household_incoming(hinc, cfg), other)

        flagged = self._flags(write_d, write_h)
        write_records(store, chain, write_d, write_h, source.origin, stamp)
        earlier_completions(store, chain, known, stamp, source.sender)
        rep.added = sum(1 for r in write_d if r.new) + sum(1 for r in write_h if r.new)
        rep.updated = len(write_d) + len(write_h) - rep.added
        supersede_flags(store, [r.dwelling.id for r in write_d]
                        + [r.household.id for r in write_h], stamp, source.sender)
        written = {r.dwelling.id: (r.digest, r.dwelling.revision, r.dwelling.area)
                   for r in write_d}
        written.update({r.household.id: (r.digest, r.household.revision,
                                         parent_area[r.dwelling_id]) for r in write_h})
        for record_id, (record_type, rules) in sorted(flagged.items()):
            digest, revision, area = written[record_id]
            keep(ReviewKind.FLAGGED, record_type, record_id, area, revision, digest,
                 ",".join(sorted(rules)), None)
        hold(store, held, stamp)
        self.written_households = {r.household.id for r in write_h}
        return rep

    def _flags(self, write_d: list[DwellingRow], write_h: list[HouseholdRow]
               ) -> dict[str, tuple[str, set[str]]]:
        """Run the rules on every dwelling touched, as it will stand after the merge. Returns
        {record id: (record type, rule ids)} of the written records a rule stops."""
        dwellings: dict[str, Dwelling] = {r.dwelling.id: r.dwelling for r in write_d}
        updated_d = [r.dwelling.id for r in write_d if not r.new]
        incoming_h: dict[str, list[Household]] = {}
        for r in write_h:
            incoming_h.setdefault(r.dwelling_id, []).append(r.household)
        missing = sorted(set(incoming_h) - set(dwellings))
        for i in range(0, len(missing), 500):
            chunk = missing[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for d in select_dwellings(self.store, f"id IN ({marks})", chunk):
                dwellings[d.id] = d
        stored_h = households_of(self.store, updated_d) if updated_d else {}
        written = {r.dwelling.id for r in write_d} | {r.household.id for r in write_h}
        flagged: dict[str, tuple[str, set[str]]] = {}
        for did, d in dwellings.items():
            households = {h.id: h for h in (stored_h.get(did) or d.households)}
            for h in incoming_h.get(did, []):
                households[h.id] = h
            merged = replace(d, households=tuple(sorted(households.values(),
                                                        key=lambda h: h.number)))
            for p in blocking(check_dwelling(merged, self.ctx)):
                target, record_type = did, "dwelling"
                if p.field.startswith("households["):
                    index = int(p.field[len("households["):p.field.index("]")])
                    hid = merged.households[index].id
                    if hid in written:
                        target, record_type = hid, "household"
                if target in written:
                    flagged.setdefault(target, (record_type, set()))[1].add(p.rule_id)
        return flagged

    # -- the level above: its returned forms replace older copies, or the file is refused ------

    def take_returned(self, chain: Chain, recs: Records) -> ReturnedReport:
        """Decide and write the forms an assignment returns for correction. A returned form
        replaces this device's copy unless the copy was edited since it was sent: then the
        edits stay, the form is marked returned, and its base becomes the supervisor's version
        (so the next bundle updates it). A form that does not fit this database refuses the
        whole file (Refused)."""
        store, cfg, source = self.store, self.cfg, self.source
        rep = ReturnedReport()
        stamp = utc_now()
        if recs.invalid:
            raise Refused(_("a returned form in it cannot be read ({why}); nothing was "
                            "imported. Ask your supervisor to send the assignment again.")
                          .format(why=recs.invalid[0].detail))
        levels = area_levels(store)
        dv = dwelling_versions(store, [i.dwelling.id for i in recs.dwellings])
        book = Addresses(store, [(i.dwelling.area, i.dwelling.structure, i.dwelling.number)
                                 for i in recs.dwellings],
                         [i.dwelling_id for i in recs.households])
        write_d: list[DwellingRow] = []
        for inc in recs.dwellings:
            d = inc.dwelling
            digest = _sha(dwelling_text(d, cfg))
            stored = dv.get(d.id)
            v = verdict(stored.held if stored else None, d.revision, digest)
            if not v.writes:
                set_base(store, "dwelling", d.id, Base(d.revision, digest))
                continue
            key = (d.area, d.structure, d.number)
            if levels.get(d.area) != cfg.levels[-1]:
                raise Refused(_("its returned form of dwelling {id} is in area {area}, which is "
                                "not an enumeration area known here.").format(id=d.id,
                                                                              area=d.area))
            other = book.dwelling_other(key, d.id)
            if other is not None:
                raise Refused(_("its returned form of dwelling {id} has the numbers {area} "
                                "{s}/{n}, which dwelling {other} already has here.").format(
                    id=d.id, area=d.area, s=d.structure, n=d.number, other=other))
            self._know_areas([d.area])
            if (no := self.refusal(d.area, Act.RECORD)) is not None:
                raise self._refused_file(d.id, self.refused(no, "area", d.area))
            book.claim(key, d.id)
            write_d.append(DwellingRow(d, digest, v is Verdict.NEW, source.sender,
                                       base=Base(d.revision, digest),
                                       updated_at=inc.updated_at))
        present = {r.dwelling.id for r in write_d} | set(dv) | set(dwelling_areas(
            store, sorted({i.dwelling_id for i in recs.households})))
        hv = household_versions(store, [i.household.id for i in recs.households])
        area_of = dwelling_areas(store, sorted(present))
        area_of.update({r.dwelling.id: r.dwelling.area for r in write_d})
        self._know_areas(area_of.values())
        decided = {(x.household_id, x.revision) for x in recs.decisions}
        write_h: list[HouseholdRow] = []
        for hinc in recs.households:
            h = hinc.household
            if h.status is HouseholdStatus.RETURNED:
                rep.returned += 1
            if hinc.dwelling_id not in present:
                raise Refused(_("its returned household {id} belongs to dwelling {dwelling}, "
                                "which is neither in the file nor here.").format(
                    id=h.id, dwelling=hinc.dwelling_id))
            s = hv.get(h.id)
            if s is not None and s.dwelling_id != hinc.dwelling_id:
                raise Refused(_("its returned household {id} is in dwelling {dwelling} there "
                                "but in dwelling {other} here; a household does not move.")
                              .format(id=h.id, dwelling=hinc.dwelling_id, other=s.dwelling_id))
            digest = _sha(household_text(h, cfg, hinc.dwelling_id))
            v = verdict(s.held if s else None, h.revision, digest)
            if v.writes or (s is not None and s.held.digest != digest):
                area = area_of.get(hinc.dwelling_id)
                no = self.refusal(area, _act(h, decided), s.status if s else None, h.status)
                if no is not None:
                    raise self._refused_file(h.id, self.refused(no, "status", area or "?", h.id,
                                                                h.status))
            if v.writes:
                other = book.household_other(hinc.dwelling_id, h.number, h.id)
                if other is not None:
                    raise Refused(_("its returned household {id} has the number {n} in "
                                    "dwelling {dwelling}, which household {other} already "
                                    "has.").format(id=h.id, n=h.number,
                                                   dwelling=hinc.dwelling_id, other=other))
                book.claim_number(hinc.dwelling_id, h.number, h.id)
                write_h.append(HouseholdRow(
                    h if s is None else replace(h, seed=s.seed), hinc.dwelling_id, digest,
                    s is None, source.sender, base=Base(h.revision, digest),
                    updated_at=hinc.updated_at, updated_by=hinc.updated_by))
            elif s is not None and s.held.digest == digest:  # the same version: only its base
                set_base(store, "household", h.id, Base(h.revision, digest))
            elif s is not None:
                rep.kept_local += 1
                self._keep_local_edits(chain, h, s, Base(h.revision, digest), stamp)
        write_records(store, chain, write_d, write_h, source.origin, stamp)
        # A dwelling handed over earlier is back on the device: count it once.
        forget_handed_over(store, [(r.dwelling.area, r.dwelling.structure, r.dwelling.number)
                                   for r in write_d])
        return rep

    @staticmethod
    def _refused_file(record_id: str, problem: Problem) -> Refused:
        return Refused(_("its returned form {id} cannot be taken here: {why}").format(
            id=record_id, why=problem.message()))

    def _keep_local_edits(self, chain: Chain, returned: Household, stored: StoredHousehold,
                          base: Base, stamp: str) -> None:
        """A returned form edited here after it was sent: the edits stay, the return is taken
        (the status), as a new revision edited from the supervisor's version."""
        found = load_household(self.store, returned.id)
        assert found is not None
        dwelling_id, local = found
        status = (returned.status if returned.status is HouseholdStatus.RETURNED
                  else local.status)
        kept = replace(local, status=status, revision=stored.held.revision + 1)
        digest = _sha(household_text(kept, self.cfg, dwelling_id))
        write_records(self.store, chain, [], [HouseholdRow(
            kept, dwelling_id, digest, False, self.source.sender, base=base,
            updated_at=stamp)], Origin(reason="returned", keep_base=False), stamp)


def _act(h: Household, decided: set[tuple[str, int]]) -> Act:
    """A household version in a decided state with its decision is a decision; any other is a
    household as a form or a file gives it."""
    return Act.DECIDE if h.status in DECIDED and (h.id, h.revision) in decided else Act.HOUSEHOLD


def _hold_reason(v: Verdict, held: Held | None, revision: int, other: str | None
                 ) -> tuple[ReviewKind | None, str]:
    """Why a record of another device is held: a record to write whose address another
    record holds is a duplicate; a conflict says whether one revision differs or both sides
    edited. (None, "") when it may be written."""
    if v.writes and other is not None:
        return ReviewKind.DUPLICATE, "same_numbers"
    if v is Verdict.CONFLICT:
        same = held is not None and held.revision == revision
        return ReviewKind.CONFLICT, "same_revision" if same else "both_edited"
    return None, ""


def _dwelling_incoming(inc: IncomingDwelling, cfg: SurveyConfig) -> dict[str, Any]:
    out = dwelling_to_json(inc.dwelling, cfg, with_households=False)
    if inc.base:
        out["base"] = [inc.base.revision, inc.base.digest]
    out["updated_at"] = inc.updated_at
    return out


def _household_incoming(inc: IncomingHousehold, cfg: SurveyConfig) -> dict[str, Any]:
    out = household_to_json(inc.household, cfg, completion=True)
    out["dwelling"] = inc.dwelling_id
    out["seed"] = inc.household.seed.hex()
    if inc.base:
        out["base"] = [inc.base.revision, inc.base.digest]
    out["updated_at"] = inc.updated_at
    out["updated_by"] = inc.updated_by
    return out
