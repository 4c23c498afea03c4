"""The household form (HouseholdScreen): counts by sex and age in a grid, away, visitors and
respondent; every valid change is saved as a draft at once, Ctrl+D completes. F2 goes from the
grid to the fields below it and back; Ctrl+T turns auto-advance after a digit on or off (a
setting kept in the database). Warnings confirmed with a reason show that reason."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Input, Select

from census.domain.model import (
    Dwelling,
    Household,
    HouseholdStatus,
    OverrideReason,
    Respondent,
)
from census.formats.record_json import household_to_json
from census.i18n import _, ngettext
from census.storage.exchange.decisions import last_return
from census.storage.records import load_dwelling
from census.storage.settings import get_setting, put_setting
from census.tui.base import CensusScreen
from census.tui.dialogs import NumberedSelect, ReasonDialog
from census.tui.labels import (
    HOUSEHOLD_STATUS,
    confirmed_lines,
    key_name,
    problem_line,
    returned_line,
)
from census.tui.widgets.count_grid import CountGrid
from census.tui.widgets.plain import Label, Static
from census.usecases.entry import errors, unconfirmed_warnings
from census.validation.engine import parse_count
from census.validation.rules import Problem

AUTO_ADVANCE = "auto_advance"  # the setting: "on", or absent (off, what a new user has)


class HouseholdScreen(CensusScreen):
    """The household form. Every valid change is saved as a draft at once."""

    BINDINGS = [
        Binding("escape", "back", _("Back"), id="household.back"),
        Binding("ctrl+s", "save_draft", _("Save draft"), id="household.save"),
        Binding("ctrl+d", "complete", _("Complete"), id="household.complete", priority=True),
        Binding("f2", "jump", _("Away, visitors"), id="household.jump"),
        Binding("ctrl+t", "auto_advance", _("Auto-advance on/off"),
                id="household.auto_advance", show=False),
    ]

    def key(self, binding_id: str, default: str) -> str:
        """The key of a binding as the user's key map has it."""
        keymap: dict[str, str] = getattr(self.app, "_keymap", {}) or {}
        return key_name(keymap.get(binding_id, default))

    @property
    def MOVING(self) -> str:  # read by the app's help, as the other screens' MOVING
        return _("In the grid: digits type a count; arrows move; Tab goes along the row, Enter "
                 "down the column (then to the next age band); Backspace erases a digit, Delete "
                 "clears the cell; the last cell leaves the grid. {jump} goes from the grid to "
                 "away, visitors and respondent, and back. {auto} turns auto-advance on or off "
                 "(a digit that completes a count moves to the next cell).").format(
            jump=self.key("household.jump", "f2"), auto=self.key("household.auto_advance",
                                                                  "ctrl+t"))

    def __init__(self, dwelling_id: str, household_id: str) -> None:
        super().__init__()
        self.dwelling_id = dwelling_id
        self.household_id = household_id
        self.field_problems: dict[str, Problem] = {}
        self.restoring = True
        self.save_failed = False
        self.refused = False
        self.shown: dict[str, str] = {}  # what each fixed-size line shows now
        self.dwelling_overrides: dict[str, OverrideReason] = {}

    def _household(self) -> tuple[Dwelling, Household]:
        d = load_dwelling(self.census.store, self.dwelling_id)
        if d is None:
            raise LookupError(self.dwelling_id)
        h = next(h for h in d.households if h.id == self.household_id)
        return d, h

    def compose(self) -> ComposeResult:
        d, h = self._household()
        self.household = h
        cap = str(self.census.store.config.max_household_size)
        returned = h.status is HouseholdStatus.RETURNED
        if returned:  # why it came back, above the title (the form still fits 80×24)
            yield Static(self.returned_line(), id="returned-reason", classes="warning")
        yield Label(_("Household {h} · dwelling {s}/{n} · {area}").format(
            h=h.number, s=d.structure, n=d.number, area=d.area),
            classes="title tight" if returned else "title")
        self.dwelling_overrides = dict(d.overrides)
        yield Label(_("Usual residents present, by sex and age (digits; arrows, Tab, Enter "
                      "move)"), classes="section")
        yield CountGrid(self.census.store.config, dict(h.residents), id="grid",
                        auto_advance=get_setting(self.census.store, AUTO_ADVANCE) == "on")
        with Horizontal(classes="line"):
            yield Label(_("Usual residents away"), classes="key")
            yield Input(str(h.away) if h.away else "", id="away", placeholder="0",
                        max_length=len(cap) + 2, compact=True, classes="number")
            yield Label(_("Visitors tonight"), classes="key")
            yield Input(str(h.visitors) if h.visitors else "", id="visitors",
                        placeholder="0", max_length=len(cap) + 2, compact=True, classes="number")
        with Horizontal(classes="line"):
            yield Label(_("Respondent"), classes="key")
            yield NumberedSelect([(_("Member"), "member"), (_("Proxy (not a member)"), "proxy")],
                                 value=str(h.respondent), allow_blank=False, id="respondent",
                                 compact=True)
        yield Static("", id="status", classes="hint")
        yield Static("", id="problems", classes="errors")
        yield Footer()

    def returned_line(self) -> str:
        """Why the supervisor sent this form back (the newest return)."""
        return returned_line(last_return(self.census.store, self.household_id))

    def on_mount(self) -> None:
        d, _h = self._household()
        self.census.remember(area=d.area, dwelling=self.dwelling_id,
                             household=self.household_id)
        self.query_one(CountGrid).focus()
        self.update_status()
        self.show_problems()  # and the reasons of warnings confirmed before
        self.call_after_refresh(self._loaded)

    def _loaded(self) -> None:
        self.restoring = False

    @property
    def unsaved(self) -> bool:
        return (self.save_failed or self.refused or bool(self.field_problems)
                or not self.query_one(CountGrid).valid)

    # -- reading the form ----------------------------------------------------------------------

    def current(self) -> Household:
        grid = self.query_one(CountGrid)
        cap = self.census.store.config.max_household_size
        values = {}
        for name in ("away", "visitors"):
            parsed = parse_count(self.query_one(f"#{name}", Input).value, name, cap)
            values[name] = parsed if isinstance(parsed, int) else getattr(self.household, name)
        respondent = Respondent(str(self.query_one("#respondent", Select).value))
        return replace(self.household, residents=grid.counts(), away=values["away"],
                       visitors=values["visitors"], respondent=respondent)

    def _set(self, selector: str, text: str) -> None:
        """Update a fixed-size line only when its text changes (no layout pass)."""
        if self.shown.get(selector) != text:
            self.shown[selector] = text
            self.query_one(selector, Static).update(text, layout=False)

    def update_status(self, saved: str = "") -> None:
        h = self.current()
        residents = ngettext("{n} usual resident", "{n} usual residents",
                             h.usual_residents).format(n=h.usual_residents)
        self._set("#status", _(
            "Present {present} + away {away} = {residents} · visitors {visitors} · "
            "{status}{saved}").format(present=h.present, away=h.away, residents=residents,
                                      visitors=h.visitors,
                                      status=_(HOUSEHOLD_STATUS[self.household.status]),
                                      saved=saved))

    def show_problems(self, extra: list[Problem] | None = None,
                      checked: list[Problem] | None = None) -> None:
        """Problems of the typed values first; else the rules' view of the record (`checked`
        when a save just computed it)."""
        grid = self.query_one(CountGrid)
        shown = grid.problems() + list(self.field_problems.values()) + (extra or [])
        if not shown:
            if checked is None:
                d, _h = self._household()
                h = self.current()
                d = replace(d, households=tuple(h if x.id == h.id else x for x in d.households))
                checked = [p for p in self.census.entry.check(d) if not p.confirmed]
            shown = checked
        lines = [problem_line(p, self.census.store.config) for p in shown] + self.confirmed_lines()
        self._set("#problems", "\n".join(lines[:5]))

    def confirmed_lines(self) -> list[str]:
        """The warnings confirmed with a reason (of this household, and of its dwelling), with
        the reason: what a reopened completed form still shows."""
        return confirmed_lines({**self.dwelling_overrides, **self.household.overrides})

    # -- live validation and draft saving --------------------------------------------------------

    def on_count_grid_changed(self, event: CountGrid.Changed) -> None:
        self.changed()

    def on_count_grid_rejected(self, event: CountGrid.Rejected) -> None:
        self.show_problems([event.problem])

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        cap = self.census.store.config.max_household_size
        parsed = parse_count(event.value, name, cap)
        if isinstance(parsed, Problem):
            self.field_problems[name] = parsed
        else:
            self.field_problems.pop(name, None)
        self.changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.changed()

    def changed(self) -> None:
        if self.restoring:
            return
        if self.field_problems or not self.query_one(CountGrid).valid:
            self.update_status(" · " + _("not saved: correct the value marked ✗"))
            self.show_problems()
            return
        if household_to_json(self.current(), self.census.store.config) == household_to_json(
                self.household, self.census.store.config) and not self.unsaved:
            return  # the same value typed again: nothing to save
        if self.household.status is not HouseholdStatus.DRAFT:
            self.notify(_("Household {n} was changed after it was completed: it is a draft "
                          "again; complete it again with Ctrl+D.").format(
                n=self.household.number), severity="warning")
        self.save(complete=False)  # also retries after a busy database or a refused draft

    def save(self, complete: bool, overrides: dict[str, OverrideReason] | None = None) -> None:
        household = self.current()
        if household.overrides:
            household = self.applying(household)
        dwelling_overrides: dict[str, OverrideReason] = {}
        if overrides:
            own = {k: v for k, v in overrides.items() if k not in ("W003", "W005")}
            dwelling_overrides = {k: v for k, v in overrides.items() if k in ("W003", "W005")}
            household = replace(household, overrides={**household.overrides, **own})
        saved = self.guarded(lambda: self.census.entry.save_household(
            self.dwelling_id, household, complete=complete,
            dwelling_overrides=dwelling_overrides))
        self.save_failed = saved is None
        self.refused = False
        if saved is None:
            # Busy, a full disk, a read-only file: the notification says which.
            self.update_status(" · " + _("NOT SAVED: the database could not be written (see "
                                         "the message); press Ctrl+S to retry"))
            return
        if saved.ok and saved.dwelling:
            self.household = next(h for h in saved.dwelling.households if h.id == household.id)
            self.dwelling_overrides = dict(saved.dwelling.overrides)
            self.update_status(" · " + (_("completed") if complete else _("draft saved")))
            self.show_problems(checked=self.mine(saved.problems, saved.dwelling))
            if complete:
                self.census.form_completed()
                self.notify(_("Household {n} completed.").format(n=self.household.number))
                self.action_back()
            return
        warnings = unconfirmed_warnings(saved.problems)
        if complete and warnings and not errors(saved.problems):
            def confirmed(reasons: dict[str, OverrideReason] | None) -> None:
                if reasons:
                    self.save(complete=True, overrides={**(overrides or {}), **reasons})

            self.app.push_screen(ReasonDialog(warnings), confirmed)
            return
        if complete:
            self.update_status(" · " + _("not completed: correct the errors below"))
        else:  # a draft the rules refuse (e.g. more persons than the limit) is not stored
            self.refused = True
            self.update_status(" · " + _("NOT SAVED: correct the error below"))
        config = self.census.store.config
        self._set("#problems", "\n".join(problem_line(p, config) for p in saved.problems[:5]))

    def applying(self, household: Household) -> Household:
        """`household` without the confirmations of warnings that no longer apply: the rules
        refuse to store a confirmation of a warning not raised (E018), so a completed household
        confirmed to have no adult could not be saved once an adult was typed in."""
        d, _h = self._household()
        unconfirmed = replace(household, overrides={})
        d = replace(d, households=tuple(unconfirmed if x.id == household.id else x
                                        for x in d.households))
        raised = {p.rule_id for p in self.mine(self.census.entry.check(d), d)}
        kept = {k: v for k, v in household.overrides.items() if k in raised}
        return household if kept == dict(household.overrides) else replace(household,
                                                                             overrides=kept)

    def mine(self, problems: list[Problem], dwelling: Dwelling) -> list[Problem]:
        """The problems of this household and of its dwelling, not of the other households."""
        index = next((i for i, h in enumerate(dwelling.households)
                      if h.id == self.household_id), -1)
        own = f"households[{index}]"
        return [p for p in problems
                if not p.field.startswith("households[") or p.field.startswith(own)]

    def action_save_draft(self) -> None:
        if self.field_problems or not self.query_one(CountGrid).valid:
            self.notify(_("Correct the value marked ✗ first."), severity="warning")
            return
        self.save(complete=False)

    def action_complete(self) -> None:
        if self.field_problems or not self.query_one(CountGrid).valid:
            self.notify(_("Correct the value marked ✗ first."), severity="warning")
            return
        self.save(complete=True)  # on success it says so and goes back

    def action_back(self) -> None:
        if self.save_failed:
            self.notify(_("The last change is not saved (the database could not be written); "
                          "press Ctrl+S to retry before leaving."), severity="warning")
            return
        if self.unsaved:
            self.notify(_("A value is not valid and not saved; correct it (or clear the cell "
                          "with Delete) before leaving."), severity="warning")
            return
        self.app.pop_screen()  # the dwelling screen, on resume, remembers where the user is

    # -- keys --------------------------------------------------------------------------------------

    def action_jump(self) -> None:
        """From the grid to the fields below it (away first), and from them back to the grid."""
        grid = self.query_one(CountGrid)
        if grid.has_focus:
            self.query_one("#away", Input).focus()
        else:
            grid.focus()

    def action_auto_advance(self) -> None:
        grid = self.query_one(CountGrid)
        on = grid.auto_advance = not grid.auto_advance  # for now, even if it cannot be kept
        self.guarded(lambda: put_setting(self.census.store, AUTO_ADVANCE, "on" if on else None))
        self.notify(_("Auto-advance is on: a digit that completes a count moves to the next "
                      "cell.") if on else _("Auto-advance is off: Tab, Enter or an arrow moves "
                                            "to the next cell."))
