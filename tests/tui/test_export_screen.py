"""The supervisor's export screen driven with Pilot: preview shows the protected values that
will be written, export writes them with a progress bar, and a refusal is shown, not raised."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, ProgressBar, Select

from census.storage.releases import releases
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.screens.dashboard import DashboardScreen
from census.tui.screens.publish import ExportScreen
from census.usecases.publish.plan import Request, plan_export
from tests.helpers import RAW_KEY
from tests.tui.driving import texts
from tests.usecases.population import NOW, eas, supervisor


@pytest.mark.parametrize("method", ["ckm", "dp"])
def test_preview_then_export_writes_what_was_shown(tmp_path: Path, method: str) -> None:
    """Under dp too: the noise the preview showed is the noise written (it was drawn once)."""
    if method == "dp":
        pytest.importorskip("opendp")
    db = tmp_path / "s.db"
    supervisor(db, households=800).close()
    out = tmp_path / "tables"
    seen: dict[str, object] = {}

    async def run() -> None:
        app = CensusApp(db, RAW_KEY, clock=lambda: NOW)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            await pilot.press("x")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ExportScreen)
            screen.query_one("#method", Select).value = method
            screen.query_one("#out", Input).value = str(out)
            await pilot.press("ctrl+p")
            await pilot.pause()
            table = screen.query_one("#preview", DataTable)
            seen["preview"] = [texts(table.get_row_at(i)) for i in range(table.row_count)]
            seen["summary"] = str(screen.query_one("#summary").render())
            seen["title"] = str(screen.query_one("#table-title").render())
            await pilot.press("ctrl+t")
            await pilot.pause()
            seen["households_title"] = str(screen.query_one("#table-title").render())
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen["after"] = str(screen.query_one("#summary").render())
            seen["bar"] = screen.query_one("#progress", ProgressBar).percentage
            # A second export into the same folder is refused on screen, nothing raised.
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen["refused"] = str(screen.query_one("#summary").render())

    asyncio.run(run())
    assert method in str(seen["summary"]) and "Left out, still open: 1" in str(seen["summary"])
    if method == "dp":
        assert "Privacy loss of these tables: rho 0.25" in str(seen["summary"])
    assert "Persons by sex and age" in str(seen["title"]) and "protected" in str(seen["title"])
    assert "Households by size" in str(seen["households_title"])
    assert "written to" in str(seen["after"]) and seen["bar"] == 1.0
    assert "already holds files" in str(seen["refused"])
    with open(out / "persons.csv", newline="") as f:
        written = [list(r.values()) for r in csv.DictReader(f)]
    preview = seen["preview"]
    assert isinstance(preview, list) and preview
    assert written[:len(preview)] == [list(r) for r in preview]
    store = Store.open(db, RAW_KEY)
    try:
        (entry,) = releases(store)
        assert entry["method"] == method
        again = plan_export(store, Request(level="ea", method=method))
        assert again.previous is not None and again.previous[0] == entry["id"]
        assert len(eas(store)) - 1 == len(again.units)
    finally:
        store.close()


def test_a_refused_request_is_shown_in_words(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    supervisor(db, households=300, keep_open=3).close()  # every area still open
    shown: list[str] = []

    async def run() -> None:
        app = CensusApp(db, RAW_KEY, clock=lambda: NOW)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("x", "ctrl+p")
            await pilot.pause()
            shown.append(str(app.screen.query_one("#summary").render()))
            await pilot.press("escape")
            await pilot.pause()
            shown.append(type(app.screen).__name__)

    asyncio.run(run())
    assert shown[0].startswith("✗") and "No closed area to publish" in shown[0]
    assert shown[1] == "DashboardScreen"


def exports_tried(db: Path, folder: str, tries: int = 1) -> list[tuple[str, str]]:
    """Open the export screen, give `folder`, press Ctrl+S `tries` times: what the summary line
    said each time, and which screen was showing."""
    seen: list[tuple[str, str]] = []

    async def run() -> None:
        app = CensusApp(db, RAW_KEY, clock=lambda: NOW)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
            app.screen.query_one("#out", Input).value = folder
            for _ in range(tries):
                await pilot.press("ctrl+s")
                await pilot.pause(0.3)
                await app.workers.wait_for_complete()
                await pilot.pause()
                seen.append((str(app.screen.query_one("#summary").render()),
                             type(app.screen).__name__))

    asyncio.run(run())
    return seen


def test_a_busy_database_is_a_message_not_a_crash(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import census.tui.screens.publish as screen_module
    from census.storage.connection import StoreError

    db = tmp_path / "s.db"
    supervisor(db, households=300).close()

    def busy(*args: object, **kwargs: object) -> None:
        raise StoreError("The database is busy: another census program is writing to it.")

    monkeypatch.setattr(screen_module, "write_export", busy)
    ((text, screen),) = exports_tried(db, str(tmp_path / "out"))
    assert text.startswith("✗") and "database is busy" in text
    assert screen == "ExportScreen" and not (tmp_path / "out").exists()


def test_an_impossible_folder_name_is_a_message(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    supervisor(db, households=300).close()
    # Twice: a failed try does not block the next one.
    seen = exports_tried(db, "~nosuchuser-census/tables", tries=2)
    assert len(seen) == 2
    assert all(text.startswith("✗") and "nothing was exported" in text for text, _s in seen)


def test_publish_fields_are_labelled_and_a_long_refusal_is_shown_whole(tmp_path: Path) -> None:
    """At 80×24: each choice has its label; a refusal longer than four lines is not cut (it
    scrolls in its box, which the keyboard reaches)."""
    from textual.containers import VerticalScroll

    db = tmp_path / "s.db"
    supervisor(db, households=12).close()  # every area below the minimum size
    seen: dict[str, object] = {}

    async def run() -> None:
        app = CensusApp(db, RAW_KEY, clock=lambda: NOW)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
            screen = app.screen
            seen["labels"] = [str(w.render()) for w in screen.query(".choices Label")]
            seen["visible"] = all(w.region.width > 0 and w.region.right <= 80
                                  for w in screen.query(".choices Label"))
            await pilot.resize_terminal(40, 24)  # the refusal takes more than four lines
            await pilot.press("ctrl+p")
            await pilot.pause()
            summary = screen.query_one("#summary")
            box = screen.query_one("#summary-box", VerticalScroll)
            seen["text"] = str(summary.render())
            seen["lines"] = summary.virtual_size.height
            seen["box"] = box.size.height + box.max_scroll_y
            seen["focusable"] = box.can_focus

    asyncio.run(run())
    assert seen["labels"] == ["Level", "Method", "Format", "Folder", "Override"]
    assert seen["visible"]
    assert str(seen["text"]).endswith("nothing can be published.")
    assert isinstance(seen["lines"], int) and seen["lines"] > 4  # longer than the old cut
    assert seen["box"] >= seen["lines"]  # every line is reachable
    assert seen["focusable"]
