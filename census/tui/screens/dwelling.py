"""A dwelling (DwellingScreen): its listing line, visit log and households; record a visit, add
or open a household. Opened with `visit=True` (a listing line saved and visited), it starts with
the visit dialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from census.domain.model import CONTACT_OUTCOMES, Dwelling, Role
from census.i18n import _
from census.storage.records import load_dwelling
from census.tui.base import CensusScreen, row_key
from census.tui.dialogs import ListingDialog, VisitDialog
from census.tui.labels import HOUSEHOLD_STATUS, OCCUPANCY, OUTCOMES, TYPES, problem_line
from census.tui.screens.household import HouseholdScreen
from census.tui.widgets.plain import DataTable, Label, Static
from census.usecases.entry import Saved


class DwellingScreen(CensusScreen):
    """A dwelling: its listing line, visit log and households."""

    BINDINGS = [
        Binding("escape", "back", _("Back"), id="dwelling.back"),
        Binding("v", "visit", _("Record visit"), id="dwelling.visit"),
        Binding("h", "add_household", _("Add household"), id="dwelling.add_household"),
        Binding("e", "edit", _("Edit line"), id="dwelling.edit"),
        Binding("enter", "open", _("Open household"), id="dwelling.open"),
    ]

    def __init__(self, dwelling_id: str, visit: bool = False) -> None:
        super().__init__()
        self.dwelling_id = dwelling_id
        self.dwelling: Dwelling | None = None
        self.visit_first = visit  # opened to record a visit at once (a line saved and visited)

    def compose(self) -> ComposeResult:
        yield Label("", id="title", classes="title")
        yield Label(_("Visits"), classes="section")
        yield DataTable(id="visits", cursor_type="row")
        yield Label(_("Households"), classes="section")
        yield DataTable(id="households", cursor_type="row")
        yield Static("", id="problems", classes="errors")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#visits", DataTable).add_columns("#", _("When"), _("Outcome"),
                                                         _("Callback"))
        self.query_one("#households", DataTable).add_columns(_("No."), _("Status"), _("Present"),
                                                             _("Away"), _("Visitors"))
        self.query_one("#households", DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.reload()
        if self.visit_first:
            self.visit_first = False
            self.action_visit()

    def reload(self) -> None:
        d = load_dwelling(self.census.store, self.dwelling_id)
        if d is None:
            self.app.pop_screen()
            return
        self.dwelling = d
        self.census.remember(area=d.area, dwelling=d.id)
        title = _("Dwelling {s}/{n} · {type} · {occ} · {loc}") if d.locator else _(
            "Dwelling {s}/{n} · {type} · {occ}")
        self.query_one("#title", Label).update(title.format(
            s=d.structure, n=d.number, type=_(TYPES[d.type]), occ=_(OCCUPANCY[d.occupancy]),
            loc=d.locator))
        visits = self.query_one("#visits", DataTable)
        visits.clear()
        for v in d.visits:
            visits.add_row(str(v.attempt), v.at.strftime("%Y-%m-%d %H:%M"),
                           _(OUTCOMES[v.outcome]),
                           v.callback_at.strftime("%Y-%m-%d %H:%M") if v.callback_at else "")
        if not d.visits:
            visits.add_row("—", _("not visited yet: press v"), "", "")
        households = self.query_one("#households", DataTable)
        households.clear()
        for h in d.households:
            households.add_row(str(h.number), _(HOUSEHOLD_STATUS[h.status]), str(h.present),
                               str(h.away), str(h.visitors), key=h.id)
        problems = [p for p in self.census.entry.check(d) if not p.confirmed]
        config = self.census.store.config
        self.query_one("#problems", Static).update("\n".join(problem_line(p, config)
                                                             for p in problems[:4]))

    def action_back(self) -> None:
        if self.dwelling:
            self.census.remember(area=self.dwelling.area)
        self.app.pop_screen()

    def action_visit(self) -> None:
        if self.refused_in(self.dwelling.area if self.dwelling else None):
            return

        def done(saved: Saved | None) -> None:
            self.reload()
            if saved and saved.dwelling and saved.dwelling.visits[-1].outcome in CONTACT_OUTCOMES:
                drafts = [h for h in saved.dwelling.households if h.status == "draft"]
                if drafts:
                    self.app.push_screen(HouseholdScreen(self.dwelling_id, drafts[0].id))

        self.app.push_screen(VisitDialog(self.dwelling_id), done)

    def action_add_household(self) -> None:
        d = self.dwelling
        if d is None or self.refused_in(d.area):
            return
        if not any(v.outcome in CONTACT_OUTCOMES for v in d.visits):
            self.notify(_("Record a visit that made contact (completed or partly) first: "
                          "press v."), severity="warning")
            return
        saved = self.guarded(lambda: self.census.entry.add_household(self.dwelling_id))
        if saved and saved.dwelling:
            self.reload()
            self.app.push_screen(HouseholdScreen(self.dwelling_id,
                                                 saved.dwelling.households[-1].id))

    def action_edit(self) -> None:
        if self.dwelling and not self.refused_in(self.dwelling.area):
            self.app.push_screen(ListingDialog(self.dwelling.area, self.dwelling_id),
                                 lambda saved: self.reload())

    def action_open(self) -> None:
        key = row_key(self.query_one("#households", DataTable))
        if key and self.census.store.role is not Role.ENUMERATOR:
            # A supervisor reads the form and decides on it; the enumerator edits it.
            from census.tui.screens.pending import HouseholdViewScreen

            self.app.push_screen(HouseholdViewScreen(self.dwelling_id, key))
        elif key:
            self.app.push_screen(HouseholdScreen(self.dwelling_id, key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "households":
            self.action_open()
