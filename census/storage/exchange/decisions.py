"""A supervisor's decisions on households: approve, or return for correction with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from census.domain.model import (
    NOTE_LIMIT,
    Household,
    HouseholdStatus,
    Resolution,
    ReturnReason,
)
from census.formats.payload import (
    Decision,
)
from census.formats.record_json import (
    household_digest,
)
from census.i18n import _
from census.storage import audit
from census.storage.connection import StoreError
from census.storage.exchange.review import REVIEW_SELECT, close_item, item_from_row
from census.storage.records import (
    select_households,
)
from census.storage.store import Store, utc_now
from census.validation.engine import personal_data


def decide_household(store: Store, household_id: str, action: str, who: str, *,
                     reason: ReturnReason | None = None, note: str | None = None) -> Household:
    """Approve a household, or return it for correction with a coded reason and an optional
    short note (checked like a locator: no names, phone numbers or e-mail addresses). The
    decision is a new revision made here; a return travels in the next assignment file."""
    cfg = store.config
    if note is not None:
        note = " ".join(note.split()) or None
    if note is not None:
        if len(note) > NOTE_LIMIT:
            raise StoreError(_("The note has {n} characters; at most {max} are kept. Shorten "
                               "it.").format(n=len(note), max=NOTE_LIMIT))
        why = personal_data(note)
        if why is not None:
            raise StoreError(_("The note looks like it holds personal data ({why}); notes may "
                               "not name or identify anyone. Rewrite it.").format(why=_(why)))
    with store.write() as chain:
        found = select_households(store, "h.id = ?", (household_id,))
        if not found:
            raise StoreError(_("There is no household {id} here.").format(id=household_id))
        dwelling_id, h = found[0]
        if action == "approved":
            if h.status not in (HouseholdStatus.COMPLETE, HouseholdStatus.APPROVED):
                raise StoreError(_("Household {id} is {status}; only a complete household can "
                                   "be approved.").format(id=household_id,
                                                          status=_(str(h.status))))
            status = HouseholdStatus.APPROVED
        else:
            if reason is None:
                raise StoreError(_("Say why the household goes back: --reason with one of "
                                   "{codes}.").format(codes=", ".join(ReturnReason)))
            status = HouseholdStatus.RETURNED
        new = replace(h, status=status, revision=h.revision + 1)
        digest = household_digest(new, cfg, dwelling_id)
        stamp = utc_now()
        prior = store.conn.execute("SELECT digest, source FROM household WHERE id = ?",
                                   (household_id,)).fetchone()
        store.conn.execute("UPDATE household SET status = ?, revision = ?, digest = ?, "
                           "source = NULL, updated_at = ?, updated_by = ? WHERE id = ?",
                           (str(status), new.revision, digest, stamp, who, household_id))
        flags = [item_from_row(r) for r in store.conn.execute(
            REVIEW_SELECT + " WHERE record_id = ? AND kind = 'flagged' AND status = 'open'",
            (household_id,))]
        rule_text = ",".join(sorted({x for f in flags for x in f.detail.split(",") if x})) or None
        store.conn.execute("INSERT INTO decision (household_id, revision, action, reason, note, "
                           "rules, who, at, prior_rev, prior_digest, prior_source) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (household_id, new.revision, action,
                            str(reason) if reason else None, note, rule_text, who, stamp,
                            h.revision, prior[0], prior[1]))
        chain.add([audit.Entry(stamp, who, "household", household_id, "status", str(h.status),
                               str(status), str(reason) if reason else None)])
        for flag in flags:
            close_item(store, chain, flag, Resolution.APPROVED if action == "approved"
                        else Resolution.RETURNED, who)
    return new


def save_decisions(store: Store, decisions: Sequence[Decision]) -> None:
    store.conn.executemany(
        "INSERT OR IGNORE INTO decision (household_id, revision, action, reason, note, rules, "
        "who, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(x.household_id, x.revision, x.action, x.reason, x.note, x.rules, x.who, x.at)
         for x in decisions])


def decisions_of(store: Store, household_id: str) -> list[Decision]:
    """The approvals and returns of a household, newest first."""
    rows = store.conn.execute(
        "SELECT household_id, revision, action, reason, note, rules, who, at FROM decision "
        "WHERE household_id = ? ORDER BY revision DESC", (household_id,)).fetchall()
    return [Decision(*r) for r in rows]
