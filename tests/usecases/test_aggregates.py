"""Exact area aggregates (`census export aggregates`): per closed enumeration area, the counts and
cell-key sums of the published tables as Parquet, one folder per district with a manifest; they
add up to what the record-level path tabulates at any level above; no record leaves."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from census.domain.model import Role
from census.storage.areas import all_areas
from census.storage.store import Store
from census.storage.sums import dwelling_outcomes, household_sizes, person_totals
from census.usecases.publish.aggregates import COLUMNS, export_aggregates, partitions
from census.usecases.publish.plan import ExportError
from tests.helpers import RAW_KEY
from tests.usecases.population import eas, supervisor

pq = pytest.importorskip("pyarrow.parquet")
STAMP = "2026-11-28T12:00:00Z"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A supervisor's database of 400 households (every area but the last closed) and its
    aggregates."""
    folder = tmp_path_factory.mktemp("aggregates")
    db = folder / "s.db"
    store = supervisor(db, households=400)
    export_aggregates(store, folder / "agg", STAMP)
    store.close()
    return db, folder / "agg"


def read(agg: Path, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(agg.glob(f"**/{table}.parquet")):
        t = pq.read_table(path)
        assert [(f.name, str(f.type)) for f in t.schema] == list(COLUMNS[table])
        rows += t.to_pylist()
    return rows


def test_each_closed_area_has_exactly_its_sums_and_the_open_one_none(
        made: tuple[Path, Path]) -> None:
    db, agg = made
    store = Store.open(db, RAW_KEY)
    try:
        closed = eas(store)[:-1]
        cells = store.config.cells
        persons = {(r["area"], r["sex"], r["age_band"]): (r["count"], r["key_sum"])
                   for r in read(agg, "persons")}
        areas = {r["area"]: (r["households"], r["persons"]) for r in read(agg, "areas")}
        assert sorted(areas) == closed  # the last area is still open: not there
        for area, households, counts, keys in person_totals(store, closed):
            assert areas[area] == (households, sum(counts))
            for cell, n, k in zip(cells, counts, keys, strict=True):
                assert persons[(area, *cell)] == (n, k)
        assert {(r["area"], r["size"], r["count"], r["key_sum"])
                for r in read(agg, "households")} == set(household_sizes(store, closed))
        assert {(r["area"], r["outcome"], r["count"]) for r in read(agg, "dwellings")} == set(
            dwelling_outcomes(store, closed))
    finally:
        store.close()


def test_they_add_up_to_the_record_level_sums_of_every_level_above(
        made: tuple[Path, Path]) -> None:
    """What an office needs: a district's (or region's) counts and key sums are the sums of its
    enumeration areas' — exactly, in 64-bit integers."""
    db, agg = made
    store = Store.open(db, RAW_KEY)
    try:
        parent = {a.code: a.parent for a in all_areas(store)}
        closed = eas(store)[:-1]
        for depth, level in enumerate(store.config.levels[:-1]):
            summed: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
            for r in read(agg, "persons"):
                up = r["area"]
                for _ in range(len(store.config.levels) - 1 - depth):
                    up = parent[up]
                summed[(up, r["sex"], r["age_band"])][0] += r["count"]
                summed[(up, r["sex"], r["age_band"])][1] += r["key_sum"]
            for area, _households, counts, keys in person_totals(store, closed, level):
                for cell, n, k in zip(store.config.cells, counts, keys, strict=True):
                    assert summed[(area, *cell)] == [n, k], (level, area, cell)
    finally:
        store.close()


def test_no_record_leaves_and_the_manifest_vouches_for_each_file(
        made: tuple[Path, Path]) -> None:
    db, agg = made
    store = Store.open(db, RAW_KEY)
    try:
        secrets = [r[0] for r in store.conn.execute(
            "SELECT id FROM household UNION ALL SELECT id FROM dwelling "
            "UNION ALL SELECT seed FROM household")]
    finally:
        store.close()
    blobs = b"".join(p.read_bytes() for p in agg.rglob("*") if p.is_file())
    raw = [s if isinstance(s, bytes) else str(s).encode() for s in secrets]  # seeds are blobs
    assert raw and not [s for s in raw if s in blobs]
    (manifest_path,) = agg.glob("**/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["format"] == 1 and manifest["partition"] == {"region": "R01",
                                                                 "district": "R01-D01"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((manifest_path.parent / name).read_bytes()).hexdigest() == digest
    for p in agg.rglob("*"):
        assert p.stat().st_mode & 0o077 == 0, p  # owner-only, folders and files


def test_exporting_again_replaces_the_district_and_leaves_others(tmp_path: Path) -> None:
    store = supervisor(tmp_path / "s.db", households=200)
    try:
        agg = tmp_path / "agg"
        other = agg / "region=R09" / "district=R09-D01"
        other.mkdir(parents=True)
        (other / "persons.parquet").write_bytes(b"another district's")
        first = export_aggregates(store, agg, STAMP)
        before = {p.name: p.read_bytes() for p in (agg / first.partitions[0]).iterdir()}
        second = export_aggregates(store, agg, "2026-11-29T08:00:00Z")
        assert second.partitions == first.partitions
        after = {p.name: p.read_bytes() for p in (agg / first.partitions[0]).iterdir()}
        assert {k: v for k, v in after.items() if k != "manifest.json"} == {
            k: v for k, v in before.items() if k != "manifest.json"}  # the same sums
        assert (other / "persons.parquet").read_bytes() == b"another district's"
        assert not [p for p in agg.rglob(".*")]  # no partial or old folder left
    finally:
        store.close()


def test_refused_on_an_enumerators_database_and_without_a_closed_area(tmp_path: Path) -> None:
    from tests.helpers import enumerator_db

    store = Store.open(enumerator_db(tmp_path / "e.db"), RAW_KEY)
    try:
        assert store.role is Role.ENUMERATOR
        with pytest.raises(ExportError, match="supervisor or the office"):
            export_aggregates(store, tmp_path / "agg", STAMP)
    finally:
        store.close()
    s = supervisor(tmp_path / "s.db", households=50, keep_open=10)
    try:
        with pytest.raises(ExportError, match="No enumeration area is closed"):
            export_aggregates(s, tmp_path / "agg", STAMP)
        assert not (tmp_path / "agg").exists()
    finally:
        s.close()


def test_partitions_follow_the_levels_above_each_closed_area() -> None:
    from census.domain.model import Area, AreaStatus

    closed = AreaStatus.CLOSED
    areas = [Area("R1", "region", "r"), Area("D1", "district", "d", "R1"),
             Area("D2", "district", "d", "R1"),
             Area("E1", "ea", "e", "D1", status=closed), Area("E2", "ea", "e", "D1"),
             Area("E3", "ea", "e", "D2", status=closed)]
    assert partitions(areas, ("region", "district", "ea")) == {
        ("R1", "D1"): ["E1"], ("R1", "D2"): ["E3"]}
