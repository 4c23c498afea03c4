"""Dataclasses and code lists of the data model (DESIGN §2): counts, never identities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from census.i18n import N_

NOTE_LIMIT = 80
"""The most characters of a supervisor's note on a returned household (no names, no numbers)."""

RELEASE_OVERRIDES = ("correction", "late_forms", "boundary_change", "method_change")
"""Why a changed area may be published again (`--override-release`): codes, never free text."""


class Role(StrEnum):
    """Who uses a database; the same program serves every level."""

    ENUMERATOR = "enumerator"
    SUPERVISOR = "supervisor"
    OFFICE = "office"


class AreaStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class DwellingType(StrEnum):
    HOUSE = "house"
    APARTMENT = "apartment"
    TRADITIONAL = "traditional"
    IMPROVISED = "improvised"
    COLLECTIVE = "collective"
    OTHER = "other"


class Occupancy(StrEnum):
    """Occupancy seen at listing."""

    OCCUPIED = "occupied"
    VACANT = "vacant"
    UNDER_CONSTRUCTION = "under_construction"
    NOT_DWELLING = "not_dwelling"


class Outcome(StrEnum):
    """Result of one visit to a dwelling."""

    COMPLETED = "completed"
    PARTIAL = "partial"
    NO_ONE_HOME = "no_one_home"
    CALLBACK = "callback"
    REFUSED = "refused"
    VACANT = "vacant"
    NOT_FOUND = "not_found"
    OTHER = "other"


#: Outcomes after which the dwelling still needs a visit (a callback may be booked).
NO_CONTACT_OUTCOMES = frozenset({Outcome.NO_ONE_HOME, Outcome.CALLBACK})
NOT_VISITED = "not_visited"
"""The state of a listed dwelling with no visit yet, beside the visit outcomes."""
LAST_VISIT_STATES = (*(str(o) for o in Outcome), NOT_VISITED)
"""What a dwelling's last visit can say, in table order: each outcome, then not visited."""
#: Outcomes that carry counts.
CONTACT_OUTCOMES = frozenset({Outcome.COMPLETED, Outcome.PARTIAL})


class HouseholdStatus(StrEnum):
    DRAFT = "draft"
    COMPLETE = "complete"
    RETURNED = "returned"
    APPROVED = "approved"


class Respondent(StrEnum):
    MEMBER = "member"
    PROXY = "proxy"


class OverrideReason(StrEnum):
    """The fixed list of reasons with which a warning (W-rule) may be accepted."""

    CONFIRMED_WITH_RESPONDENT = "confirmed_with_respondent"
    OBSERVED_BY_ENUMERATOR = "observed_by_enumerator"
    SPECIAL_LIVING_ARRANGEMENT = "special_living_arrangement"
    SUPERVISOR_INSTRUCTED = "supervisor_instructed"


OVERRIDE_REASON_LABELS: dict[OverrideReason, str] = {
    OverrideReason.CONFIRMED_WITH_RESPONDENT: N_("Confirmed again with the respondent"),
    OverrideReason.OBSERVED_BY_ENUMERATOR: N_("Seen by the enumerator at the dwelling"),
    OverrideReason.SPECIAL_LIVING_ARRANGEMENT: N_("Special living arrangement (e.g. shared, "
                                                  "seasonal workers)"),
    OverrideReason.SUPERVISOR_INSTRUCTED: N_("Accepted on the supervisor's instruction"),
}

class ReturnReason(StrEnum):
    """Why a supervisor sends a household back to its enumerator (a code, not free text)."""

    COUNTS_WRONG = "counts_wrong"
    MISSING_PERSONS = "missing_persons"
    WRONG_DWELLING = "wrong_dwelling"
    DUPLICATE = "duplicate"
    REVISIT = "revisit"
    OTHER = "other"


class ReopenReason(StrEnum):
    """Why a closed area is opened again (a code, logged; it travels up with the area)."""

    LATE_FORMS = "late_forms"
    CORRECTION = "correction"
    BOUNDARY_CHANGE = "boundary_change"


RETURN_REASON_LABELS: dict[ReturnReason, str] = {
    ReturnReason.COUNTS_WRONG: N_("Counts look wrong: check them with the household"),
    ReturnReason.MISSING_PERSONS: N_("Persons seem to be missing (babies, elderly, away)"),
    ReturnReason.WRONG_DWELLING: N_("Recorded at the wrong dwelling or household number"),
    ReturnReason.DUPLICATE: N_("Looks like a household counted twice"),
    ReturnReason.REVISIT: N_("Visit again: the outcome needs confirming"),
    ReturnReason.OTHER: N_("Other: see the note"),
}


class ReviewKind(StrEnum):
    """Why a record sits in the supervisor's review queue."""

    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    FLAGGED = "flagged"
    INVALID = "invalid"


class Resolution(StrEnum):
    """How a review item was closed."""

    KEPT = "kept"
    TOOK_INCOMING = "took_incoming"
    APPROVED = "approved"
    RETURNED = "returned"
    DISMISSED = "dismissed"
    SUPERSEDED = "superseded"


Cell = tuple[str, str]
"""A cell of the count grid: (sex code, age band code)."""


@dataclass(frozen=True)
class Area:
    """An area of the hierarchy; an enumeration area (EA) is the lowest level."""

    code: str
    level: str
    name: str
    parent: str | None = None
    expected_dwellings: int | None = None
    enumerator: str | None = None
    status: AreaStatus = AreaStatus.OPEN


@dataclass(frozen=True)
class Visit:
    """One attempt to contact a dwelling; a callback is a date and time, never a phone number."""

    attempt: int
    at: datetime
    outcome: Outcome
    callback_at: datetime | None = None
    enumerator: str | None = None


@dataclass(frozen=True)
class Household:
    """A household's counts. `residents` maps (sex, age band) to usual residents present."""

    id: str
    number: int
    seed: bytes
    status: HouseholdStatus = HouseholdStatus.DRAFT
    revision: int = 1
    respondent: Respondent = Respondent.MEMBER
    residents: Mapping[Cell, int] = field(default_factory=dict)
    away: int = 0
    visitors: int = 0
    declared_total: int | None = None
    overrides: Mapping[str, OverrideReason] = field(default_factory=dict)
    completed_at: datetime | None = field(default=None, compare=False)
    """When the form was first completed: the local time of the device it was completed on, to
    the minute (as a visit's time), kept through later drafts, returns and completions. Not part
    of its content (its digest and revision ignore it), so it never makes a conflict."""

    @property
    def present(self) -> int:
        """Usual residents present (the grid total)."""
        return sum(self.residents.values())

    @property
    def usual_residents(self) -> int:
        """Usual residents: present plus temporarily away."""
        return self.present + self.away


@dataclass(frozen=True)
class Dwelling:
    """A listing line of an area, with its visits and the households found in it."""

    id: str
    area: str
    structure: int
    number: int
    type: DwellingType = DwellingType.HOUSE
    occupancy: Occupancy = Occupancy.OCCUPIED
    locator: str | None = None
    revision: int = 1
    enumerator: str | None = None
    visits: tuple[Visit, ...] = ()
    households: tuple[Household, ...] = ()
    overrides: Mapping[str, OverrideReason] = field(default_factory=dict)

    @property
    def last_outcome(self) -> Outcome | None:
        """Outcome of the latest visit, if any."""
        return max(self.visits, key=lambda v: v.attempt).outcome if self.visits else None
