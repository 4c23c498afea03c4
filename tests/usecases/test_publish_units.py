"""Disclosure control, second pass (issue 17): the protection floor of perturbation tables,
units known by the enumeration areas they cover, and differences between units refused when
they would publish areas too small to publish. Each test reproduces a finding of the audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from census.domain.config import parse_config
from census.domain.model import Area
from census.privacy.ptable.table import ONS_PCV_LIMIT, measure
from census.storage.areas import import_areas
from census.storage.releases import releases
from census.storage.store import Store
from census.usecases import demo
from census.usecases.areas import close_area
from census.usecases.forms import store_dwellings
from census.usecases.publish.plan import ExportError, Request
from census.usecases.publish.write import export
from tests.helpers import run_cli
from tests.usecases.population import NOW, supervisor

S1, S2, S3 = "R01-D01-EA900", "R01-D02-EA001", "R01-D03-EA001"


def add_area(store: Store, code: str, parent: str, households: int, seed: int,
             extra: tuple[Area, ...] = ()) -> None:
    """A small enumeration area (about a hundred persons) under `parent`, closed."""
    area = Area(code, "ea", "Small", parent, households * 2, "E009")
    import_areas(store, [*extra, area], "S01")
    store_dwellings(store, demo.dwellings(store.config, demo.DemoPlan(households, [area], "E009"),
                                          NOW, seed=seed), now=NOW, sink=lambda _l, _p: None)
    close_area(store, code, leave_open_work=True)


def field(path: Path, min_persons: int, small: tuple[str, ...]) -> Store:
    """Region R01: district D01 with six demo areas of 330 to 600 persons (and S1 if asked),
    districts D02 and D03 with one small area each (S2, S3; about 118 persons)."""
    cfg = parse_config(f"[disclosure]\nmin_persons = {min_persons}\nmin_households = 10\n")
    s = supervisor(path, households=700, config=cfg, keep_open=0)
    if S1 in small:
        add_area(s, S1, "R01-D01", 40, 11)
    add_area(s, S2, "R01-D02", 40, 12, (Area("R01-D02", "district", "Two", "R01"),))
    add_area(s, S3, "R01-D03", 40, 13, (Area("R01-D03", "district", "Three", "R01"),))
    return s


def test_a_group_of_the_same_areas_at_another_level_is_the_same_unit(tmp_path: Path) -> None:
    """As found: "R01:other" at EA level ({S2, S3}) and at district level ({D02, D03}, the
    same two areas) was read as changed, though no data changed. Same areas, same unit."""
    s = field(tmp_path / "f.db", 200, (S2, S3))
    try:
        ea = export(s, Request(level="ea"), tmp_path / "ea")
        assert "R01:other" in _units(tmp_path / "ea")
        district = export(s, Request(level="district"), tmp_path / "district")
        assert district.release != ea.release
        assert releases(s)[0]["override"] is None
    finally:
        s.close()


def _dwelling_areas(folder: Path) -> set[str]:
    import csv

    with open(folder / "dwellings.csv", newline="", encoding="utf-8") as f:
        return {r["area"] for r in csv.DictReader(f)}


def _units(folder: Path) -> set[str]:
    import csv

    with open(folder / "persons.csv", newline="", encoding="utf-8") as f:
        return {r["area"] for r in csv.DictReader(f)}


def test_a_group_that_differs_by_a_small_area_is_refused_even_overridden(tmp_path: Path) -> None:
    """As found: at EA level "R01:other" held S1, S2, S3 (areas of three districts); at
    district level "R01:other" held D02 and D03 (S2, S3). Read as "changed", the override let
    it out, and the two rows subtracted gave S1. Now the leftover is found and refused, with or
    without an override."""
    s = field(tmp_path / "f.db", 200, (S1, S2, S3))
    try:
        export(s, Request(level="ea"), tmp_path / "ea")
        assert _units(tmp_path / "ea") >= {"R01:other"}
        for override in (None, "late_forms", "correction"):
            with pytest.raises(ExportError) as info:
                export(s, Request(level="district", override=override),
                       tmp_path / f"district-{override}")
            message = str(info.value)
            assert S1 in message and "too small to publish" in message, message
            assert not (tmp_path / f"district-{override}").exists()
        assert len(releases(s)) == 1
    finally:
        s.close()


def test_a_district_whose_withheld_area_would_be_its_remainder_is_refused(tmp_path: Path
                                                                           ) -> None:
    """As found: subtracting the published areas from their district gave the small areas
    not published alone (and the exact dwellings table gave their counts exactly). With a
    minimum of 300 persons, S1 (119) is published only inside R01:other (with S2 and S3) at EA
    level; the district D01 minus its six published areas would be S1 alone."""
    s = field(tmp_path / "f.db", 300, (S1, S2, S3))
    try:
        export(s, Request(level="ea"), tmp_path / "ea")
        with pytest.raises(ExportError) as info:
            export(s, Request(level="district"), tmp_path / "district")
        assert S1 in str(info.value) and "R01-D01 (district)" in str(info.value)
        # The other way round is refused too: the district first, then its areas.
        s2 = field(tmp_path / "g.db", 300, (S1, S2, S3))
        try:
            export(s2, Request(level="district"), tmp_path / "d2")
            with pytest.raises(ExportError, match="too small to publish"):
                export(s2, Request(level="ea"), tmp_path / "ea2")
        finally:
            s2.close()
    finally:
        s.close()


def near_identity(path: Path) -> Path:
    """As found: a table that moves counts 1 and 2 off the threshold and leaves every count
    from 3 to 750 unchanged for 255 of 256 cell keys (variance 0.004)."""
    def change(pcv: int, ckey: int) -> int:
        if pcv <= 2:  # to 0 or to 3: never 1 or 2 (the threshold)
            return -pcv if ckey < 128 else 3 - pcv
        return 1 if ckey == 0 else 0

    rows = [f"{pcv},{ckey},{change(pcv, ckey)}" for pcv in range(1, ONS_PCV_LIMIT + 1)
            for ckey in range(256)]
    path.write_text("pcv,ckey,pvalue\n" + "\n".join(rows) + "\n")
    return path


def test_a_near_identity_ptable_is_refused(tmp_path: Path) -> None:
    table = near_identity(tmp_path / "weak.csv")
    s = supervisor(tmp_path / "s.db", households=700, keep_open=0)
    try:
        with pytest.raises(ExportError) as info:
            export(s, Request(level="ea", method="ckm", ptable=table), tmp_path / "out")
        assert "too little" in str(info.value) and "ckm_min_variance" in str(info.value)
        assert not (tmp_path / "out").exists() and releases(s) == []
    finally:
        s.close()
    checked = run_cli(CliRunner(), "ptable", "check", table)
    assert checked.exit_code == 1, checked.output
    assert "would not protect" in checked.output and "0.004" in checked.output


def test_the_ledger_and_metadata_name_the_table_by_digest_and_floor(tmp_path: Path) -> None:
    import json

    from census.privacy.ptable.generate import generate

    s = supervisor(tmp_path / "s.db", households=700, keep_open=0)
    try:
        export(s, Request(level="ea", method="ckm"), tmp_path / "out")
        d = s.config.disclosure
        table = generate(d.ckm_max_change, d.ckm_variance, d.ckm_threshold)
        floor = measure(table, d.ckm_threshold)
        assert floor is not None
        meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
        assert meta["perturbation_table_sha256"] == table.digest()
        assert meta["perturbation_min_variance"] == round(floor.min_variance, 6)
        row = s.conn.execute("SELECT ptable, ptable_min_variance FROM release").fetchone()
        assert row == (table.digest(), round(floor.min_variance, 6))
    finally:
        s.close()


def test_dwellings_of_grouped_or_withheld_areas_go_out_for_the_group_only(tmp_path: Path
                                                                            ) -> None:
    """As found: the exact dwellings table gave the completed dwellings of areas withheld from
    the persons and households tables. With a minimum of 400 persons, EA006 (333) and S1 are
    published as R01-D01:other, S2 and S3 (235 together) are withheld: no dwellings row names
    any of them, and the group's row holds the two areas together."""
    s = field(tmp_path / "f.db", 400, (S1, S2, S3))
    try:
        report = export(s, Request(level="ea"), tmp_path / "ea")
        assert set(report.withheld) == {S2, S3}
        shown = _dwelling_areas(tmp_path / "ea")
        assert shown == _units(tmp_path / "ea") and "R01-D01:other" in shown
        assert not shown & {S1, S2, S3, "R01-D01-EA006"}
    finally:
        s.close()
