"""Widgets that show text as it is. census never uses Rich markup, and much of what it shows comes
from people and files (locators, area names, paths, messages quoting a value), where a `[` is
just a character: as markup, "gate [/] by the well" stopped the app. Control characters
(terminal escapes, bidirectional overrides) are shown as �, never sent to the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.visual import VisualType
from textual.widgets import DataTable as _DataTable
from textual.widgets import Label as _Label
from textual.widgets import Static as _Static
from textual.widgets.data_table import RowKey

from census.i18n import has_wide, wrap_wide

_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(text: str) -> str:
    """`text` with control characters (but line breaks) and bidirectional overrides as �."""
    return "".join("\ufffd" if (ch < " " and ch != "\n") or "\x7f" <= ch <= "\x9f"
                   or ch in _BIDI else ch for ch in text)


def typed(event: events.Key) -> str | None:
    """The printable character a key types, the event taken (not passed on); None for any
    other key. For widgets that handle their own typing (the count grid, the paper form)."""
    char = event.character
    if char is None or len(char) != 1 or not char.isprintable():
        return None
    event.prevent_default()
    event.stop()
    return char


def _plain(content: VisualType) -> VisualType:
    return printable(content) if isinstance(content, str) else content


class Static(_Static):
    """A Static that never reads markup; text with CJK characters is broken into lines where
    it reads well (`wrap_wide`), not wherever the width runs out."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        super().__init__(_plain(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(_plain(content), layout=layout)

    def _wide_text(self) -> str | None:
        content = self.content
        return content if isinstance(content, str) and has_wide(content) else None

    def render(self) -> Any:
        text = self._wide_text()
        if text is None or self.content_region.width <= 0:
            return super().render()
        return Text("\n".join(wrap_wide(text, self.content_region.width)))

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        text = self._wide_text()
        if text is None:
            return super().get_content_height(container, viewport, width)
        return len(wrap_wide(text, width))


class Label(_Label):
    """A Label that never reads markup."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        super().__init__(_plain(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(_plain(content), layout=layout)


class DataTable(_DataTable[Any]):
    """A DataTable whose text cells are shown as they are, never as markup."""

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        return super().add_row(*(Text(printable(c)) if isinstance(c, str) else c
                                 for c in cells), height=height, key=key, label=label)


def cut(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, ending with … when cut."""
    if cell_len(text) <= width:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def fit(rows: Sequence[Sequence[str]], headers: Sequence[str], width: int,
        flexible: Sequence[int], least: int = 6, padding: int = 2) -> list[list[str]]:
    """The rows of a table, the texts of its `flexible` columns cut only as far as `width`
    terminal cells require (each column takes its widest text, header included, plus
    `padding`); the room left is shared between the flexible columns, narrow ones keeping all
    they need, and none cut below `least` cells or its header's width. Other columns and the
    headers are never cut."""
    natural = [max([cell_len(headers[i])] + [cell_len(r[i]) for r in rows])
               for i in range(len(headers))]
    floor = {i: min(natural[i], max(least, cell_len(headers[i]))) for i in flexible}
    room = width - sum(n + padding for i, n in enumerate(natural) if i not in flexible)
    room -= padding * len(flexible)
    allowed = {i: natural[i] for i in flexible}
    if sum(allowed.values()) > room:
        # Each column first gets its floor; the room above the floors is shared, the columns
        # that need least above their floor served first (what they leave goes to the others).
        extra = room - sum(floor.values())
        waiting = sorted(flexible, key=lambda i: natural[i] - floor[i])
        for served, i in enumerate(waiting):
            give = min(natural[i] - floor[i], max(0, extra // (len(waiting) - served)))
            allowed[i] = floor[i] + give
            extra -= give
    return [[cut(c, allowed[i]) if i in allowed else c for i, c in enumerate(r)] for r in rows]
