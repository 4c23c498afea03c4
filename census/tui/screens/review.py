"""The supervisor's review queue (ReviewScreen), read a page at a time with a filter by kind, and
one review item (ReviewItemScreen) with its stored and held versions side by side (count grids,
or listing lines, the values that differ marked ◆ and said in words) and the decisions that
apply to it.

The queue, and every decision taken on it, goes through `census.storage.exchange` (review,
decisions); stored records are read through `census.storage.records`. No SQL here.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer

from census.domain.model import Dwelling, Household, ReviewKind
from census.i18n import _, ngettext
from census.storage.exchange.review import (
    ReviewItem,
    review_counts,
    review_item,
    review_items,
)
from census.storage.pending import at_address, held_dwelling_item, record_numbers
from census.storage.records import load_dwelling, load_household
from census.storage.store import Store
from census.tui.base import PAGE, CensusScreen, page_count, pager_line, paging, refilled, row_key
from census.tui.dialogs import ConfirmDialog
from census.tui.labels import (
    HOUSEHOLD_STATUS,
    OCCUPANCY,
    RECORD_TYPES,
    REVIEW_KINDS,
    SYMBOL,
    TYPES,
    review_detail,
)
from census.tui.screens.deciding import DecidingScreen
from census.tui.widgets.count_view import (
    MARK,
    CountView,
    differences,
    listing_table,
    visits_table,
)
from census.tui.widgets.plain import DataTable, Label, Static, cut
from census.usecases import review as review_steps
from census.usecases.review import held_dwelling, held_household
from census.validation.rules import RULES

KINDS: list[ReviewKind | None] = [None, *ReviewKind]
GAP = 2
"""Columns between the two grids side by side (`.side`'s right margin)."""


class ReviewScreen(CensusScreen):
    """The open review items, one page at a time, with a filter by kind; Enter opens one."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="review.back"),
        Binding("enter", "open", _("Open"), id="review.open"),
        Binding("f", "filter", _("Filter"), id="review.filter"),
        *paging("review"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page = 0
        self.filter_index = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="title", classes="title")
        yield DataTable(id="queue", cursor_type="row")
        yield Label("", id="pager", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("#", _("Kind"), _("Record"), _("Area"), _("From"),
                                              _("Rev."), _("Detail"))
        self.query_one(DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.reload()

    @property
    def kind(self) -> ReviewKind | None:
        return KINDS[self.filter_index]

    def reload(self) -> None:
        store = self.census.store
        kind = self.kind
        counts = review_counts(store)
        total = counts.get(str(kind), 0) if kind else sum(counts.values())
        pages = page_count(total)
        self.page = max(0, min(self.page, pages - 1))
        shown = _(REVIEW_KINDS[kind]) if kind else _("all")
        self.query_one("#title", Label).update(_("Review queue · {n} open · filter: {filter}")
                                               .format(n=total, filter=shown))
        if total == 0 and kind is not None:
            pager = _("Nothing of this kind to review; press f for the next filter.")
        elif total == 0:
            pager = _("Nothing to review.")
        else:
            pager = pager_line(self.page, pages)
        self.query_one("#pager", Label).update(pager)
        items = review_items(store, kind=str(kind) if kind else None, limit=PAGE,
                             offset=self.page * PAGE)
        with refilled(self.query_one(DataTable)) as table:
            for i in items:
                detail = _rules(i.detail, symbols=False) if i.kind is ReviewKind.FLAGGED else (
                    review_detail(i.detail))
                table.add_row(str(i.id), _(REVIEW_KINDS[i.kind]), _place(store, i), i.area,
                              i.source, str(i.revision), cut(detail, 40), key=str(i.id))

    def action_page(self, delta: int) -> None:
        self.page = max(0, self.page + delta)
        self.reload()

    def action_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(KINDS)
        self.page = 0
        self.reload()

    def action_open(self) -> None:
        key = row_key(self.query_one(DataTable))
        if key:
            self.app.push_screen(ReviewItemScreen(int(key)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()


def _place(store: Store, item: ReviewItem) -> str:
    """Where the item's record is, in the numbers the enumerator wrote (`dwelling 4/1`,
    `household 1 of 4/1`; the area has its own column); the end of its id when nothing says
    (ids begin with their time, so the end tells them apart)."""
    numbers = record_numbers(store, item)
    if numbers is not None and numbers[3] is None:
        return _("dwelling {s}/{n}").format(s=numbers[1], n=numbers[2])
    if numbers is not None:
        return _("household {h} of {s}/{n}").format(h=numbers[3], s=numbers[1], n=numbers[2])
    return f"{_(RECORD_TYPES.get(item.record_type, item.record_type))} …{item.record_id[-8:]}"


def _rules(detail: str, symbols: bool = True) -> str:
    """A flag's rule ids with their titles: `⚠ W002 No adult present`."""
    shown = []
    for r in (x for x in detail.split(",") if x):
        rule = RULES.get(r)
        if rule is None:
            shown.append(r)
        else:
            symbol = f"{SYMBOL[rule.severity]} " if symbols else ""
            shown.append(f"{symbol}{r} {_(rule.title)}")
    return "  ".join(shown) if symbols else ", ".join(shown)


class ReviewItemScreen(DecidingScreen):
    """One review item: the stored record and the held (incoming) version side by side (count
    grids for a household, the listing line for a dwelling), every value that differs marked ◆
    and said in words, the dwelling's visits below; and the decisions that apply to it. After a
    decision the queue shows again and says what was done."""

    DEFAULT_CSS = """
    ReviewItemScreen #body { height: 1fr; overflow-x: auto; }
    ReviewItemScreen #compare { height: auto; width: auto; min-width: 100%; }
    ReviewItemScreen #compare.stacked { layout: vertical; }
    ReviewItemScreen #compare.stacked .side { width: 100%; margin-right: 0; }
    ReviewItemScreen .side { width: auto; height: auto; margin-right: 2; }
    ReviewItemScreen #differences, ReviewItemScreen #lines { height: auto; }
    ReviewItemScreen #visits { height: auto; }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="review_item.back"),
        Binding("a", "approve", _("Approve"), id="review_item.approve"),
        Binding("r", "return_household", _("Return"), id="review_item.return"),
        Binding("k", "keep", _("Keep stored"), id="review_item.keep"),
        Binding("t", "take", _("Take incoming"), id="review_item.take"),
    ]
    MOVING = _("Arrows and PgUp/PgDn scroll the versions and the visits.")

    def __init__(self, item_id: int) -> None:
        super().__init__()
        self.item_id = item_id
        self.item: ReviewItem | None = None
        self.household: Household | None = None  # the stored household a decision applies to
        self.where = ""  # the stored record in words, for titles and notifications

    def compose(self) -> ComposeResult:
        config = self.census.store.config
        yield Label("", id="title", classes="title tight")
        yield Label("", id="what")
        yield Static("", id="rules", classes="warning")
        with VerticalScroll(id="body"):
            yield Static("", id="differences")
            with Horizontal(id="compare"):
                with Vertical(id="stored-side", classes="side"):
                    yield Label("", id="stored-caption", classes="section")
                    yield CountView(config, tall=True, id="stored-grid")
                with Vertical(id="held-side", classes="side"):
                    yield Label("", id="held-caption", classes="section")
                    yield CountView(config, tall=True, id="held-grid")
            yield Static("", id="lines")
            yield Label(_("Visits"), classes="section")
            yield Static("", id="visits")
        yield Static("", id="errors", classes="errors")
        yield Footer()

    def load(self) -> None:
        store = self.census.store
        item = review_item(store, self.item_id)
        if item is None:
            self.app.pop_screen()
            return
        self.item = item
        self.query_one("#title", Label).update(_("Review item {id}: {kind} — {detail}").format(
            id=item.id, kind=_(REVIEW_KINDS[item.kind]), detail=review_detail(item.detail)))
        rules = self.query_one("#rules", Static)
        rules.display = item.kind is ReviewKind.FLAGGED
        if item.kind is ReviewKind.FLAGGED:
            rules.update(_rules(item.detail))
        if item.record_type == "dwelling":
            words = self.load_dwelling(item)
        else:
            words = self.load_household(item)
        status = f" · {_(HOUSEHOLD_STATUS[self.household.status])}" if self.household else ""
        self.query_one("#what", Label).update(_(
            "{record} in {area} · revision {rev} from {source}").format(
            record=_place(store, item), area=item.area, rev=item.revision,
            source=item.source) + status)
        self.query_one("#differences", Static).update(words)
        self.arrange_grids()
        self.refresh_bindings()

    def on_resize(self) -> None:
        self.arrange_grids()

    def arrange_grids(self) -> None:
        """The two grids side by side when both fit the width, else the stored one above the
        incoming one (every count and every ◆ in view, whatever the survey's age bands)."""
        compare = self.query_one("#compare")
        if not compare.display or self.item is None:
            return
        body = self.query_one("#body", VerticalScroll)
        # The screen's width less its padding and a vertical scroll bar (the body may scroll).
        room = self.app.size.width - self.styles.gutter.width - (
            body.styles.scrollbar_size_vertical)
        widths = {side: self.query_one(f"#{side}-grid", CountView).natural_width()
                  for side in ("stored", "held") if self.query_one(f"#{side}-side").display}
        spare = room - sum(n + GAP for n in widths.values())
        compare.set_class(spare < 0, "stacked")
        for side, n in widths.items():  # side by side, a long caption wraps above its grid
            caption = self.query_one(f"#{side}-caption", Label)
            caption.styles.max_width = None if spare < 0 else n + spare // len(widths)

    def _differences(self, words: list[str], compared: bool) -> str:
        if not compared:
            return ""
        if not words:
            return _("The versions show the same values.")
        return f"{MARK} " + ngettext("{n} difference: {list}", "{n} differences: {list}",
                                     len(words)).format(n=len(words), list="; ".join(words))

    def _captions(self, item: ReviewItem, stored_id: str | None, stored_rev: int | None,
                  readable: bool) -> None:
        """Name both versions, with the end of their ids when they are two records."""
        two = stored_id is not None and stored_id != item.record_id
        stored = _("Stored: none") if stored_rev is None else _(
            "Stored · revision {rev}").format(rev=stored_rev)
        if two and stored_id:
            stored += f" · …{stored_id[-8:]}"
        held = _("Incoming · revision {rev} · from {source}").format(rev=item.revision,
                                                                   source=item.source)
        if two:
            held += f" · …{item.record_id[-8:]}"
        if item.incoming is not None and not readable:
            held = _("Incoming: it cannot be read ({detail})").format(
                detail=review_detail(item.detail))
        self.query_one("#stored-caption", Label).update(stored)
        self.query_one("#held-caption", Label).update(held)
        self.query_one("#held-side").display = item.incoming is not None

    def load_household(self, item: ReviewItem) -> str:
        """Show the stored household and the held one as grids; the differences in words."""
        store = self.census.store
        config = store.config
        self.query_one("#lines").display = False
        found = load_household(store, item.other_id or item.record_id)
        stored = found[1] if found else None
        held = held_household(item.incoming, config)
        incoming = held[1] if held else None
        d = load_dwelling(store, found[0], with_households=False) if found else None
        line = None  # the held household's dwelling, when it is held too (a duplicate)
        if held is not None and load_dwelling(store, held[0], with_households=False) is None:
            item_of_line = held_dwelling_item(store, held[0])
            line = held_dwelling(item_of_line.incoming, config) if item_of_line else None
            if found is None and line is not None and incoming is not None:
                found, d = self._same_numbers(item_of_line, line, incoming.number)
                stored = found[1] if found else None
        if found and stored is not None:
            self.where = _("Household {h} · dwelling {s}/{n} · {area}").format(
                h=stored.number, s=d.structure if d else "?", n=d.number if d else "?",
                area=d.area if d else item.area)
            if stored.id == item.record_id:  # not a duplicate: the record held is this one
                self.household = stored
        self._captions(item, stored.id if stored else None,
                       stored.revision if stored else None, held is not None)
        self.query_one("#stored-grid", CountView).show(stored, incoming)
        self.query_one("#held-grid", CountView).show(incoming, stored)
        words = differences(config, stored, incoming) if stored and incoming else []
        if found and held and held[0] != found[0] and line is None:
            there = load_dwelling(store, held[0], with_households=False)
            words.insert(0, _("{field}: stored {stored}, incoming {incoming}").format(
                field=_("Dwelling"), stored=f"{d.structure}/{d.number}" if d else "?",
                incoming=f"{there.structure}/{there.number}" if there else "?"))
        if line is not None:  # the visits the held household came with
            visits = visits_table(d.visits, line.visits) if d else visits_table(line.visits)
        else:
            visits = visits_table(d.visits if d else [])
        self.query_one("#visits", Static).update(visits)
        return self._differences(words, stored is not None and incoming is not None)

    def _same_numbers(self, item: ReviewItem | None, line: Dwelling, number: int
                      ) -> tuple[tuple[str, Household] | None, Dwelling | None]:
        """The stored dwelling with the numbers of the held dwelling `line` (the one its
        review item names, else the one at its address), and its household `number` (None
        when there is none)."""
        store = self.census.store
        twin = item.other_id if item is not None else None
        if twin is None:
            twin = at_address(store, line.area, line.structure, line.number, number).dwelling_id
        d = load_dwelling(store, twin) if twin else None
        h = next((x for x in d.households if x.number == number), None) if d else None
        return ((d.id, h) if d and h else None), d

    def load_dwelling(self, item: ReviewItem) -> str:
        """Show the stored listing line and the held one side by side, with both versions'
        visits; the differences in words."""
        store = self.census.store
        self.query_one("#compare").display = False
        stored = load_dwelling(store, item.other_id or item.record_id, with_households=False)
        incoming = held_dwelling(item.incoming, store.config)
        if stored is not None:
            self.where = _("Dwelling {s}/{n} · {type} · {occ}").format(
                s=stored.structure, n=stored.number, type=_(TYPES[stored.type]),
                occ=_(OCCUPANCY[stored.occupancy]))
        lines, words = listing_table(stored, incoming)
        self.query_one("#lines", Static).update(lines)
        self.query_one("#visits", Static).update(visits_table(
            stored.visits if stored else [], incoming.visits if incoming else None))
        if item.incoming is not None and incoming is None:
            return _("Incoming: it cannot be read ({detail})").format(
                detail=review_detail(item.detail))
        return self._differences(words, stored is not None and incoming is not None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the decisions that fit the item show in the footer and run."""
        item = self.item
        if action == "take":
            return item is not None and item.kind is ReviewKind.CONFLICT and (
                item.incoming is not None)
        if action in ("approve", "return_household"):
            return self.may_decide(action)
        if action == "keep":
            return item is not None
        return True

    def done(self, message: str) -> None:
        """Say what was done and go back to the queue (which reads its page again)."""
        self.app.notify(message)
        self.app.pop_screen()

    def action_keep(self) -> None:
        item = self.item
        if item is None:
            return

        def keep(yes: bool | None) -> None:
            if not yes:
                return
            store = self.census.store
            if item.kind in (ReviewKind.FLAGGED, ReviewKind.INVALID):
                message = _("Review item {id} dismissed: the stored record stands.")
            else:
                message = _("Review item {id} closed: the stored record is kept.")
            self.decide(lambda: review_steps.resolve_keep(store, item.id),
                        message.format(id=item.id))

        if item.incoming is None:
            keep(True)  # nothing held is discarded: no question
            return
        self.app.push_screen(ConfirmDialog(_(
            "Keep the stored record and discard the held version? This cannot be undone.")),
            keep)

    def action_take(self) -> None:
        item = self.item
        if item is None:
            return

        def take(yes: bool | None) -> None:
            if not yes:
                return
            store = self.census.store
            self.decide(lambda: review_steps.resolve_take(store, item.id, self.census.now()),
                        _("Review item {id} closed: the held version replaces the stored "
                          "record.").format(id=item.id))

        self.app.push_screen(ConfirmDialog(_("Replace the stored record by the held version?")),
                             take)
