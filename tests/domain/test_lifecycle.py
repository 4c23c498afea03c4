"""The lifecycle policy as a table: who may make which change, in which area, when (DESIGN §10).
The paths that ask it are driven by tests/usecases/test_policy_matrix.py; here, the answers."""

from __future__ import annotations

import pytest

from census.domain.lifecycle import RULE_IDS, Act, Actor, Area, Refusal, may
from census.domain.model import HouseholdStatus, Role
from census.validation.rules import RULES, Problem

S = HouseholdStatus
ENUMERATOR = Actor(Role.ENUMERATOR, "E001")
SUPERVISOR = Actor(Role.SUPERVISOR, "S01")
OFFICE = Actor(Role.OFFICE, "HQ")
MINE = Area("EA1", open=True, enumerator="E001")
THEIRS = Area("EA2", open=True, enumerator="E002")
NOBODYS = Area("EA3", open=True)
CLOSED = Area("EA1", open=False, enumerator="E001")


@pytest.mark.parametrize(("actor", "area", "act", "before", "after", "answer"), [
    # An enumerator works its own areas: list, visit, draft, complete, correct.
    (ENUMERATOR, MINE, Act.RECORD, None, None, None),
    (ENUMERATOR, NOBODYS, Act.RECORD, None, None, None),
    (ENUMERATOR, THEIRS, Act.RECORD, None, None, Refusal.NOT_ASSIGNED),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, None, S.DRAFT, None),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, S.DRAFT, S.COMPLETE, None),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, S.COMPLETE, S.DRAFT, None),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, S.RETURNED, S.COMPLETE, None),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, S.RETURNED, S.RETURNED, None),
    # ...but never decides, and never touches an approved household.
    (ENUMERATOR, MINE, Act.HOUSEHOLD, S.COMPLETE, S.APPROVED, Refusal.DECISION_ONLY),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, None, S.RETURNED, Refusal.DECISION_ONLY),
    (ENUMERATOR, MINE, Act.DECIDE, S.COMPLETE, S.APPROVED, Refusal.DECISION_ONLY),
    (ENUMERATOR, MINE, Act.HOUSEHOLD, S.APPROVED, S.COMPLETE, Refusal.APPROVED),
    (ENUMERATOR, MINE, Act.RESOLVE, S.COMPLETE, S.COMPLETE, Refusal.ROLE),
    (ENUMERATOR, MINE, Act.CLOSE, None, None, Refusal.ROLE),
    (ENUMERATOR, CLOSED, Act.REOPEN, None, None, Refusal.ROLE),
    (ENUMERATOR, MINE, Act.ASSIGN, None, None, Refusal.ROLE),
    # A form, a save or a file never decides, whoever sends it.
    (SUPERVISOR, THEIRS, Act.HOUSEHOLD, S.COMPLETE, S.APPROVED, Refusal.DECISION_ONLY),
    (OFFICE, THEIRS, Act.HOUSEHOLD, None, S.APPROVED, Refusal.DECISION_ONLY),
    # A supervisor decides, on a complete household; returns from any state.
    (SUPERVISOR, THEIRS, Act.DECIDE, S.COMPLETE, S.APPROVED, None),
    (SUPERVISOR, THEIRS, Act.DECIDE, S.DRAFT, S.APPROVED, Refusal.NOT_COMPLETE),
    (SUPERVISOR, THEIRS, Act.DECIDE, S.APPROVED, S.RETURNED, None),
    (SUPERVISOR, THEIRS, Act.DECIDE, S.DRAFT, S.RETURNED, None),
    # ...a decision that comes in a file was taken where the household was.
    (Actor(Role.SUPERVISOR, "S01", remote=True), THEIRS, Act.DECIDE, S.DRAFT, S.APPROVED, None),
    # ...takes a held version in place of an approved household, not a held 'approved'.
    (SUPERVISOR, THEIRS, Act.RESOLVE, S.APPROVED, S.COMPLETE, None),
    (SUPERVISOR, THEIRS, Act.RESOLVE, S.COMPLETE, S.APPROVED, Refusal.DECISION_ONLY),
    (SUPERVISOR, MINE, Act.CLOSE, None, None, None),
    (OFFICE, CLOSED, Act.REOPEN, None, None, None),
    # Nothing is written in a closed area, by anyone.
    (ENUMERATOR, CLOSED, Act.RECORD, None, None, Refusal.AREA_CLOSED),
    (SUPERVISOR, CLOSED, Act.HOUSEHOLD, S.DRAFT, S.COMPLETE, Refusal.AREA_CLOSED),
    (SUPERVISOR, CLOSED, Act.DECIDE, S.COMPLETE, S.APPROVED, Refusal.AREA_CLOSED),
    (OFFICE, CLOSED, Act.RESOLVE, S.COMPLETE, S.COMPLETE, Refusal.AREA_CLOSED),
    # A sender below touches only the areas it was given.
    (Actor(Role.ENUMERATOR, "E001", frozenset({"EA2"}), remote=True), THEIRS, Act.RECORD, None,
     None, None),
    (Actor(Role.ENUMERATOR, "E001", frozenset({"EA2"}), remote=True), MINE, Act.RECORD, None,
     None, Refusal.NOT_ASSIGNED),
])
def test_the_policy_answers(actor: Actor, area: Area, act: Act, before: HouseholdStatus | None,
                            after: HouseholdStatus | None, answer: Refusal | None) -> None:
    assert may(actor, area, act, before, after) is answer


def test_every_refusal_is_a_rule_of_the_catalogue_with_a_message() -> None:
    assert set(RULE_IDS) == set(Refusal)
    for refusal in Refusal:
        rule = RULES[refusal.rule_id]
        text = Problem(rule.id, "", {"area": "EA1", "user": "E001", "id": "H", "status": "approved",
                                     "role": "enumerator"}).message()
        assert text and "{" not in text and rule.severity == "error"
