"""The enumerator app driven with Pilot: keys only, assertions on stored rows and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from census.domain.config import default_config
from census.domain.keys import key_sums
from census.domain.model import Area, Role
from census.storage.areas import import_areas
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.dialogs import ConfirmDialog, HelpScreen, ListingDialog, ReasonDialog, VisitDialog
from census.tui.screens.dwelling import DwellingScreen
from census.tui.screens.home import CallbacksScreen, HomeScreen
from census.tui.screens.household import HouseholdScreen
from census.tui.screens.listing import ListingScreen
from census.tui.screens.unlock import UnlockScreen
from census.tui.widgets.count_grid import CountGrid
from census.usecases.entry import Entry
from tests.helpers import PASSPHRASE, RAW_KEY, enumerator_db, key_pragma
from tests.tui.driving import NOW, drive, new_dwelling_with_contact, press, reopen, texts

EA = "R01-D01-EA001"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Enumerator E001's database with one enumeration area (raw key)."""
    return enumerator_db(tmp_path / "tui.db")


def test_complete_household_with_keys_only(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        # female 0-4: 1; female 25-34: 2; male 25-34: 1 ; then visitors 1
        await press(pilot, "1", "right", "right", "right", "2", "down", "1")
        grid = app.screen.query_one(CountGrid)
        assert grid.total() == 4
        assert "4 usual residents" in str(app.screen.query_one("#status").render())
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, DwellingScreen)

    drive(db, script)
    store = reopen(db)
    row = store.conn.execute("SELECT status, n_00, n_03, n_11, usual_residents, seed, "
                             + ", ".join(store.keys) + " FROM household").fetchone()
    assert row[:5] == ("complete", 1, 2, 1, 4)
    cells = store.config.cells
    expected = key_sums(row[5], cells, {cells[0]: 1, cells[3]: 2, cells[11]: 1})
    assert list(row[6:]) == expected
    audit = store.conn.execute("SELECT who, field, new FROM audit WHERE record_type = "
                               "'household' ORDER BY seq").fetchall()
    assert audit[0][0] == "E001" and audit[0][1] == "*"
    assert ("E001", "status", "complete") in audit
    assert ("E001", "residents.female.25-34", "2") in audit
    assert store.verify_audit().ok
    store.close()


def test_an_error_blocks_completion_and_shows_its_message(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "right", "right", "right", "9", "9")  # 99 > 60
        problems = str(app.screen.query_one("#problems", Static).render())
        assert "✗ Error E001 Female 25-34: 99 is outside 0 to 60" in problems
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, HouseholdScreen)
        assert app.screen.unsaved

    drive(db, script)
    store = reopen(db)
    # The last valid value (9) is the draft; the refused 99 was never stored.
    assert store.conn.execute("SELECT status, n_03 FROM household").fetchone() == ("draft", 9)
    store.close()


def test_letters_signs_and_points_are_refused_in_the_grid(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        for key in ("a", "minus", "full_stop"):
            await press(pilot, key)
            problems = str(app.screen.query_one("#problems", Static).render())
            assert "E002" in problems and "not a whole number" in problems
        assert app.screen.query_one(CountGrid).total() == 0

    drive(db, script)


def test_a_warning_needs_a_reason_which_is_stored(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "2")  # two children, no adult: W002
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, ReasonDialog)
        assert "W002" in str(app.screen.query_one(".warning", Static).render())
        await press(pilot, "enter", "down", "enter")  # open the list, take the first reason
        await pilot.pause()
        assert isinstance(app.screen, DwellingScreen)  # completed: back, as without a warning

    drive(db, script)
    store = reopen(db)
    assert store.conn.execute("SELECT status FROM household").fetchone() == ("complete",)
    assert store.conn.execute("SELECT rule_id, reason FROM override").fetchall() == [
        ("W002", "confirmed_with_respondent")]
    store.close()


def test_a_draft_exists_after_each_change_and_the_app_reopens_on_it(db: Path) -> None:
    revisions: list[int] = []

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        for key in ("3", "right", "1"):
            await press(pilot, key)
            if key != "right":
                row = app.store.conn.execute("SELECT status, revision, n_00, n_01 "
                                             "FROM household").fetchone()
                assert row[0] == "draft"
                revisions.append(row[1])
        visitors = app.screen.query_one("#visitors", Input)
        visitors.focus()
        await press(pilot, "2")
        assert app.store.conn.execute("SELECT visitors FROM household").fetchone() == (2,)

    drive(db, script)
    assert revisions[1] > revisions[0]

    async def reopened(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HouseholdScreen)
        grid = app.screen.query_one(CountGrid)
        assert grid.counts() == {("female", "0-4"): 3, ("female", "5-14"): 1}
        assert app.screen.query_one("#visitors", Input).value == "2"

    drive(db, reopened)


def test_no_one_home_asks_for_a_callback_which_appears_in_the_due_list(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a", "ctrl+s", "enter", "v")
        assert isinstance(app.screen, VisitDialog)
        await press(pilot, "down", "down", "enter")  # no one home
        date = app.screen.query_one("#date", Input)
        assert date.has_focus
        date.value = ""
        await press(pilot, *"2026-11-27")
        await press(pilot, "enter")
        time = app.screen.query_one("#time", Input)
        time.value = ""
        await press(pilot, *"2530", "enter")
        errors = str(app.screen.query_one("#errors", Static).render())
        assert "E024 Callback time: '2530' is not a time of day; write it as HH:MM" in errors
        assert "YYYY-MM-DDTHH:MM" not in errors  # the screen has a date and a time field
        time.value = "1730"  # read as 17:30
        await press(pilot, "enter")
        assert "E006" in str(app.screen.query_one("#errors", Static).render())  # in the past
        date.value = "2026-11-28"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "escape", "escape")
        assert isinstance(app.screen, HomeScreen)
        due = app.screen.query_one("#due", DataTable)
        assert str(due.get_row_at(0)[0]) == "17:30 28/11"
        await press(pilot, "c")
        assert isinstance(app.screen, CallbacksScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, DwellingScreen)

    drive(db, script)


def test_wrong_passphrase_then_retry(tmp_path: Path) -> None:
    db = enumerator_db(tmp_path / "tui.db", PASSPHRASE)  # the passphrase is under test

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, UnlockScreen)
        await press(pilot, *"wrong", "enter")
        assert "passphrase is wrong" in str(app.screen.query_one("#errors", Static).render())
        assert app.screen.query_one(Input).value == ""
        app.screen.query_one(Input).value = PASSPHRASE
        await press(pilot, "enter")
        assert isinstance(app.screen, HomeScreen)

    drive(db, script, passphrase=None)


def test_ctrl_c_asks_before_quitting_with_an_unsaved_value(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "9", "9")
        await press(pilot, "ctrl+c")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert isinstance(app.screen, HouseholdScreen)
        await press(pilot, "delete", "ctrl+c")
        assert app.return_code is not None or not app.is_running

    drive(db, script)


def test_help_lists_the_keys_and_keys_can_be_remapped(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(w.render()) for w in app.screen.query("Label"))
        assert "Appointments" in text and "Quit" in text and "Open" in text
        assert "k              Appointments" in text  # shown with the remapped key
        await press(pilot, "escape")
        await press(pilot, "k")
        assert isinstance(app.screen, CallbacksScreen)

    drive(db, script, keymap={"home.callbacks": "k"})


def test_listing_pages_and_filters_without_loading_everything(db: Path) -> None:
    import json

    from census.usecases.forms import import_lines
    from tests.helpers import dwelling, household

    store = reopen(db)
    lines = [json.dumps(dwelling(structure=i, households=[household()]
                                 if i % 3 else [],
                                 visits=[{"attempt": 1, "at": "2026-11-20T10:00",
                                          "outcome": "completed" if i % 3 else "refused"}]))
             for i in range(1, 131)]
    import_lines(store, lines, now=NOW, sink=lambda line, p: None)
    store.close()

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 50
        await press(pilot, "pagedown", "pagedown")
        assert table.row_count == 30
        assert str(table.get_row_at(0)[0]) == "101/1"
        await press(pilot, "f", "f", "f", "f", "f")  # all → ... → refused
        assert table.row_count == 43
        assert all(str(table.get_row_at(i)[3]) == "refused" for i in range(table.row_count))

    drive(db, script)


def test_small_terminal_and_resize_mid_form(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "2")
        await pilot.resize_terminal(60, 20)
        await press(pilot, "right", "3")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.screen.query_one(CountGrid).total() == 5

    drive(db, script)
    store = reopen(db)
    assert store.conn.execute("SELECT n_00 + n_01 FROM household").fetchone() == (5,)
    store.close()


def test_a_locked_database_gives_a_clear_message_and_a_retry(db: Path) -> None:
    import sqlcipher3

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        app.store.conn.execute("PRAGMA busy_timeout = 50")
        other = sqlcipher3.connect(str(db))
        other.execute(key_pragma(RAW_KEY))
        other.execute("BEGIN IMMEDIATE")
        try:
            await press(pilot, "4")
            messages = [n.message for n in app._notifications]
            assert any("busy" in m and "try again" in m.lower() for m in messages), messages
            assert "NOT SAVED" in str(app.screen.query_one("#status").render())
            assert app.screen.unsaved
        finally:
            other.rollback()
            other.close()
        await press(pilot, "ctrl+s")
        assert not app.screen.unsaved
        assert app.store.conn.execute("SELECT n_00 FROM household").fetchone() == (4,)

    drive(db, script)


def test_an_internal_error_prints_no_traceback_and_no_passphrase(db: Path) -> None:
    import io

    from rich.console import Console

    app = CensusApp(db, PASSPHRASE, clock=lambda: NOW)
    buffer = io.StringIO()
    app.error_console = Console(file=buffer, width=100)
    try:
        secret = PASSPHRASE
        raise RuntimeError("boom")
    except RuntimeError as exc:
        app._exception = exc
        from rich.traceback import Traceback

        app._exit_renderables.append(Traceback(show_locals=True))
        del secret
    app._print_error_renderables()
    text = buffer.getvalue()
    assert "internal error (RuntimeError: boom)" in text
    assert "Traceback" not in text and PASSPHRASE not in text


def test_the_store_can_be_opened_in_a_thread_while_the_app_starts(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # A real passphrase: its slow derivation is why the store is opened in a thread, and a
    # wrong one's message is under test.
    db = enumerator_db(tmp_path / "tui.db", PASSPHRASE)
    with ThreadPoolExecutor(max_workers=1) as pool:
        right = pool.submit(Store.open, db, PASSPHRASE, True)
        wrong = pool.submit(Store.open, db, "not it", True)
        right.result()
        wrong.exception()

    async def opened(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HomeScreen)

    drive(db, opened, passphrase=None, opening=right)

    async def refused(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, UnlockScreen)
        assert "passphrase is wrong" in str(app.screen.query_one("#errors", Static).render())

    drive(db, refused, passphrase=None, opening=wrong)


def test_pasted_text_is_checked_like_typing(db: Path) -> None:
    from textual import events

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        grid = app.screen.query_one(CountGrid)
        grid.post_message(events.Paste("3 persons"))
        await pilot.pause()
        problems = str(app.screen.query_one("#problems", Static).render())
        assert "E002" in problems and "'3 persons'" in problems
        assert app.screen.unsaved
        grid.post_message(events.Paste(" 4 "))
        await pilot.pause()
        assert grid.total() == 4 and not app.screen.unsaved
        assert app.store.conn.execute("SELECT n_00 FROM household").fetchone() == (4,)

    drive(db, script)


def test_returned_forms_are_shown_first_on_home(db: Path) -> None:
    from census.usecases.forms import import_lines
    from tests.helpers import dwelling, household, jsonl

    store = reopen(db)
    back = household()
    import_lines(store, jsonl(dwelling(structure=7, households=[back]),
                              dwelling(structure=8)).splitlines(), now=NOW,
                 sink=lambda line, p: None)
    # Returned as a supervisor's decision returns it (only a decision does: a form may not say
    # so); the return's path is tested in test_supervisor, here only what Home shows of it.
    with store.write():
        store.conn.execute("UPDATE household SET status = 'returned' WHERE id = ?",
                           (back["id"],))
    store.close()

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HomeScreen)
        assert "Returned forms: 1" in str(app.screen.query_one("#returned-title").render())
        table = app.screen.query_one("#returned", DataTable)
        assert texts(table.get_row_at(0)) == [EA, "7/1", "1"]

    drive(db, script)


def test_a_draft_the_rules_refuse_is_not_saved_and_leaving_asks(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "6", "0", "tab", "6", "0")  # 120 persons: E008, over the limit
        assert "E008" in str(app.screen.query_one("#problems", Static).render())
        assert "NOT SAVED" in str(app.screen.query_one("#status").render())
        assert app.screen.unsaved
        await press(pilot, "escape")
        assert isinstance(app.screen, HouseholdScreen)  # not left silently
        await press(pilot, "0")  # the second cell reads 600: refused as typed (E001)
        await press(pilot, "delete")  # cleared: 60 persons in all, within the limit, saved
        assert not app.screen.unsaved
        await press(pilot, "escape")
        assert isinstance(app.screen, DwellingScreen)

    drive(db, script)


def test_ctrl_c_in_a_dialog_asks_first(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "enter", "a")
        assert isinstance(app.screen, ListingDialog)
        await press(pilot, "ctrl+c")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert isinstance(app.screen, ListingDialog)

    drive(db, script)


def test_retyping_the_same_value_keeps_a_completed_household(db: Path) -> None:
    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "right", "right", "right", "2", "ctrl+d")
        assert isinstance(app.screen, DwellingScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, HouseholdScreen)
        await press(pilot, "right", "right", "right", "2")
        status = app.store.conn.execute("SELECT status FROM household").fetchone()
        assert status == ("complete",)
        await press(pilot, "3")  # a real change: a draft again, and the user is told
        assert app.store.conn.execute("SELECT status FROM household").fetchone() == ("draft",)
        assert any("draft again" in n.message for n in app._notifications)

    drive(db, script)


def test_callbacks_of_other_enumerators_are_not_shown(db: Path) -> None:
    from census.usecases.forms import import_lines
    from tests.helpers import dwelling, jsonl

    store = reopen(db)
    import_areas(store, [Area("R01-D01-EA002", "ea", "Riverside 2", "R01-D01", 40, "E002")],
                       "E001")
    callback = [{"attempt": 1, "at": "2026-11-27T10:00", "outcome": "callback",
                 "callback_at": "2026-11-28T17:00"}]
    import_lines(store, jsonl(dwelling(3, households=[], visits=callback),
                              dwelling(4, households=[], visits=callback,
                                       area="R01-D01-EA002")).splitlines(), now=NOW,
                 sink=lambda line, p: None)
    store.close()

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        due = app.screen.query_one("#due", DataTable)
        assert [str(due.get_row_at(i)[2]) for i in range(due.row_count)] == [EA]
        await press(pilot, "c")
        table = app.screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[2]) for i in range(table.row_count)] == [EA]

    drive(db, script)


def test_text_from_people_and_files_is_shown_as_written(tmp_path: Path) -> None:
    """Found by the hardening work (issue 6): a locator such as "gate [/] by the well" was read
    as markup, and the listing stopped the app with a MarkupError. Locators, area names, paths
    and messages are now shown as written; a control character (a terminal escape) as �."""
    folder = tmp_path / "a [red b [bold]"
    folder.mkdir()
    path = folder / "tui.db"
    store = Store.create(path, RAW_KEY, default_config(), Role.ENUMERATOR, "E001")
    import_areas(store, [Area("R01", "region", "North"),
                        Area("R01-D01", "district", "Riverside", "R01"),
                        Area(EA, "ea", "Well [/] x", "R01-D01", 40, "E001")], "E001")
    saved = Entry(store).add_dwelling(EA, 1, 1, locator="gate [/] by [bold]x")
    assert saved.ok and saved.dwelling is not None, saved.problems
    # A control character cannot be typed (E010), but a flagged record merged from a bundle
    # keeps its text as sent: put one there as such a merge would.
    store.conn.execute("UPDATE dwelling SET locator = ? WHERE id = ?",
                       ("gate [/] by [bold]x\x1b[31m", saved.dwelling.id))
    store.conn.commit()
    store.close()

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        areas = app.screen.query_one("#areas", DataTable)
        assert "Well [/] x" in str(areas.get_row_at(0)[1])
        await press(pilot, "enter")
        assert isinstance(app.screen, ListingScreen)
        row = app.screen.query_one("#listing", DataTable).get_row_at(0)
        assert any(str(c).startswith("gate [/] by [bold]x\ufffd") for c in row), row
        await press(pilot, "enter")
        assert isinstance(app.screen, DwellingScreen)
        title = str(app.screen.query_one("#title").render())
        assert "gate [/] by [bold]x\ufffd[31m" in title, title
        app.notify(f"Cannot use {folder}: [/] test")
        await pilot.pause()
        assert any("a [red b [bold]" in n.message for n in app._notifications)

    drive(path, script)
