"""Widgets that show text as it is. census never uses Rich markup, and much of what it shows comes
from people and files (locators, area names, paths, messages quoting a value), where a `[` is
just a character: as markup, "gate [/] by the well" stopped the app. Control characters
(terminal escapes, bidirectional overrides) are shown as �, never sent to the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.visual import VisualType
from textual.widgets import DataTable as _DataTable
from textual.widgets import Label as _Label
from textual.widgets import Static as _Static
from textual.widgets.data_table import RowKey

_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(text: str) -> str:
    """`text` with control characters (but line breaks) and bidirectional overrides as �."""
    return "".join("\ufffd" if (ch < " " and ch != "\n") or "\x7f" <= ch <= "\x9f"
                   or ch in _BIDI else ch for ch in text)


def _plain(content: VisualType) -> VisualType:
    return printable(content) if isinstance(content, str) else content


#: Marks that never begin a line (Chinese and Japanese line-breaking rules, kinsoku).
NO_START = set("。，、；：！？）」』》〉】”’….,;:!?)]}%")
#: Marks that never end a line: they go down with what follows.
NO_END = set("（「『《〈【“‘([{")
#: Where a clause ends: the place to break a CJK line when the line is well filled.
CLAUSE_END = set("。，、；：！？）")


def _wide(ch: str) -> bool:
    return cell_len(ch) == 2


def has_wide(text: str) -> bool:
    """True when `text` holds wide (CJK) characters, which are written without spaces."""
    return any(_wide(ch) for ch in text)


def _units(text: str) -> list[str]:
    """The pieces a line may be broken between: a wide character (with the closing marks after
    it and the opening marks before it), or a run of other characters up to a space."""
    units: list[str] = []
    for ch in text:
        glue = units and (ch in NO_START or units[-1][-1] in NO_END or (
            not _wide(ch) and not ch.isspace() and not _wide(units[-1][-1])
            and not units[-1][-1].isspace()) or (ch.isspace() and not _wide(units[-1][-1])))
        if glue:
            units[-1] += ch
        else:
            units.append(ch)
    return units


def _fold(unit: str, width: int) -> list[str]:
    """A piece longer than the line (a path, a long code) cut into lines of `width` cells."""
    pieces, piece = [], ""
    for ch in unit:
        if piece and cell_len(piece + ch) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return [*pieces, piece]


def _mend(lines: list[str], width: int) -> list[str]:
    """Where a line begins with a closing mark or the one before ends with an opening mark, move
    characters down from the line before, as far as the lines still fit."""
    for i in range(len(lines) - 1):
        while (len(lines[i]) > 1 and lines[i + 1] and (
                lines[i + 1][0] in NO_START or lines[i][-1] in NO_END)
               and cell_len(lines[i][-1] + lines[i + 1]) <= width):
            lines[i], lines[i + 1] = lines[i][:-1], lines[i][-1] + lines[i + 1]
    return lines


def _phrase(units: list[str], closing: set[str]) -> str:
    """The units up to and including the first that ends with one of `closing`."""
    phrase = ""
    for unit in units:
        phrase += unit
        if unit[-1] in closing:
            break
    return phrase


def wrap_wide(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells for text with CJK characters, broken where they read well:
    after a clause (a comma or full stop) or before a bracket once the line is two-thirds full,
    else between two characters; a closing mark never begins a line, an opening one never ends
    it."""
    width = max(2, width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        units = [piece for unit in _units(paragraph) for piece in _fold(unit, width)]
        for i, unit in enumerate(units):
            full = cell_len(line) * 3 >= width * 2
            if line and (cell_len(line + unit.rstrip()) > width or (
                    full and unit[0] in NO_END
                    and cell_len(line + _phrase(units[i:], NO_START).rstrip()) > width)):
                lines.append(line.rstrip())
                line = unit.lstrip()
            else:
                line += unit
            if unit[-1] in CLAUSE_END and cell_len(line) * 3 >= width * 2 and cell_len(
                    line + _phrase(units[i + 1:], CLAUSE_END).rstrip()) > width:
                lines.append(line.rstrip())
                line = ""
        lines.append(line.rstrip())
    return _mend(lines, width)


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
