"""Widgets that show text as it is. census never uses Rich markup, and much of what it shows comes
from people and files (locators, area names, paths, messages quoting a value), where a `[` is
just a character: as markup, "gate [/] by the well" stopped the app. Control characters
(terminal escapes, bidirectional overrides) are shown as �, never sent to the terminal."""

from __future__ import annotations

from typing import Any

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


class Static(_Static):
    """A Static that never reads markup."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        super().__init__(_plain(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(_plain(content), layout=layout)


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
