"""Lifecycle and authority (DESIGN §10): who may change what, and when. One policy, asked by every
write path: a save in the app, `census forms import`, the demo, a bundle merge, an assignment's
returned forms, a review resolution, a decision, closing and reopening an area, assigning it.
Paths differ only in how they report a "no": a problem with the file's line, an item held for
review, a refused file, a message.

Area states: open → closed (its work done; locators purged) → open again only by a reopen with a
reason code (supervisor or office; logged; it travels up) → closed ...

Household states and who sets them:
- (new) → draft | complete, draft → draft | complete, complete → draft | complete: whoever works
  the area (the enumerator it is assigned to, its supervisor, the office);
- complete → approved, draft | complete | approved → returned: a decision of a supervisor or the
  office (a decision row and an audit entry), never a form, a save or an enumerator's file. A
  decision taken here does something only to a complete household, or returns an approved one
  (`census.usecases.review.changes`): approving an approved household changes nothing, and a
  draft or a returned household is not returned; a decision in a file (taken where the
  household was) is taken as this policy says;
- returned → draft | complete | returned: whoever works the area (the correction);
- approved: nothing but a return by a supervisor or the office, or a supervisor taking a version
  held for review in its place (resolving a conflict is the supervisor's decision too; a held
  'approved' or 'returned' is no decision, so it is not taken as such).
Nothing is written in a closed area. An enumerator works only its own areas: those assigned to
it (on its device: the areas whose enumerator is its code, or none; from its files: the areas it
was given); a supervisor all the areas of its database; the office every area.

Pure: the callers know the actor and the area; this module only answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from census.domain import model
from census.domain.model import AreaStatus, HouseholdStatus, Role


class Act(StrEnum):
    """What a write does."""

    RECORD = "record"
    """Add or change a dwelling record (its listing line and visits)."""
    HOUSEHOLD = "household"
    """Add or change a household (its counts and its state, as a form, a save or a file)."""
    DECIDE = "decide"
    """A supervisor's decision on a household: approve it, or return it for correction."""
    RESOLVE = "resolve"
    """A supervisor takes a version held for review in place of the stored household."""
    CLOSE = "close"
    REOPEN = "reopen"
    ASSIGN = "assign"
    """Say who works an area."""


class Refusal(StrEnum):
    """Why a write is refused; each has a rule id (its message, in the rule catalogue)."""

    AREA_CLOSED = "area_closed"
    NOT_ASSIGNED = "not_assigned"
    DECISION_ONLY = "decision_only"
    APPROVED = "approved"
    NOT_COMPLETE = "not_complete"
    ROLE = "role"

    @property
    def rule_id(self) -> str:
        return RULE_IDS[self]


RULE_IDS = {Refusal.AREA_CLOSED: "E040", Refusal.NOT_ASSIGNED: "E041",
            Refusal.DECISION_ONLY: "E042", Refusal.APPROVED: "E043",
            Refusal.NOT_COMPLETE: "E044", Refusal.ROLE: "E045"}

DECIDED = frozenset({HouseholdStatus.APPROVED, HouseholdStatus.RETURNED})
"""The states only a decision sets."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: this database's own user, or the sender of a file."""

    role: Role
    code: str
    granted: frozenset[str] | None = None
    """The areas a sender was given (its files may touch those only); None for this database's
    own user, whose areas are read from the register."""
    remote: bool = False
    """A sender of a file: its decisions were taken where the household was, in the state it
    had there, which this database may not know."""


@dataclass(frozen=True)
class Area:
    """What the policy needs of the area a change falls in."""

    code: str
    open: bool
    enumerator: str | None = None
    """Who works it (an enumeration area), if anyone was assigned."""

    @classmethod
    def of(cls, area: model.Area) -> Area:
        """The policy's facts of a registered area."""
        return cls(area.code, area.status is AreaStatus.OPEN, area.enumerator)


def works_in(actor: Actor, area: Area) -> bool:
    """True when `actor` works `area` (see the module docstring)."""
    if actor.role is not Role.ENUMERATOR:
        return True
    if actor.granted is not None:
        return area.code in actor.granted
    return area.enumerator in (None, actor.code)


def may(actor: Actor, area: Area, act: Act, before: HouseholdStatus | None = None,
        after: HouseholdStatus | None = None) -> Refusal | None:
    """None when `actor` may make this change to a record in `area` now, else why not.
    `before` is the household's stored state (None for a new one), `after` the state it would
    have."""
    if act in (Act.CLOSE, Act.REOPEN, Act.ASSIGN):
        return Refusal.ROLE if actor.role is Role.ENUMERATOR else None
    if not area.open:
        return Refusal.AREA_CLOSED
    if not works_in(actor, area):
        return Refusal.NOT_ASSIGNED
    if act is Act.RECORD:
        return None
    if act is Act.RESOLVE:
        if actor.role is Role.ENUMERATOR:
            return Refusal.ROLE
        if after in DECIDED and after != before:
            return Refusal.DECISION_ONLY
        return None
    if act is Act.DECIDE:
        if actor.role is Role.ENUMERATOR:
            return Refusal.DECISION_ONLY
        # A decision taken here needs the household complete; one that comes in a file was
        # taken where the household was.
        if after is HouseholdStatus.APPROVED and not actor.remote and before not in (
                HouseholdStatus.COMPLETE, HouseholdStatus.APPROVED):
            return Refusal.NOT_COMPLETE
        return None
    # A household as a form, a save or a file gives it.
    if before is HouseholdStatus.APPROVED:
        return Refusal.APPROVED
    if after in DECIDED and after != before:
        return Refusal.DECISION_ONLY
    return None
