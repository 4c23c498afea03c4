"""The count grid: usual residents present by sex × age band, in one focusable widget.

One widget instead of a grid of Inputs (DESIGN §9: a form of 20 Inputs costs ~11 ms of CPU per
key). Digits type into the cell under the cursor; arrows move; Tab goes along the row (women,
then men), Enter down the column (women then men of an age band, then the next band), as in a
spreadsheet; row, column and household totals update as you type. A value the rules refuse stays
visible, marked with ✗ and its message, and is not stored until corrected.

With `auto_advance`, a digit that completes a count (no longer valid count can follow it: with
at most 60 persons a household, a 7, 8 or 9, or a 0) moves on to the next cell, in the order of
the last of Tab or Enter pressed (Tab's at first).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from census.domain.config import SurveyConfig
from census.domain.model import Cell
from census.i18n import _
from census.tui.widgets.plain import typed
from census.validation.engine import parse_count
from census.validation.rules import Problem

MAX_DIGITS = 3


@dataclass
class CellState:
    """What is typed in a cell and what the rules say of it."""

    text: str
    problem: Problem | None = None


class CountGrid(Widget, can_focus=True):
    """Sex × age band counts with live totals and per-cell validation."""

    DEFAULT_CSS = """
    CountGrid { height: auto; width: auto; padding: 0 1; }
    CountGrid:focus { border: round $accent; }
    CountGrid { border: round $panel; }
    """

    # Keys are handled in on_key, in the order they arrive: a binding would run only after the
    # key bubbled up to the app, so a fast typist's "→ 1" could store the 1 before the move.
    KEYS: dict[str, tuple[str, tuple[int, ...]]] = {
        "up": ("move", (-1, 0)),
        "down": ("move", (1, 0)),
        "left": ("move", (0, -1)),
        "right": ("move", (0, 1)),
        "enter": ("next_down", ()),
        "tab": ("next_cell", ()),
        "shift+tab": ("previous_cell", ()),
        "backspace": ("erase", ()),
        "delete": ("clear", ()),
    }

    class Changed(Message):
        """A cell changed; `valid` is False while any cell holds a refused value."""

        def __init__(self, grid: CountGrid, valid: bool) -> None:
            super().__init__()
            self.grid = grid
            self.valid = valid

    class Rejected(Message):
        """A key that cannot go into a count (a letter, a sign, a point)."""

        def __init__(self, problem: Problem) -> None:
            super().__init__()
            self.problem = problem

    def __init__(self, config: SurveyConfig, counts: dict[Cell, int] | None = None,
                 *, id: str | None = None, auto_advance: bool = False) -> None:
        super().__init__(id=id)
        self.auto_advance = auto_advance
        self.advance = "next_cell"  # the order auto-advance follows: Tab's, or Enter's
        self.config = config
        self.sexes = [s.code for s in config.sexes]
        self.bands = [b.code for b in config.age_bands]
        counts = counts or {}
        self.cells: dict[Cell, CellState] = {
            c: CellState(str(counts[c]) if counts.get(c) else "") for c in config.cells}
        self.row = 0
        self.col = 0
        self.fresh = True  # the next digit replaces the cell (as in a spreadsheet)

    # -- state ---------------------------------------------------------------------------------

    @property
    def cursor(self) -> Cell:
        return (self.sexes[self.row], self.bands[self.col])

    def field(self, cell: Cell) -> str:
        return f"residents.{cell[0]}.{cell[1]}"

    def value(self, cell: Cell) -> int:
        state = self.cells[cell]
        parsed = parse_count(state.text, self.field(cell), self.config.max_household_size)
        return parsed if isinstance(parsed, int) else 0

    def counts(self) -> dict[Cell, int]:
        """The valid counts (cells holding a refused value count as their last valid 0)."""
        return {c: self.value(c) for c in self.cells if self.value(c)}

    def problems(self) -> list[Problem]:
        return [s.problem for s in self.cells.values() if s.problem is not None]

    @property
    def valid(self) -> bool:
        return not self.problems()

    def total(self) -> int:
        return sum(self.counts().values())

    def set_text(self, cell: Cell, text: str) -> None:
        """Put `text` in a cell and check it as typed."""
        state = self.cells[cell]
        state.text = text
        parsed = parse_count(text, self.field(cell), self.config.max_household_size)
        state.problem = parsed if isinstance(parsed, Problem) else None
        # Columns have fixed minimum widths, so a new value never changes the grid's size:
        # repaint only, no layout pass over the whole screen (most of a key's cost otherwise).
        self.refresh()
        self.post_message(self.Changed(self, self.valid))

    # -- keys ----------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if event.key in self.KEYS:
            event.prevent_default()
            event.stop()
            name, args = self.KEYS[event.key]
            if name in ("next_cell", "next_down"):
                self.advance = name
            getattr(self, f"action_{name}")(*args)
            return
        if (char := typed(event)) is not None:
            self.type_character(char)

    def type_character(self, char: str) -> None:
        """Type one character into the cell under the cursor."""
        cell = self.cursor
        if char.isascii() and char.isdigit():
            current = "" if self.fresh else self.cells[cell].text
            text = (current + char).lstrip("0") or "0"
            if len(text) > MAX_DIGITS:
                text = text[:MAX_DIGITS]
            self.fresh = False
            self.set_text(cell, text)
            if self.auto_advance and self.cells[cell].problem is None and self.whole(text):
                getattr(self, f"action_{self.advance}")()
        else:
            problem = Problem("E002", self.field(cell), {"value": repr(char),
                                                        "max": self.config.max_household_size})
            self.post_message(self.Rejected(problem))

    def whole(self, text: str) -> bool:
        """True when no longer valid count can follow `text` (another digit would make it too
        many, or longer than a count is; after a 0 a digit starts a new count)."""
        return (text == "0" or len(text) >= MAX_DIGITS
                or int(text) * 10 > self.config.max_household_size)

    def on_paste(self, event: events.Paste) -> None:
        text = event.text.strip()
        event.stop()
        self.fresh = False
        self.set_text(self.cursor, text[:12])

    def action_move(self, drow: int, dcol: int) -> None:
        self.row = (self.row + drow) % len(self.sexes)
        self.col = (self.col + dcol) % len(self.bands)
        self.fresh = True
        self.refresh()

    def action_next_cell(self) -> None:
        """Along the row, then the next row; the last cell leaves the grid."""
        self._step(down=False)

    def action_next_down(self) -> None:
        """Down the column: from the last row to the first row of the next age band; the last
        cell leaves the grid."""
        self._step(down=True)

    def _step(self, down: bool) -> None:
        rows, cols = len(self.sexes), len(self.bands)
        self.fresh = True
        if self.row == rows - 1 and self.col == cols - 1:
            self.screen.focus_next()
            return
        if down:  # cells counted column by column
            self.col, self.row = divmod(self.col * rows + self.row + 1, rows)
        else:
            self.row, self.col = divmod(self.row * cols + self.col + 1, cols)
        self.refresh()

    def action_previous_cell(self) -> None:
        if self.row == 0 and self.col == 0:
            self.fresh = True
            self.screen.focus_previous()
            return
        self.col -= 1
        if self.col < 0:
            self.col, self.row = len(self.bands) - 1, self.row - 1
        self.fresh = True
        self.refresh()

    def action_erase(self) -> None:
        self.fresh = False
        self.set_text(self.cursor, self.cells[self.cursor].text[:-1])

    def action_clear(self) -> None:
        self.set_text(self.cursor, "")

    # -- drawing -------------------------------------------------------------------------------

    def render(self) -> Table:
        labels = {s.code: s.label for s in self.config.sexes}
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
        first = max(len(_("Age")), len(_("Total")), *(len(_(label)) for label in labels.values()))
        table.add_column(_("Age"), justify="left", no_wrap=True, min_width=first)
        for band in self.bands:
            table.add_column(band, justify="right", no_wrap=True, min_width=max(len(band), 5),
                             overflow="crop")
        table.add_column(_("Total"), justify="right", style="bold", no_wrap=True,
                         min_width=max(len(_("Total")), 3))
        column_totals = [0] * len(self.bands)
        for r, sex in enumerate(self.sexes):
            row: list[Text | str] = [_(labels[sex])]
            row_total = 0
            for c, band in enumerate(self.bands):
                state = self.cells[(sex, band)]
                value = self.value((sex, band))
                row_total += value
                column_totals[c] += value
                shown = state.text or "·"
                if state.problem is not None:
                    shown = f"✗{state.text}"
                selected = self.has_focus and (r, c) == (self.row, self.col)
                style = "reverse" if selected else ""
                if state.problem is not None:
                    style += " bold red"
                bracketed = f"[{shown}]" if selected and len(shown) <= 3 else shown
                row.append(Text(bracketed, style=style.strip()))
            row.append(str(row_total))
            table.add_row(*row)
        table.add_row(Text(_("Total"), style="bold"),
                      *[Text(str(t), style="bold") for t in column_totals],
                      Text(str(sum(column_totals)), style="bold reverse"))
        return table
