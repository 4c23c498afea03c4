"""The daily field report of supervisors and the office (ReportsScreen): per enumerator and day,
as many rows as the table shows at a time (PgUp/PgDn turn by that many), and a bar chart of
households completed per day over the last 14 days, drawn with block characters, the numbers
beside the bars. Fits 80×24.

The report is computed in a worker thread, on a read-only connection of its own (SQLite
connections are not shared between threads), so the app goes on while a large database is
read; "Computing…" says so meanwhile. The figures and their definitions are
`census.usecases.field_reports`'s (the same as `census report`); no SQL here.
"""

from __future__ import annotations

import threading
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer
from textual.worker import get_current_worker

from census.domain.errors import CensusError
from census.domain.model import Role
from census.i18n import _, counted, ngettext
from census.storage.connection import explain
from census.storage.store import Store
from census.tui.base import CensusScreen, page_count, pager_line, paging, refilled
from census.tui.widgets.plain import DataTable, Label, Static, printable
from census.usecases.field_reports import (
    DEFAULT_DAYS,
    DEFAULT_TOLERANCE,
    Figures,
    Period,
    Report,
    cells,
    chart,
    code_columns,
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
    ReportsScreen #report-chart { height: auto; }
    ReportsScreen #report-pager { height: 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="reports.back"),
        Binding("tab", "switch", _("Table/chart"), id="reports.switch"),
        Binding("r", "refresh", _("Refresh"), id="reports.refresh"),
        *paging("reports"),
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
        self.start = 0
        """The index of the first row shown."""
        self.report: Report | None = None
        self.computing = False
        self.reader: Store | None = None
        """This screen's connection for its worker threads (one at a time: `reading`)."""
        self.reading = threading.Lock()
        self.closing = False

    def compose(self) -> ComposeResult:
        period = self.period()
        yield Static(self.heading(period) if period else "", id="report-title", classes="title")
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

    def on_unmount(self) -> None:
        """Stop a computation under way; its thread closes the connection when it ends."""
        self.closing = True
        if self.reader is not None:
            self.reader.interrupt()
        if self.reading.acquire(blocking=False):
            try:
                self._close_reader()
            finally:
                self.reading.release()

    def on_resize(self) -> None:
        if self.report is not None:
            self.fill()
            self.show_pager()

    @property
    def page_size(self) -> int:
        """Rows the table shows at once (below its header)."""
        table = self.query_one(f"#{TABLE}", DataTable)
        return max(1, table.scrollable_content_region.height - table.header_height)

    @property
    def pages(self) -> int:
        """Pages of `page_size` rows (at least one)."""
        return page_count(len(self.rows), self.page_size)

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or TABLE

    # -- computing, away from the app's thread -------------------------------------------------

    def action_refresh(self) -> None:
        """Read the report again (the period ends today, by the app's clock), in a worker
        thread; the table stays as it was until the new figures are there."""
        now = self.census.now()
        period = self.period()
        if period is None:
            return
        if self.reader is None and not self.census.can_open_reader():
            report = self.guarded(lambda: self._report(self.census.store, now, period))
            if report is not None:
                self.show_report(report, period)
            return
        self.computing = True
        self.show_pager()
        self.run_worker(lambda: self._compute(now, period), thread=True, exclusive=True,
                        group="report")

    def period(self) -> Period | None:
        """The days up to today by the app's clock (None, and said, if it is out of range)."""
        return self.guarded(lambda: Period.ending(self.census.now().date(), self.days))

    def _report(self, store: Store, now: datetime, period: Period) -> Report:
        return field_report(store, now, period, area=self.area, enumerator=self.enumerator,
                            tolerance=DEFAULT_TOLERANCE)

    def _compute(self, now: datetime, period: Period) -> None:
        """In a worker thread: the report, on this screen's own connection."""
        worker = get_current_worker()
        with self.reading:
            try:
                if self.closing:
                    return
                if self.reader is None:
                    self.reader = self.census.open_reader()
                assert self.reader is not None
                report = self._report(self.reader, now, period)
            except Exception as exc:
                message = None if self.closing else (
                    str(exc) if isinstance(exc, CensusError) else explain(exc))
                if message is None and not self.closing:
                    raise
                if message is not None:
                    self.app.call_from_thread(self.failed, message)
                return
            finally:
                if self.closing:
                    self._close_reader()
        if not worker.is_cancelled and not self.closing:
            self.app.call_from_thread(self.show_report, report, period)

    def _close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def failed(self, message: str) -> None:
        if self.closing:
            return
        self.computing = False
        self.show_pager()
        self.notify(message, severity="error", timeout=8)

    # -- showing --------------------------------------------------------------------------------

    def show_report(self, report: Report, period: Period) -> None:
        if self.closing:  # computed for a screen closed since
            return
        self.computing = False
        self.report = report
        self.rows = report.rows()
        self.query_one("#report-title", Static).update(self.heading(period))
        self.fill()
        self.draw_chart()
        self.show_pager()
        self.call_after_refresh(self.fit)

    def heading(self, period: Period) -> str:
        store = self.census.store
        shown = store.user if store.role is Role.ENUMERATOR else self.enumerator
        return title(period, self.area, shown)

    def fit(self) -> None:
        """Once laid out: as many rows as the table shows, no more, no fewer."""
        table = self.query_one(f"#{TABLE}", DataTable)
        if table.row_count != len(self.rows[self.start:self.start + self.page_size]):
            self.on_resize()

    def fill(self) -> None:
        """Put the rows from `start` into the table, as many as it shows (the cursor stays
        where it was)."""
        assert self.report is not None
        size = self.page_size
        self.start = max(0, min(self.start, (self.pages - 1) * size))
        fit = code_columns(self.report, self.table_width())
        with refilled(self.query_one(f"#{TABLE}", DataTable)) as table:
            for f in self.rows[self.start:self.start + size]:
                day = "total" if f.day is None else f.day.isoformat()
                first, *rest = cells(f, fit)
                table.add_row(Text(printable(first) + " "),
                              *(Text(c, justify="right") for c in rest),
                              key=f"{f.enumerator}|{day}")

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
                     n=total, days=len(series))]  # two numbers: not counted()
        self.query_one(f"#{CHART}", Static).update("\n".join(lines))

    def show_pager(self) -> None:
        pages = self.pages
        if self.computing:
            text = _("Computing…")
        elif self.view == CHART:
            text = _("Tab: back to the table.")
        elif not self.rows:
            text = (_("No visits, completed forms or decisions in this period.")
                    if self.report is not None else "")
        elif pages > 1:
            text = pager_line(self.start // self.page_size, pages)
        else:
            text = counted("{n} row", "{n} rows", len(self.rows))
        self.query_one("#report-pager", Label).update(text)

    def action_switch(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = CHART if self.view == TABLE else TABLE
        if switcher.current == TABLE:
            self.query_one(f"#{TABLE}", DataTable).focus()
        self.show_pager()

    def action_page(self, delta: int) -> None:
        """The next (1) or previous (-1) rows, as many as the table shows."""
        if self.report is None:
            return
        size = self.page_size
        self.start = max(0, min(self.start + delta * size, (self.pages - 1) * size))
        self.fill()
        self.show_pager()
