"""The census app's modal dialogs: listing line, visit, warning confirmation (a reason per
warning), returning a household, yes/no, and help."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Select
from textual.widgets.option_list import Option
from textual.widgets.select import NULL, NoSelection

from census.domain.errors import CensusError
from census.domain.model import (
    NO_CONTACT_OUTCOMES,
    NOTE_LIMIT,
    OVERRIDE_REASON_LABELS,
    RETURN_REASON_LABELS,
    DwellingType,
    Household,
    Occupancy,
    Outcome,
    OverrideReason,
    ReturnReason,
)
from census.i18n import _
from census.storage.connection import StoreError
from census.storage.listing import next_numbers
from census.storage.records import load_dwelling
from census.tui.labels import OCCUPANCY, OUTCOMES, TYPES, problem_line
from census.tui.widgets.plain import Label, Static
from census.usecases.entry import Saved, errors, unconfirmed_warnings
from census.validation.engine import (
    check_callback,
    check_locator,
    parse_date_and_time,
    parse_number,
)
from census.validation.rules import Problem

if TYPE_CHECKING:
    from census.tui.app import CensusApp


T = TypeVar("T")


class Dialog(ModalScreen[T]):
    """A modal with Escape to cancel."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"), id="dialog.cancel")]

    @property
    def census(self) -> CensusApp:
        """The app this dialog runs in (census dialogs are only pushed by `CensusApp`)."""
        return cast("CensusApp", self.app)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _digit(event: events.Key) -> int | None:
    """The digit 1-9 a key types, or None (0 and other keys pick nothing)."""
    char = event.character
    return int(char) if char is not None and len(char) == 1 and char in "123456789" else None


class NumberedOptionList(OptionList):
    """A short list whose options are shown numbered ("1 Completed"): a digit picks the n-th
    option at once; arrows and Enter work as in any list."""

    def __init__(self, *choices: tuple[str, str], id: str | None = None) -> None:
        super().__init__(*[Option(Text(f"{n} {label}"), id=key)
                           for n, (label, key) in enumerate(choices, 1)], id=id)

    def on_key(self, event: events.Key) -> None:
        n = _digit(event)
        if n is not None and n <= self.option_count:
            event.stop()
            event.prevent_default()
            self.highlighted = n - 1
            self.action_select()


class NumberedSelect(Select[str]):
    """A drop-down of a few choices shown numbered: a digit picks the n-th choice, the list
    closed or open; Enter, arrows and space open it as in any Select. Typing to search is off
    (a digit is a pick, not a search)."""

    def __init__(self, choices: list[tuple[str, str]], *, value: str | NoSelection = NULL,
                 prompt: str = "", allow_blank: bool = True, id: str | None = None,
                 compact: bool = False) -> None:
        self.choice_values = [v for _label, v in choices]
        super().__init__([(Text(f"{n} {label}"), v) for n, (label, v) in enumerate(choices, 1)],
                         value=value, prompt=prompt, allow_blank=allow_blank,
                         type_to_search=False, id=id, compact=compact)

    def on_key(self, event: events.Key) -> None:
        n = _digit(event)
        if n is not None and n <= len(self.choice_values):
            event.stop()
            event.prevent_default()
            self.value = self.choice_values[n - 1]
            if self.expanded:
                self.expanded = False
                self.focus()


class ListingDialog(Dialog[Saved | None]):
    """Add or edit a listing line; next numbers are proposed. A new line can be saved and
    visited at once (the dwelling opens with the visit dialog). Esc asks before throwing away
    what was typed."""

    BINDINGS = [Binding("ctrl+s", "save", _("Save"), id="listing.save"),
                Binding("ctrl+r", "save_and_visit", _("Save and visit"), id="listing.visit")]

    def __init__(self, area: str, dwelling_id: str | None = None) -> None:
        super().__init__()
        self.area = area
        self.dwelling_id = dwelling_id
        self.initial: tuple[str, ...] = ()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # An existing line is visited from its dwelling screen (v), not from here.
        return not (action == "save_and_visit" and self.dwelling_id)

    def compose(self) -> ComposeResult:
        store = self.census.store
        title = _("Edit listing line") if self.dwelling_id else _("New listing line")
        if self.dwelling_id:
            d = load_dwelling(store, self.dwelling_id, with_households=False)
            assert d is not None
            structure, number = d.structure, d.number
            dtype, occ, locator = str(d.type), str(d.occupancy), d.locator or ""
        else:
            structure, number = next_numbers(store, self.area)
            dtype, occ, locator = "house", "occupied", ""
        self.initial = (str(structure), str(number), dtype, occ, locator)
        with Vertical(classes="dialog"):
            yield Label(title, classes="title")
            with Horizontal(classes="line"):
                yield Label(_("Structure no."), classes="key")
                yield Input(str(structure), id="structure", restrict=r"\d*", max_length=4,
                            compact=True, classes="number")
                yield Label(_("Dwelling no."), classes="key")
                yield Input(str(number), id="number", restrict=r"\d*", max_length=4,
                            compact=True, classes="number")
            with Horizontal(classes="line"):
                yield Label(_("Type"), classes="key")
                yield NumberedSelect([(_(TYPES[t]), str(t)) for t in DwellingType],
                                     value=dtype, id="type", allow_blank=False, compact=True)
            with Horizontal(classes="line"):
                yield Label(_("Occupancy"), classes="key")
                yield NumberedSelect([(_(OCCUPANCY[o]), str(o)) for o in Occupancy], value=occ,
                                     id="occupancy", allow_blank=False, compact=True)
            with Horizontal(classes="line"):
                yield Label(_("Locator"), classes="key")
                yield Input(locator, id="locator", max_length=80, compact=True,
                            placeholder=_("a landmark, optional"))
            yield Label(_("A landmark only: no names, no phone numbers."), classes="hint")
            yield Static("", id="errors", classes="errors")
            yield Label(_("Ctrl+S save · Ctrl+R save and visit · Esc cancel")
                        if not self.dwelling_id else _("Ctrl+S save · Esc cancel"),
                        classes="hint")

    def typed(self) -> tuple[str, ...]:
        """What the fields hold now, as `initial` holds what they were given."""
        fields = [self.query_one(f"#{name}", Input).value for name in ("structure", "number")]
        fields += [str(self.query_one(f"#{name}", Select).value)
                   for name in ("type", "occupancy")]
        return (*fields, self.query_one("#locator", Input).value)

    def action_cancel(self) -> None:
        if self.typed() == self.initial:
            self.dismiss(None)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(ConfirmDialog(
            _("Throw away this new listing line and what you typed on it?")
            if not self.dwelling_id else _("Throw away the changes to this listing line?")),
            answer)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "structure" and not self.dwelling_id:
            text = event.value
            if text.isdigit() and int(text) > 0:
                _s, number = next_numbers(self.census.store, self.area, int(text))
                self.query_one("#number", Input).value = str(number)
        if event.input.id == "locator":
            problems = check_locator(event.value, self.census.store.config)
            self.show(problems)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "locator":
            self.action_save()
        else:
            self.focus_next()

    def show(self, problems: list[Problem]) -> None:
        config = self.census.store.config
        self.query_one("#errors", Static).update("\n".join(problem_line(p, config)
                                                           for p in problems))

    def action_save_and_visit(self) -> None:
        self.action_save(visit=True)

    def action_save(self, visit: bool = False) -> None:
        structure = parse_number(self.query_one("#structure", Input).value, "structure",
                                 _("structure number"))
        number = parse_number(self.query_one("#number", Input).value, "dwelling",
                              _("dwelling number"))
        found = [p for p in (structure, number) if isinstance(p, Problem)]
        locator = self.query_one("#locator", Input).value.strip() or None
        found += check_locator(locator, self.census.store.config)
        if found:
            self.show(found)
            return
        assert isinstance(structure, int) and isinstance(number, int)
        dtype = DwellingType(str(self.query_one("#type", Select).value))
        occ = Occupancy(str(self.query_one("#occupancy", Select).value))
        try:
            if self.dwelling_id:
                saved = self.census.entry.edit_dwelling(
                    self.dwelling_id, structure=structure, number=number, type=dtype,
                    occupancy=occ, locator=locator)
            else:
                saved = self.census.entry.add_dwelling(self.area, structure, number, dtype, occ,
                                                       locator)
        except StoreError as exc:
            self.show([])
            self.notify(str(exc), severity="error")
            return
        if not saved.ok:
            self.show(saved.problems)
            return
        self.dismiss(saved)
        if visit and saved.dwelling is not None:
            from census.tui.screens.dwelling import DwellingScreen

            self.app.push_screen(DwellingScreen(saved.dwelling.id, visit=True))


class VisitDialog(Dialog[Saved | None]):
    """Record a visit: choose the outcome; no one home or callback asks for an appointment."""

    BINDINGS = [Binding("ctrl+s", "save", _("Save"), id="visit.save")]

    def __init__(self, dwelling_id: str) -> None:
        super().__init__()
        self.dwelling_id = dwelling_id
        self.outcome: Outcome | None = None

    def compose(self) -> ComposeResult:
        tomorrow = self.census.now() + timedelta(days=1)
        with Vertical(classes="dialog"):
            yield Label(_("Record a visit"), classes="title")
            yield NumberedOptionList(*[(_(OUTCOMES[o]), str(o)) for o in Outcome],
                                     id="outcome")
            with Vertical(id="callback"):
                yield Label(_("Callback appointment (date YYYY-MM-DD, time HH:MM)"))
                with Horizontal(classes="line"):
                    yield Label(_("Date"), classes="key")
                    yield Input(tomorrow.strftime("%Y-%m-%d"), id="date", max_length=10,
                                restrict=r"[0-9-]*", compact=True, classes="date")
                    yield Label(_("Time"), classes="key")
                    yield Input("17:00", id="time", max_length=5, restrict=r"[0-9:]*",
                                compact=True, classes="number")
            yield Static("", id="errors", classes="errors")
            yield Label(_("A number or Enter chooses · Ctrl+S save · Esc cancel"),
                        classes="hint")

    def on_mount(self) -> None:
        self.query_one("#callback").display = False
        self.query_one("#outcome", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # The first pick saves at once (one key); once an appointment was being typed, another
        # pick (a stray digit after Tab) only changes the outcome: Ctrl+S saves.
        first = self.outcome is None
        self.outcome = Outcome(str(event.option.id))
        if self.outcome in NO_CONTACT_OUTCOMES:
            self.query_one("#callback").display = True
            # The list gives up rows (it scrolls) so that the date and time fields and their
            # messages stay in view on a small terminal.
            outcomes = self.query_one("#outcome", OptionList)
            outcomes.styles.max_height = 4
            outcomes.call_after_refresh(outcomes.scroll_to_highlight)
            self.query_one("#date", Input).focus()
        else:
            self.query_one("#callback").display = False
            if first:
                self.action_save()
            else:
                self.show([])
                self.notify(_("Outcome changed to {outcome}; Ctrl+S saves the visit.").format(
                    outcome=_(OUTCOMES[self.outcome])), severity="warning")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show(self.callback_problems()[1])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "date":
            self.query_one("#time", Input).focus()
        else:
            self.action_save()

    def callback_problems(self) -> tuple[datetime | None, list[Problem]]:
        date = self.query_one("#date", Input).value.strip()
        time = self.query_one("#time", Input).value.strip()
        if not date and not time and self.outcome != Outcome.CALLBACK:
            return None, []
        when = parse_date_and_time(date, time, "callback_at")
        if isinstance(when, list):
            return None, when
        problems = check_callback(when, self.census.now())
        return (None, problems) if problems else (when, [])

    def show(self, problems: list[Problem]) -> None:
        config = self.census.store.config
        self.query_one("#errors", Static).update("\n".join(problem_line(p, config)
                                                           for p in problems))

    def action_save(self, overrides: dict[str, OverrideReason] | None = None) -> None:
        if self.outcome is None:
            self.show([])
            self.notify(_("Choose an outcome first (its number, or arrows and Enter)."),
                        severity="warning")
            return
        callback = None
        if self.outcome in NO_CONTACT_OUTCOMES:
            callback, problems = self.callback_problems()
            if problems:
                self.show(problems)
                return
        try:
            saved = self.census.entry.record_visit(self.dwelling_id, self.outcome, callback,
                                                   overrides)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        warnings = unconfirmed_warnings(saved.problems)
        if not saved.ok and warnings and not errors(saved.problems):
            def confirmed(reasons: dict[str, OverrideReason] | None) -> None:
                if reasons:
                    self.action_save(reasons)

            self.app.push_screen(ReasonDialog(warnings), confirmed)
            return
        if not saved.ok:
            self.show(saved.problems)
            return
        self.dismiss(saved)


class ReasonDialog(Dialog[dict[str, OverrideReason] | None]):
    """Warnings need a confirmation with a reason from the fixed list before completing."""

    BINDINGS = [Binding("ctrl+s", "confirm", _("Confirm"), id="reason.confirm")]

    def __init__(self, warnings: list[Problem]) -> None:
        super().__init__()
        self.warnings = warnings

    def compose(self) -> ComposeResult:
        choices = [(_(OVERRIDE_REASON_LABELS[r]), str(r)) for r in OverrideReason]
        with Vertical(classes="dialog"):
            yield Label(_("Please confirm"), classes="title")
            with VerticalScroll():
                for i, p in enumerate(self.warnings):
                    yield Static(problem_line(p, self.census.store.config), classes="warning")
                    yield NumberedSelect(choices, prompt=_("Choose a reason"),
                                         id=f"reason-{i}", compact=True)
            yield Static("", id="errors", classes="errors")
            yield Static(_("A reason for each (its number, or Enter to see the list) · Ctrl+S "
                           "confirm · Esc go back and correct"), classes="hint")

    def on_mount(self) -> None:
        self.query(Select).first().focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if all(s.value != Select.NULL for s in self.query(Select)):
            self.action_confirm()
        elif event.value != Select.NULL:  # the next warning's reason
            self.focus_next(Select)

    def action_confirm(self) -> None:
        reasons: dict[str, OverrideReason] = {}
        for i, p in enumerate(self.warnings):
            value = self.query_one(f"#reason-{i}", Select).value
            if value == Select.NULL:
                self.query_one("#errors", Static).update(
                    "✗ " + _("Choose a reason for: {rule}").format(rule=p.rule_id))
                return
            reasons[p.rule_id] = OverrideReason(str(value))
        self.dismiss(reasons)


class ReturnDialog(Dialog[Household | None]):
    """Return a household to its enumerator: a reason from the fixed list and an optional short
    note (no names, phone numbers or e-mail addresses: the store refuses them, and says why)."""

    BINDINGS = [Binding("ctrl+s", "save", _("Return"), id="return.save")]

    def __init__(self, household_id: str, title: str) -> None:
        super().__init__()
        self.household_id = household_id
        self.title_text = title
        self.reason: ReturnReason | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Label(_("Why does it go back?"))
            yield NumberedOptionList(*[(_(RETURN_REASON_LABELS[r]), str(r))
                                       for r in ReturnReason], id="reason")
            with Horizontal(classes="line"):
                yield Label(_("Note"), classes="key")
                yield Input(id="note", max_length=NOTE_LIMIT, compact=True,
                            placeholder=_("optional, at most {n} characters").format(
                                n=NOTE_LIMIT))
            yield Label(_("No names, no phone numbers: say what to check."), classes="hint")
            yield Static("", id="errors", classes="errors")
            yield Static(_("A number or Enter chooses · Ctrl+S return the household · Esc "
                           "cancel"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.reason = ReturnReason(str(event.option.id))
        self.query_one("#errors", Static).update("")
        self.query_one("#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        errors_line = self.query_one("#errors", Static)
        if self.reason is None:
            errors_line.update("✗ " + _("Choose a reason first (its number, or arrows and "
                                        "Enter)."))
            self.query_one("#reason", OptionList).focus()
            return
        from census.usecases.review import decide

        note = self.query_one("#note", Input).value.strip() or None
        store = self.census.store
        try:
            saved = decide(store, self.household_id, "returned", reason=self.reason, note=note)
        except CensusError as exc:
            errors_line.update("✗ " + str(exc))
            return
        self.dismiss(saved)


class ConfirmDialog(Dialog[bool]):
    """A yes/no question."""

    BINDINGS = [Binding("y", "answer(True)", _("Yes"), id="confirm.yes"),
                Binding("n", "answer(False)", _("No"), id="confirm.no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="title")
            yield Label(_("y yes · n no"), classes="hint")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(False)


class HelpScreen(Dialog[None]):
    """Every key of the screen underneath, with what it does."""

    BINDINGS = [Binding("f1", "cancel", _("Close"), id="help.close")]

    def __init__(self, keys: list[tuple[str, str]], moving: str = "") -> None:
        super().__init__()
        self.keys = keys
        self.moving = moving

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Keys on this screen"), classes="title")
            with VerticalScroll():
                for key, description in self.keys:
                    yield Label(f"{key:<14} {description}")
                if self.moving:
                    yield Static(self.moving, classes="hint")
            yield Static(_("Keys can be changed in settings.toml ([keys] binding-id = \"key\")."),
                         classes="hint")
            yield Label(_("Esc close"), classes="hint")
