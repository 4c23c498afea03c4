"""The census app (CensusApp): unlock, then home (the enumerator's areas, or the supervisor's
dashboard), reopening the listing, dwelling and household form where the user was; help, quit,
and the key map read from settings.toml (keymap_from_settings).

The only package that imports Textual. Screens (census.tui.screens) call `census.usecases.entry`
(use cases) and read through the storage queries; no widget writes SQL. Where the user is (area,
dwelling, household) is kept in the database as they move, so after a crash or kill the app
reopens on the same form and its draft. The app imports each screen when it first shows it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import Future
from copy import copy
from datetime import datetime
from pathlib import Path

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel

from census.domain.keying import KeyTally
from census.domain.model import Role
from census.i18n import _
from census.storage.areas import area_levels, get_area, has_areas_of
from census.storage.connection import StoreError
from census.storage.keying import SessionCounts
from census.storage.progress import ProgressRow, area_progress
from census.storage.records import load_dwelling
from census.storage.settings import get_setting, put_setting
from census.storage.store import Store
from census.tui.base import CensusScreen
from census.tui.dialogs import (
    ConfirmDialog,
    HelpScreen,
    ListingDialog,
    ReasonDialog,
    ReturnDialog,
    VisitDialog,
)
from census.tui.labels import key_name
from census.tui.widgets.plain import printable
from census.usecases.entry import Entry
from census.usecases.keying import keep_session, open_session


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
                 opening: Future[Store] | None = None,
                 clock_seconds: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.clock_seconds = clock_seconds or datetime.now
        """The time to the second, for the operator sessions' log."""
        self.tally = KeyTally()
        """Every key pressed in the app (counts only), for the operator statistics."""
        self.entry_session: int | None = None
        self.entry_began: datetime | None = None
        self.entry_start = KeyTally()
        self.entry_forms = 0
        self.opening = opening
        self.db_path = db_path
        self.initial_passphrase = passphrase
        self._passphrase = passphrase
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

    def get_key_display(self, binding: Binding) -> str:
        """Keys are written one way everywhere: the footer as the help (`key_name`)."""
        return binding.key_display or key_name(binding.key)

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

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.tally.key(event.key, time.monotonic())
        await super().on_event(event)

    # -- an enumerator's entry, logged as a session (keys and minutes per form) -------------

    def start_entry_session(self) -> None:
        """Note when an enumerator's entry began; its row is written with the first household
        completed (nothing is written at start-up, and a look at the app logs no session)."""
        if self.store.role is Role.ENUMERATOR:
            self.entry_start = copy(self.tally)
            self.entry_began = self.clock_seconds()

    def form_completed(self) -> None:
        """A household completed in the app: the session's counts are kept."""
        self.entry_forms += 1
        self.keep_entry_session()

    def keep_entry_session(self) -> None:
        if self.entry_began is None or self._store is None or not self.entry_forms:
            return
        keys, bad, pause = self.tally.since(self.entry_start)
        counts = SessionCounts(forms=self.entry_forms, keystrokes=keys, bad_keystrokes=bad,
                               pause_seconds=pause)
        with contextlib.suppress(StoreError):
            if self.entry_session is None:
                self.entry_session = open_session(self.store, self.store.user, "entry", None,
                                                  None, self.entry_began)
            keep_session(self.store, self.entry_session, counts, self.clock_seconds())

    def my_code(self) -> str | None:
        """The enumerator whose work this app shows (None: everyone's, e.g. for a supervisor or
        when no area is assigned to this user)."""
        if self.store.role is not Role.ENUMERATOR:
            return None
        return self.store.user if has_areas_of(self.store, self.store.user) else None

    def my_areas(self) -> list[ProgressRow]:
        """Enumeration areas of this user (all of them for a supervisor, or if none assigned)."""
        rows = area_progress(self.store, self.now())
        lowest = self.store.config.levels[-1]
        levels = area_levels(self.store)
        rows = [r for r in rows if levels.get(r.area) == lowest]
        if self.store.role is Role.ENUMERATOR:
            mine = [r for r in rows if r.enumerator == self.store.user]
            return mine or rows
        return rows

    def remember(self, **where: str | None) -> None:
        """Keep where the user is, so that a restart reopens it."""
        value = json.dumps({k: v for k, v in where.items() if v}) if any(where.values()) else None
        with contextlib.suppress(StoreError):
            put_setting(self.store, "resume", value)

    # -- life cycle ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        from census.tui.screens.unlock import UnlockScreen

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
        self._passphrase = passphrase  # for the readers of other threads
        self.install(store)
        return None

    def can_open_reader(self) -> bool:
        """True when `open_reader` can open another connection (the passphrase is known)."""
        return bool(self._passphrase)

    def open_reader(self) -> Store | None:
        """A read-only connection to the database for another thread (a long report computed
        while the app goes on), or None when this app does not know the passphrase."""
        if not self._passphrase:
            return None
        return Store.reader(self.db_path, self._passphrase)

    def install(self, store: Store) -> None:
        """Use an open store and show where the user was."""
        self._store = store
        # Wait at most 1.5 s for another program's write: the screen freezes while waiting.
        store.set_busy_timeout(1500)
        self._entry = Entry(store, clock=self.clock)
        self.start_entry_session()
        self.resume()

    def resume(self) -> None:
        from census.tui.screens.dwelling import DwellingScreen
        from census.tui.screens.household import HouseholdScreen
        from census.tui.screens.listing import ListingScreen

        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.store.role is Role.ENUMERATOR:
            from census.tui.screens.home import HomeScreen

            self.push_screen(HomeScreen())
        else:
            from census.tui.screens.dashboard import DashboardScreen

            self.push_screen(DashboardScreen())
        raw = get_setting(self.store, "resume")
        if not raw:
            return
        try:
            where = json.loads(raw)
        except ValueError:
            return
        area, dwelling, household = where.get("area"), where.get("dwelling"), where.get(
            "household")
        if area and get_area(self.store, area) is not None:
            self.push_screen(ListingScreen(area))
        if dwelling and load_dwelling(self.store, dwelling, with_households=False) is not None:
            self.push_screen(DwellingScreen(dwelling))
            if household and self.store.role is not Role.ENUMERATOR:
                from census.tui.screens.pending import HouseholdViewScreen

                self.push_screen(HouseholdViewScreen(dwelling, household))
            elif household:
                self.push_screen(HouseholdScreen(dwelling, household))
                self.notify(_("Reopened where you were, with the draft."))

    def on_unmount(self) -> None:
        if self._store is not None:
            self.keep_entry_session()
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
            keys.append((key_name(key), binding.description))
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
