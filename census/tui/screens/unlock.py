"""The unlock screen (UnlockScreen): the passphrase, masked; a wrong one says so and lets the user
try again."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from census.i18n import _
from census.storage.connection import opens_with
from census.tui.base import CensusScreen
from census.tui.widgets.plain import Label, Static
from census.usecases.demo import DEMO_PASSPHRASE


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
            yield Static(_("This is the demo database made by `census demo`: its passphrase "
                           "is {phrase}").format(phrase=DEMO_PASSPHRASE), id="demo-hint",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#demo-hint").display = False  # only for the demo database
        self.query_one(Input).focus()
        self.run_worker(self.check_demo, thread=True, exclusive=True)

    def check_demo(self) -> None:
        """Say the demo's passphrase only when this database is the demo (it opens with it:
        `census init` refuses so weak a passphrase for a real one)."""
        if opens_with(self.census.db_path, DEMO_PASSPHRASE):
            self.app.call_from_thread(self.show_demo_hint)

    def show_demo_hint(self) -> None:
        self.query_one("#demo-hint").display = True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        message = self.census.unlock(event.value)
        if message:
            self.query_one("#errors", Static).update("✗ " + message)
            event.input.value = ""
