"""Regressions for what a review of the field-operation code found (each test names the hole)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from census.domain.model import Outcome, ReturnReason, Role, Visit
from census.formats.payload import Decision, dwelling_row, visit_rows
from census.storage.areas import all_areas, get_area
from census.storage.exchange.decisions import decisions_of
from census.storage.exchange.peers import peer, upstream
from census.storage.exchange.review import review_items
from census.storage.progress import area_progress
from census.storage.records import count_rows, load_dwelling
from census.storage.store import utc_now
from census.transfer.files import TransferError
from census.usecases.areas import close_area
from census.usecases.assign import assign_areas, import_assignment
from census.usecases.bundles import import_bundle
from census.usecases.keys import card
from census.usecases.receipts import export_receipt, import_receipt
from census.usecases.review import DecisionError, decide, resolve_keep, resolve_take
from tests.usecases.fieldwork import (
    EA1,
    EA2,
    NOW,
    Site,
    assign,
    bundle,
    enter,
    household_states,
    seal_rows,
    site,
)


def test_an_enumerator_cannot_send_decisions_or_close_an_area(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    enter(enu, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    (hid,) = household_states(sup)
    rev = household_states(sup)[hid][1]
    forged = Decision(hid, rev + 1, "approved", None, "call 0712 345 678", None, "S99",
                      utc_now())
    body = {"decisions": [list(forged.__dict__.values())], "closed": [EA1]}
    got = import_bundle(sup.store, seal_rows(enu, sup, body, tmp_path / "f.census"),
                                 NOW)
    assert got.report.closed == []
    assert str(get_area(sup.store, EA1).status) == "open"  # type: ignore[union-attr]
    assert decisions_of(sup.store, hid) == []
    decide(sup.store, hid, "approved")  # still possible


def test_records_sent_again_after_close_are_unchanged_not_conflicts(tmp_path: Path) -> None:
    office = site(tmp_path, Role.OFFICE, "HQ", register=True)
    sup = site(tmp_path, Role.SUPERVISOR, "S01")
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(office, sup, ["R01-D01"])
    assign(sup, enu, [EA1])
    enter(enu, EA1, range(1, 3))
    import_bundle(sup.store, bundle(enu), NOW)
    close_area(sup.store, EA1)
    first = import_bundle(office.store, bundle(sup), NOW)
    assert first.report.closed == [EA1] and first.report.added == 4
    again = import_bundle(office.store, bundle(sup), NOW)  # no receipt in between
    assert again.report.conflicts == 0 and again.report.unchanged == 4
    assert review_items(office.store) == []


def test_a_duplicate_listing_stays_on_its_device_and_its_household_cannot_be_taken(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    other = site(tmp_path, Role.ENUMERATOR, "E002")
    assign(sup, other, [EA1])
    enter(enu, EA1, range(1, 2))
    enter(other, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    import_bundle(sup.store, bundle(other), NOW)
    items = {i.record_type: i for i in review_items(sup.store)}
    with pytest.raises(DecisionError, match="conflict"):
        resolve_take(sup.store, items["household"].id, NOW)
    resolve_keep(sup.store, items["dwelling"].id)
    assert review_items(sup.store) == []  # its household went with it
    receipt = sup.out("receipt")
    export_receipt(sup.store, "E002", receipt)
    import_receipt(other.store, receipt)
    assert count_rows(other.store, "dwelling") == 1 and count_rows(other.store, "household") == 1


def test_a_bad_visit_is_held_as_invalid_and_the_rest_merges(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    ids = enter(enu, EA1, range(1, 3))
    good = load_dwelling(enu.store, ids[0])
    bad = load_dwelling(enu.store, ids[1])
    assert good is not None and bad is not None
    v = bad.visits[0]
    bad = replace(bad, visits=(replace(v, outcome=Outcome.CALLBACK, callback_at=v.at),))
    twice = replace(good, visits=(*good.visits, Visit(1, v.at, Outcome.COMPLETED)))
    body = {"dwellings": [dwelling_row(d, None, utc_now()) for d in (good, bad, twice)],
            "visits": visit_rows(good) + visit_rows(bad)}
    got = import_bundle(sup.store, seal_rows(enu, sup, body, tmp_path / "v.census"),
                                 NOW)
    assert got.report.added == 1 and got.report.invalid == 2
    details = sorted(i.detail for i in review_items(sup.store, kind="invalid"))
    assert any("callback" in d for d in details) and any("twice" in d for d in details)


def test_an_assignment_that_cannot_be_written_trusts_nobody(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, _enu = team
    other = site(tmp_path, Role.ENUMERATOR, "E002")
    with pytest.raises(TransferError, match="cannot be written"):
        assign_areas(sup.store, "E002", [EA2], other.card(),
                        tmp_path / "no-such-folder" / "x.census")
    assert peer(sup.store, "E002") is None
    assert get_area(sup.store, EA2).enumerator is None  # type: ignore[union-attr]


def test_a_returned_form_counts_once_and_its_untouched_sibling_keeps_its_revision(
        team: tuple[Site, Site]) -> None:
    sup, enu = team
    from census.usecases.entry import Entry

    (did,) = enter(enu, EA1, range(1, 2))
    entry = Entry(enu.store, clock=lambda: NOW)
    added = entry.add_household(did)
    assert added.dwelling is not None
    h2 = added.dwelling.households[1]
    assert entry.save_household(did, replace(h2, residents={("male", "35-44"): 1}),
                                complete=True).ok
    import_bundle(sup.store, bundle(enu), NOW)
    receipt = sup.out("receipt")
    export_receipt(sup.store, "E001", receipt)
    import_receipt(enu.store, receipt)
    assert count_rows(enu.store, "dwelling") == 0
    h1 = next(h for h, (_s, _r) in household_states(sup).items() if h != h2.id)
    decide(sup.store, h1, "returned", reason=ReturnReason.REVISIT)
    before = household_states(sup)[h2.id]
    out = sup.out("assignment")
    assign_areas(sup.store, "E001", [EA1], enu.card(), out)
    got = import_assignment(enu.store, out)
    assert got.report.kept_local == 0
    assert household_states(enu)[h2.id] == before
    (row,) = [r for r in area_progress(enu.store, NOW) if r.area == EA1]
    assert (row.listed, row.handed_over) == (1, 0)


def test_a_supervisor_takes_assignments_only_from_the_office(tmp_path: Path) -> None:
    """S01 addresses an assignment to S02's keys under an enumerator's card; S02's database
    (a supervisor's) trusts only an office as the level above, so it refuses it."""
    from census.transfer.keys import KeyCard

    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    other = site(tmp_path, Role.SUPERVISOR, "S02")
    forged = KeyCard("enumerator", "S02", card(other.store).key).to_text()
    out = sup.out("assignment")
    assign_areas(sup.store, "S02", [EA1], forged, out)
    with pytest.raises(TransferError, match="not made by the level above"):
        import_assignment(other.store, out)
    assert upstream(other.store) is None
    assert all_areas(other.store) == []
