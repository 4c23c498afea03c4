"""Closing an area when its work is done, and opening it again with a reason: supervisor and
office steps, asked of the lifecycle policy like every write. Closing purges the area's
locators; a reopening is logged with its reason and travels up in the next bundle."""

from __future__ import annotations

from dataclasses import dataclass

from census.domain.errors import CensusError
from census.domain.lifecycle import Act, Actor, may
from census.domain.lifecycle import Area as PolicyArea
from census.domain.model import Area, AreaStatus, ReopenReason
from census.i18n import _
from census.storage.areas import get_area
from census.storage.exchange.closeout import CloseReport, open_work, purge_area, reopen_area
from census.storage.store import Store, checkpoint


class AreaError(CensusError):
    """An area step that cannot be taken; nothing was changed."""


@dataclass(frozen=True)
class Closed:
    """What closing an area did; `pending` when the purge could not yet be folded into the
    database file (another program reads it; it is finished at the next open)."""

    report: CloseReport | None
    """None when the area was closed already (nothing changed)."""
    pending: bool = False


def _area(store: Store, code: str, act: Act) -> Area:
    found = get_area(store, code)
    facts = PolicyArea(code, True) if found is None else PolicyArea.of(found)
    if may(Actor(store.role, store.user), facts, act) is not None:
        if act is Act.CLOSE:
            raise AreaError(_("Closing an area is the supervisor's step; your device deletes "
                              "its forms when it imports the supervisor's receipt."))
        raise AreaError(_("Reopening an area is the supervisor's step (or the office's); ask "
                          "your supervisor."))
    if found is None:
        raise AreaError(_("Unknown area {code}; see `census area list`.").format(code=code))
    if found.level != store.config.levels[-1]:
        raise AreaError(_("{code} is not an enumeration area (its level is {level}); close "
                          "its enumeration areas one by one.").format(code=code,
                                                                     level=found.level))
    return found


def close_area(store: Store, code: str, *, leave_open_work: bool = False) -> Closed:
    """Close a finished enumeration area: its locators (and review notes) are purged for good,
    and no more records are written in it. Refused while work is open in it, unless
    `leave_open_work` (the demo's shortcut: a few callbacks stay as they are)."""
    found = _area(store, code, Act.CLOSE)
    if found.status is AreaStatus.CLOSED:
        return Closed(None)
    missing = {} if leave_open_work else open_work(store, code)
    if missing:
        words = {"to_visit": _("dwellings to visit"), "callback": _("callbacks open"),
                 "in_progress": _("forms in progress"),
                 "returned": _("households returned for correction"),
                 "review": _("review items open"), "listed": _("dwellings listed")}
        parts = ", ".join(f"{words[k]}: {v}" for k, v in missing.items())
        raise AreaError(_("{code} cannot be closed yet ({parts}). Finish that work first; "
                          "`census review list --area {code}` and `census progress --area "
                          "{code}` show it.").format(code=code, parts=parts))
    with store.write() as chain:
        report = purge_area(store, chain, code, store.user)
    return Closed(report, pending=not checkpoint(store))


def reopen(store: Store, code: str, reason: ReopenReason) -> bool:
    """Open a closed area again, with the reason (logged; it travels up in the next bundle,
    and the area is left out of published tables until it is closed again). False when it was
    open already (nothing changed)."""
    found = _area(store, code, Act.REOPEN)
    if found.status is AreaStatus.OPEN:
        return False
    with store.write() as chain:
        reopen_area(store, chain, code, store.user, reason)
    return True
