"""A supervisor's decisions in the app: the complete households awaiting a decision
(PendingScreen), read a page at a time with filters by area and by enumerator, and one household
read only (HouseholdViewScreen): its count grid, away, visitors, respondent, the warnings
confirmed with their reasons, and the dwelling's visits; `a` approves it, `r` returns it with a
reason code and an optional note. After a decision the next household awaiting one opens (or the
list shows again), and a notification says what was done.

Lists come from `census.storage.pending`; decisions go through `census.usecases.review.decide`
(the same policy, refusals and audit as `census review approve|return`). No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer

from census.domain.model import (
    Dwelling,
    Household,
    HouseholdStatus,
    ReviewKind,
)
from census.i18n import _, counted
from census.storage.exchange.decisions import last_return
from census.storage.pending import (
    PendingHousehold,
    address,
    pending_after,
    pending_areas,
    pending_count,
    pending_enumerators,
    pending_of,
    pending_page,
)
from census.storage.records import load_dwelling
from census.tui.base import PAGE, CensusScreen, page_count, pager_line, paging, refilled, row_key
from census.tui.labels import (
    HOUSEHOLD_STATUS,
    REVIEW_KINDS,
    confirmed_lines,
    problem_line,
    returned_line,
)
from census.tui.screens.deciding import DecidingScreen
from census.tui.widgets.count_view import CountView, visits_table
from census.tui.widgets.plain import DataTable, Label, Static

Address = tuple[str, int, int, int]
"""(area, structure, dwelling number, household number): the order households are listed in."""
Next = Callable[[Address], tuple[str, str] | None]
"""Given a household's address, the (dwelling id, household id) of the next one to decide."""


def held_mark(p: PendingHousehold) -> str:
    """`⚠ held in review (duplicate)` when something held for review may change the
    household (its own record or its dwelling's); else empty."""
    if not p.held:
        return ""
    kinds = ", ".join(_(REVIEW_KINDS[ReviewKind(k)]) for k in p.held)
    return _("⚠ held in review ({kinds})").format(kinds=kinds)


def warnings_cell(p: PendingHousehold) -> str:
    """What to see to in a pending household: held in review first, then its warnings,
    confirmed ones as they are, flagged ones (confirmed by nobody) with ⚠."""
    shown = sorted(p.warnings) + [f"⚠ {r}" for r in p.flags if r not in p.warnings]
    return " · ".join(x for x in (held_mark(p), " ".join(shown)) if x) or "—"


@dataclass
class Filters:
    """The pending list's filters: an area (None: all), an enumerator (`everyone`: all)."""

    area: str | None = None
    enumerator: str | None = None
    everyone: bool = True

    def enumerator_shown(self) -> str:
        if self.everyone:
            return _("all")
        return self.enumerator or "—"


class PendingScreen(CensusScreen):
    """The complete households of open areas awaiting a decision, a page at a time; `f` cycles
    the area, `e` the enumerator; Enter opens one, read only, to approve or return it."""

    DEFAULT_CSS = """
    PendingScreen #pending { height: 1fr; max-height: 100%; }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="pending.back"),
        Binding("enter", "open", _("Open"), id="pending.open"),
        Binding("f", "filter_area", _("Area filter"), id="pending.area"),
        Binding("e", "filter_enumerator", _("Enumerator filter"), id="pending.enumerator"),
        *paging("pending"),
    ]
    MOVING = _("Arrows move in the table; PgUp/PgDn turn the pages; f cycles the areas and e "
               "the enumerators shown.")

    def __init__(self) -> None:
        super().__init__()
        self.page = 0
        self.filters = Filters()
        self.dwellings: dict[str, str] = {}  # household id → dwelling id, on this page

    def compose(self) -> ComposeResult:
        yield Label("", id="title", classes="title")
        yield DataTable(id="pending", cursor_type="row")
        yield Label("", id="pager", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(_("Address"), _("Enumerator"), _("Completed"),
                                              _("Persons"), _("Warnings"))
        self.query_one(DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        store = self.census.store
        f = self.filters
        total = pending_count(store, f.area, f.enumerator, f.everyone)
        pages = page_count(total)
        self.page = max(0, min(self.page, pages - 1))
        self.query_one("#title", Label).update(_(
            "Awaiting a decision: {households} · area: {area} · enumerator: {enumerator}").format(
            households=counted("{n} household", "{n} households", total),
            area=f.area or _("all"), enumerator=f.enumerator_shown()))
        if total == 0 and (f.area or not f.everyone):
            pager = _("None with these filters; press f or e for the next filter.")
        elif total == 0:
            pager = _("No household awaits a decision.")
        else:
            pager = pager_line(self.page, pages)
        self.query_one("#pager", Label).update(pager)
        self.dwellings = {}
        rows = pending_page(store, f.area, f.enumerator, f.everyone, limit=PAGE,
                            offset=self.page * PAGE)
        with refilled(self.query_one(DataTable)) as table:
            for p in rows:
                self.dwellings[p.household_id] = p.dwelling_id
                table.add_row(p.address, p.enumerator or "—", p.completed,
                              str(p.usual_residents), warnings_cell(p), key=p.household_id)

    def action_page(self, delta: int) -> None:
        self.page = max(0, self.page + delta)
        self.reload()

    def action_filter_area(self) -> None:
        """The next area holding households to decide (after the last: all areas)."""
        choices: list[str | None] = [None, *pending_areas(self.census.store)]
        if self.filters.area not in choices:
            choices.insert(1, self.filters.area)
        at = choices.index(self.filters.area)
        self.filters = Filters(choices[(at + 1) % len(choices)])
        self.page = 0
        self.reload()

    def action_filter_enumerator(self) -> None:
        """The next enumerator with households to decide (in the area shown; after the last:
        everyone)."""
        f = self.filters
        choices: list[tuple[bool, str | None]] = [(True, None)] + [
            (False, e) for e in pending_enumerators(self.census.store, f.area)]
        current = (f.everyone, None if f.everyone else f.enumerator)
        at = choices.index(current) if current in choices else 0
        everyone, enumerator = choices[(at + 1) % len(choices)]
        self.filters = Filters(f.area, enumerator, everyone)
        self.page = 0
        self.reload()

    def following(self, after: Address) -> tuple[str, str] | None:
        """The household to decide after `after`, under the filters shown."""
        f = self.filters
        p = pending_after(self.census.store, after, f.area, f.enumerator, f.everyone)
        return (p.dwelling_id, p.household_id) if p else None

    def action_open(self) -> None:
        key = row_key(self.query_one(DataTable))
        if key and key in self.dwellings:
            self.app.push_screen(HouseholdViewScreen(self.dwellings[key], key,
                                                     following=self.following))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()


class HouseholdViewScreen(DecidingScreen):
    """A household read only, for the supervisor: the count grid, away, visitors, respondent
    and status, the warnings confirmed (with their reasons) or still open, and the dwelling's
    visits; `a` approves it, `r` returns it to the enumerator (a reason, an optional note).

    `following`, when given, names the next household to decide: after a decision it opens in
    place of this one; otherwise the screen underneath shows again."""

    DEFAULT_CSS = """
    HouseholdViewScreen #body { height: 1fr; overflow-x: auto; }
    HouseholdViewScreen #warnings, HouseholdViewScreen #visits { height: auto; }
    HouseholdViewScreen #returned-reason { height: auto; }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="household_view.back"),
        Binding("a", "approve", _("Approve"), id="household_view.approve"),
        Binding("r", "return_household", _("Return"), id="household_view.return"),
    ]
    MOVING = _("Arrows and PgUp/PgDn scroll the form; nothing here can be typed into.")

    def __init__(self, dwelling_id: str, household_id: str,
                 following: Next | None = None) -> None:
        super().__init__()
        self.dwelling_id = dwelling_id
        self.household_id = household_id
        self.following = following
        self.dwelling: Dwelling | None = None
        self.household: Household | None = None
        self.where = ""

    def compose(self) -> ComposeResult:
        yield Label("", id="title", classes="title tight")
        yield Static("", id="state")
        yield Static("", id="returned-reason", classes="warning")
        with VerticalScroll(id="body"):
            yield CountView(self.census.store.config, id="grid")
            yield Label(_("Warnings on this form"), classes="section")
            yield Static("", id="warnings")
            yield Label(_("Visits"), classes="section")
            yield Static("", id="visits")
        yield Static("", id="errors", classes="errors")
        yield Footer()

    def load(self) -> None:
        store = self.census.store
        d = load_dwelling(store, self.dwelling_id)
        h = next((x for x in d.households if x.id == self.household_id), None) if d else None
        if d is None or h is None:
            self.notify(_("This household is no longer stored here."), severity="warning")
            self.app.pop_screen()
            return
        self.dwelling, self.household = d, h
        self.where = _("Household {h} · dwelling {s}/{n} · {area}").format(
            h=h.number, s=d.structure, n=d.number, area=d.area)
        self.query_one("#title", Label).update(self.where)
        state = _(HOUSEHOLD_STATUS[h.status])
        waiting = pending_of(store, h.id)
        if waiting is not None:
            state += " · " + _("completed {when} by {who}").format(
                when=waiting.completed, who=waiting.enumerator or "—")
            if waiting.held:
                state += " · " + held_mark(waiting)
        self.query_one("#state", Static).update(state)
        reason = self.query_one("#returned-reason", Static)
        reason.display = h.status is HouseholdStatus.RETURNED
        if h.status is HouseholdStatus.RETURNED:
            reason.update(returned_line(last_return(store, h.id)))
        self.query_one("#grid", CountView).show(h)
        self.query_one("#warnings", Static).update(self.warnings(d, h))
        self.query_one("#visits", Static).update(visits_table(d.visits))
        self.refresh_bindings()

    def warnings(self, d: Dwelling, h: Household) -> str:
        """Warnings confirmed (with the reason given) and problems still open, of this
        household and of its dwelling."""
        lines = confirmed_lines({**d.overrides, **h.overrides})
        index = next((i for i, x in enumerate(d.households) if x.id == h.id), -1)
        own = f"households[{index}]"
        config = self.census.store.config
        lines += [problem_line(p, config) for p in self.census.entry.check(d)
                  if not p.confirmed and (not p.field.startswith("households[")
                                          or p.field.startswith(own))]
        return "\n".join(lines) or _("No warning.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "return_household"):
            return self.may_decide(action)
        return True

    def done(self, message: str) -> None:
        """Say what was done; open the next household to decide, or go back."""
        d, h = self.dwelling, self.household
        nxt = None
        if self.following is not None and d is not None and h is not None:
            nxt = self.following((d.area, d.structure, d.number, h.number))
        if nxt is None:
            self.app.pop_screen()
            self.app.notify(message)
            return
        self.app.switch_screen(HouseholdViewScreen(*nxt, following=self.following))
        self.app.notify(message + " " + _("Next household awaiting a decision."))

    def return_title(self) -> str:
        d, h = self.dwelling, self.household
        return address(d.area, d.structure, d.number, h.number) if d and h else self.where
