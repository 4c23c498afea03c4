"""Issue 15, "Decisions" on the command line: `census review pending` lists the complete
households awaiting a decision with their addresses; `review approve` and `review return` take
a household by address (AREA/STRUCTURE/DWELLING/HOUSEHOLD) as by id, through the same use case:
a bad address is refused with what, where and how, and changes nothing; a decision the policy
refuses is refused by address as by id."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from census.storage.exchange.decisions import decisions_of
from census.storage.records import load_dwelling, select_households
from census.usecases.bundles import import_bundle
from census.usecases.forms import store_dwellings
from tests.helpers import run_cli
from tests.usecases.fieldwork import (
    NOW,
    Site,
    bundle,
    enter,
    held_for_review,
    household_states,
)

EA = "R01-D01-EA001"


@pytest.fixture
def waiting(team: tuple[Site, Site]) -> Site:
    """Three complete households of E001 at the supervisor's, the third with no adult present
    (flagged at the merge, as an old device could send it)."""
    sup, enu = team
    dids = enter(enu, EA, range(1, 4))
    d = load_dwelling(enu.store, dids[2])
    assert d is not None
    h = replace(d.households[0], residents={("female", "0-4"): 2},
                revision=d.households[0].revision + 1)
    report = store_dwellings(enu.store, [replace(d, households=(h,))], now=NOW,
                             sink=lambda line, p: None, gate=lambda p: False)
    assert report.invalid_lines == 0
    assert import_bundle(sup.store, bundle(enu), NOW).report.flagged == 1
    return sup


def census(runner: CliRunner, sup: Site, *args: str) -> Result:
    return run_cli(runner, "review", *args, "--db", sup.store.path)


def hid(sup: Site, structure: int) -> str:
    ((_d, h),) = select_households(sup.store, "h.dwelling_id = (SELECT id FROM dwelling WHERE "
                                              "area = ? AND structure = ?)", (EA, structure))
    return h.id


def test_pending_lists_the_households_awaiting_a_decision(runner: CliRunner,
                                                         waiting: Site) -> None:
    sup = waiting
    r = census(runner, sup, "pending", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["address"] for x in rows] == [f"{EA}/1/1/1", f"{EA}/2/1/1", f"{EA}/3/1/1"]
    first = rows[0]
    assert first["id"] == hid(sup, 1)
    assert (first["area"], first["structure"], first["dwelling"], first["household"]) == (
        EA, 1, 1, 1)
    assert first["enumerator"] == "E001" and first["completed_at"] == "2026-11-28T12:00"
    assert (first["usual_residents"], first["visitors"]) == (3, 0)
    assert (first["warnings"], first["flagged"], first["held"]) == ({}, [], [])
    assert (rows[2]["warnings"], rows[2]["flagged"]) == ({}, ["W002"])
    for key in ("seed", "updated_by", "digest", "revision"):
        assert key not in first
    assert len(json.loads(census(runner, sup, "pending", "--json", "--area",
                                 "R01-D01").output)) == 3  # a district: its areas
    assert json.loads(census(runner, sup, "pending", "--json", "--area",
                             "R01-D02").output) == []
    assert len(json.loads(census(runner, sup, "pending", "--json", "--enumerator",
                                 "E001").output)) == 3
    assert json.loads(census(runner, sup, "pending", "--json", "--enumerator",
                             "E002").output) == []
    r = census(runner, sup, "pending", "--area", "NOPE")
    assert r.exit_code == 2 and "Unknown area NOPE" in r.output
    r = census(runner, sup, "pending")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split() == ["address", "enum.", "completed", "persons", "warnings",
                                "review"]
    assert max(len(line) for line in lines) <= 80, r.output  # the visitors are in --json
    assert lines[1].split()[:2] == [f"{EA}/1/1/1", "E001"] and lines[1].split()[-2:] == [
        "—", "—"]
    assert lines[3].split()[-3:] == ["W002", "(flagged)", "—"]  # flagged: not held
    assert "3 households await a decision." in r.output
    assert "census review approve ADDRESS" in r.output


def test_approve_and_return_by_address(runner: CliRunner, waiting: Site) -> None:
    sup = waiting
    r = census(runner, sup, "approve", f"{EA}/1/1/1")
    assert r.exit_code == 0, r.output
    assert f"Household {EA}/1/1/1 approved (revision 3)." in r.output
    r = census(runner, sup, "return", f"{EA}/3/1/1", "--reason", "missing_persons", "--note",
               "check the adults")
    assert r.exit_code == 0, r.output
    assert f"Household {EA}/3/1/1 returned for correction" in r.output
    states = household_states(sup)
    assert states[hid(sup, 1)][0] == "approved" and states[hid(sup, 3)][0] == "returned"
    (returned,) = decisions_of(sup.store, hid(sup, 3))
    assert (returned.reason, returned.note, returned.rules) == (
        "missing_persons", "check the adults", "W002")
    rows = json.loads(census(runner, sup, "pending", "--json").output)
    assert [x["address"] for x in rows] == [f"{EA}/2/1/1"]
    # By id, as before.
    r = census(runner, sup, "approve", hid(sup, 2))
    assert r.exit_code == 0 and f"Household {hid(sup, 2)} approved" in r.output
    r = census(runner, sup, "pending")
    assert r.output.strip() == "No household awaits a decision."


@pytest.mark.parametrize(("ref", "said"), [
    (f"{EA}/1/1", f"'{EA}/1/1' has 3 parts; a household address has four: "
                  "AREA/STRUCTURE/DWELLING/HOUSEHOLD, e.g. R01-D01-EA001/4/1/1."),
    (f"{EA}/1/1/1/1", "has 5 parts"),
    (f"{EA}/x/1/1", f"'{EA}/x/1/1': the structure number 'x' is not a number from 1 to 9999; "
                    "write AREA/STRUCTURE/DWELLING/HOUSEHOLD"),
    (f"{EA}/1/0/1", "the dwelling number '0' is not a number from 1 to 9999"),
    (f"{EA}/1/1/100", "the household number '100' is not a number from 1 to 99"),
    (f"{EA}/1/1/", "the household number '' is not a number"),
    ("R01 D01/1/1/1", "'R01 D01' is not an area code"),
    ("NOPE/1/1/1", "'NOPE/1/1/1': there is no area NOPE here; `census area list` shows the "
                   "areas."),
    (f"{EA}/9/1/1", f"area {EA} has no dwelling 9/1; `census review pending --area {EA}`"),
    (f"{EA}/1/1/2", f"dwelling 1/1 of {EA} has no household 2 (its households: 1)."),
    ("household-one", "'household-one' is neither a household id nor an address. Write the "
                      "address as AREA/STRUCTURE/DWELLING/HOUSEHOLD, e.g. R01-D01-EA001/4/1/1"),
])
def test_a_bad_address_is_refused_and_changes_nothing(runner: CliRunner, waiting: Site,
                                                      ref: str, said: str) -> None:
    sup = waiting
    before = household_states(sup)
    audit = sup.store.conn.execute("SELECT count(*) FROM audit").fetchone()
    for action in (["approve", ref], ["return", ref, "--reason", "revisit"]):
        r = census(runner, sup, *action)
        assert r.exit_code == 2, r.output
        assert said in " ".join(r.output.split()), r.output
    assert household_states(sup) == before
    assert sup.store.conn.execute("SELECT count(*) FROM audit").fetchone() == audit


def test_a_refused_decision_is_refused_by_address_as_by_id(runner: CliRunner,
                                                           waiting: Site) -> None:
    sup = waiting
    assert census(runner, sup, "return", f"{EA}/1/1/1", "--reason", "revisit").exit_code == 0
    before = household_states(sup)
    by_address = census(runner, sup, "approve", f"{EA}/1/1/1")
    by_id = census(runner, sup, "approve", hid(sup, 1))
    assert by_address.exit_code == by_id.exit_code == 2
    assert "is returned; only a complete household can be approved" in by_address.output
    assert by_address.output == by_id.output  # the same use case, the same words
    assert household_states(sup) == before


def test_nothing_is_decided_in_a_closed_area_by_address_as_by_id(runner: CliRunner,
                                                                 waiting: Site) -> None:
    sup = waiting
    (flag,) = json.loads(census(runner, sup, "list", "--json").output)
    assert census(runner, sup, "resolve", str(flag["id"]), "--keep").exit_code == 0
    closed = run_cli(runner, "area", "close", EA, "--db", sup.store.path)
    assert closed.exit_code == 0, closed.output
    assert json.loads(census(runner, sup, "pending", "--json").output) == []
    before = household_states(sup)
    said = set()
    for ref in (f"{EA}/2/1/1", hid(sup, 2)):
        for action in (["approve", ref], ["return", ref, "--reason", "revisit"]):
            r = census(runner, sup, *action)
            assert r.exit_code == 2 and "closed" in r.output, r.output
            said.add(r.output)
    assert len(said) == 1  # one refusal, whatever the way the household is named
    assert household_states(sup) == before


def test_review_list_points_at_the_households_awaiting_a_decision(
        runner: CliRunner, team: tuple[Site, Site]) -> None:
    sup, enu = team
    enter(enu, EA, range(1, 3))
    import_bundle(sup.store, bundle(enu), NOW)
    r = census(runner, sup, "list")
    assert r.output.splitlines() == [
        "Nothing to review.",
        "2 complete households await a decision: `census review pending` lists them."]


@pytest.fixture
def held(team: tuple[Site, Site], tmp_path: Path) -> Site:
    """A conflict and a duplicate held for review (`fieldwork.held_for_review`)."""
    return held_for_review(*team, tmp_path, EA)


def test_pending_marks_the_households_held_in_review(runner: CliRunner, held: Site) -> None:
    sup = held
    rows = {x["address"]: x for x in json.loads(census(runner, sup, "pending", "--json").output)}
    assert rows[f"{EA}/1/1/1"]["held"] == ["conflict"]  # its dwelling is held
    assert rows[f"{EA}/2/1/1"]["held"] == ["duplicate"]
    r = census(runner, sup, "pending")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split()[-1] == "review"
    assert lines[1].startswith(f"{EA}/1/1/1") and lines[1].endswith(
        "⚠ held in review (conflict)")
    assert lines[2].startswith(f"{EA}/2/1/1") and lines[2].endswith(
        "⚠ held in review (duplicate)")


def test_review_list_names_a_held_household_by_its_numbers(runner: CliRunner,
                                                           held: Site) -> None:
    r = census(runner, held, "list")
    assert r.exit_code == 0, r.output
    assert f"household {EA}/2/1/1" in r.output and "household …" not in r.output
