"""The census app: unlock, home (the enumerator's areas, or the supervisor's dashboard),
listing, dwelling, household form, callbacks, help.

The only package that imports Textual. Screens call `census.entry` (use cases) and read through
`Store` queries; no widget writes SQL. Where the user is (area, dwelling, household) is kept in
the database as they move, so after a crash or kill the app reopens on the same form and its draft.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input

from census.domain.model import Role
from census.entry import Entry
from census.i18n import _
from census.storage.connection import StoreError
from census.storage.store import ProgressRow, Store
from census.tui.dialogs import (
    ConfirmDialog,
    HelpScreen,
    ListingDialog,
    ReasonDialog,
    ReturnDialog,
    VisitDialog,
)
from census.tui.labels import ROLES, bar
from census.tui.widgets.plain import DataTable, Label, Static, printable

R = TypeVar("R")


PAGE = 50
"""Rows a table holds at a time: lists are read from SQLite a page at a time (DESIGN §9)."""


def page_count(total: int) -> int:
    """Pages of PAGE rows needed for `total` rows (at least one, shown even when empty)."""
    return max(1, -(-total // PAGE))


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
        assert isinstance(self.app, CensusApp)
        return self.app

    @property
    def unsaved(self) -> bool:
        """True when something typed could not be stored yet (asked about before quitting)."""
        return False

    def guarded(self, action: Callable[[], R]) -> R | None:
        """Run a store action; a busy or failing database becomes a message, not a crash."""
        try:
            return action()
        except StoreError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return None


class UnlockScreen(CensusScreen):
    """Ask for the passphrase (masked); a wrong one says so and lets the user try again."""

    def __init__(self, message: str = "") -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("census — unlock the database"), classes="title")
            yield Label(str(self.census.db_path), classes="hint")
            yield Input(password=True, placeholder=_("Passphrase"), id="passphrase")
            yield Static("✗ " + self.message if self.message else "", id="errors",
                         classes="errors")
            yield Label(_("Enter unlock · Ctrl+Q quit"), classes="hint")
            yield Static(_("The demo database made by `census demo` has the passphrase: demo"),
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        message = self.census.unlock(event.value)
        if message:
            self.query_one("#errors", Static).update("✗ " + message)
            event.input.value = ""


class HomeScreen(CensusScreen):
    """The enumerator's areas with progress, callbacks due today at the top."""

    BINDINGS = [
        Binding("enter", "open_area", _("Open area"), id="home.open"),
        Binding("c", "callbacks", _("Callbacks"), id="home.callbacks"),
        Binding("r", "refresh", _("Refresh"), id="home.refresh"),
    ]

    def compose(self) -> ComposeResult:
        store = self.census.store
        yield Label(_("{survey} · {user} ({role})").format(
            survey=store.config.name, user=store.user, role=_(ROLES[store.role])),
            classes="title")
        yield Label("", id="returned-title", classes="section")
        yield DataTable(id="returned", cursor_type="row")
        yield Label(_("Callbacks due (today and overdue)"), classes="section")
        yield DataTable(id="due", cursor_type="row")
        yield Label(_("My areas"), classes="section")
        yield DataTable(id="areas", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#returned", DataTable).add_columns(_("Area"), _("Dwelling"),
                                                          _("Household"))
        self.query_one("#due", DataTable).add_columns(_("When"), _("Area"), _("Dwelling"),
                                                     _("Note"))
        self.query_one("#areas", DataTable).add_columns(
            _("Area"), _("Name"), _("Listed"), _("Visited"), _("Completed"), _("Due"),
            _("Progress"))
        self.query_one("#areas", DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        store = self.census.store
        now = self.census.now()
        returned = self.query_one("#returned", DataTable)
        returned.clear()
        rows = store.returned_households(enumerator=self.census.my_code())
        returned.display = bool(rows)
        title = self.query_one("#returned-title", Label)
        title.display = bool(rows)
        title.update(_("Returned forms: {n}").format(n=len(rows)))
        for area, did, structure, number, hnum in rows:
            returned.add_row(area, f"{structure}/{number}", str(hnum), key=did)
        due = self.query_one("#due", DataTable)
        due_cursor = due.cursor_row
        due.clear()
        callbacks = store.callbacks_due(now, limit=50, enumerator=self.census.my_code())
        for area, did, when, structure, number in callbacks:
            note = "⚠ " + _("overdue") if when < now else ""
            due.add_row(when.strftime("%H:%M %d/%m"), area, f"{structure}/{number}", note,
                        key=did)
        if not callbacks:
            due.add_row("—", _("no callbacks due today"), "", "")
        due.move_cursor(row=min(due_cursor, due.row_count - 1))
        areas = self.query_one("#areas", DataTable)
        cursor = areas.cursor_row
        areas.clear()
        for r in self.census.my_areas():
            target = max(r.expected or 0, r.listed)
            areas.add_row(r.area, r.name[:12], f"{r.listed}/{r.expected or '?'}",
                          str(r.visited), str(r.completed), str(r.callbacks_due),
                          bar(r.completed, target, width=8), key=r.area)
        if areas.row_count:
            areas.move_cursor(row=min(cursor, areas.row_count - 1))

    def action_open_area(self) -> None:
        table = self.focused
        if not isinstance(table, DataTable) or (key := row_key(table)) is None:
            return
        from census.tui.screens import DwellingScreen, ListingScreen

        if table.id == "areas":
            self.app.push_screen(ListingScreen(key))
        else:
            self.app.push_screen(DwellingScreen(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_area()

    def action_callbacks(self) -> None:
        self.app.push_screen(CallbacksScreen())


class CallbacksScreen(CensusScreen):
    """Every callback due (today and overdue), overdue ones marked; Enter opens the dwelling."""

    BINDINGS = [Binding("escape", "app.pop_screen", _("Back"), id="callbacks.back"),
                Binding("enter", "open", _("Open dwelling"), id="callbacks.open")]

    def compose(self) -> ComposeResult:
        yield Label(_("Callbacks due"), classes="title")
        yield DataTable(id="callbacks", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(_("When"), _("Status"), _("Area"), _("Dwelling"))
        self.query_one(DataTable).focus()  # rows come in on_screen_resume

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        now = self.census.now()
        for area, did, when, structure, number in self.census.store.callbacks_due(
                now, 500, enumerator=self.census.my_code()):
            status = "⚠ " + _("overdue") if when < now else _("today")
            table.add_row(when.strftime("%Y-%m-%d %H:%M"), status, area,
                          f"{structure}/{number}", key=did)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        key = row_key(self.query_one(DataTable))
        if key:
            from census.tui.screens import DwellingScreen

            self.app.push_screen(DwellingScreen(key))


class CensusApp(App[None]):
    """The census terminal app."""

    CSS_PATH = "app.tcss"
    TITLE = "census"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "request_quit", _("Quit"), id="app.quit", priority=True),
        Binding("ctrl+c", "request_quit", _("Quit"), show=False, id="app.quit.ctrl_c",
                priority=True),
        Binding("f1", "help", _("Help"), id="app.help"),
    ]

    def __init__(self, db_path: Path, passphrase: str | None = None,
                 keymap: dict[str, str] | None = None,
                 clock: Callable[[], datetime] | None = None,
                 opening: Future[Store] | None = None) -> None:
        super().__init__()
        self.opening = opening
        self.db_path = db_path
        self.initial_passphrase = passphrase
        self.keymap_settings = keymap or {}
        self.clock = clock or (lambda: datetime.now().replace(second=0, microsecond=0))
        self._store: Store | None = None
        self._entry: Entry | None = None

    # -- state ---------------------------------------------------------------------------------


    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Notifications are shown as written, never read as markup: they quote paths and
        values (a `[` in a folder name is not a style)."""
        super().notify(printable(message), title=title, severity=severity, timeout=timeout,
                       markup=False)
    @property
    def store(self) -> Store:
        assert self._store is not None, "unlock first"
        return self._store

    @property
    def entry(self) -> Entry:
        assert self._entry is not None, "unlock first"
        return self._entry

    def now(self) -> datetime:
        return self.clock()

    def my_code(self) -> str | None:
        """The enumerator whose work this app shows (None: everyone's, e.g. for a supervisor or
        when no area is assigned to this user)."""
        if self.store.role is not Role.ENUMERATOR:
            return None
        return self.store.user if self.store.has_areas_of(self.store.user) else None

    def my_areas(self) -> list[ProgressRow]:
        """Enumeration areas of this user (all of them for a supervisor, or if none assigned)."""
        rows = self.store.progress(self.now())
        lowest = self.store.config.levels[-1]
        levels = self.store.area_levels()
        rows = [r for r in rows if levels.get(r.area) == lowest]
        if self.store.role is Role.ENUMERATOR:
            mine = [r for r in rows if r.enumerator == self.store.user]
            return mine or rows
        return rows

    def remember(self, **where: str | None) -> None:
        """Keep where the user is, so that a restart reopens it."""
        value = json.dumps({k: v for k, v in where.items() if v}) if any(where.values()) else None
        with contextlib.suppress(StoreError):
            self.store.set_setting("resume", value)

    # -- life cycle ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.keymap_settings:
            self.set_keymap(self.keymap_settings)
        if self.opening is not None:
            try:
                self.install(self.opening.result())
                return
            except StoreError as exc:
                self.push_screen(UnlockScreen(str(exc)))
                return
        if self.initial_passphrase and not self.unlock(self.initial_passphrase):
            return
        self.push_screen(UnlockScreen())

    def unlock(self, passphrase: str) -> str | None:
        """Open the store; return an error message, or None when unlocked."""
        try:
            store = Store.open(self.db_path, passphrase)
        except StoreError as exc:
            return str(exc)
        self.install(store)
        return None

    def install(self, store: Store) -> None:
        """Use an open store and show where the user was."""
        self._store = store
        # Wait at most 1.5 s for another program's write: the screen freezes while waiting.
        store.conn.execute("PRAGMA busy_timeout = 1500")
        self._entry = Entry(store, clock=self.clock)
        self.resume()

    def resume(self) -> None:
        from census.tui.screens import DwellingScreen, HouseholdScreen, ListingScreen

        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.store.role is Role.ENUMERATOR:
            self.push_screen(HomeScreen())
        else:
            from census.tui.supervisor import DashboardScreen

            self.push_screen(DashboardScreen())
        raw = self.store.setting("resume")
        if not raw:
            return
        try:
            where = json.loads(raw)
        except ValueError:
            return
        area, dwelling, household = where.get("area"), where.get("dwelling"), where.get(
            "household")
        if area and self.store.area(area) is not None:
            self.push_screen(ListingScreen(area))
        if dwelling and self.store.load_dwelling(dwelling, with_households=False) is not None:
            self.push_screen(DwellingScreen(dwelling))
            if household:
                self.push_screen(HouseholdScreen(dwelling, household))
                self.notify(_("Reopened where you were, with the draft."))

    def on_unmount(self) -> None:
        if self._store is not None:
            self._store.close()

    def _print_error_renderables(self) -> None:
        """After a bug, say so in one paragraph: no traceback (its locals could hold the
        passphrase) unless CENSUS_DEBUG is set."""
        if self._exit_renderables and not os.environ.get("CENSUS_DEBUG"):
            error = self._exception
            self.error_console.print(_(
                "census stopped after an internal error ({kind}: {error}). Everything saved "
                "before it is kept, drafts included; run `census` again to continue where you "
                "were. Please report this (CENSUS_DEBUG=1 shows the details).").format(
                kind=type(error).__name__, error=error), markup=False, highlight=False)
            self._exit_renderables.clear()
            return
        super()._print_error_renderables()

    # -- actions -------------------------------------------------------------------------------

    def action_help(self) -> None:
        """The keys of this screen (as remapped), then the keys that move around in it."""
        keymap: dict[str, str] = getattr(self, "_keymap", {}) or {}
        keys: list[tuple[str, str]] = []
        for binding in [*type(self.screen).BINDINGS, *type(self).BINDINGS]:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.id == "app.quit.ctrl_c":
                continue
            key = keymap.get(binding.id, binding.key) if binding.id else binding.key
            keys.append((key.replace("ctrl+", "Ctrl+").replace("escape", "Esc"),
                         binding.description))
        moving = getattr(self.screen, "MOVING", _("Arrows, PgUp/PgDn, Home/End move; Tab goes "
                                                  "to the next field."))
        self.push_screen(HelpScreen(keys, moving))

    async def action_request_quit(self) -> None:
        screen = self.screen
        typing = isinstance(screen, (ListingDialog, VisitDialog, ReasonDialog,
                                     ReturnDialog))
        if typing or (isinstance(screen, CensusScreen) and screen.unsaved):
            def answer(yes: bool | None) -> None:
                if yes:
                    self.exit()

            self.push_screen(ConfirmDialog(_(
                "Something typed on this form is not saved (a value that is not valid, or the "
                "database could not be written); the rest of the draft is. Quit anyway?")),
                answer)
            return
        self.exit()


def keymap_from_settings(path: Path) -> dict[str, str]:
    """The [keys] table of the user's settings.toml: binding id → key(s)."""
    import tomllib

    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StoreError(_("Cannot read the settings file {path}: {error}").format(
            path=path, error=exc)) from exc
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise StoreError(_('{path}: [keys] must map binding ids to keys, e.g. '
                           '"household.complete" = "f9".').format(path=path))
    return {str(k): v for k, v in keys.items()}
