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
from datetime import date, datetime

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
from census.storage.areas import area_facts
from census.storage.audit import Chain
from census.storage.audit import Entry as AuditEntry
from census.storage.exchange.merge import Hold, hold
from census.storage.pending import at_address
from census.storage.records import load_dwelling
from census.storage.store import Store, utc_now
from census.usecases.forms import run_batches
from census.usecases.intake import Intake
from census.usecases.review import find_household
from census.usecases.sources import (
    Gate,
    Source,
    Via,
    blocks_keyed,
    blocks_record,
    local_refusal,
    refusal_text,
)
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
        if not area:
            return _("Key the batch's enumeration area code (see `census area list`).")
        found = area_facts(self.store, [area]).get(area)
        if found is None or found.level != self.store.config.levels[-1]:
            return _("{area} is no enumeration area of this database: a batch is the forms of "
                     "one enumeration area (see `census area list`).").format(area=area)
        no = local_refusal(self.store, area, Act.RECORD)
        return None if no is None else refusal_text(self.store, no, area)

    def setting(self, area: str) -> tuple[VerifySetting, bool]:
        """The batch's verify setting (the default until one is set) and its re-key flag."""
        return kept.batch_setting(self.store, area) or (DEFAULT_SETTING, False)

    def set_batch(self, area: str, setting: VerifySetting) -> None:
        """Store a batch's verify setting, with an audit entry (the setting is logged); the
        forms not verified yet are chosen again by it, and the batch's re-key flag is judged
        again with its tolerance."""
        if (no := self.batch_refusal(area)) is not None:
            raise CensusError(no)
        with self.store.write() as chain:
            self._set_batch(chain, area, setting)
            kept.choose_again(self.store, area)
            self._judge(area)

    def _set_batch(self, chain: Chain, area: str, setting: VerifySetting) -> None:
        old = kept.batch_setting(self.store, area)
        kept.put_batch_setting(self.store, area, setting, self.operator, stamp(self.clock()))
        chain.add([AuditEntry(utc_now(), self.operator, "area", area,
                              "keying_setting", old[0].describe() if old else None,
                              setting.describe(), None)])

    def _judge(self, area: str) -> bool:
        """Flag the batch for full re-keying when its keyer errors pass its tolerance: then
        every form of it not verified yet is to be verified (keyed again)."""
        errors, fields = kept.batch_errors(self.store, area)
        rekey = over_tolerance(errors, fields, self.setting(area)[0].tolerance)
        kept.flag_rekey(self.store, area, rekey)
        if rekey:
            kept.choose_again(self.store, area, every_form=True)
        return rekey

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
            stored = load_dwelling(store, place.dwelling_id) if place.dwelling_id else None
            if (no := self._taken(form, place.household_id, stored)) is not None:
                return Keyed(refused=no)
            dwelling = self._dwelling(form, stored)
            household = next((h for h in dwelling.households if h.number == form.household),
                             None) if form.contact else None
            # Until the clerk keys past them, warnings stop the form as errors do.
            refused, warned = self._store(dwelling, blocks_keyed if past_warnings
                                          else blocks_record)
            if refused:
                return Keyed(errors=tuple(p for p in refused if p.severity is Severity.ERROR),
                             warnings=tuple(p for p in refused
                                            if p.severity is Severity.WARNING))
            warnings = tuple(warned)
            record = household.id if household else dwelling.id
            if warnings:
                self._flag(record, dwelling.area, warnings)
            kept.add_keyed_form(store, record, dwelling.id, form.area, self.operator,
                                self.session or 0, stamp(self.clock()),
                                revision_of(store, record), form.day.isoformat(),
                                str(form.outcome), bool(warnings))
        self.counts.forms += 1
        self.save_counts()
        return Keyed(record_id=record, warnings=warnings)

    def _taken(self, form: PaperForm, household_id: str | None, stored: Dwelling | None
               ) -> str | None:
        """Why the form's questionnaire number cannot take it, or None."""
        if household_id is not None or (
                stored is not None and not form.contact
                and kept.keyed_form(self.store, stored.id) is not None):
            return _("Form {q} is keyed already: key the next form, or correct this one in the "
                     "review queue.").format(q=form.questionnaire)
        if stored is not None and not form.contact and stored.households:
            return _("Form {q}: dwelling {s}/{d} has households counted already, and visit "
                     "outcomes are kept per dwelling: a form without contact cannot be added "
                     "to it. Give the paper to the supervisor.").format(
                q=form.questionnaire, s=form.structure, d=form.dwelling)
        return None

    def _dwelling(self, form: PaperForm, stored: Dwelling | None) -> Dwelling:
        """The dwelling record the form makes: a new one, or the stored one with the form's
        visit (unless it has one that day with that outcome) and household added."""
        area = area_facts(self.store, [form.area])[form.area]
        visit = Visit(1, form.visited_at, form.outcome, enumerator=area.enumerator)
        if stored is None:
            occupancy = (Occupancy.VACANT if form.outcome is Outcome.VACANT
                         else Occupancy.OCCUPIED)
            stored = Dwelling(id=new_id(), area=form.area, structure=form.structure,
                              number=form.dwelling, occupancy=occupancy,
                              enumerator=area.enumerator, visits=(visit,))
        else:
            stored = replace(stored, revision=stored.revision + 1,
                             visits=with_visit(stored.visits, visit))
        if not form.contact:
            return stored
        household = Household(id=new_id(), number=form.household, seed=new_seed(),
                              status=HouseholdStatus.COMPLETE, respondent=form.respondent,
                              residents=dict(form.residents), away=form.away,
                              visitors=form.visitors)
        return replace(stored, households=(*stored.households, household))

    def _store(self, dwelling: Dwelling, gate: Gate = blocks_keyed
               ) -> tuple[list[Problem], list[Problem]]:
        """Through the one intake, as this operator (inside the caller's transaction).
        Returns the problems that refused it (nothing stored), and the warnings of what was
        stored (keyed past)."""
        refused: list[Problem] = []
        checked: list[Problem] = []
        source = Source(Via.KEYING, self.operator, self.store.role, gate=gate)
        intake = Intake(self.store, source, self.clock().replace(second=0, microsecond=0),
                        sink=lambda _line, p: refused.append(p),
                        checked=lambda _id, problems: checked.extend(problems))
        run_batches(self.store, intake, iter([[(1, dwelling)]]), all_or_nothing=False)
        warned = [p for p in checked if p.severity is Severity.WARNING and not p.confirmed]
        return refused, [] if refused else warned

    def _flag(self, record_id: str, area: str, problems: Sequence[Problem]) -> None:
        """Mark a stored form for review with the rules it breaks (keyed past)."""
        record_type = record_type_of(self.store, record_id)
        revision, digest = self.store.conn.execute(
            f"SELECT revision, digest FROM {record_type} WHERE id = ?", (record_id,)).fetchone()
        hold(self.store, [Hold(ReviewKind.FLAGGED, record_type, record_id, area, revision,
                               digest, self.operator, None,
                               ",".join(sorted({p.rule_id for p in problems})))], utc_now())

    # -- dependent verification -----------------------------------------------------------------

    def to_verify(self, area: str) -> list[kept.KeyedForm]:
        """The forms of a batch this operator is to verify now: chosen by the batch's setting
        (the choice is kept until the setting changes), not verified yet, not changed since
        they were keyed, keyed by another."""
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
        return [f for f in self.waiting(forms) if f.operator != self.operator]

    @staticmethod
    def waiting(forms: Sequence[kept.KeyedForm]) -> list[kept.KeyedForm]:
        """The chosen forms not verified yet and unchanged since they were keyed."""
        return [f for f in forms if f.chosen and f.verified_by is None and not f.changed]

    def original(self, record_id: str) -> tuple[PaperForm, dict[str, str]]:
        """The form as first keyed, and its fields' canonical text."""
        form = stored_form(self.store, record_id)
        return form, values_of(form, self.store.config)

    def verified(self, record_id: str, corrected: PaperForm, fields_verified: int,
                 keyer_errors: int, verifier_errors: int) -> Verified:
        """Record a form's verification; the keyer errors' values replace the first keying
        (through the intake, audited). Nothing is recorded when the area may not be written,
        or the form was verified or changed since it was keyed."""
        if (no := self.batch_refusal(corrected.area)) is not None:
            return Verified(refused=no)
        if self.session is None:
            self.start("verify", corrected.area)
        with self.store.write() as chain:
            keyed = kept.keyed_form(self.store, record_id)
            if keyed is None or keyed.verified_by is not None or keyed.changed:
                return Verified(refused=_(
                    "Form {q} was verified or changed meanwhile (by another operator, or in "
                    "review); nothing was recorded.").format(q=corrected.questionnaire))
            form, before = self.original(record_id)
            problems: tuple[Problem, ...] = ()
            unresolved = corrected.contact != form.contact
            if unresolved:  # another form altogether: the supervisor decides
                kept.set_keyed(self.store, record_id, keyed.revision, keyed.day, keyed.outcome,
                               flagged=True)
            else:
                problems = tuple(self._correct(record_id, before, corrected, chain,
                                               "verified"))
            kept.record_verification(self.store, record_id, self.operator, self.session or 0,
                                     stamp(self.clock()), fields_verified, keyer_errors,
                                     verifier_errors)
            rekey = self._judge(form.area)
            errors, fields = kept.batch_errors(self.store, form.area)
        self.counts.forms += 1
        self.counts.fields_verified += fields_verified
        self.counts.keyer_errors += keyer_errors
        self.counts.verifier_errors += verifier_errors
        self.save_counts()
        return Verified(problems=problems, unresolved=unresolved, rekey=rekey,
                        batch_errors=errors, batch_fields=fields)

    def _correct(self, record_id: str, before: Mapping[str, str], corrected: PaperForm,
                 chain: Chain, reason: str, flag: bool = True) -> list[Problem]:
        """Store the corrected form in place of the stored one (whose fields' text is
        `before`; the same ids), audited with `reason` and the fields changed (nothing when
        none did); a correction the rules refuse is not stored (the form is marked for
        review, with `flag`); one stored with warnings is marked for review."""
        after = values_of(corrected, self.store.config)
        changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
        if not changed:
            return []
        keyed = kept.keyed_form(self.store, record_id)
        dwelling = corrected_dwelling(self.store, record_id, corrected, keyed)
        refused, warned = self._store(dwelling)
        record_type = record_type_of(self.store, record_id)
        if refused:
            if flag:
                self._flag(record_id, corrected.area, refused)
                if keyed is not None:
                    kept.set_keyed(self.store, record_id, keyed.revision, keyed.day,
                                   keyed.outcome, flagged=True)
            return refused
        if warned:
            self._flag(record_id, corrected.area, warned)
        if keyed is not None:
            kept.set_keyed(self.store, record_id, revision_of(self.store, record_id),
                           corrected.day.isoformat(), str(corrected.outcome),
                           flagged=bool(warned) or None)
        what = "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in sorted(changed.items()))
        chain.add([AuditEntry(utc_now(), self.operator, record_type, record_id,
                              "keying", None, what[:4000], reason)])
        return []


@dataclass(frozen=True)
class Verified:
    """A verified form: a refusal in words (nothing recorded), the rules' refusal of its
    correction (the form stays as first keyed, marked for review), whether it was another
    form altogether (an outcome with contact against one without: marked for review), and
    whether the batch is now to be keyed again in full, with its keyer errors and fields
    verified so far."""

    refused: str | None = None
    problems: tuple[Problem, ...] = ()
    unresolved: bool = False
    rekey: bool = False
    batch_errors: int = 0
    batch_fields: int = 0


def record_type_of(store: Store, record_id: str) -> str:
    """A keyed form's record: a household, or a dwelling (a form without contact)."""
    found = store.conn.execute("SELECT 1 FROM household WHERE id = ?", (record_id,)).fetchone()
    return "household" if found else "dwelling"


def dwelling_of(store: Store, record_id: str) -> Dwelling:
    """The dwelling a keyed form's record is (or holds it), with its visits and households."""
    row = store.conn.execute("SELECT dwelling_id FROM household WHERE id = ?",
                             (record_id,)).fetchone()
    dwelling = load_dwelling(store, row[0] if row else record_id)
    if dwelling is None or not dwelling.visits:
        raise CensusError(_("No keyed form {id} in this database.").format(id=record_id))
    return dwelling


def revision_of(store: Store, record_id: str) -> int:
    table = record_type_of(store, record_id)
    return int(store.conn.execute(f"SELECT revision FROM {table} WHERE id = ?",
                                  (record_id,)).fetchone()[0])


def with_visit(visits: tuple[Visit, ...], visit: Visit) -> tuple[Visit, ...]:
    """`visits` with `visit` as the next attempt, unless one is there that day with that
    outcome (the paper's visit of another household of the dwelling)."""
    if any(v.at == visit.at and v.outcome is visit.outcome for v in visits):
        return visits
    attempt = max((v.attempt for v in visits), default=0) + 1
    return (*visits, replace(visit, attempt=attempt))


def stored_form(store: Store, record_id: str) -> PaperForm:
    """The paper form a record holds (a household, or a dwelling without contact): a keyed
    form's day and outcome as keyed; another record's from its dwelling's last visit."""
    dwelling = dwelling_of(store, record_id)
    household = next((h for h in dwelling.households if h.id == record_id), None)
    keyed = kept.keyed_form(store, record_id)
    if keyed is not None:
        day, outcome = date.fromisoformat(keyed.day), Outcome(keyed.outcome)
    else:
        last = max(dwelling.visits, key=lambda v: v.attempt)
        day, outcome = last.at.date(), last.outcome
    return PaperForm(
        dwelling.area, dwelling.structure, dwelling.number,
        household.number if household else 1, day, outcome,
        dict(household.residents) if household else {},
        away=household.away if household else 0,
        visitors=household.visitors if household else 0,
        respondent=household.respondent if household else Respondent.MEMBER)


def corrected_dwelling(store: Store, record_id: str, form: PaperForm,
                       keyed: kept.KeyedForm | None) -> Dwelling:
    """The stored dwelling with a form's values in place of its record's, each changed
    record's revision moved on. The form's visit: the one keyed with it (a keyed form), else
    the last; when another keyed form of the dwelling has the same visit, a visit of its own
    is added instead of changing theirs."""
    d = dwelling_of(store, record_id)
    if keyed is not None:
        mine = [v for v in d.visits if v.at.date().isoformat() == keyed.day
                and str(v.outcome) == keyed.outcome]
        shared = any(k.record_id != record_id and (k.day, k.outcome) == (keyed.day,
                                                                          keyed.outcome)
                     for k in kept.keyed_in_dwelling(store, d.id))
    else:
        mine, shared = [max(d.visits, key=lambda v: v.attempt)], False
    new = Visit(1, form.visited_at, form.outcome,
                enumerator=mine[0].enumerator if mine else d.enumerator)
    if mine and not shared:
        visits = tuple(replace(v, at=new.at, outcome=new.outcome) if v is mine[0] else v
                       for v in d.visits)
    else:
        visits = with_visit(d.visits, new)
    if visits != d.visits:
        d = replace(d, visits=visits, revision=d.revision + 1)
    households = []
    for h in d.households:
        if h.id == record_id:
            changed = replace(h, residents=dict(form.residents), away=form.away,
                              visitors=form.visitors, respondent=form.respondent)
            if changed != h:
                h = replace(changed, revision=h.revision + 1)
        households.append(h)
    return replace(d, households=tuple(households))


def resolve(store: Store, record_id: str, values: Mapping[str, str], who: str,
            clock: Callable[[], datetime] | None = None) -> list[Problem]:
    """Apply adjudicated values (paper fields by name, canonical text) to a form, through the
    intake, with an audit entry naming them ("adjudicated"). Returns the rules' refusal
    (nothing stored) or an empty list."""
    keying = Keying(store, who, clock)
    form, before = keying.original(record_id)
    if (no := keying.batch_refusal(form.area)) is not None:
        raise CensusError(no)
    missing = sorted(set(values) - set(before))
    if missing:
        raise CensusError(_("{q}: {fields}: this form has no such field (no counts on a form "
                            "without contact, or on a dwelling's own line: name the "
                            "household, AREA/S/D/H).").format(q=form.questionnaire,
                                                              fields=", ".join(missing)))
    corrected = form_of(form.area, {**before, **values}, store.config, keying.clock().date())
    if corrected.contact != form.contact:
        raise CensusError(_("{q}: an outcome with contact and one without are different forms; "
                            "change the outcome in the app instead.").format(
                                q=form.questionnaire))
    with store.write() as chain:
        return keying._correct(record_id, before, corrected, chain, "adjudicated", flag=False)


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
