"""The supervisor's or office's home (DashboardScreen): progress per enumeration area and per
enumerator, a page of rows at a time, and the open review items per kind; the secondary figures
of one row on a detail view (ProgressDetailScreen).

Figures come from `census.storage.progress` (area_progress through the app, by_enumerator); the
counts of the review queue from `census.storage.exchange.review`. No SQL here.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer

from census.domain.model import ReviewKind
from census.i18n import _
from census.storage.exchange.review import review_counts
from census.storage.progress import ProgressRow, by_enumerator
from census.tui.base import PAGE, CensusScreen, page_count, pager_line, paging, row_key
from census.tui.labels import AREA_STATUS, REVIEW_KINDS, ROLES, bar
from census.tui.screens.review import ReviewScreen
from census.tui.widgets.plain import DataTable, Label, Static

BY_AREA, BY_ENUMERATOR = "by-area", "by-enumerator"


def _figure(value: float | int | None, spec: str = "") -> str:
    return "—" if value is None else format(value, spec)


def figures(r: ProgressRow) -> list[str]:
    """The dashboard's cells of one row, after its name columns; the bar first, so that a
    narrow terminal shows it. The bar is completed over expected dwellings, or over listed ones
    when the register gives no expected number. The other figures are on the detail view."""
    expected = "?" if r.expected is None else str(r.expected)
    return [bar(r.completed, r.expected or r.listed, width=8), f"{r.listed}/{expected}",
            str(r.visited), str(r.completed), str(r.callbacks_due)]


def figure_columns() -> list[str]:
    return [_("Progress"), _("Listed"), _("Visited"), _("Completed"), _("Due")]


def details(r: ProgressRow, now: datetime) -> list[tuple[str, str]]:
    """Every figure of one row, as (label, value) lines for the detail view."""
    expected = "?" if r.expected is None else str(r.expected)
    return [
        (_("Dwellings listed / expected"), f"{r.listed} / {expected}"),
        (_("Visited"), str(r.visited)),
        (_("Completed"), str(r.completed)),
        (_("Callbacks due"), str(r.callbacks_due)),
        (_("Refused"), str(r.refused)),
        (_("Vacant or gone"), str(r.vacant)),
        (_("Response rate %"), _figure(r.response_rate, ".1f")),
        (_("Refusal rate %"), _figure(r.refusal_rate, ".1f")),
        (_("Vacancy rate %"), _figure(r.vacancy_rate, ".1f")),
        (_("Households"), str(r.households)),
        (_("Mean household size"), _figure(r.mean_household_size, ".2f")),
        (_("Days since the last visit"), _figure(r.days_idle(now))),
    ]


class DashboardScreen(CensusScreen):
    """A supervisor's or office's home: progress per enumeration area or per enumerator (one
    page of rows in the widget at a time) and the open review items per kind."""

    BINDINGS = [
        Binding("enter", "open_area", _("Open area"), id="dashboard.open"),
        Binding("tab", "switch", _("Areas/enumerators"), id="dashboard.switch"),
        Binding("a", f"show('{BY_AREA}')", _("By area"), id="dashboard.areas", show=False),
        Binding("e", f"show('{BY_ENUMERATOR}')", _("By enumerator"),
                id="dashboard.enumerators", show=False),
        Binding("d", "details", _("Details"), id="dashboard.details"),
        Binding("v", "review", _("Review queue"), id="dashboard.review"),
        Binding("p", "pending", _("Decisions"), id="dashboard.pending"),
        Binding("o", "reports", _("Reports"), id="dashboard.reports"),
        Binding("x", "export", _("Publish tables"), id="dashboard.export"),
        Binding("k", "keying", _("Key paper forms"), id="dashboard.keying"),
        Binding("s", "operators", _("Operator statistics"), id="dashboard.operators"),
        Binding("r", "refresh", _("Refresh"), id="dashboard.refresh"),
        *paging("dashboard"),
    ]
    MOVING = _("Arrows move in the table; Tab switches between areas and enumerators; PgUp/PgDn "
               "turn the pages.")

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[ProgressRow]] = {BY_AREA: [], BY_ENUMERATOR: []}
        self.pages = {BY_AREA: 0, BY_ENUMERATOR: 0}

    def compose(self) -> ComposeResult:
        store = self.census.store
        yield Label(_("{survey} · {user} ({role})").format(
            survey=store.config.name, user=store.user, role=_(ROLES[store.role])),
            classes="title")
        yield Static("", id="review-counts")
        yield Label("", id="view-title", classes="section")
        with ContentSwitcher(initial=BY_AREA, id="views"):
            yield DataTable(id=BY_AREA, cursor_type="row")
            yield DataTable(id=BY_ENUMERATOR, cursor_type="row")
        yield Label("", id="pager", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(f"#{BY_AREA}", DataTable).add_columns(*self.headers(BY_AREA))
        self.query_one(f"#{BY_ENUMERATOR}", DataTable).add_columns(*self.headers(BY_ENUMERATOR))
        self.query_one(f"#{BY_AREA}", DataTable).focus()  # rows come in on_screen_resume

    @staticmethod
    def headers(view: str) -> list[str]:
        if view == BY_AREA:
            return [_("Area"), _("Name"), _("Enumerator"), _("Status"), *figure_columns()]
        return [_("Enumerator"), _("Areas"), *figure_columns()]

    def on_screen_resume(self) -> None:
        self.action_refresh()

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or BY_AREA

    def action_refresh(self) -> None:
        store = self.census.store
        areas = self.census.my_areas()
        self.rows = {BY_AREA: areas, BY_ENUMERATOR: by_enumerator(areas)}
        counts = review_counts(store)
        shown = [f"{counts[str(k)]} {_(REVIEW_KINDS[k])}" for k in ReviewKind
                 if counts.get(str(k))]
        self.query_one("#review-counts", Static).update(
            _("Open review items: {items}").format(items=" · ".join(shown)) if shown
            else _("Nothing to review."))
        for view in (BY_AREA, BY_ENUMERATOR):
            self.fill(view)
        self.show_pager()

    def fill(self, view: str, select: int | None = None) -> None:
        """Put the current page of `view` into its table (the cursor stays, or goes to the row
        `select` of the whole list)."""
        rows = self.rows[view]
        pages = page_count(len(rows))
        if select is not None:
            self.pages[view] = select // PAGE
        self.pages[view] = max(0, min(self.pages[view], pages - 1))
        start = self.pages[view] * PAGE
        table = self.query_one(f"#{view}", DataTable)
        page = rows[start:start + PAGE]
        if view == BY_AREA:
            texts = [[r.area, r.name, r.enumerator or "—", _(AREA_STATUS[r.status]),
                      *figures(r)] for r in page]
        else:
            texts = [[r.area, r.name, *figures(r)] for r in page]
        self.show_fitted(table, self.headers(view),
                         [(r.area, t) for r, t in zip(page, texts, strict=True)],
                         (1, 2) if view == BY_AREA else (1,))
        if select is not None and table.row_count:
            table.move_cursor(row=max(0, min(select - start, table.row_count - 1)))

    def show_pager(self) -> None:
        view = self.view
        rows = self.rows[view]
        title = _("By area") if view == BY_AREA else _("By enumerator")
        self.query_one("#view-title", Label).update(f"{title} ({len(rows)})")
        pages = page_count(len(rows))
        self.query_one("#pager", Label).update(
            pager_line(self.pages[view], pages) if pages > 1 else "")

    def action_show(self, view: str) -> None:
        self.query_one(ContentSwitcher).current = view
        self.query_one(f"#{view}", DataTable).focus()
        self.show_pager()

    def action_switch(self) -> None:
        self.action_show(BY_ENUMERATOR if self.view == BY_AREA else BY_AREA)

    def action_page(self, delta: int) -> None:
        view = self.view
        self.pages[view] = max(0, self.pages[view] + delta)
        self.fill(view)
        self.show_pager()

    def action_open_area(self) -> None:
        """Open the area's listing; on an enumerator, go to the first of their areas."""
        view = self.view
        key = row_key(self.query_one(f"#{view}", DataTable))
        if key is None:
            return
        if view == BY_AREA:
            from census.tui.screens.listing import ListingScreen

            self.app.push_screen(ListingScreen(key))
            return
        code = None if key == "-" else key
        index = next((i for i, r in enumerate(self.rows[BY_AREA]) if r.enumerator == code), 0)
        self.fill(BY_AREA, select=index)
        self.action_show(BY_AREA)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_area()

    def action_details(self) -> None:
        """Every figure of the row under the cursor."""
        view = self.view
        key = row_key(self.query_one(f"#{view}", DataTable))
        row = next((r for r in self.rows[view] if r.area == key), None)
        if row is not None:
            if view == BY_AREA:
                title = _("Area {code} {name}").format(code=row.area, name=row.name)
            elif row.area == "-":
                title = _("Areas without an enumerator")
            else:
                title = _("Enumerator {code}").format(code=row.area)
            self.app.push_screen(ProgressDetailScreen(title, details(row, self.census.now())))

    def action_review(self) -> None:
        self.app.push_screen(ReviewScreen())

    def action_pending(self) -> None:
        """Completed households awaiting the supervisor's approval or return."""
        from census.tui.screens.pending import PendingScreen

        self.app.push_screen(PendingScreen())

    def action_reports(self) -> None:
        """The daily figures per enumerator, and the completions of the last 14 days."""
        from census.tui.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen())

    def action_export(self) -> None:
        from census.tui.screens.publish import ExportScreen

        self.app.push_screen(ExportScreen())

    def action_keying(self) -> None:
        """Key or verify paper forms of the area under the cursor (a batch)."""
        from census.tui.screens.keying import KeyingStartScreen

        area = row_key(self.query_one(f"#{BY_AREA}", DataTable)) if self.view == BY_AREA else None
        self.app.push_screen(KeyingStartScreen(area))

    def action_operators(self) -> None:
        from census.tui.screens.operators import OperatorsScreen

        self.app.push_screen(OperatorsScreen())


class ProgressDetailScreen(CensusScreen):
    """Every figure of one area or enumerator, one per line (the dashboard shows the main ones)."""

    BINDINGS = [Binding("escape", "app.pop_screen", _("Back"), id="progress_detail.back")]

    def __init__(self, title: str, lines: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield Label(self.title_text, classes="title")
        table = DataTable(id="details", cursor_type="none", show_header=False)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("Figure"), _("Value"))
        for label, value in self.lines:
            table.add_row(label, value)
