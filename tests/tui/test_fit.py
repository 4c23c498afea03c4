"""Columns take the width there is: `fit` cuts the flexible columns only as far as needed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from census.tui.widgets.plain import cut, fit

TEXT = st.text(st.sampled_from("abc xyz市场广场"), max_size=30)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], list[int], int]:
    columns = draw(st.integers(1, 6))
    headers = draw(st.lists(TEXT, min_size=columns, max_size=columns))
    rows = draw(st.lists(st.lists(TEXT, min_size=columns, max_size=columns), max_size=8))
    flexible = sorted(draw(st.sets(st.integers(0, columns - 1))))
    width = draw(st.integers(20, 200))
    return headers, rows, flexible, width


def widths(headers: list[str], rows: list[list[str]]) -> list[int]:
    return [max([cell_len(headers[i])] + [cell_len(r[i]) for r in rows])
            for i in range(len(headers))]


@settings(max_examples=400)
@given(tables())
def test_fit_cuts_only_flexible_columns_and_only_when_needed(
        table: tuple[list[str], list[list[str]], list[int], int]) -> None:
    headers, rows, flexible, width = table
    fitted = fit(rows, headers, width, flexible)
    natural = widths(headers, rows)
    if sum(natural) + 2 * len(headers) <= width:
        assert fitted == rows  # room enough: nothing is cut
    for row, shown in zip(rows, fitted, strict=True):
        for i, (text, cell) in enumerate(zip(row, shown, strict=True)):
            if i not in flexible or cell == text:
                assert cell == text
            else:
                assert cell.endswith("…") and text.startswith(cell[:-1])
                assert cell_len(cell) >= min(6, cell_len(text)) - 1
    least = sum(min(natural[i], max(6, cell_len(headers[i]))) + 2 for i in flexible)
    fixed = sum(n + 2 for i, n in enumerate(natural) if i not in flexible)
    if fixed + least <= width:  # room for every flexible column at its least
        assert sum(widths(headers, fitted)) + 2 * len(headers) <= width


def test_cut_counts_terminal_cells() -> None:
    assert cut("Market Square", 13) == "Market Square"
    assert cut("Market Square", 8) == "Market …"
    assert cut("市场广场", 5) == "市场…"
