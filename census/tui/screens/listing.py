"""An area's listing (ListingScreen): its dwellings one page at a time from SQLite, with a status
filter; add or edit a listing line, open a dwelling."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from census.domain.model import AreaStatus, DwellingType, Occupancy, Outcome
from census.i18n import _, counted
from census.storage.areas import get_area
from census.storage.listing import listing_count, listing_page, listing_position
from census.tui.base import PAGE, CensusScreen, page_count, pager_line, paging, row_key
from census.tui.dialogs import ListingDialog
from census.tui.labels import AREA_STATUS, OCCUPANCY, OUTCOMES, STATUSES, TYPES
from census.tui.screens.dwelling import DwellingScreen
from census.tui.widgets.plain import DataTable, Label
from census.usecases.entry import Saved

FILTERS: list[str | None] = [None, "to_visit", "callback", "in_progress", "done", "refused",
                             "vacant"]


class ListingScreen(CensusScreen):
    """The dwellings of an area, one page at a time from SQLite, with a status filter."""

    BINDINGS = [
        Binding("escape", "back", _("Back"), id="listing.back"),
        Binding("enter", "open", _("Open"), id="listing.open"),
        Binding("a", "add", _("Add dwelling"), id="listing.add"),
        Binding("e", "edit", _("Edit line"), id="listing.edit"),
        Binding("f", "filter", _("Filter"), id="listing.filter"),
        *paging("listing"),
    ]

    def __init__(self, area: str) -> None:
        super().__init__()
        self.area = area
        self.page = 0
        self.filter_index = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="title", classes="title")
        yield DataTable(id="listing", cursor_type="row")
        yield Label("", id="pager", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*self.headers())
        self.query_one(DataTable).focus()  # rows come in on_screen_resume

    @staticmethod
    def headers() -> list[str]:
        return [_("Str/Dw"), _("Type"), _("Occupancy"), _("Status"), _("Last visit"), _("HH"),
                _("Locator")]

    def on_screen_resume(self) -> None:
        self.census.remember(area=self.area)
        self.reload()

    @property
    def status_filter(self) -> str | None:
        return FILTERS[self.filter_index]

    def reload(self, select: str | None = None) -> None:
        store = self.census.store
        if select is not None:
            position = listing_position(store, self.area, select, self.status_filter)
            if position is None and self.status_filter is not None:
                self.filter_index = 0
                position = listing_position(store, self.area, select)
            if position is not None:
                self.page = position // PAGE
        area = get_area(store, self.area)
        total = listing_count(store, self.area, self.status_filter)
        pages = page_count(total)
        self.page = min(self.page, pages - 1)
        name = area.name if area else ""
        shown = _(STATUSES[self.status_filter]) if self.status_filter else _("all")
        title = _("Area {code} {name} · {dwellings} · filter: {filter}").format(
            code=self.area, name=name, dwellings=counted("{n} dwelling", "{n} dwellings", total),
            filter=shown)
        if area is not None and area.status is AreaStatus.CLOSED:
            title += " · " + _(AREA_STATUS["closed"])
        self.query_one("#title", Label).update(title)
        if total == 0 and self.status_filter is not None:
            pager = _("No dwelling has this status; press f for the next filter.")
        elif total == 0:
            pager = _("No dwelling listed yet; press a to add the first one.")
        else:
            pager = pager_line(self.page, pages)
        self.query_one("#pager", Label).update(pager)
        rows = listing_page(store, self.area, self.page * PAGE, PAGE, self.status_filter)
        texts = []
        for r in rows:
            last = _(OUTCOMES[Outcome(r.last_outcome)]) if r.last_outcome else "—"
            if r.callback_at and r.status == "callback":
                last = "→ " + r.callback_at.replace("T", " ")  # the appointment says more
            texts.append([f"{r.structure}/{r.number}", _(TYPES[DwellingType(r.type)]),
                          _(OCCUPANCY[Occupancy(r.occupancy)]), _(STATUSES[r.status]), last,
                          str(r.households), r.locator or ""])
        table = self.query_one(DataTable)
        self.show_fitted(table, self.headers(), [(r.id, t) for r, t in zip(rows, texts,
                                                                           strict=True)],
                         flexible=(1, 2, 3, 4, 6))
        for i, r in enumerate(rows):
            if r.id == select:
                table.move_cursor(row=i)

    def action_back(self) -> None:
        self.census.remember()
        self.app.pop_screen()

    def action_page(self, delta: int) -> None:
        self.page = max(0, self.page + delta)
        self.reload()

    def action_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self.page = 0
        self.reload()

    def action_add(self) -> None:
        if self.refused_in(self.area):
            return

        def added(saved: Saved | None) -> None:
            if saved and saved.dwelling:
                self.reload(select=saved.dwelling.id)
                self.notify(_("Dwelling {s}/{d} added.").format(
                    s=saved.dwelling.structure, d=saved.dwelling.number))

        self.app.push_screen(ListingDialog(self.area), added)

    def action_edit(self) -> None:
        key = row_key(self.query_one(DataTable))
        if key and not self.refused_in(self.area):
            self.app.push_screen(ListingDialog(self.area, key),
                                 lambda saved: self.reload(select=key))

    def action_open(self) -> None:
        key = row_key(self.query_one(DataTable))
        if key:
            self.app.push_screen(DwellingScreen(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()
