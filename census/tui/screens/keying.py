"""Keying paper forms heads-down (issue 16): the start (KeyingStartScreen: operator code, batch,
key or verify) and the form (KeyingScreen: one paper questionnaire after the other).

Keying: digits, Enter and a few keys; after the last field the form is stored (through the use
case `census.usecases.keying.Keying`, so the one intake) and the next blank form opens at once.
A warning is said on the form; Enter again keys past it (the form is marked for review), as
CSPro's operator-controlled keying. An error stays on the form until corrected.

Verifying: the chosen forms of the batch come one after the other with their questionnaire
number shown; each field the verifier keys is compared with the first keying as it is committed
(`census.domain.keying.FieldCheck`): a difference asks for the field again, and the second
keying says who was wrong. The session's counts are kept after each form.
"""

from __future__ import annotations

import json
from copy import copy

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Input

from census.domain.errors import CensusError
from census.domain.keying import (
    CONTACT_CODES,
    NUMBERS,
    FieldCheck,
    KeyField,
    KeyTally,
    Verdict,
    canonical,
    field_problem,
    form_of,
    percent,
)
from census.i18n import _, counted
from census.storage.keying import KeyedForm
from census.storage.keying import keyed_forms as kept_forms
from census.storage.settings import get_setting, put_setting
from census.tui.base import CensusScreen
from census.tui.labels import problem_line
from census.tui.widgets.paper_form import PaperForm, Step
from census.tui.widgets.plain import Label, Static
from census.usecases.keying import Keying

MODES = {"1": "key", "2": "verify"}


class KeyingStartScreen(CensusScreen):
    """Who keys (an operator code), which batch (an enumeration area), and how (key, verify)."""

    BINDINGS = [Binding("escape", "app.pop_screen", _("Back"), id="keying_start.back")]
    AUTO_FOCUS = "#operator"

    def __init__(self, area: str | None = None) -> None:
        super().__init__()
        self.area = area or ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Key paper forms"), classes="title")
            yield Input(placeholder=_("Operator code (e.g. K01; never a name)"), id="operator")
            yield Input(value=self.area, placeholder=_("Batch: enumeration area code"),
                        id="area")
            yield Input(value="1", placeholder=_("1 key, 2 verify"), id="mode", max_length=1,
                        restrict="[12]?")
            yield Label(_("Mode: 1 key forms, 2 verify forms keyed by another operator"),
                        classes="hint")
            yield Static("", id="errors", classes="errors")
            yield Label(_("Enter next field, then start · Esc back"), classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#operator", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "mode":
            self.focus_next()
            return
        self.begin()

    def begin(self) -> None:
        operator = self.query_one("#operator", Input).value.strip()
        area = self.query_one("#area", Input).value.strip()
        mode = MODES.get(self.query_one("#mode", Input).value or "1", "key")
        try:
            keying = Keying(self.census.store, operator, self.census.clock_seconds)
            keying.start(mode, area)
        except CensusError as exc:
            self.query_one("#errors", Static).update("✗ " + str(exc))
            return
        self.app.switch_screen(KeyingScreen(keying, area, verify=mode == "verify"))


class KeyingScreen(CensusScreen):
    """One paper form after the other, keyed or verified."""

    BINDINGS = [Binding("escape", "leave", _("End session"), id="keying.leave")]
    AUTO_FOCUS = "#paper"
    MOVING = _("Digits fill a field (a full one moves on); Enter commits it; Backspace erases; "
               "Up or Shift+Tab goes back a field; Home goes to the first field.")

    def __init__(self, keying: Keying, area: str, verify: bool = False) -> None:
        super().__init__()
        self.keying = keying
        self.area = area
        self.verify = verify
        self.warned: dict[str, str] | None = None
        self.queue: list[KeyedForm] = []
        self.current: KeyedForm | None = None
        self.original: dict[str, str] = {}
        self.checks: dict[str, FieldCheck] = {}
        self.verdicts: dict[str, Verdict] = {}
        """Each field's verdict on this form (a field decided is not judged again)."""
        self.start_tally = KeyTally()
        self.rejected = 0
        self.ended = False

    def compose(self) -> ComposeResult:
        yield Label("", id="title", classes="title")
        self._paper = PaperForm(self.census.store.config, self.commit, self.finished, id="paper",
                                kept=None if self.verify else self.keep_typed)
        yield self._paper
        yield Static("", id="problems", classes="errors")
        yield Footer()

    @property
    def paper(self) -> PaperForm:
        return self._paper

    def on_mount(self) -> None:
        self.start_tally = copy(self.census.tally)
        self.paper.focus()
        if self.verify:
            self.queue = self.guarded(lambda: self.keying.to_verify(self.area)) or []
        self.next_form()

    def title_line(self) -> str:
        counts = self.keying.counts
        if self.verify:
            left = len(self.queue) + (1 if self.current else 0)
            return _("Verifying {area} · operator {op} · {n} verified, {left} to go").format(
                area=self.area, op=self.keying.operator, n=counts.forms, left=left)
        return _("Keying {area} · operator {op} · {forms} keyed").format(
            area=self.area, op=self.keying.operator,
            forms=counted("{n} form", "{n} forms", counts.forms))

    @property
    def typed_key(self) -> str:
        return f"keying.{self.keying.operator}.{self.area}"

    def keep_typed(self, values: dict[str, str]) -> None:
        """The form being keyed, kept after each field: a crash or a kill loses nothing typed
        (the same operator keying the same batch gets it back)."""
        self.guarded(lambda: put_setting(self.census.store, self.typed_key,
                                         json.dumps(values) if values else None))

    def typed_before(self) -> dict[str, str]:
        raw = self.guarded(lambda: get_setting(self.census.store, self.typed_key))
        try:
            values = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        if not isinstance(values, dict):
            return {}
        return {str(k): str(v) for k, v in values.items()}

    def next_form(self) -> None:
        self.warned = None
        self.query_one("#problems", Static).update("")
        if not self.verify:
            before = self.typed_before()
            self.paper.start(before)
            if before:
                self.notify(_("Reopened the form you were keying, as far as you had keyed "
                              "it."))
        elif self.queue:
            self.current = self.queue.pop(0)
            found = self.guarded(lambda: self.keying.original(self.current.record_id)
                                 if self.current else None)
            if found is None:
                return
            self.original = found[1]
            self.checks = {}
            self.verdicts = {}
            self.paper.start({n: self.original[n] for n in NUMBERS}, frozenset(NUMBERS),
                             basis=self.original)
        else:
            self.current = None
            self.paper.start(locked=frozenset(f.name for f in self.paper.fields))
            self.paper.say(self.batch_line())
        self.query_one("#title", Label).update(self.title_line())

    def batch_line(self) -> str:
        setting, rekey = self.keying.setting(self.area)
        forms = self.guarded(lambda: kept_forms(self.census.store, self.area)) or []
        own = [f for f in Keying.waiting(forms) if f.operator == self.keying.operator]
        if own:
            return _("Forms left to verify in this batch: {n}, all keyed by you ({op}); "
                     "another operator verifies them. Esc ends the session.").format(
                n=len(own), op=self.keying.operator)
        if rekey:
            return _("Every form to verify is verified. The batch's keyer errors passed its "
                     "tolerance ({tolerance}): every form keyed since is to be verified "
                     "too.").format(tolerance=percent(setting.tolerance))
        return _("Every chosen form of this batch is verified ({setting}). Esc ends the "
                 "session.").format(setting=setting.describe())

    # -- a field committed -----------------------------------------------------------------------

    def commit(self, field: KeyField, text: str) -> Step:
        if self.verify and self.current is None:
            return Step(False, self.batch_line())
        problem = field_problem(field, text, self.census.store.config, self.census.now().date())
        if problem is not None:
            return Step(False, problem, value=text)
        value = canonical(field, text)
        if not self.verify:
            return Step(True, value=value)
        if field.name in self.verdicts:  # decided already (the verifier went back a field)
            return Step(True, value=self.paper.values.get(field.name))
        check = self.checks.setdefault(field.name, FieldCheck(self.original.get(field.name, "")))
        verdict = check.key(value)
        if verdict is Verdict.AGAIN:
            return Step(False, _("{field}: {value} differs from the first keying; key it "
                                 "again from the paper.").format(field=_(field.label),
                                                                 value=value))
        self.verdicts[field.name] = verdict
        if verdict is Verdict.VERIFIER_ERROR:
            return Step(True, _("{field}: the first keying stands (verifier error).").format(
                field=_(field.label)), value=value)
        if verdict is Verdict.KEYER_ERROR:
            other_form = field.name == "outcome" and (
                (value in CONTACT_CODES) != (check.original in CONTACT_CODES))
            if other_form:  # contact against no contact: the supervisor decides
                return Step(True, _("Outcome: {value} against {first}, one with contact and "
                                    "one without: the form goes to the supervisor's review "
                                    "(keyer error).").format(value=value, first=check.original),
                            value=value, finish=True)
            return Step(True, _("{field}: {value} replaces {first} (keyer error).").format(
                field=_(field.label), value=value, first=check.original), value=value)
        return Step(True)

    # -- a form finished -------------------------------------------------------------------------

    def sync_counts(self) -> None:
        keys, bad, pause = self.census.tally.since(self.start_tally)
        counts = self.keying.counts
        counts.keystrokes, counts.pause_seconds = keys, pause
        counts.bad_keystrokes = bad + self.paper.rejected

    def finished(self) -> None:
        self.sync_counts()
        values = dict(self.paper.values)
        today = self.census.now().date()
        if self.verify:
            self.finish_verify(values, today)
            return
        form = form_of(self.area, values, self.census.store.config, today)
        done = self.guarded(lambda: self.keying.key(form, past_warnings=self.warned == values))
        if done is None:
            return
        if done.ok:
            self.keep_typed({})
            flagged = _(" (marked for review: {rules})").format(
                rules=", ".join(p.rule_id for p in done.warnings)) if done.warnings else ""
            self.notify(_("Form {q} keyed{flagged}.").format(q=form.questionnaire,
                                                             flagged=flagged), timeout=2)
            self.next_form()
            return
        config = self.census.store.config
        if done.refused:  # its questionnaire number: back to it
            lines = [done.refused]
            self.paper.first()
        elif done.errors:
            lines = [problem_line(p, config) for p in done.errors[:5]]
        else:
            self.warned = values
            lines = [problem_line(p, config) for p in done.warnings[:5]]
            lines.append(_("Enter keys past the warning as on the paper (the form is marked "
                           "for review); Up goes back to correct a field."))
        self.query_one("#problems", Static).update("\n".join(lines))

    def finish_verify(self, values: dict[str, str], today: object) -> None:
        current = self.current
        if current is None:
            return
        form = form_of(self.area, values, self.census.store.config,
                       self.census.now().date())
        verdicts = list(self.verdicts.values())
        fields = len(verdicts)
        keyer = verdicts.count(Verdict.KEYER_ERROR)
        verifier = verdicts.count(Verdict.VERIFIER_ERROR)
        done = self.guarded(lambda: self.keying.verified(current.record_id, form, fields,
                                                         keyer, verifier))
        if done is None:
            return
        if done.refused:
            self.notify(done.refused, severity="warning", timeout=8)
        elif done.problems or done.unresolved:
            self.notify(_("Form {q}: the corrected form is not stored (another outcome, or a "
                          "rule refuses it); it stays as first keyed and is marked for "
                          "review.").format(q=form.questionnaire), severity="warning",
                        timeout=8)
        else:
            self.notify(_("Form {q} verified: keyer errors {keyer}, verifier errors "
                          "{verifier}.").format(q=form.questionnaire, keyer=keyer,
                                                verifier=verifier), timeout=3)
        if done.rekey:
            self.notify(_("Batch {area}: keyer errors pass the tolerance; every form of it is "
                          "now to be verified.").format(area=self.area), severity="warning",
                        timeout=8)
            self.queue = self.guarded(lambda: self.keying.to_verify(self.area)) or []
            self.queue = [f for f in self.queue if f.record_id != current.record_id]
        self.next_form()

    # -- leaving -----------------------------------------------------------------------------------

    def action_leave(self) -> None:
        self.end()
        self.app.pop_screen()

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.sync_counts()
        self.guarded(self.keying.save_counts)

    def on_unmount(self) -> None:
        self.end()
