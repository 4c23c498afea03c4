"""The base class of the census app's screens (CensusScreen) and the paging helpers of its tables
(PAGE, page_count, row_key).

Screens reach the app through `CensusScreen.census`, typed to `CensusApp`; the app module is
imported here only for type checking, so that no screen depends on it at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual.binding import ActiveBinding, Binding
from textual.screen import Screen

from census.domain.errors import CensusError
from census.i18n import _
from census.tui.widgets.plain import DataTable, fit

if TYPE_CHECKING:
    from census.tui.app import CensusApp

R = TypeVar("R")

PAGE = 50
"""Rows a table holds at a time: lists are read from SQLite a page at a time (DESIGN §9)."""


def page_count(total: int, size: int = PAGE) -> int:
    """Pages of `size` rows needed for `total` rows (at least one, shown even when empty)."""
    return max(1, -(-total // size))


def paging(screen: str) -> list[Binding]:
    """PgDn and PgUp turn a table's pages (`action_page`); their pager line names them, so the
    footer keeps its room for the other keys."""
    return [Binding("pagedown", "page(1)", _("Next page"), id=f"{screen}.next_page",
                    priority=True, show=False),
            Binding("pageup", "page(-1)", _("Previous page"), id=f"{screen}.previous_page",
                    priority=True, show=False)]


def pager_line(page: int, pages: int) -> str:
    """`Page 2 of 5 (PgUp/PgDn)` (`page` counted from 0)."""
    return _("Page {page} of {pages} (PgUp/PgDn)").format(page=page + 1, pages=pages)


@contextmanager
def refilled(table: DataTable, headers: Sequence[str] | None = None) -> Iterator[DataTable]:
    """Empty `table` for new rows; after them the cursor is where it was (or on the last row).
    With `headers` the columns are made anew too, so that they are as wide as the new rows need
    (a table keeps its columns' widths otherwise: cut rows would not make them narrower)."""
    cursor = table.cursor_row
    table.clear(columns=headers is not None)
    if headers is not None:
        table.add_columns(*headers)
    yield table
    if table.row_count:
        table.move_cursor(row=max(0, min(cursor, table.row_count - 1)))


def row_key(table: DataTable) -> str | None:
    """The key of the row under the table's cursor, or None in an empty table."""
    if not table.row_count:
        return None
    value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return str(value) if value is not None else None


class CensusScreen(Screen[None]):
    """A screen of the census app, with typed access to it."""

    @property
    def census(self) -> CensusApp:
        """The app this screen runs in (census screens are only pushed by `CensusApp`)."""
        return cast("CensusApp", self.app)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys of this screen, Help first: the footer is cut at the right on a narrow
        terminal, and F1 must never be the key that disappears."""
        bindings = super().active_bindings
        for key, active in bindings.items():
            # A table's own Enter (not shown) hides the screen's "Enter: open …": the footer
            # shows the screen's, which is what Enter does there.
            if not active.binding.show and active.node is not self:
                own = [b for b in self._bindings.key_to_bindings.get(key, [])
                       if b.show and b.description and self.check_action(b.action, ()) is not False]
                if own:
                    bindings[key] = ActiveBinding(self, own[0], active.enabled, own[0].tooltip)
        first = {k: v for k, v in bindings.items() if v.binding.id == "app.help"}
        return {**first, **{k: v for k, v in bindings.items() if k not in first}}

    def show_fitted(self, table: DataTable, headers: Sequence[str],
                    rows: Sequence[tuple[str, Sequence[str]]], flexible: Sequence[int]) -> None:
        """Rows (key, cell texts) in `table`, the `flexible` columns cut to the width there is
        (`fit`); kept, so that a resize cuts them again without reading anything."""
        fitted: dict[str, Any] = self.__dict__.setdefault("_fitted", {})
        fitted[str(table.id)] = (table, headers, rows, flexible)
        cells = fit([texts for _key, texts in rows], headers, self.table_width(), flexible)
        with refilled(table, headers):
            for (key, _texts), row in zip(rows, cells, strict=True):
                table.add_row(*row, key=key)

    def on_resize(self) -> None:
        """Columns take the width there is: the rows shown are cut again for the new width."""
        if self.is_current:
            for table, headers, rows, flexible in list(self.__dict__.get("_fitted", {}).values()):
                self.show_fitted(table, headers, rows, flexible)

    def table_width(self) -> int:
        """The terminal cells a full-width table of this screen has for its columns (the
        screen's padding and a scroll bar set aside)."""
        return max(20, self.app.size.width - 4)

    @property
    def unsaved(self) -> bool:
        """True when something typed could not be stored yet (asked about before quitting)."""
        return False

    def refused_in(self, area: str | None) -> bool:
        """True (and said) when nothing may be written in `area` now: it is closed, or not this
        user's. Asked before a form opens; the save itself asks the same policy again."""
        why = self.census.entry.refusal(area) if area else None
        if why is not None:
            self.notify(why, severity="error", timeout=8)
        return why is not None

    def guarded(self, action: Callable[[], R]) -> R | None:
        """Run a store action; a busy or failing database becomes a message, not a crash."""
        try:
            return action()
        except CensusError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return None
