"""Operator statistics (OperatorsScreen): per operator, day and mode, the figures of
`census operators` (`census.usecases.operators`): keystrokes per hour, bad keystrokes per 1,000,
keyer or verifier error %, and, for enumerators door to door, keys and minutes per form."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from census.i18n import N_, _
from census.tui.base import CensusScreen
from census.tui.widgets.plain import DataTable, Label, Static
from census.usecases.operators import OperatorFigures, operator_figures

MODE_LABELS = {"key": N_("keying"), "verify": N_("verify"), "entry": N_("door")}


def shown(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


class OperatorsScreen(CensusScreen):
    """Every operator's figures per day (month-day) and mode, newest day first."""

    BINDINGS = [Binding("escape", "app.pop_screen", _("Back"), id="operators.back"),
                Binding("r", "refresh", _("Refresh"), id="operators.refresh")]

    def compose(self) -> ComposeResult:
        yield Label(_("Operator statistics"), classes="title")
        yield DataTable(id="operators", cursor_type="row")
        yield Static(_("Keys/h: keystrokes per hour of work (pauses over 2 minutes left out) "
                       "· Bad‰: erasures and refused keys per 1,000 · Err%: errors per 100 "
                       "fields verified (keying: the keyer's, found by the verifiers; "
                       "verifying: the verifier's own) · Keys/f, Min/f: per form · "
                       "`census operators` has every figure."), classes="hint")
        yield Footer()

    @staticmethod
    def headers() -> list[str]:
        return [_("Operator"), _("Day"), _("Mode"), _("Min"), _("Forms"), _("Keys/h"),
                _("Bad‰"), _("Err%"), _("Keys/f"), _("Min/f")]

    def on_mount(self) -> None:
        self.query_one("#operators", DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        figures = self.guarded(lambda: operator_figures(self.census.store)) or []
        rows = [(f"{f.operator}|{f.day}|{f.mode}", self.cells(f))
                for f in sorted(figures, key=lambda f: f.day, reverse=True)]
        if not rows:
            rows = [("none", [_("no session logged yet"), *[""] * 9])]
        self.show_fitted(self.query_one("#operators", DataTable), self.headers(), rows, (0,))

    @staticmethod
    def cells(f: OperatorFigures) -> list[str]:
        return [f.operator, f.day[5:], _(MODE_LABELS.get(f.mode, f.mode)), shown(f.minutes),
                str(f.forms), shown(f.keystrokes_per_hour), shown(f.errors_per_1000),
                shown(f.error_percent), shown(f.keys_per_form), shown(f.minutes_per_form)]
