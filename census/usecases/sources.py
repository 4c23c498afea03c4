"""Where records come from, and what the lifecycle policy says of them: the `Source` (the way
in, the sender, its role, which problems stop a record), the rules' context for this store, and
the policy asked for this database's own user. The one parameter of the one intake
(`census.usecases.intake`) that differs by source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from census.domain.lifecycle import Act, Actor, Refusal, may
from census.domain.lifecycle import Area as PolicyArea
from census.domain.model import Area, HouseholdStatus, Role
from census.i18n import _
from census.storage.areas import area_facts, area_levels
from census.storage.records import Origin
from census.storage.store import Store
from census.validation.engine import Context
from census.validation.rules import Problem, Severity, Stage

ProblemSink = Callable[[int, Problem], None]
Gate = Callable[[Problem], bool]


def blocks_record(p: Problem) -> bool:
    """The default gate: every blocking problem stops the record (imports, completing)."""
    return p.blocks


def blocks_draft(p: Problem) -> bool:
    """The gate of a draft save: only what the store cannot hold (value rules) stops it."""
    return p.blocks and p.rule.stage is Stage.VALUE


def blocks_keyed(p: Problem) -> bool:
    """The gate of a paper form keyed heads-down: errors stop it; a warning is keyed past (the
    paper says so) and the form is marked for review instead (operator-controlled keying)."""
    return p.blocks and p.severity is Severity.ERROR


def context(store: Store, now: datetime | None) -> Context:
    """The rules' context for records of this store: its config, the clock, and which codes
    are enumeration areas (records belong to the lowest level)."""
    levels = area_levels(store)
    lowest = store.config.levels[-1]
    return Context(store.config, now=now, area_known=lambda code: levels.get(code) == lowest)


def local_refusal(store: Store, area_code: str, act: Act,
                  before: HouseholdStatus | None = None,
                  after: HouseholdStatus | None = None) -> Refusal | None:
    """The policy's answer for this database's own user in `area_code` (None: allowed; an
    unknown area is left to the rules)."""
    area = area_facts(store, [area_code]).get(area_code)
    if area is None:
        return None
    return may(Actor(store.role, store.user), PolicyArea.of(area), act, before, after)


def refusal_text(store: Store, refusal: Refusal, area: str, household: str = "",
                 status: HouseholdStatus | None = None) -> str:
    """The refusal as a sentence for this database's user (the rule's message)."""
    text = Problem(refusal.rule_id, "", {
        "area": area, "user": store.user, "id": household,
        "status": _(str(status)) if status else "", "role": _(str(store.role))}).message()
    return text[:1].upper() + text[1:]


class Via(StrEnum):
    """The way records come in."""

    APP = "app"
    FORMS = "forms"
    DEMO = "demo"
    BUNDLE = "bundle"
    ASSIGNMENT = "assignment"
    KEYING = "keying"


@dataclass(frozen=True)
class Source:
    """Who sends the records and by which way: everything the intake does differently."""

    via: Via
    sender: str
    """The user code the records come from (this database's user for app, forms and demo)."""
    role: Role
    transfer: str | None = None
    """The id of the file they came in."""
    gate: Gate = blocks_record
    """Which rule problems stop a record of this database's own user."""
    granted: frozenset[str] | None = None
    """The areas an enumerator's file may touch (those it was given)."""

    def actor(self, area: Area) -> Actor:
        """Who makes a change in `area`: the sender (this database's user for its own
        ways in). The demo's records are entered as if by each area's enumerator."""
        if self.via is Via.DEMO and self.role is Role.ENUMERATOR and area.enumerator:
            return Actor(self.role, area.enumerator)
        return Actor(self.role, self.sender, self.granted, remote=not self.local)

    @classmethod
    def here(cls, store: Store, via: Via, gate: Gate = blocks_record) -> Source:
        return cls(via, store.user, store.role, gate=gate)

    @property
    def local(self) -> bool:
        """True for this database's own user: refused records, never held ones."""
        return self.via in (Via.APP, Via.FORMS, Via.DEMO, Via.KEYING)

    @property
    def peer(self) -> str | None:
        """The device whose records may only fast-forward (None: this database's own user, or
        the level above, whose returned forms replace older copies)."""
        return self.sender if self.via is Via.BUNDLE else None

    @property
    def origin(self) -> Origin:
        """How records of this source are stored and audited."""
        if self.local:
            return Origin()
        return Origin(self.sender, f"{self.via} {self.transfer}", fields=False, keep_base=False,
                      audit_new=self.via is not Via.BUNDLE)


WHERE = frozenset({Refusal.AREA_CLOSED, Refusal.NOT_ASSIGNED})
"""Refusals about the area a record is in, rather than about a household's state."""
