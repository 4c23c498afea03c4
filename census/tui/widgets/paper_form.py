"""The paper form as one focusable widget (PaperForm), for clerks keying heads-down.

The fields of `census.domain.keying.paper_fields` in paper order: the questionnaire number, the
day and the outcome on one line, the count grid (an age band a line, its sexes side by side, as
the paper prints them), then away, visitors and respondent. Digits type into the field under
the cursor; a field full of digits moves on by itself, Enter commits a shorter one (an empty
count is 0); Backspace erases; Up or Shift+Tab goes back a field, Home to the first. Each
commit is judged at once by the screen (`commit`: a value check, or a verifier's comparison),
synchronously inside the key handler, so that a fast typist's keys are never judged out of
order. After the last field that applies (no counts after an outcome without contact),
`finished` is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.widget import Widget

from census.domain.config import SurveyConfig
from census.domain.keying import OUTCOMES, KeyField, Kind, applies, paper_fields
from census.i18n import _
from census.tui.labels import OUTCOMES as OUTCOME_LABELS
from census.tui.widgets.plain import typed


@dataclass(frozen=True)
class Step:
    """The screen's judgement of a committed field: move on or stay, a message, and the value
    kept (None: the one typed)."""

    advance: bool
    message: str = ""
    value: str | None = None
    finish: bool = False
    """The form ends here (the fields after this one are not keyed)."""


class PaperForm(Widget, can_focus=True):
    """One paper questionnaire's fields, keyed in order."""

    DEFAULT_CSS = """
    PaperForm { height: auto; width: auto; padding: 0 1; border: round $panel; }
    PaperForm:focus { border: round $accent; }
    """

    def __init__(self, config: SurveyConfig, commit: Callable[[KeyField, str], Step],
                 finished: Callable[[], None], *, id: str | None = None,
                 kept: Callable[[dict[str, str]], None] | None = None) -> None:
        super().__init__(id=id)
        self.kept = kept or (lambda _values: None)
        """Hears the form's values after each field committed (kept against a crash)."""
        self.config = config
        self.fields = paper_fields(config)
        self.commit = commit
        self.finished = finished
        self.values: dict[str, str] = {}
        self.locked: frozenset[str] = frozenset()
        self.basis: dict[str, str] | None = None
        """The values that decide which fields apply (a verifier keys the original's)."""
        self.index = 0
        self.typed = ""
        self.fresh = True
        self.rejected = 0
        """Characters refused (not a digit): bad keystrokes, beside the erasures the app
        counts."""
        self.message = ""

    # -- state ---------------------------------------------------------------------------------

    @property
    def field(self) -> KeyField:
        return self.fields[self.index]

    def start(self, values: dict[str, str] | None = None, locked: frozenset[str] = frozenset(),
              basis: dict[str, str] | None = None) -> None:
        """A new form: `values` already there (shown), `locked` fields not keyed."""
        self.values = dict(values or {})
        self.locked = locked
        self.basis = basis
        self.index = -1
        self.message = ""
        self._move(1)
        while self.field.name in self.values and self._move(1):
            pass  # a form reopened after a crash: on at its first field not keyed yet

    def wanted(self, i: int) -> bool:
        f = self.fields[i]
        return f.name not in self.locked and applies(f, self.basis or self.values)

    def _move(self, step: int) -> bool:
        """To the next (or previous) field that is keyed; False when there is none."""
        i = self.index + step
        while 0 <= i < len(self.fields) and not self.wanted(i):
            i += step
        if not 0 <= i < len(self.fields):
            return False
        self.index = i
        self.typed = self.values.get(self.field.name, "")
        self.fresh = True
        self.refresh()
        return True

    # -- keys ----------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in ("enter", "tab", "backspace", "delete", "up", "shift+tab", "down", "home"):
            event.prevent_default()
            event.stop()
            if key in ("enter", "tab", "down"):
                self.enter()
            elif key == "home":
                self.first()
            elif key in ("backspace", "delete"):
                self.typed = "" if key == "delete" or self.fresh else self.typed[:-1]
                self.fresh = False
                self.refresh()
            else:
                self._move(-1)
            return
        if (char := typed(event)) is not None:
            self.type_character(char)

    def type_character(self, char: str) -> None:
        if not (char.isascii() and char.isdigit()):
            self.rejected += 1
            self.say(_("{field}: only digits can be keyed here").format(
                field=_(self.field.label)))
            return
        self.typed = char if self.fresh else self.typed + char
        self.fresh = False
        self.refresh()
        if len(self.typed) >= self.field.digits:  # a full field moves on, as on the paper
            self.enter()

    def enter(self) -> None:
        """Commit the field under the cursor; after the last one, the form is finished."""
        step = self.commit(self.field, self.typed)
        self.say(step.message)
        if not step.advance:
            self.typed = "" if step.value is None else step.value
            self.fresh = True
            self.refresh()
            return
        self.values[self.field.name] = self.typed if step.value is None else step.value
        self.kept(self.values)
        if step.finish or not self._move(1):
            self.fresh = True  # a form not stored: the next digit replaces, never appends
            self.refresh()
            self.finished()

    def first(self) -> None:
        """To the first field keyed (the questionnaire number, when keying)."""
        self.index = -1
        self._move(1)

    def say(self, message: str) -> None:
        self.message = message
        self.refresh()

    # -- drawing -------------------------------------------------------------------------------

    def _cell(self, f: KeyField) -> Text:
        i = self.fields.index(f)
        current = i == self.index and self.has_focus
        text = self.typed if i == self.index else self.values.get(f.name, "")
        decided = "outcome" in (self.basis or self.values)
        if decided and not self.wanted(i) and f.name not in self.locked:
            return Text("—", style="dim")  # skipped: no contact
        shown = (text or "·").rjust(max(f.digits, 1))
        if f.kind is Kind.OUTCOME and text.isdigit() and 1 <= int(text) <= len(OUTCOMES):
            shown += " " + _(OUTCOME_LABELS[OUTCOMES[int(text) - 1]])
        return Text(f"[{shown}]" if current else f" {shown} ",
                    style="reverse" if current else ("dim" if f.name in self.locked else ""))

    def render(self) -> Group:
        by_name = {f.name: f for f in self.fields}
        top = Table(box=None, padding=(0, 1), show_edge=False)
        head = [by_name[n] for n in ("structure", "dwelling", "household", "day", "outcome")]
        for f in head:
            top.add_column(_(f.label), no_wrap=True)
        top.add_row(*(self._cell(f) for f in head))
        grid = Table(box=None, padding=(0, 1), show_edge=False)
        grid.add_column(_("Age"), no_wrap=True)
        for sex in self.config.sexes:
            grid.add_column(_(sex.label), justify="right", no_wrap=True, min_width=5)
        for band in self.config.age_bands:
            grid.add_row(band.code, *(self._cell(by_name[f"residents:{sex.code}:{band.code}"])
                                      for sex in self.config.sexes))
        tail = Table(box=None, padding=(0, 1), show_edge=False)
        last = [by_name[n] for n in ("away", "visitors", "respondent")]
        for f in last:
            tail.add_column(_(f.label), no_wrap=True)
        tail.add_row(*(self._cell(f) for f in last))
        nbsp = "\u00a0"  # an item is never broken across lines
        legend = Text("  ".join(f"{i}{nbsp}{_(OUTCOME_LABELS[o]).replace(' ', nbsp)}"
                                for i, o in enumerate(OUTCOMES, start=1)), style="dim")
        note = Text(self.message, style="bold yellow") if self.message else Text("")
        return Group(top, legend, grid, tail, note)
