"""Enumerators → supervisors → office: the same merge at every level (DESIGN §1, §5).

Two supervisors with two enumerators each; every file is a real sealed file. At the end the
office holds every household exactly once, with the enumerators' own digests and key sums,
the enumerators' devices hold nothing finished, and closed areas have no locators anywhere.
"""

from __future__ import annotations

from pathlib import Path

from census.domain.model import Role
from census.storage.areas import all_areas
from census.storage.exchange.closeout import handed_over, open_work
from census.storage.listing import next_numbers
from census.storage.progress import area_progress
from census.storage.records import count_rows
from census.usecases.areas import close_area
from census.usecases.bundles import import_bundle
from census.usecases.receipts import export_receipt, import_receipt
from tests.usecases.fieldwork import NOW, assign, bundle, enter, site

TEAMS = {
    "S01": {"E001": "R01-D01-EA001", "E002": "R01-D01-EA002"},
    "S02": {"E003": "R01-D02-EA001", "E004": "R01-D02-EA002"},
}
DISTRICT = {"S01": "R01-D01", "S02": "R01-D02"}


def test_three_levels(tmp_path: Path) -> None:
    office = site(tmp_path, Role.OFFICE, "HQ", register=True)
    sups = {code: site(tmp_path, Role.SUPERVISOR, code) for code in TEAMS}
    enus = {}
    for s_code, team in TEAMS.items():
        assign(office, sups[s_code], [DISTRICT[s_code]])
        for e_code, ea in team.items():
            enus[e_code] = site(tmp_path, Role.ENUMERATOR, e_code)
            assign(sups[s_code], enus[e_code], [ea])

    entered: dict[str, tuple[int, str]] = {}
    for i, (e_code, e) in enumerate(sorted(enus.items())):
        ea = next(ea for team in TEAMS.values() for code, ea in team.items() if code == e_code)
        enter(e, ea, range(1, 4 + i), people=3 + i)
        for hid, rev, digest in e.store.conn.execute("SELECT id, revision, digest FROM household"):
            entered[hid] = (rev, digest)
    assert len(entered) == 3 + 4 + 5 + 6

    # Enumerators → supervisors (each bundle twice: idempotent), receipts back, purge.
    for s_code, team in TEAMS.items():
        for e_code in team:
            path = bundle(enus[e_code], sups[s_code])
            assert import_bundle(sups[s_code].store, path, NOW).already is not None
            receipt = sups[s_code].out("receipt")
            export_receipt(sups[s_code].store, e_code, receipt)
            got = import_receipt(enus[e_code].store, receipt)
            assert got.report.purged_households == len(
                [h for h in entered if h in {r[0] for r in sups[s_code].store.conn.execute(
                    "SELECT id FROM household WHERE source = ?", (e_code,))}])
            assert count_rows(enus[e_code].store, "household") == 0
            assert count_rows(enus[e_code].store, "dwelling") == 0
            # The device still shows the work it handed over.
            (row,) = [r for r in area_progress(enus[e_code].store, NOW) if r.area == team[e_code]]
            assert row.handed_over == row.listed == row.completed > 0

    # Supervisors close their areas (locators purged) and send everything to the office.
    for s_code, team in TEAMS.items():
        s = sups[s_code]
        for ea in team.values():
            assert open_work(s.store, ea) == {}
            done = close_area(s.store, ea)
            assert done.report is not None and done.report.locators > 0
        assert s.store.conn.execute(
            "SELECT count(*) FROM dwelling WHERE locator IS NOT NULL").fetchone()[0] == 0
    paths = [bundle(sups[code]) for code in sorted(TEAMS)]
    for path in reversed(paths):  # any order
        got = import_bundle(office.store, path, NOW)
        assert got.report.conflicts == got.report.duplicates == got.report.flagged == 0
    for path in paths:
        assert import_bundle(office.store, path, NOW).already is not None

    at_office = {hid: (rev, digest) for hid, rev, digest in office.store.conn.execute(
        "SELECT id, revision, digest FROM household")}
    assert at_office == entered
    assert office.store.conn.execute(
        "SELECT count(*) FROM dwelling WHERE locator IS NOT NULL").fetchone()[0] == 0
    closed = {a.code for a in all_areas(office.store) if str(a.status) == "closed"}
    assert closed == {ea for team in TEAMS.values() for ea in team.values()}
    # The office follows progress per enumerator too.
    office_enumerators = {a.code: a.enumerator for a in all_areas(office.store) if a.enumerator}
    assert office_enumerators == {ea: e for team in TEAMS.values() for e, ea in team.items()}
    # Persons add up at every level.
    persons = sum(r.persons for r in area_progress(office.store, NOW))
    assert persons == sum(sum(r.persons for r in area_progress(s.store, NOW))
                          for s in sups.values())
    assert persons == 3 * 3 + 4 * 4 + 5 * 5 + 6 * 6
    for s in [office, *sups.values(), *enus.values()]:
        assert s.store.verify_audit().ok


def test_after_a_receipt_the_device_proposes_numbers_after_the_handed_over_ones(
        tmp_path: Path) -> None:
    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(sup, enu, ["R01-D01-EA001"])
    enter(enu, "R01-D01-EA001", range(1, 4))
    bundle(enu, sup)
    receipt = sup.out("receipt")
    export_receipt(sup.store, "E001", receipt)
    import_receipt(enu.store, receipt)
    assert count_rows(enu.store, "dwelling") == 0
    assert next_numbers(enu.store, "R01-D01-EA001") == (4, 1)
    assert next_numbers(enu.store, "R01-D01-EA001", 2) == (2, 2)
    assert handed_over(enu.store, "R01-D01-EA001") == {"completed": 3}
