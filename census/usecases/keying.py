"""Keying paper forms and verifying them (issue 16), as use cases: no UI, no SQL.

A clerk keys the forms of a batch (an enumeration area) heads-down in a supervisor's or the
office's database, under an operator code. Each form goes through the same intake as every
other record (rules, revisions, audit; then bundles), as the operator: errors stop it; a warning
is keyed past when the clerk says so (the paper says so) and the form is marked for review (a
flagged item in the review queue), as CSPro's operator-controlled keying does.

Dependent verification: a share of each batch's forms (every Nth, or a random share: the batch's
setting, stored and logged in the audit) is keyed again by another operator, field by field
(`census.domain.keying.FieldCheck` attributes each difference); a keyer error replaces the first
keying through the same intake, with an audit entry; a batch whose keyer errors pass its
tolerance is flagged for full re-keying.

Every session (keying, verifying, an enumerator's entry in the app) keeps its counts in its row
after each form, so a crash loses at most the form being keyed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from census.domain.errors import CensusError
from census.domain.ids import is_code, new_id, new_seed
from census.domain.keying import (
    DEFAULT_SETTING,
    PaperForm,
    VerifySetting,
    form_of,
    over_tolerance,
    paper_value,
    values_of,
)
from census.domain.lifecycle import Act
from census.domain.model import (
    Dwelling,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    Respondent,
    ReviewKind,
    Role,
    Visit,
)
from census.i18n import _
from census.storage import keying as kept
from census.storage.areas import area_facts, area_levels
from census.storage.audit import Chain
from census.storage.audit import Entry as AuditEntry
from census.storage.exchange.merge import Hold, hold
from census.storage.pending import at_address
from census.storage.records import household_versions, load_dwelling
from census.storage.store import Store, utc_now
from census.usecases.forms import run_batches
from census.usecases.intake import Intake
from census.usecases.review import find_household
from census.usecases.sources import (
    Source,
    Via,
    blocks_keyed,
    context,
    local_refusal,
    refusal_text,
)
from census.validation.engine import check_dwelling
from census.validation.rules import Problem, Severity


def stamp(at: datetime) -> str:
    """A session's or a keyed form's time: local, to the second."""
    return at.strftime("%Y-%m-%dT%H:%M:%S")


def open_session(store: Store, operator: str, mode: str, area: str | None,
                 setting: str | None, at: datetime) -> int:
    """Log a session's start: an operator keying or verifying a batch, or an enumerator
    entering forms door to door (mode `entry`)."""
    with store.write():
        return kept.start_session(store, operator, mode, area, setting, stamp(at))


def keep_session(store: Store, session: int, counts: kept.SessionCounts, at: datetime) -> None:
    """Keep a session's counts and end time as they stand."""
    with store.write():
        kept.save_session(store, session, counts, stamp(at))


@dataclass(frozen=True)
class Keyed:
    """What keying one form came to: stored (its record id) or not, and why."""

    record_id: str | None = None
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    """Warnings not keyed past yet (nothing stored), or keyed past (stored and flagged)."""
    refused: str | None = None
    """A refusal in words (the form is keyed already, the area is closed...)."""

    @property
    def ok(self) -> bool:
        return self.record_id is not None


class Keying:
    """One operator's keying or verifying in one store."""

    def __init__(self, store: Store, operator: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        if store.role is Role.ENUMERATOR:
            raise CensusError(_("Paper forms are keyed in a supervisor's or the office's "
                                "database, not in an enumerator's."))
        if not is_code(operator):
            raise CensusError(_("{code!r} is no operator code: letters, digits, '-' and '_', "
                                "up to 40 (a code, never a name).").format(code=operator))
        self.store = store
        self.operator = operator
        self.clock = clock or datetime.now
        self.session: int | None = None
        self.counts = kept.SessionCounts()

    # -- batches and sessions -----------------------------------------------------------------

    def batch_refusal(self, area: str) -> str | None:
        """Why forms of `area` cannot be keyed here now, or None."""
        levels = area_levels(self.store)
        if levels.get(area) != self.store.config.levels[-1]:
            return _("{area} is no enumeration area of this database: a batch is the forms of "
                     "one enumeration area (see `census area list`).").format(area=area)
        no = local_refusal(self.store, area, Act.RECORD)
        return None if no is None else refusal_text(self.store, no, area)

    def setting(self, area: str) -> tuple[VerifySetting, bool]:
        """The batch's verify setting (the default until one is set) and its re-key flag."""
        return kept.batch_setting(self.store, area) or (DEFAULT_SETTING, False)

    def set_batch(self, area: str, setting: VerifySetting) -> None:
        """Store a batch's verify setting, with an audit entry (the setting is logged)."""
        if (no := self.batch_refusal(area)) is not None:
            raise CensusError(no)
        with self.store.write() as chain:
            self._set_batch(chain, area, setting)

    def _set_batch(self, chain: Chain, area: str, setting: VerifySetting) -> None:
        old = kept.batch_setting(self.store, area)
        kept.put_batch_setting(self.store, area, setting, self.operator, stamp(self.clock()))
        chain.add([AuditEntry(utc_now(), self.operator, "area", area,
                              "keying_setting", old[0].describe() if old else None,
                              setting.describe(), None)])

    def start(self, mode: str, area: str | None) -> int:
        """Open a session (its row is kept up to date after each form)."""
        setting = None
        if area is not None:
            if (no := self.batch_refusal(area)) is not None:
                raise CensusError(no)
            if mode == "verify":
                setting = self.setting(area)[0].describe()
        self.session = open_session(self.store, self.operator, mode, area, setting,
                                    self.clock())
        return self.session

    def save_counts(self) -> None:
        """Keep the session's counts as they stand (after each form, and at the end)."""
        if self.session is not None:
            keep_session(self.store, self.session, self.counts, self.clock())

    # -- keying ---------------------------------------------------------------------------------

    def key(self, form: PaperForm, past_warnings: bool = False) -> Keyed:
        """Store one keyed form; its warnings stop it unless `past_warnings` (then it is
        stored and marked for review)."""
        if self.session is None:
            self.start("key", form.area)
        if (no := self.batch_refusal(form.area)) is not None:
            return Keyed(refused=no)
        store = self.store
        with store.write():
            place = at_address(store, form.area, form.structure, form.dwelling, form.household)
            if place.household_id is not None or (place.dwelling_id is not None
                                                  and not form.contact):
                return Keyed(refused=_("Form {q} is keyed already: key the next form, or "
                                       "correct this one in the review queue.").format(
                                           q=form.questionnaire))
            dwelling = self._dwelling(form, place.dwelling_id)
            household = dwelling.households[-1] if form.contact else None
            problems = check_dwelling(dwelling, context(store, self.clock()))
            errors = tuple(p for p in problems if p.blocks and p.severity is Severity.ERROR)
            warnings = tuple(p for p in problems
                             if p.severity is Severity.WARNING and not p.confirmed)
            if errors:
                return Keyed(errors=errors, warnings=warnings)
            if warnings and not past_warnings:
                return Keyed(warnings=warnings)
            found: list[Problem] = []
            self._store(dwelling, found)
            if found:
                return Keyed(errors=tuple(found))
            record = household.id if household else dwelling.id
            if warnings:
                self._flag(dwelling, household, warnings)
            kept.add_keyed_form(store, record, dwelling.id, form.area, self.operator,
                                self.session or 0, stamp(self.clock()), bool(warnings))
        self.counts.forms += 1
        self.save_counts()
        return Keyed(record_id=record, warnings=warnings)

    def _dwelling(self, form: PaperForm, dwelling_id: str | None) -> Dwelling:
        """The dwelling record the form makes: a new one, or the stored one with the form's
        household added (its visit is the first form's)."""
        stored = load_dwelling(self.store, dwelling_id) if dwelling_id else None
        if stored is None:
            area = area_facts(self.store, [form.area])[form.area]
            occupancy = (Occupancy.VACANT if form.outcome is Outcome.VACANT
                         else Occupancy.OCCUPIED)
            stored = Dwelling(id=new_id(), area=form.area, structure=form.structure,
                              number=form.dwelling, occupancy=occupancy,
                              enumerator=area.enumerator,
                              visits=(Visit(1, form.visited_at, form.outcome,
                                            enumerator=area.enumerator),))
        elif form.outcome not in {v.outcome for v in stored.visits}:
            # Listed in the field (or visited without this outcome): the paper's final visit.
            area = area_facts(self.store, [form.area])[form.area]
            attempt = max((v.attempt for v in stored.visits), default=0) + 1
            stored = replace(stored, revision=stored.revision + 1, visits=(
                *stored.visits, Visit(attempt, form.visited_at, form.outcome,
                                      enumerator=area.enumerator)))
        else:
            stored = replace(stored, revision=stored.revision + 1)
        if not form.contact:
            return stored
        household = Household(id=new_id(), number=form.household, seed=new_seed(),
                              status=HouseholdStatus.COMPLETE, respondent=form.respondent,
                              residents=dict(form.residents), away=form.away,
                              visitors=form.visitors)
        return replace(stored, households=(*stored.households, household))

    def _store(self, dwelling: Dwelling, found: list[Problem]) -> None:
        """Through the one intake, as this operator (inside the caller's transaction)."""
        source = Source(Via.KEYING, self.operator, self.store.role, gate=blocks_keyed)
        intake = Intake(self.store, source, self.clock().replace(second=0, microsecond=0),
                        sink=lambda _line, p: found.append(p))
        run_batches(self.store, intake, iter([[(1, dwelling)]]), all_or_nothing=False)

    def _flag(self, dwelling: Dwelling, household: Household | None,
              warnings: tuple[Problem, ...]) -> None:
        """Mark a form keyed past its warnings for review (the rules it broke)."""
        rules = ",".join(sorted({p.rule_id for p in warnings}))
        if household is not None:
            held = household_versions(self.store, [household.id])[household.id].held
            item = Hold(ReviewKind.FLAGGED, "household", household.id, dwelling.area,
                        household.revision, held.digest, self.operator, None, rules)
        else:
            row = self.store.conn.execute("SELECT revision, digest FROM dwelling WHERE id = ?",
                                          (dwelling.id,)).fetchone()
            item = Hold(ReviewKind.FLAGGED, "dwelling", dwelling.id, dwelling.area, row[0],
                        row[1], self.operator, None, rules)
        hold(self.store, [item], utc_now())

    # -- dependent verification -----------------------------------------------------------------

    def to_verify(self, area: str) -> list[kept.KeyedForm]:
        """The forms of a batch this operator is to verify now: chosen by the batch's setting
        (the choice is made once per form and kept), not verified yet, keyed by another."""
        setting, _rekey = self.setting(area)
        forms = kept.keyed_forms(self.store, area)
        new = [(f.record_id, setting.chosen(f.position, f.record_id)) for f in forms
               if f.chosen is None]
        if new:
            with self.store.write() as chain:
                if kept.batch_setting(self.store, area) is None:
                    self._set_batch(chain, area, setting)  # the default, stored and logged
                kept.choose(self.store, new)
            forms = kept.keyed_forms(self.store, area)
        return [f for f in forms if f.chosen and f.verified_by is None
                and f.operator != self.operator]

    def original(self, record_id: str) -> tuple[PaperForm, dict[str, str]]:
        """The form as first keyed, and its fields' canonical text."""
        form = stored_form(self.store, record_id)
        return form, values_of(form, self.store.config)

    def verified(self, record_id: str, corrected: PaperForm, fields_verified: int,
                 keyer_errors: int, verifier_errors: int) -> Verified:
        """Record a form's verification; a keyer error's value replaces the first keying
        (through the intake, audited). Returns what was stored and whether the batch is now
        over its tolerance."""
        form, before = self.original(record_id)
        after = values_of(corrected, self.store.config)
        changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
        found: list[Problem] = []
        with self.store.write() as chain:
            if changed:
                found = self._correct(record_id, corrected, chain,
                                      "; ".join(f"{k}: {a} -> {b}"
                                                for k, (a, b) in sorted(changed.items())),
                                      "verified")
            kept.record_verification(self.store, record_id, self.operator, self.session or 0,
                                     stamp(self.clock()), fields_verified, keyer_errors,
                                     verifier_errors)
            errors, fields = kept.batch_errors(self.store, form.area)
            setting, _rekey = self.setting(form.area)
            rekey = over_tolerance(errors, fields, setting.tolerance)
            kept.flag_rekey(self.store, form.area, rekey)
        self.counts.forms += 1
        self.counts.fields_verified += fields_verified
        self.counts.keyer_errors += keyer_errors
        self.counts.verifier_errors += verifier_errors
        self.save_counts()
        return Verified(tuple(found), rekey, errors, fields)

    def _correct(self, record_id: str, corrected: PaperForm, chain: Chain, what: str,
                 reason: str, flag: bool = True) -> list[Problem]:
        """Store the corrected form in place of the stored one (the same ids), audited with
        `reason`; a correction the rules refuse is not stored (and the form is flagged for
        review, with `flag`)."""
        dwelling = corrected_dwelling(self.store, record_id, corrected)
        found: list[Problem] = []
        self._store(dwelling, found)
        record_type = "dwelling" if dwelling.id == record_id else "household"
        if found and not flag:
            return found
        if found:
            rules = ",".join(sorted({p.rule_id for p in found}))
            row = self.store.conn.execute(f"SELECT revision, digest FROM {record_type} WHERE "
                                          "id = ?", (record_id,)).fetchone()
            hold(self.store, [Hold(ReviewKind.FLAGGED, record_type, record_id, corrected.area,
                                   row[0], row[1], self.operator, None, rules)], utc_now())
            return found
        chain.add([AuditEntry(utc_now(), self.operator, record_type, record_id,
                              "keying", None, what[:4000], reason)])
        return []


@dataclass(frozen=True)
class Verified:
    """A verified form: the rules' refusal of its correction (empty when stored), whether the
    batch is over its tolerance, and the batch's keyer errors and fields verified so far."""

    refused: tuple[Problem, ...]
    rekey: bool
    batch_errors: int
    batch_fields: int


def stored_form(store: Store, record_id: str) -> PaperForm:
    """The paper form a keyed record holds (a household, or a dwelling without contact)."""
    row = store.conn.execute("SELECT dwelling_id FROM household WHERE id = ?",
                             (record_id,)).fetchone()
    dwelling = load_dwelling(store, row[0] if row else record_id)
    if dwelling is None or not dwelling.visits:
        raise CensusError(_("No keyed form {id} in this database.").format(id=record_id))
    visit = max(dwelling.visits, key=lambda v: v.attempt)  # the paper's final visit
    household = next((h for h in dwelling.households if h.id == record_id), None)
    return PaperForm(
        dwelling.area, dwelling.structure, dwelling.number,
        household.number if household else 1, visit.at.date(), visit.outcome,
        dict(household.residents) if household else {},
        away=household.away if household else 0,
        visitors=household.visitors if household else 0,
        respondent=household.respondent if household else Respondent.MEMBER)


def corrected_dwelling(store: Store, record_id: str, form: PaperForm) -> Dwelling:
    """The stored dwelling with a form's values in place of its record's (its last visit's
    day and outcome; the household's counts), each changed record's revision moved on."""
    row = store.conn.execute("SELECT dwelling_id FROM household WHERE id = ?",
                             (record_id,)).fetchone()
    d = load_dwelling(store, row[0] if row else record_id)
    if d is None:
        raise CensusError(_("No keyed form {id} in this database.").format(id=record_id))
    last = max(d.visits, key=lambda v: v.attempt)
    visits = tuple(replace(v, at=form.visited_at, outcome=form.outcome)
                   if v.attempt == last.attempt else v for v in d.visits)
    if visits != d.visits:
        d = replace(d, visits=visits, revision=d.revision + 1)
    households = []
    for h in d.households:
        if h.id == record_id:
            new = replace(h, residents=dict(form.residents), away=form.away,
                          visitors=form.visitors, respondent=form.respondent)
            if new != h:
                h = replace(new, revision=h.revision + 1)
        households.append(h)
    return replace(d, households=tuple(households))


def resolve(store: Store, record_id: str, values: Mapping[str, str], who: str,
            clock: Callable[[], datetime] | None = None) -> list[Problem]:
    """Apply adjudicated values (paper fields by name, canonical text) to a keyed form, through
    the intake, with an audit entry naming them ("adjudicated"). Returns the rules' refusal
    (nothing stored) or an empty list."""
    keying = Keying(store, who, clock)
    form, before = keying.original(record_id)
    after = {**before, **values}
    corrected = form_of(form.area, after, store.config, keying.clock().date())
    if corrected.contact != form.contact:
        raise CensusError(_("{q}: an outcome with contact and one without are different forms; "
                            "change the outcome in the app instead.").format(
                                q=form.questionnaire))
    what = "; ".join(f"{k}: {before.get(k)} -> {after[k]}" for k in sorted(values)
                     if before.get(k) != after[k])
    if not what:
        return []
    with store.write() as chain:
        return keying._correct(record_id, corrected, chain, what, "adjudicated", flag=False)


def resolve_at(store: Store, ref: str, pairs: Sequence[str], who: str,
               clock: Callable[[], datetime] | None = None) -> tuple[str, list[Problem]]:
    """`census verify resolve`: the form at `ref` (AREA/STRUCTURE/DWELLING/HOUSEHOLD, or
    AREA/STRUCTURE/DWELLING for a dwelling without contact, as `census verify compare` names
    them) gets the adjudicated `pairs` (FIELD=VALUE, fields as compare names them). Returns
    the record id and the rules' refusal (empty: stored)."""
    parts = ref.strip().split("/")
    if len(parts) == 3:
        place = at_address(store, parts[0], int(parts[1]), int(parts[2]), 1) if all(
            p.isascii() and p.isdigit() and len(p) <= 4 for p in parts[1:]) else None
        if place is None or place.dwelling_id is None:
            raise CensusError(_("{ref}: no dwelling at this address; write "
                                "AREA/STRUCTURE/DWELLING[/HOUSEHOLD] as `census verify "
                                "compare` lists it.").format(ref=ref))
        record_id = place.dwelling_id
    else:
        record_id = find_household(store, ref)
    values: dict[str, str] = {}
    today = (clock or datetime.now)().date()
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CensusError(_("{pair!r}: write FIELD=VALUE, e.g. residents:female:0-4=2.")
                              .format(pair=pair))
        try:
            field, text = paper_value(name.strip(), value, store.config, today)
        except ValueError as exc:
            raise CensusError(f"{ref}: {exc}") from None
        values[field] = text
    return record_id, resolve(store, record_id, values, who, clock)
