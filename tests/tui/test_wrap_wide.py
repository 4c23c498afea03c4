"""CJK text broken into lines where it reads well (wrap_wide), and shown so by Static."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult

from census.i18n import NO_END, NO_START, wrap_wide
from census.tui.widgets.plain import Static

MESSAGE = ("✗ 无法打开 /root/.local/share/census/census.db：口令错误，或该文件不是 census 数据库"
           "（可能已损坏）。请检查口令；如果口令正确，请从备份恢复该文件。")
CJK = st.text(st.sampled_from("口令错误文件数据库可能已损坏请检查，。；：（）「」 abc/"),
              max_size=80)


def test_the_wrong_passphrase_message_breaks_after_clauses() -> None:
    lines = wrap_wide(MESSAGE, 40)
    assert lines == ["✗ 无法打开", "/root/.local/share/census/census.db：",
                     "口令错误，或该文件不是 census 数据库", "（可能已损坏）。请检查口令；",
                     "如果口令正确，请从备份恢复该文件。"]
    assert not any(line.startswith(("。", "，", "）")) for w in range(8, 90)
                   for line in wrap_wide(MESSAGE, w))


@settings(max_examples=400)
@given(CJK, st.integers(4, 60))
def test_wrapping_keeps_every_character_and_the_rules(text: str, width: int) -> None:
    lines = wrap_wide(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for i, line in enumerate(lines):
        assert cell_len(line) <= width
        if i > 0 and line and (line[0] in NO_START or lines[i - 1][-1:] in NO_END):
            # only where it cannot be helped: one more character moved down would not fit
            before = lines[i - 1]
            assert len(before) <= 1 or cell_len(before[-1] + line) > width, lines


def test_static_shows_the_lines_and_takes_their_height() -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(MESSAGE, id="m")

    async def run() -> tuple[int, str]:
        app = One()
        async with app.run_test(size=(40, 12)) as pilot:
            await pilot.pause()
            widget = app.query_one("#m", Static)
            return widget.size.height, str(widget.render())

    height, shown = asyncio.run(run())
    assert shown.splitlines() == wrap_wide(MESSAGE, 40)
    assert height == len(shown.splitlines()) == 5
