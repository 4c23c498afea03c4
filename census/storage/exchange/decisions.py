"""A supervisor's decisions on households: approve, or return for correction with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from census.domain.model import (
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
from census.storage import audit
from census.storage.exchange.review import REVIEW_SELECT, close_item, item_from_row
from census.storage.store import Store, utc_now


def record_decision(store: Store, chain: audit.Chain, dwelling_id: str, household: Household,
                    status: HouseholdStatus, reason: ReturnReason | None, note: str | None,
                    who: str) -> Household:
    """Write a decision the use case took (`census.usecases.review.decide`): the household's
    new revision made here, the decision row (with the rules flagged on it and the version it
    came as), the audit entry, and the flags it closes."""
    action = "approved" if status is HouseholdStatus.APPROVED else "returned"
    h = household
    new = replace(h, status=status, revision=h.revision + 1)
    digest = household_digest(new, store.config, dwelling_id)
    stamp = utc_now()
    prior = store.conn.execute("SELECT digest, source FROM household WHERE id = ?",
                               (h.id,)).fetchone()
    store.conn.execute("UPDATE household SET status = ?, revision = ?, digest = ?, "
                       "source = NULL, updated_at = ?, updated_by = ? WHERE id = ?",
                       (str(status), new.revision, digest, stamp, who, h.id))
    flags = [item_from_row(r) for r in store.conn.execute(
        REVIEW_SELECT + " WHERE record_id = ? AND kind = 'flagged' AND status = 'open'", (h.id,))]
    rule_text = ",".join(sorted({x for f in flags for x in f.detail.split(",") if x})) or None
    store.conn.execute("INSERT INTO decision (household_id, revision, action, reason, note, "
                       "rules, who, at, prior_rev, prior_digest, prior_source) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (h.id, new.revision, action, str(reason) if reason else None, note,
                        rule_text, who, stamp, h.revision, prior[0], prior[1]))
    chain.add([audit.Entry(stamp, who, "household", h.id, "status", str(h.status),
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


def last_return(store: Store, household_id: str) -> Decision | None:
    """The newest return of a household (why it came back), or None."""
    return next((d for d in decisions_of(store, household_id) if d.action == "returned"), None)


def decisions_of(store: Store, household_id: str) -> list[Decision]:
    """The approvals and returns of a household, newest first."""
    rows = store.conn.execute(
        "SELECT household_id, revision, action, reason, note, rules, who, at FROM decision "
        "WHERE household_id = ? ORDER BY revision DESC", (household_id,)).fetchall()
    return [Decision(*r) for r in rows]
