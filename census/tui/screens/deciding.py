"""What the two screens that decide on a household share (DecidingScreen): approve on one key,
return with a reason and an optional note, a refusal said on the screen; only the decisions that
would change the household are offered (`census.usecases.review.changes`), and none on an
enumerator's database.

Decisions go through `census.usecases.review` (the same policy, refusals and audit as
`census review approve|return`). No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll

from census.domain.errors import CensusError
from census.domain.model import Household
from census.i18n import _
from census.storage.exchange.decisions import last_return
from census.tui.base import CensusScreen
from census.tui.dialogs import ReturnDialog
from census.tui.labels import return_reason
from census.tui.widgets.plain import Static
from census.usecases import review as review_steps


class DecidingScreen(CensusScreen):
    """A screen that shows one household a decision applies to (`household`, named `where`),
    with a scrolling `#body` and an `#errors` line; subclasses read it in `load` and say what
    follows a decision in `done`."""

    household: Household | None = None
    where = ""

    def on_mount(self) -> None:
        self.query_one("#errors").display = False  # until a decision is refused
        self.load()
        self.query_one("#body", VerticalScroll).focus()

    def load(self) -> None:
        """Read what the screen shows (subclasses)."""
        raise NotImplementedError

    def decide(self, step: Callable[[], object], message: str) -> None:
        """Run one decision on the store; done (with `message`) or refused in words."""
        try:
            step()
        except CensusError as exc:
            self.refused(exc)
            return
        self.done(message)

    def done(self, message: str) -> None:
        """Say what was done and go on (subclasses: where to)."""
        raise NotImplementedError

    def return_title(self) -> str:
        """The return dialog's title: the household as this screen names it."""
        return self.where

    def may_decide(self, action: str) -> bool:
        """Approve shows for a complete household, return for a complete or approved one;
        neither on an enumerator's database (a decision is a supervisor's or the office's)."""
        h = self.household
        if h is None or review_steps.decider_refusal(self.census.store) is not None:
            return False
        return review_steps.changes("approved" if action == "approve" else "returned", h.status)

    def refused(self, exc: CensusError) -> None:
        errors = self.query_one("#errors", Static)
        errors.display = True
        errors.update("✗ " + str(exc))
        self.notify(str(exc), severity="error", timeout=8)

    def action_approve(self) -> None:
        if self.household is None:
            return
        try:
            done = review_steps.decision(self.census.store, self.household.id, "approved")
        except CensusError as exc:
            self.refused(exc)
            return
        self.done(_("Approved: {household}.").format(household=self.where) if done.changed
                  else _("Already approved, nothing changed: {household}.").format(
                      household=self.where))

    def action_return_household(self) -> None:
        if self.household is None:
            return

        def returned(h: Household | None) -> None:
            if h is None:
                return
            decision = last_return(self.census.store, h.id)
            self.done(_("Returned to the enumerator: {household} ({reason}).").format(
                household=self.where, reason=return_reason(decision.reason if decision
                                                           else None)))

        title = _("Return to the enumerator: {household}").format(household=self.return_title())
        self.app.push_screen(ReturnDialog(self.household.id, title), returned)
