"""Merge semantics (DESIGN §5): idempotent, order-independent, no rollback, no silent overwrite.

Every test runs real databases and real sealed files: an enumerator enters forms with the same
use cases as the TUI, exports a bundle, and a supervisor imports it.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from census.domain.ids import new_id
from census.domain.model import Dwelling, HouseholdStatus, ReturnReason, Role
from census.formats.payload import household_row
from census.storage.exchange.decisions import decisions_of
from census.storage.exchange.review import review_items
from census.storage.progress import returned_households
from census.storage.records import count_rows, load_dwelling
from census.storage.store import Store, utc_now
from census.transfer.files import TransferError
from census.usecases.assign import assign_areas, import_assignment
from census.usecases.bundles import import_bundle
from census.usecases.entry import Entry
from census.usecases.keys import trust_key
from census.usecases.review import decide, resolve_take
from tests.helpers import RAW_KEY
from tests.usecases.fieldwork import (
    EA1,
    EA2,
    NOW,
    Site,
    assign,
    bundle,
    enter,
    fingerprint,
    household_states,
    seal_rows,
    site,
    snapshot,
)


def _edit_counts(worker: Site, dwelling_id: str, female_adults: int) -> None:
    entry = Entry(worker.store, clock=lambda: NOW)
    d = load_dwelling(worker.store, dwelling_id)
    assert d is not None
    h = d.households[0]
    residents = {**h.residents, ("female", "25-34"): female_adults}
    assert entry.save_household(dwelling_id, replace(h, residents=residents), complete=True).ok


def test_a_bundle_merges_everything_and_a_second_import_changes_nothing(
        team: tuple[Site, Site]) -> None:
    sup, enu = team
    enter(enu, EA1, range(1, 4))
    path = bundle(enu)
    first = import_bundle(sup.store, path, NOW)
    assert first.report.added == 6 and first.report.flagged == 0
    before = snapshot(sup.store)
    audit_entries = count_rows(sup.store, "audit")
    again = import_bundle(sup.store, path, NOW)
    assert again.already is not None
    assert snapshot(sup.store) == before
    assert count_rows(sup.store, "audit") == audit_entries
    # The supervisor holds exactly the enumerator's records, with the same digests.
    mine = enu.store.conn.execute("SELECT id, revision, digest FROM household ORDER BY id")
    theirs = sup.store.conn.execute("SELECT id, revision, digest FROM household ORDER BY id")
    assert mine.fetchall() == theirs.fetchall()
    # Key sums are recomputed from the seed, equal to the enumerator's.
    cols = ", ".join(sup.store.keys)
    assert (enu.store.conn.execute(f"SELECT {cols} FROM household ORDER BY id").fetchall()
            == sup.store.conn.execute(f"SELECT {cols} FROM household ORDER BY id").fetchall())


def test_a_newer_revision_updates_and_an_older_one_never_rolls_back(
        team: tuple[Site, Site]) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))
    old = bundle(enu)
    _edit_counts(enu, did, 2)
    new = bundle(enu)
    got = import_bundle(sup.store, new, NOW)
    assert got.report.added == 2
    hid, (status, rev) = next(iter(household_states(sup).items()))
    late = import_bundle(sup.store, old, NOW)
    # The household's edit made revision 2; the dwelling itself did not change.
    assert late.already is None
    assert (late.report.older, late.report.unchanged, late.report.added) == (1, 1, 0)
    assert household_states(sup)[hid] == (status, rev)
    assert rev == enu.store.conn.execute("SELECT revision FROM household").fetchone()[0]


def test_same_revision_with_other_content_is_a_conflict_kept_for_review(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))
    # A backup of the device, restored later: both copies edit revision 2 differently.
    enu.store.close()
    backup = tmp_path / "backup.db"
    shutil.copy(enu.folder / "census.db", backup)
    enu.store = Store.open(enu.folder / "census.db", RAW_KEY)
    _edit_counts(enu, did, 2)
    import_bundle(sup.store, bundle(enu), NOW)
    stored = household_states(sup)
    restored = Site(Store.open(backup, RAW_KEY), tmp_path / "restored")
    restored.folder.mkdir()
    _edit_counts(restored, did, 3)
    # Its audit log lost what it anchored after the backup: the supervisor, told of the
    # restore, accepts its history anew (else its bundle is refused as a rewrite).
    refused = bundle(restored)
    with pytest.raises(TransferError, match="rewritten"):
        import_bundle(sup.store, refused, NOW)
    trust_key(sup.store, "E001", restored.card(), replace_key=True,
              expect_fingerprint=fingerprint(restored))
    got = import_bundle(sup.store, bundle(restored), NOW)
    restored.store.close()
    assert got.report.conflicts == 1
    assert household_states(sup) == stored  # never overwritten silently
    (item,) = review_items(sup.store, kind="conflict")
    assert item.detail == "same_revision" and item.incoming is not None
    assert item.incoming["residents"]["female"]["25-34"] == 3
    # The supervisor takes the held version: a new revision made here.
    resolve_take(sup.store, item.id, NOW)
    row = sup.store.conn.execute("SELECT revision, source FROM household WHERE id = ?",
                                 (item.record_id,)).fetchone()
    assert row == (stored[item.record_id][1] + 1, None)
    assert review_items(sup.store) == []


def test_an_edit_after_approval_is_a_conflict_not_an_overwrite(team: tuple[Site, Site]) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    (hid,) = household_states(sup)
    decide(sup.store, hid, "approved")
    approved = household_states(sup)[hid]
    assert approved[0] == "approved"
    _edit_counts(enu, did, 2)  # the enumerator edits on, not knowing
    _edit_counts(enu, did, 3)
    got = import_bundle(sup.store, bundle(enu), NOW)
    assert got.report.conflicts == 1
    assert household_states(sup)[hid] == approved
    (item,) = review_items(sup.store, kind="conflict")
    assert item.detail == "both_edited"


def test_a_returned_form_goes_back_is_corrected_and_comes_back_as_an_update(
        team: tuple[Site, Site]) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    (hid,) = household_states(sup)
    decide(sup.store, hid, "returned",
           reason=ReturnReason.MISSING_PERSONS, note="ask about babies")
    # The return travels in the next assignment file.
    out = sup.out("assignment")
    assign_areas(sup.store, "E001", [EA1], enu.card(), out)
    got = import_assignment(enu.store, out)
    assert got.report.returned == 1
    assert household_states(enu)[hid][0] == "returned"
    (decision,) = decisions_of(enu.store, hid)
    assert (decision.action, decision.reason, decision.note) == (
        "returned", "missing_persons", "ask about babies")
    assert returned_households(enu.store, enumerator="E001")
    _edit_counts(enu, did, 2)
    merged = import_bundle(sup.store, bundle(enu), NOW)
    assert merged.report.updated == 1 and merged.report.conflicts == 0
    assert household_states(sup)[hid][0] == "complete"


def test_a_note_with_a_phone_number_is_refused(team: tuple[Site, Site]) -> None:
    sup, enu = team
    enter(enu, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    (hid,) = household_states(sup)
    before = snapshot(sup.store)
    with pytest.raises(Exception, match="personal data"):
        decide(sup.store, hid, "returned",
               reason=ReturnReason.OTHER, note="call 0712 345 678")
    assert snapshot(sup.store) == before


def test_the_same_dwelling_listed_under_two_ids_is_a_duplicate(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    other = site(tmp_path, Role.ENUMERATOR, "E002")
    assign(sup, other, [EA1])  # the area handed to a second enumerator
    enter(enu, EA1, range(1, 3))
    enter(other, EA1, range(2, 4))  # structure 2 listed twice
    import_bundle(sup.store, bundle(enu), NOW)
    got = import_bundle(sup.store, bundle(other), NOW)
    assert got.report.duplicates == 2  # the dwelling, and its household held with it
    assert got.report.added == 2
    kinds = {(i.record_type, i.detail) for i in review_items(sup.store)}
    assert kinds == {("dwelling", "same_numbers"), ("household", "dwelling_held")}


def completion(s: Site, household_id: str) -> str | None:
    row = s.store.conn.execute("SELECT completed_at FROM household WHERE id = ?",
                               (household_id,)).fetchone()
    return None if row is None else row[0]


def test_the_first_completion_travels_with_the_form_and_stays(team: tuple[Site, Site]) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))  # completed at NOW, by the device's clock
    (hid,) = household_states(enu)
    first = NOW.isoformat(timespec="minutes")
    assert completion(enu, hid) == first
    import_bundle(sup.store, bundle(enu), NOW)
    assert completion(sup, hid) == first
    decide(sup.store, hid, "returned", reason=ReturnReason.COUNTS_WRONG)
    out = sup.out("assignment")
    assign_areas(sup.store, "E001", [EA1], enu.card(), out)
    import_assignment(enu.store, out)
    assert completion(enu, hid) == first
    # Corrected two days later: a draft, then complete again; the first completion stays.
    later = Entry(enu.store, clock=lambda: NOW.replace(day=NOW.day + 2))
    d = load_dwelling(enu.store, did)
    assert d is not None
    h = d.households[0]
    assert h.completed_at == NOW
    assert later.save_household(did, replace(h, visitors=1), complete=False).ok
    assert later.save_household(did, replace(h, visitors=1), complete=True).ok
    assert completion(enu, hid) == first
    import_bundle(sup.store, bundle(enu), NOW)
    assert household_states(sup)[hid][0] == "complete" and completion(sup, hid) == first
    decide(sup.store, hid, "approved")
    assert completion(sup, hid) == first


def from_an_earlier_version(sup: Site, enu: Site, folder: Path, saved: str
                            ) -> tuple[Dwelling, int]:
    """E001's one form, completed at NOW, sent as a census version before `completed_at`
    travelled (no "completed" list) with its last save at `saved`: the dwelling sent, and how
    many records the supervisor added."""
    from census.formats.payload import dwelling_row, visit_rows

    (did,) = enter(enu, EA1, range(1, 2))
    d = load_dwelling(enu.store, did)
    assert d is not None
    body = {"dwellings": [dwelling_row(d, None, saved)], "visits": visit_rows(d),
            "households": [household_row(d.households[0], did, None, saved, "E001",
                                         enu.store.config)]}
    got = import_bundle(sup.store, seal_rows(enu, sup, body, folder / "old.census"), NOW)
    return d, got.report.added


def test_a_form_from_an_earlier_version_is_completed_when_its_sender_saved_it(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    from census.storage.records import local_minutes

    sup, enu = team
    saved = "2026-11-29T08:30:00Z"  # its last save: after it was completed (NOW)
    d, added = from_an_earlier_version(sup, enu, tmp_path, saved)
    assert added == 2
    assert completion(sup, d.households[0].id) == local_minutes(saved)
    # The same version from this version of census brings the device's own, earlier time,
    # and the move is in the audit log (old → new).
    import_bundle(sup.store, bundle(enu, everything=True), NOW)
    assert completion(sup, d.households[0].id) == NOW.isoformat(timespec="minutes")
    assert sup.store.conn.execute(
        "SELECT who, old, new FROM audit WHERE record_id = ? AND field = 'completed_at'",
        (d.households[0].id,)).fetchall() == [
        ("E001", local_minutes(saved), NOW.isoformat(timespec="minutes"))]


def test_an_earlier_completion_is_not_written_into_a_closed_area(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    """A copy of a stored version brings an earlier first completion: like every write, not
    once the area is closed."""
    from census.storage.records import local_minutes
    from census.usecases.areas import close_area

    sup, enu = team
    saved = "2026-11-29T08:30:00Z"
    d, _added = from_an_earlier_version(sup, enu, tmp_path, saved)
    close_area(sup.store, EA1, leave_open_work=True)
    import_bundle(sup.store, bundle(enu, everything=True), NOW)
    assert completion(sup, d.households[0].id) == local_minutes(saved)


def test_a_record_that_fails_a_rule_is_stored_flagged_not_dropped(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    d = load_dwelling(enu.store, did)
    assert d is not None
    h = d.households[0]
    empty = replace(h, residents={}, revision=h.revision + 1)  # complete with no one: E003
    row = household_row(empty, did, None, utc_now(), "E001", enu.store.config)
    got = import_bundle(sup.store, seal_rows(enu, sup, {"households": [row]},
                                                       tmp_path / "flag.census"), NOW)
    assert got.report.updated == 1 and got.report.flagged == 1
    assert household_states(sup)[h.id] == ("complete", h.revision + 1)
    (item,) = review_items(sup.store, kind="flagged")
    assert "E003" in item.detail and item.record_id == h.id
    # Returning it closes the flag and records the rule ids with the decision.
    decide(sup.store, h.id, "returned",
           reason=ReturnReason.COUNTS_WRONG)
    assert review_items(sup.store) == []
    assert decisions_of(sup.store, h.id)[0].rules == item.detail


def test_an_unreadable_row_is_held_as_invalid_and_the_rest_merges(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    sup, enu = team
    (did,) = enter(enu, EA1, range(1, 2))
    d = load_dwelling(enu.store, did)
    assert d is not None
    good = household_row(d.households[0], did, None, utc_now(), "E001", enu.store.config)
    bad = list(good)
    bad[0] = new_id()
    bad[7] = -4  # away: a negative count
    from census.formats.payload import dwelling_row, visit_rows

    body = {"dwellings": [dwelling_row(d, None, utc_now())], "visits": visit_rows(d),
            "households": [good, bad]}
    got = import_bundle(sup.store, seal_rows(enu, sup, body, tmp_path / "x.census"),
                                 NOW)
    assert got.report.added == 2 and got.report.invalid == 1
    (item,) = review_items(sup.store, kind="invalid")
    assert "away" in item.detail


# -- properties ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Path]:
    """A pristine supervisor database and the bundles of one enumerator's work over time:
    new forms, edits, a bundle of everything, and a second enumerator's duplicate listing."""
    tmp = tmp_path_factory.mktemp("history")
    sup = site(tmp, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp, Role.ENUMERATOR, "E001")
    other = site(tmp, Role.ENUMERATOR, "E002")
    assign(sup, enu, [EA1])
    assign(sup, other, [EA1, EA2])
    files = []
    ids = enter(enu, EA1, range(1, 4))
    files.append(bundle(enu))
    _edit_counts(enu, ids[0], 2)
    ids += enter(enu, EA1, range(4, 6))
    files.append(bundle(enu))
    _edit_counts(enu, ids[0], 3)
    _edit_counts(enu, ids[3], 2)
    files.append(bundle(enu))
    files.append(bundle(enu, everything=True))
    enter(other, EA1, range(5, 7))  # structure 5 duplicates E001's
    enter(other, EA2, range(1, 3))
    files.append(bundle(other))
    for s in (sup, enu, other):
        s.store.close()
    return sup.folder / "census.db", files, tmp


def _merged_state(db: Path, files: list[Path], order: list[int], work: Path) -> dict[str, Any]:
    copy = work / f"sup-{new_id()}.db"
    shutil.copy(db, copy)
    store = Store.open(copy, RAW_KEY)
    try:
        for i in order:
            import_bundle(store, files[i], NOW)
        state = snapshot(store)
        held = store.conn.execute("SELECT record_id, digest FROM review WHERE kind IN "
                                  "('conflict', 'duplicate')").fetchall()
        main = store.conn.execute("SELECT id, digest FROM dwelling UNION ALL SELECT id, digest "
                                  "FROM household").fetchall()
        state["versions"] = sorted(held + main)
        state["audit_ok"] = store.verify_audit().ok
        return state
    finally:
        store.close()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_order_and_any_repeats_give_the_same_state(
        history: tuple[Path, list[Path], Path], data: st.DataObject) -> None:
    db, files, work = history
    lineage = list(range(4))  # one enumerator's bundles: no conflicts among them
    reference = _merged_state(db, files, lineage, work)
    order = data.draw(st.lists(st.sampled_from(lineage), min_size=1, max_size=8).filter(
        lambda xs: 3 in xs or {0, 1, 2} <= set(xs)))
    order = data.draw(st.permutations(order))
    got = _merged_state(db, files, order, work)
    assert got == reference


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_with_a_duplicate_listing_every_version_is_kept_in_any_order(
        history: tuple[Path, list[Path], Path], data: st.DataObject) -> None:
    """Which of two listings of one dwelling sits in the tables depends on which came first;
    what must not depend on order: every version is kept (in the tables or held for review),
    the same records are flagged, and nothing else differs."""
    db, files, work = history
    reference = _merged_state(db, files, [0, 1, 2, 3, 4], work)
    order = data.draw(st.permutations([0, 1, 2, 3, 4]))
    got = _merged_state(db, files, list(order), work)
    assert got["versions"] == reference["versions"]
    assert got["audit_ok"]
    statuses = {r[2] for r in got["households"]}
    assert statuses <= {HouseholdStatus.COMPLETE.value}


def test_no_sender_moves_a_record_out_of_an_area_not_theirs(
        team: tuple[Site, Site], tmp_path: Path) -> None:
    """E002 (EA002) knows a dwelling of E001's EA001 and sends it moved into EA002, with the
    stored version as its base: refused whole, nothing changed."""
    from census.formats.payload import dwelling_row, visit_rows
    from census.transfer.files import TransferError

    sup, enu = team
    other = site(tmp_path, Role.ENUMERATOR, "E002")
    assign(sup, other, [EA2])
    (did,) = enter(enu, EA1, range(1, 2))
    import_bundle(sup.store, bundle(enu), NOW)
    d = load_dwelling(enu.store, did)
    assert d is not None
    stored = sup.store.conn.execute("SELECT revision, digest FROM dwelling WHERE id = ?",
                                    (did,)).fetchone()
    from census.domain.revisions import Base

    moved = replace(d, area=EA2, revision=d.revision + 1)
    body = {"dwellings": [dwelling_row(moved, Base(*stored), utc_now())],
            "visits": visit_rows(moved)}
    before = snapshot(sup.store)
    with pytest.raises(TransferError, match=EA1):
        import_bundle(sup.store, seal_rows(other, sup, body, tmp_path / "m.census"),
                               NOW)
    assert snapshot(sup.store) == before
