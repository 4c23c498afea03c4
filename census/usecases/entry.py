"""Interactive entry as use cases: listing lines, visits, household forms. No UI, no SQL.

Every save goes through the same intake as `census forms import` (rules, revisions, audit), as
one small transaction: the record is loaded, changed, given the next revision and stored. A
draft is saved as it is typed (only value rules can stop it); completing runs every rule, and
warnings must be confirmed with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from census.domain.ids import new_id, new_seed
from census.domain.lifecycle import Act
from census.domain.model import (
    CONTACT_OUTCOMES,
    Dwelling,
    DwellingType,
    Household,
    HouseholdStatus,
    Occupancy,
    Outcome,
    OverrideReason,
    Visit,
)
from census.storage.records import load_dwelling
from census.storage.store import Store
from census.usecases.forms import store_dwellings
from census.usecases.sources import (
    Gate,
    blocks_draft,
    blocks_record,
    context,
    local_refusal,
    refusal_text,
)
from census.validation.engine import check_dwelling
from census.validation.rules import Problem, Severity


@dataclass(frozen=True)
class Saved:
    """Result of a save: the stored dwelling (None when refused) and the problems found."""

    dwelling: Dwelling | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.dwelling is not None


class Entry:
    """The enumerator's operations on one store, as user `who`, with a clock."""

    def __init__(self, store: Store, who: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.who = who or store.user
        self.clock = clock or (lambda: datetime.now().replace(second=0, microsecond=0))

    # -- checks without saving ------------------------------------------------------------------

    def refusal(self, area: str) -> str | None:
        """Why nothing may be written in `area` by this user now (it is closed, or not theirs),
        or None: the app says so before a form is even opened; every save asks again."""
        no = local_refusal(self.store, area, Act.RECORD)
        return None if no is None else refusal_text(self.store, no, area)

    def check(self, dwelling: Dwelling) -> list[Problem]:
        """Every problem of a dwelling record as it stands (for live display)."""
        return check_dwelling(dwelling, context(self.store, self.clock()))

    # -- saving ----------------------------------------------------------------------------------

    def _save(self, dwelling: Dwelling, gate: Gate) -> Saved:
        found: list[Problem] = []
        checked: list[Problem] = []
        report = store_dwellings(self.store, [dwelling], now=self.clock(),
                                 sink=lambda _line, p: found.append(p), gate=gate,
                                 checked=lambda _id, problems: checked.extend(problems))
        if report.invalid_lines:
            return Saved(None, found)
        # The intake's rules already judged what is now stored; reload only for its state.
        stored = load_dwelling(self.store, dwelling.id)
        return Saved(stored, [p for p in checked if not p.confirmed] if stored else [])

    def _update(self, dwelling_id: str, change: Callable[[Dwelling], Dwelling],
                gate: Gate) -> Saved:
        """Load a stored record, change it, store it, in one write transaction: no other
        program can save it in between (its save would be overtaken and lost)."""
        with self.store.write():
            d = load_dwelling(self.store, dwelling_id)
            if d is None:
                raise LookupError(f"no dwelling {dwelling_id}")
            return self._save(change(d), gate)

    def add_dwelling(self, area: str, structure: int, number: int,
                     type: DwellingType = DwellingType.HOUSE,
                     occupancy: Occupancy = Occupancy.OCCUPIED,
                     locator: str | None = None) -> Saved:
        """A new listing line."""
        d = Dwelling(id=new_id(), area=area, structure=structure, number=number, type=type,
                     occupancy=occupancy, locator=locator or None, enumerator=self.who)
        return self._save(d, blocks_record)

    def edit_dwelling(self, dwelling_id: str, **changes: object) -> Saved:
        """Change the listing line (structure, number, type, occupancy, locator)."""
        allowed = {"structure", "number", "type", "occupancy", "locator"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not listing fields: {sorted(unknown)}")
        return self._update(dwelling_id, lambda d: replace(d, revision=d.revision + 1,
                                                           **changes),  # type: ignore[arg-type]
                            blocks_record)

    def record_visit(self, dwelling_id: str, outcome: Outcome,
                     callback_at: datetime | None = None,
                     overrides: Mapping[str, OverrideReason] | None = None) -> Saved:
        """A new visit. A visit that made contact opens a draft household if there is none."""
        def change(d: Dwelling) -> Dwelling:
            attempt = max((v.attempt for v in d.visits), default=0) + 1
            visit = Visit(attempt=attempt, at=self.clock(), outcome=outcome,
                          callback_at=callback_at, enumerator=self.who)
            households = d.households
            if outcome in CONTACT_OUTCOMES and not households:
                households = (self._blank_household(1),)
            return replace(d, revision=d.revision + 1, visits=(*d.visits, visit),
                           households=households, overrides={**d.overrides, **(overrides or {})})

        return self._update(dwelling_id, change, blocks_record)

    def add_household(self, dwelling_id: str) -> Saved:
        """Another household in the dwelling, as a draft with the next number."""
        def change(d: Dwelling) -> Dwelling:
            number = max((h.number for h in d.households), default=0) + 1
            return replace(d, households=(*d.households, self._blank_household(number)))

        return self._update(dwelling_id, change, blocks_draft)

    def save_household(self, dwelling_id: str, household: Household, *, complete: bool,
                       dwelling_overrides: Mapping[str, OverrideReason] | None = None) -> Saved:
        """Save a household form: as a draft (as typed) or completed (every rule applies)."""
        def change(d: Dwelling) -> Dwelling:
            stored = next((h for h in d.households if h.id == household.id), None)
            status = HouseholdStatus.COMPLETE if complete else HouseholdStatus.DRAFT
            new = replace(household, status=status,
                          revision=(stored.revision if stored else 0) + 1,
                          seed=stored.seed if stored else household.seed)
            others = tuple(h for h in d.households if h.id != household.id)
            dwelling = replace(d, households=tuple(sorted((*others, new),
                                                          key=lambda h: h.number)))
            if dwelling_overrides:
                dwelling = replace(dwelling, revision=d.revision + 1,
                                   overrides={**d.overrides, **dwelling_overrides})
            return dwelling

        return self._update(dwelling_id, change, blocks_record if complete else blocks_draft)

    # -- helpers -------------------------------------------------------------------------------

    def _blank_household(self, number: int) -> Household:
        return Household(id=new_id(), number=number, seed=new_seed(),
                         status=HouseholdStatus.DRAFT)


def unconfirmed_warnings(problems: list[Problem]) -> list[Problem]:
    """The warnings a user must confirm before completing."""
    return [p for p in problems if p.severity is Severity.WARNING and not p.confirmed]


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]
