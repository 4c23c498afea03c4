"""`census export tables --from DIR --engine sqlite|duckdb|spark` (issue 18): the same tables,
byte for byte, from a database's records and from its area aggregates on every engine; which
areas are closed is what the aggregates' manifests say; a collection that cannot be trusted is
refused with its folder named, and nothing is exported."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from census.domain.config import default_config
from census.domain.model import AreaStatus, Role
from census.storage.areas import all_areas, import_areas
from census.storage.store import Store
from census.usecases import demo
from census.usecases.publish.aggregates import export_aggregates
from census.usecases.publish.plan import ExportError, Request
from census.usecases.publish.write import export
from tests.helpers import RAW_KEY
from tests.usecases.population import eas, supervisor

pytest.importorskip("pyarrow")
STAMP = "2026-12-06T08:00:00Z"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A supervisor's database of 1,500 households in 12 areas, 4 districts, 2 regions, every
    area but the last closed; and its aggregates (nothing exported from it yet)."""
    folder = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo, "EAS_PER_DISTRICT", 3)
        mp.setattr(demo, "DISTRICTS_PER_REGION", 2)
        store = supervisor(folder / "s.db", households=1500)
    try:
        levels = {a.level for a in all_areas(store)}
        assert len([a for a in all_areas(store) if a.level == "district"]) == 4, levels
        export_aggregates(store, folder / "agg", STAMP)
    finally:
        store.close()
    return folder / "s.db", folder / "agg"


@pytest.fixture
def db(made: tuple[Path, Path], tmp_path: Path) -> Iterator[Store]:
    """A copy of the supervisor's database (each test its own release ledger)."""
    shutil.copy(made[0], tmp_path / "s.db")
    store = Store.open(tmp_path / "s.db", RAW_KEY)
    yield store
    store.close()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def office(path: Path, register_from: Store) -> Store:
    """An office's database: the same survey config and area register, no record, every area
    open in it."""
    store = Store.create(path, RAW_KEY, default_config(), Role.OFFICE, "N01")
    import_areas(store, [replace(a, status=AreaStatus.OPEN) for a in all_areas(register_from)],
                 "N01")
    return store


@pytest.mark.parametrize(("method", "level", "fmt"), [
    ("rr3", "ea", "csv"), ("rr3", "district", "json"), ("ckm", "region", "parquet"),
    ("ckm", "ea", "csv"), ("none", "district", "csv"), ("dp", "region", "csv")])
def test_every_engine_writes_the_bytes_of_the_record_path(
        db: Store, made: tuple[Path, Path], tmp_path: Path, method: str, level: str,
        fmt: str) -> None:
    """The same database exports from its records (SQLite), then from its aggregates on SQLite
    and DuckDB: the same release, identical files (metadata.json included)."""
    if method == "dp":
        pytest.importorskip("opendp")
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    engines = ["sqlite"]
    try:
        import duckdb  # noqa: F401
        engines.append("duckdb")
    except ImportError:  # pragma: no cover - the test extras install it
        pass
    kw = {"not_for_publication": method == "none"}
    first = export(db, Request(level, method=method, fmt=fmt, **kw), tmp_path / "records")
    assert not first.again
    for engine in engines:
        again = export(db, Request(level, method=method, fmt=fmt, collected=made[1],
                                   engine=engine, **kw), tmp_path / engine)
        assert (again.release, again.again) == (first.release, True), engine
        assert files(tmp_path / engine) == files(tmp_path / "records"), engine
        assert again.left_open == first.left_open and again.units == first.units


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_every_source_gives_the_same_sums_as_the_records(db: Store, made: tuple[Path, Path],
                                                          engine: str) -> None:
    """Each of the source's questions, for every area and for a few, on the records and on
    the aggregates: the same integers in the same order (closed areas: the aggregates hold
    only those)."""
    from census.formats.aggregate_files import collect
    from census.storage.engines import RecordSums, open_collected

    if engine == "duckdb":
        pytest.importorskip("duckdb")
    closed = eas(db)[:-1]
    records = RecordSums(db)
    collected = open_collected(engine, collect(made[1], db.config.digest()), db.config)
    try:
        for areas in (closed, closed[::3], ["R01-D01-EA001", "nowhere"]):
            assert list(collected.person_totals(areas)) == list(records.person_totals(areas))
            assert list(collected.household_sizes(areas)) == list(
                records.household_sizes(areas))
            assert list(collected.dwelling_outcomes(areas)) == list(
                records.dwelling_outcomes(areas))
            assert list(collected.listed_areas(areas)) == list(records.listed_areas(areas))
        assert [t[0] for t in collected.person_totals()] == closed
    finally:
        collected.close()


def test_an_office_publishes_the_districts_it_collected_and_waits_for_the_rest(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    """An office's own database holds no record and no closed area: the manifests say which
    areas are closed. A district not yet collected keeps its region out (never part of a region
    for the whole of it); the tables of what is published are those of the records."""
    collected = tmp_path / "collected"
    shutil.copytree(made[1], collected)
    missing = sorted(collected.glob("region=R02/district=*"))[-1]
    shutil.rmtree(missing)
    nat = office(tmp_path / "office.db", db)
    try:
        assert {a.status for a in all_areas(nat)} == {"open"}
        report = export(nat, Request("region", method="rr3", collected=collected),
                        tmp_path / "nat")
        assert report.left_open == ("R02",) and report.units == 1
        export(db, Request("region", areas=("R01",), method="rr3"), tmp_path / "sup")
        for table in ("persons.csv", "households.csv", "dwellings.csv"):
            assert (tmp_path / "nat" / table).read_bytes() == (
                tmp_path / "sup" / table).read_bytes(), table
    finally:
        nat.close()


def _refused(store: Store, collected: Path, out: Path, match: str, **kw: object) -> None:
    with pytest.raises(ExportError, match=match):
        export(store, Request("district", method="rr3", collected=collected, **kw), out)  # type: ignore[arg-type]
    assert not out.exists()


def test_a_changed_file_is_refused_with_its_name(db: Store, made: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    collected = tmp_path / "c"
    shutil.copytree(made[1], collected)
    victim = sorted(collected.rglob("persons.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    _refused(db, collected, tmp_path / "out", "not the file its manifest names")


def test_an_area_in_two_folders_is_refused(db: Store, made: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    collected = tmp_path / "c"
    shutil.copytree(made[1], collected)
    first = sorted(collected.glob("region=*/district=*"))[0]
    shutil.copytree(first, collected / "old copy" / first.name)
    _refused(db, collected, tmp_path / "out", "is in two folders")


def test_another_survey_config_is_refused(made: tuple[Path, Path], tmp_path: Path) -> None:
    cfg = default_config()
    other = replace(cfg, name=cfg.name + " (another)")
    assert other.digest() != cfg.digest()
    store = Store.create(tmp_path / "o.db", RAW_KEY, other, Role.OFFICE, "N01")
    try:
        _refused(store, made[1], tmp_path / "out", "another survey config")
    finally:
        store.close()


def test_areas_the_register_does_not_hold_are_refused(made: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    store = Store.create(tmp_path / "o.db", RAW_KEY, default_config(), Role.OFFICE, "N01")
    try:
        _refused(store, made[1], tmp_path / "out", "area register does not")
    finally:
        store.close()


def test_a_folder_without_aggregates_and_engines_without_a_folder_are_refused(
        db: Store, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _refused(db, tmp_path / "empty", tmp_path / "out", "No aggregates in")
    _refused(db, tmp_path / "nowhere", tmp_path / "out", "is not a folder of aggregates")
    for engine in ("duckdb", "spark"):
        with pytest.raises(ExportError, match="give their folder with --from"):
            export(db, Request("district", method="rr3", engine=engine), tmp_path / "out")
    with pytest.raises(ExportError, match="Unknown engine"):
        export(db, Request("district", method="rr3", engine="oracle"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_manifest_that_is_not_one_is_refused(db: Store, made: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    collected = tmp_path / "c"
    shutil.copytree(made[1], collected)
    manifest = sorted(collected.rglob("manifest.json"))[0]
    manifest.write_text("{not json")
    _refused(db, collected, tmp_path / "out", "not a manifest of aggregates")
    manifest.write_text(json.dumps({"kind": "census area aggregates", "format": 99}))
    _refused(db, collected, tmp_path / "out", "format 99")


def spark_here() -> bool:
    """pyspark and a Java runtime are installed (CI installs both; README: Set up)."""
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None and (
        shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME")))


@pytest.mark.skipif(not spark_here() and not os.environ.get("CENSUS_REQUIRE_SPARK"),
                    reason="needs census[spark] and Java 17+ (CI installs both and sets "
                           "CENSUS_REQUIRE_SPARK, so that there it fails instead)")
def test_spark_in_local_mode_writes_the_bytes_of_the_record_path(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    first = export(db, Request("district", method="ckm"), tmp_path / "records")
    spark = export(db, Request("district", method="ckm", collected=made[1], engine="spark"),
                   tmp_path / "spark")
    assert (spark.release, spark.again) == (first.release, True)
    assert files(tmp_path / "spark") == files(tmp_path / "records")
    assert eas(db)  # the database is still usable after Spark


def test_long_exports_say_how_far_they_are(db: Store, made: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    """Progress (for the command line's bar): every step from checking the aggregates to
    recording the release, never backwards; aggregates say each folder as it is written."""
    seen: list[tuple[float, str]] = []
    export(db, Request("ea", method="rr3", collected=made[1]), tmp_path / "t",
           lambda f, what: seen.append((f, what)))
    fractions = [f for f, _what in seen]
    assert seen[0] == (0.0, "checking the aggregates") and fractions == sorted(fractions)
    assert {"counting persons", "writing persons", "recording the release"} <= {
        what for _f, what in seen}
    folders: list[tuple[float, str]] = []
    export_aggregates(db, tmp_path / "agg", STAMP, lambda f, what: folders.append((f, what)))
    assert [what for _f, what in folders] == [
        "region=R01/district=R01-D01", "region=R01/district=R01-D02",
        "region=R02/district=R02-D01", "region=R02/district=R02-D02"]


def test_an_office_is_told_what_to_collect_not_to_close_areas(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    """The office closes nothing: its messages speak of collecting aggregates."""
    collected = tmp_path / "collected"
    shutil.copytree(made[1], collected)
    for folder in collected.glob("region=R02/district=*"):
        shutil.rmtree(folder)
    nat = office(tmp_path / "office.db", db)
    try:
        with pytest.raises(ExportError, match="not yet collected") as info:
            export(nat, Request("region", areas=("R02",), method="rr3", collected=collected),
                   tmp_path / "out")
        assert "census area close" not in str(info.value)
        shutil.rmtree(collected / "region=R01")
        (collected / "x").mkdir()
        shutil.copytree(made[1] / "region=R02" / "district=R02-D01", collected / "x" / "d")
        with pytest.raises(ExportError, match="every enumeration area closed in the aggr"):
            export(nat, Request("region", method="rr3", collected=collected), tmp_path / "out")
        assert not (tmp_path / "out").exists()
    finally:
        nat.close()
