"""The enumerator's home (HomeScreen: returned forms, appointments ahead, their areas with
progress) and the list of every appointment of the coming week (CallbacksScreen)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from census.i18n import _
from census.storage.progress import (
    APPOINTMENT_DAYS,
    Appointment,
    appointment_counts,
    appointments,
    returned_households,
)
from census.tui.base import CensusScreen, refilled, row_key
from census.tui.labels import ROLES, appointment_day, appointments_line, bar
from census.tui.widgets.plain import DataTable, Label


class HomeScreen(CensusScreen):
    """The enumerator's areas with progress; returned forms and the appointments of the coming
    days (overdue, today, tomorrow, the week) above them."""

    BINDINGS = [
        Binding("enter", "open_area", _("Open"), id="home.open"),  # an area or a dwelling
        Binding("c", "callbacks", _("Appointments"), id="home.callbacks"),
        Binding("r", "refresh", _("Refresh"), id="home.refresh"),
        Binding("s", "operators", _("My keys and minutes per form"), id="home.operators",
                show=False),
    ]

    def compose(self) -> ComposeResult:
        store = self.census.store
        yield Label(_("{survey} · {user} ({role})").format(
            survey=store.config.name, user=store.user, role=_(ROLES[store.role])),
            classes="title")
        yield Label("", id="returned-title", classes="section")
        yield DataTable(id="returned", cursor_type="row")
        yield Label("", id="due-title", classes="section")
        yield DataTable(id="due", cursor_type="row")
        yield Label(_("My areas"), classes="section")
        yield DataTable(id="areas", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#returned", DataTable).add_columns(_("Area"), _("Dwelling"),
                                                          _("Household"))
        self.query_one("#due", DataTable).add_columns(_("When"), _("Day"), _("Area"),
                                                     _("Dwelling"))
        self.query_one("#areas", DataTable).add_columns(*self.area_headers())
        self.query_one("#areas", DataTable).focus()  # rows come in on_screen_resume

    @staticmethod
    def area_headers() -> list[str]:
        return [_("Area"), _("Name"), _("Listed"), _("Visited"), _("Completed"), _("Due"),
                _("Progress")]

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        store = self.census.store
        now = self.census.now()
        returned = self.query_one("#returned", DataTable)
        returned.clear()
        rows = returned_households(store, enumerator=self.census.my_code())
        returned.display = bool(rows)
        title = self.query_one("#returned-title", Label)
        title.display = bool(rows)
        title.update(_("Returned forms: {n}").format(n=len(rows)))
        for area, did, structure, number, hnum in rows:
            returned.add_row(area, f"{structure}/{number}", str(hnum), key=did)
        mine = self.census.my_code()
        counts = appointment_counts(store, now, enumerator=mine)
        self.query_one("#due-title", Label).update(appointments_line(counts))
        ahead = appointments(store, now, limit=50, enumerator=mine)
        with refilled(self.query_one("#due", DataTable)) as due:
            for a in ahead:
                due.add_row(a.at.strftime("%H:%M %d/%m"), appointment_day(a.when, a.at),
                            a.area, f"{a.structure}/{a.number}", key=a.dwelling_id)
            if not ahead:
                due.add_row("—", "", _("no appointments in the coming {n} days").format(
                    n=APPOINTMENT_DAYS), "")
        progress = self.census.my_areas()
        texts = [[r.area, r.name, f"{r.listed}/{r.expected or '?'}", str(r.visited),
                  str(r.completed), str(r.callbacks_due),
                  bar(r.completed, max(r.expected or 0, r.listed), width=8)] for r in progress]
        self.show_fitted(self.query_one("#areas", DataTable), self.area_headers(),
                         [(r.area, t) for r, t in zip(progress, texts, strict=True)], (1,))

    def action_open_area(self) -> None:
        table = self.focused
        if not isinstance(table, DataTable) or (key := row_key(table)) is None:
            return
        from census.tui.screens.dwelling import DwellingScreen
        from census.tui.screens.listing import ListingScreen

        if table.id == "areas":
            self.app.push_screen(ListingScreen(key))
        else:
            self.app.push_screen(DwellingScreen(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_area()

    def action_callbacks(self) -> None:
        self.app.push_screen(CallbacksScreen())

    def action_operators(self) -> None:
        from census.tui.screens.operators import OperatorsScreen

        self.app.push_screen(OperatorsScreen())


class CallbacksScreen(CensusScreen):
    """Every open appointment up to a week ahead (overdue, today, tomorrow, the days after),
    with their counts; Enter opens the dwelling."""

    BINDINGS = [Binding("escape", "app.pop_screen", _("Back"), id="callbacks.back"),
                Binding("enter", "open", _("Open dwelling"), id="callbacks.open")]

    def compose(self) -> ComposeResult:
        yield Label(_("Appointments"), id="title", classes="title")
        yield DataTable(id="callbacks", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(_("When"), _("Day"), _("Area"), _("Dwelling"))
        self.query_one(DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        now, store, mine = self.census.now(), self.census.store, self.census.my_code()
        self.query_one("#title", Label).update(appointments_line(
            appointment_counts(store, now, enumerator=mine)))
        shown: list[Appointment] = appointments(store, now, 500, enumerator=mine)
        with refilled(self.query_one(DataTable)) as table:
            for a in shown:
                table.add_row(a.at.strftime("%Y-%m-%d %H:%M"), appointment_day(a.when, a.at),
                              a.area, f"{a.structure}/{a.number}", key=a.dwelling_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        key = row_key(self.query_one(DataTable))
        if key:
            from census.tui.screens.dwelling import DwellingScreen

            self.app.push_screen(DwellingScreen(key))
