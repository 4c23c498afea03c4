"""Decisions that change nothing, or that are not this database's to take, on the command line
(`census review approve | return | pending | list`): approving an approved household is a
no-op that says so; returning a returned household or a draft is refused; an enumerator's
database is told that deciding is a supervisor's step (no hint, no list); an address with a
number of thousands of digits is refused like any bad address. Each by address and by id, and
nothing is written: no revision, no decision row, no audit entry."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from census.domain.model import Outcome
from census.storage.exchange.decisions import decisions_of
from census.storage.records import select_households
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.review import DecisionError, find_household
from tests.helpers import run_cli
from tests.usecases.fieldwork import NOW, Site, bundle, enter, household_states

EA = "R01-D01-EA001"


def census(runner: CliRunner, at: Site, *args: str) -> Result:
    return run_cli(runner, "review", *args, "--db", at.store.path)


def hid(at: Site, structure: int) -> str:
    ((_d, h),) = select_households(at.store, "h.dwelling_id = (SELECT id FROM dwelling WHERE "
                                             "area = ? AND structure = ?)", (EA, structure))
    return h.id


def audit_count(at: Site) -> int:
    return int(at.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def said(r: Result) -> str:
    return " ".join(r.output.split())


@pytest.fixture
def waiting(team: tuple[Site, Site]) -> tuple[Site, Site]:
    """Two complete households of E001 at the supervisor's (structures 1 and 2)."""
    sup, enu = team
    enter(enu, EA, range(1, 3))
    import_bundle(sup.store, bundle(enu), NOW)
    return sup, enu


@pytest.mark.parametrize("by", ["address", "id"])
def test_approving_an_approved_household_changes_nothing_and_says_so(
        runner: CliRunner, waiting: tuple[Site, Site], by: str) -> None:
    sup, _enu = waiting
    ref = f"{EA}/1/1/1" if by == "address" else hid(sup, 1)
    first = census(runner, sup, "approve", ref)
    assert first.exit_code == 0, first.output
    assert f"Household {ref} approved (revision 3)." in first.output
    before, audit = household_states(sup), audit_count(sup)
    for _again in range(2):
        again = census(runner, sup, "approve", ref)
        assert again.exit_code == 0, again.output
        assert said(again) == (f"Household {ref} is already approved (revision 3); nothing "
                               "changed.")
    assert household_states(sup) == before and audit_count(sup) == audit
    assert [d.action for d in decisions_of(sup.store, hid(sup, 1))] == ["approved"]


@pytest.mark.parametrize("by", ["address", "id"])
def test_returning_a_returned_household_is_refused_and_changes_nothing(
        runner: CliRunner, waiting: tuple[Site, Site], by: str) -> None:
    sup, _enu = waiting
    ref = f"{EA}/1/1/1" if by == "address" else hid(sup, 1)
    first = census(runner, sup, "return", ref, "--reason", "revisit")
    assert first.exit_code == 0, first.output
    before, audit = household_states(sup), audit_count(sup)
    for reason in ("revisit", "counts_wrong"):
        again = census(runner, sup, "return", ref, "--reason", reason)
        assert again.exit_code == 2, again.output
        assert (f"Household {EA}/1/1/1 is already returned for correction; it comes back "
                "when its enumerator completes it again. Nothing changed.") in said(again)
    assert household_states(sup) == before and audit_count(sup) == audit
    assert [d.action for d in decisions_of(sup.store, hid(sup, 1))] == ["returned"]
    # An approved household can still be returned (the supervisor changes its mind).
    assert census(runner, sup, "approve", f"{EA}/2/1/1").exit_code == 0
    r = census(runner, sup, "return", f"{EA}/2/1/1", "--reason", "revisit")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("by", ["address", "id"])
def test_returning_a_draft_is_refused_and_changes_nothing(
        runner: CliRunner, waiting: tuple[Site, Site], by: str) -> None:
    sup, _enu = waiting
    entry = Entry(sup.store, clock=lambda: NOW)
    did = entry.add_dwelling(EA, 9, 1).dwelling.id
    visited = entry.record_visit(did, Outcome.COMPLETED).dwelling
    assert visited is not None
    draft = visited.households[0]
    ref = f"{EA}/9/1/1" if by == "address" else draft.id
    before, audit = household_states(sup), audit_count(sup)
    r = census(runner, sup, "return", ref, "--reason", "revisit")
    assert r.exit_code == 2, r.output
    assert (f"Household {EA}/9/1/1 is a draft; only a complete or approved household can be "
            "returned. Nothing changed.") in said(r)
    assert household_states(sup) == before and audit_count(sup) == audit
    assert decisions_of(sup.store, draft.id) == []


ROLE = ("Deciding on households (approving, returning, listing those awaiting a decision) is "
        "a supervisor's or the office's step; this is the database of enumerator E001. Your "
        "supervisor decides once your households reach them.")


def test_an_enumerators_database_is_told_deciding_is_not_its_step(
        runner: CliRunner, waiting: tuple[Site, Site]) -> None:
    _sup, enu = waiting
    listed = census(runner, enu, "list")
    assert listed.exit_code == 0
    assert listed.output.splitlines() == ["Nothing to review."]  # no hint to decide
    pending = census(runner, enu, "pending")
    assert pending.exit_code == 2 and ROLE in said(pending), pending.output
    assert "Approve one with" not in pending.output
    before, audit = household_states(enu), audit_count(enu)
    for ref in (f"{EA}/2/1/1", hid(enu, 2)):
        for action in (["approve", ref], ["return", ref, "--reason", "revisit"]):
            r = census(runner, enu, *action)
            assert r.exit_code == 2, r.output
            assert ROLE in said(r)
            assert "becomes 'complete'" not in r.output
    assert household_states(enu) == before and audit_count(enu) == audit


@pytest.mark.parametrize("digits", [5, 4300, 5000])
def test_a_number_of_thousands_of_digits_is_refused_as_a_bad_address(
        runner: CliRunner, waiting: tuple[Site, Site], digits: int) -> None:
    sup, _enu = waiting
    for place in range(3):
        parts = ["1", "1", "1"]
        parts[place] = "9" * digits
        ref = "/".join([EA, *parts])
        with pytest.raises(DecisionError, match="is not a number from 1 to"):
            find_household(sup.store, ref)
        r = census(runner, sup, "approve", ref)
        assert r.exit_code == 2, r.output
        assert "Internal error" not in r.output
        assert "is not a number from 1 to" in said(r)
    # Leading zeros are still read as the number they write.
    assert find_household(sup.store, f"{EA}/{'0' * 5000}1/1/1") == hid(sup, 1)
