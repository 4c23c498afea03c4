"""The daily field report of supervisors and the office (ReportsScreen): per enumerator and day,
a page of rows at a time, and a bar chart of households completed per day over the last 14
days, drawn with block characters, the numbers beside the bars. Fits 80×24.

The figures and their definitions are `census.usecases.field_reports`'s (the same as
`census report`); no SQL here.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer

from census.domain.model import Role
from census.i18n import _, ngettext
from census.tui.base import PAGE, CensusScreen
from census.tui.widgets.plain import DataTable, Label, Static, printable
from census.usecases.field_reports import (
    DEFAULT_DAYS,
    DEFAULT_TOLERANCE,
    Figures,
    Period,
    Report,
    cells,
    chart,
    field_report,
    headings,
    title,
)

TABLE, CHART = "report-table", "report-chart"
CHART_DAYS = 14
"""Days the chart shows, up to today."""
LABEL_COLUMNS = 9 + 2
"""The chart's columns before a bar: weekday, date and the axis."""


class ReportsScreen(CensusScreen):
    """Daily figures per enumerator and day (a table, Tab for the chart) over `days` days up to
    today by the app's clock (at least the chart's 14), in the areas under `area`, of one
    `enumerator` (None: all; an enumerator's device shows its user's own)."""

    DEFAULT_CSS = """
    ReportsScreen #report-views { height: 1fr; }
    ReportsScreen #report-table { height: 1fr; max-height: 100%; }
    ReportsScreen #report-chart { height: auto; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="reports.back"),
        Binding("tab", "switch", _("Table/chart"), id="reports.switch"),
        Binding("r", "refresh", _("Refresh"), id="reports.refresh"),
        Binding("pagedown", "page(1)", _("Next page"), id="reports.next_page", priority=True,
                show=False),
        Binding("pageup", "page(-1)", _("Previous page"), id="reports.previous_page",
                priority=True, show=False),
    ]
    MOVING = _("Arrows move in the table; Tab switches between the table and the chart; "
               "PgUp/PgDn turn the pages.")

    def __init__(self, days: int = DEFAULT_DAYS, area: str | None = None,
                 enumerator: str | None = None) -> None:
        super().__init__()
        self.days = max(days, CHART_DAYS)
        self.area = area
        self.enumerator = enumerator
        self.rows: list[Figures] = []
        self.page = 0
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="report-title", classes="title")
        with ContentSwitcher(initial=TABLE, id="report-views"):
            yield DataTable(id=TABLE, cursor_type="row", cell_padding=0)
            yield Static("", id=CHART)
        yield Label("", id="report-pager", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(f"#{TABLE}", DataTable)
        names = headings()
        # No padding between cells (twelve columns fit 80): a space on the label's side instead.
        table.add_column(Text(names[0] + " "), key="0")
        for i, name in enumerate(names[1:], 1):
            table.add_column(Text(" " + name, justify="right"), key=str(i))
        table.focus()
        self.action_refresh()

    @property
    def pages(self) -> int:
        """Pages of PAGE rows (at least one)."""
        return max(1, -(-len(self.rows) // PAGE))

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or TABLE

    def action_refresh(self) -> None:
        """Read the report again (the period ends today, by the app's clock)."""
        now = self.census.now()
        period = Period.ending(now.date(), self.days)
        report = self.guarded(lambda: field_report(
            self.census.store, now, period, area=self.area, enumerator=self.enumerator,
            tolerance=DEFAULT_TOLERANCE))
        if report is None:
            return
        self.report = report
        self.rows = report.rows()
        store = self.census.store
        shown = store.user if store.role is Role.ENUMERATOR else self.enumerator
        self.query_one("#report-title", Label).update(title(period, self.area, shown))
        self.fill()
        self.draw_chart()
        self.show_pager()

    def fill(self) -> None:
        """Put the current page of rows into the table (the cursor stays where it was)."""
        self.page = max(0, min(self.page, self.pages - 1))
        table = self.query_one(f"#{TABLE}", DataTable)
        cursor = table.cursor_row
        table.clear()
        start = self.page * PAGE
        for f in self.rows[start:start + PAGE]:
            day = "total" if f.day is None else f.day.isoformat()
            first, *rest = cells(f)
            table.add_row(Text(printable(first) + " "),
                          *(Text(c, justify="right") for c in rest), key=f"{f.enumerator}|{day}")
        if table.row_count:
            table.move_cursor(row=max(0, min(cursor, table.row_count - 1)))

    def draw_chart(self) -> None:
        assert self.report is not None
        series = self.report.completed_per_day()[-CHART_DAYS:]
        total = sum(n for _day, n in series)
        columns = max(10, min(60, self.app.size.width - 4 - LABEL_COLUMNS - 6))
        first, last = series[0][0], series[-1][0]
        lines = [_("Households completed per day, {first} to {last}").format(
                     first=first, last=last), "",
                 *chart(series, columns), "",
                 ngettext("{n} household completed in {days} days",
                          "{n} households completed in {days} days", total).format(
                     n=total, days=len(series))]
        self.query_one(f"#{CHART}", Static).update("\n".join(lines))

    def show_pager(self) -> None:
        pages = self.pages
        if self.view == CHART:
            text = _("Tab: back to the table.")
        elif not self.rows:
            text = _("No visits, completed forms or decisions in this period.")
        elif pages > 1:
            text = _("Page {page} of {pages} (PgUp/PgDn)").format(page=self.page + 1,
                                                                  pages=pages)
        else:
            text = ngettext("{n} row", "{n} rows", len(self.rows)).format(n=len(self.rows))
        self.query_one("#report-pager", Label).update(text)

    def action_switch(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = CHART if self.view == TABLE else TABLE
        if switcher.current == TABLE:
            self.query_one(f"#{TABLE}", DataTable).focus()
        self.show_pager()

    def action_page(self, delta: int) -> None:
        self.page = max(0, self.page + delta)
        self.fill()
        self.show_pager()
