"""`census export tables --from DIR --engine sqlite|duckdb|spark` (issue 18): the same tables,
byte for byte, from a database's records and from its area aggregates on every engine; which
areas are closed is what the aggregates' manifests say; a collection that cannot be trusted is
refused with its folder named, and nothing is exported."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

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


def spark_or(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


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


# ---------------------------------------------------------------- collections that lie or break


def _rewrite(folder: Path, table: str, change: Callable[[Any], Any]) -> None:
    """Change one file of a district folder and put its new digest in the manifest (as a
    careless copy or a bug would leave it: the digest alone cannot catch this)."""
    import hashlib

    import pyarrow.parquet as pq

    path = folder / f"{table}.parquet"
    pq.write_table(change(pq.read_table(path)), path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _copy(made: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    collected = tmp_path / "c"
    shutil.copytree(made[1], collected)
    return collected, sorted(collected.glob("region=*/district=*"))[0]


def test_an_area_the_manifest_calls_closed_without_its_rows_is_refused(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    """Found by review: the manifest alone made an area closed; its region went out without
    its people."""
    collected, _first = _copy(made, tmp_path)
    last = sorted(collected.glob("region=*/district=*"))[-1]
    manifest = json.loads((last / "manifest.json").read_text())
    (open_area,) = [a for a, s in manifest["areas"].items() if s == "open"]
    manifest["areas"][open_area] = "closed"
    (last / "manifest.json").write_text(json.dumps(manifest))
    _refused(db, collected, tmp_path / "out", "is damaged")  # its closed list disagrees
    manifest["closed"] = sorted([*manifest["closed"], open_area])
    (last / "manifest.json").write_text(json.dumps(manifest))
    _refused(db, collected, tmp_path / "out", "does not give as closed")


def test_rows_of_an_area_the_manifest_does_not_hold_are_refused(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    """Found by review: another district's rows appended to a file (digest recomputed) were
    added in."""
    import pyarrow as pa

    collected, first = _copy(made, tmp_path)
    second = sorted(collected.glob("region=*/district=*"))[1]
    import pyarrow.parquet as pq

    theirs = pq.read_table(second / "persons.parquet")
    _rewrite(first, "persons", lambda t: pa.concat_tables([t, theirs]))
    _refused(db, collected, tmp_path / "out", "does not give as closed")


@pytest.mark.parametrize(("change", "match"), [
    (lambda t: t.rename_columns(["area", "gender", "age_band", "count", "key_sum"]),
     "does not have the columns"),
    (lambda t: t.set_column(4, "key_sum", t.column("key_sum").cast("double")),
     "does not have the columns"),
    (lambda t: t.set_column(3, "count", __import__("pyarrow").array(
        [None] * len(t), type="int64")), "empty values in column count"),
    (lambda t: t.set_column(3, "count", __import__("pyarrow").array(
        [-1] * len(t), type="int64")), "negative numbers in column count"),
])
def test_a_file_not_as_census_writes_it_is_refused(
        db: Store, made: tuple[Path, Path], tmp_path: Path, change: Callable[[Any], Any],
        match: str) -> None:
    """Found by review: a renamed or retyped column, empty values and negative counts were
    internal errors, or published, or different on each engine."""
    collected, first = _copy(made, tmp_path)
    _rewrite(first, "persons", change)
    _refused(db, collected, tmp_path / "out", match)


def test_files_and_manifests_that_are_not_files_are_refused(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    import hashlib

    collected, first = _copy(made, tmp_path)
    empty = first / "persons.parquet"
    empty.write_bytes(b"")
    manifest = json.loads((first / "manifest.json").read_text())
    manifest["files"]["persons.parquet"] = hashlib.sha256(b"").hexdigest()
    (first / "manifest.json").write_text(json.dumps(manifest))
    _refused(db, collected, tmp_path / "out", "not a readable Parquet file")
    shutil.rmtree(collected)
    collected, first = _copy(made, tmp_path)
    (first / "manifest.json").unlink()
    (first / "manifest.json").symlink_to("/dev/zero")
    _refused(db, collected, tmp_path / "out", "not a regular file")
    (first / "manifest.json").unlink()
    (first / "manifest.json").write_text("[" * 100_000)
    _refused(db, collected, tmp_path / "out", "not JSON")
    (first / "manifest.json").unlink()
    (first / "manifest.json").mkdir()
    _refused(db, collected, tmp_path / "out", "not a regular file")
    shutil.rmtree(collected)
    collected, first = _copy(made, tmp_path)
    manifest = json.loads((first / "manifest.json").read_text())
    manifest["format"] = True
    (first / "manifest.json").write_text(json.dumps(manifest))
    _refused(db, collected, tmp_path / "out", "format True")


def test_an_unreadable_district_is_refused_not_taken_for_uncollected(
        db: Store, made: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    collected, first = _copy(made, tmp_path)
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == first:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    _refused(db, collected, tmp_path / "out", "Cannot read the folder")


def test_an_area_published_before_and_missing_now_is_not_given_away(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    """Found by review: a district published whole, then one of its areas reopened (its
    aggregates say open): publishing the others alone gives it away by subtraction. The record
    path refuses (its sums are known); from aggregates its sums are unknown, so it is taken as
    small and the export is refused too."""
    from census.usecases.areas import close_area

    last = eas(db)[-1]
    shutil.copy(db.path, tmp_path / "all.db")
    everything = Store.open(tmp_path / "all.db", RAW_KEY)
    try:
        close_area(everything, last, leave_open_work=True)
        export_aggregates(everything, tmp_path / "all-closed", STAMP)
    finally:
        everything.close()
    nat = office(tmp_path / "office.db", db)
    try:
        export(nat, Request("district", method="rr3", collected=tmp_path / "all-closed"),
               tmp_path / "r1")
        with pytest.raises(ExportError, match="not in the aggregates") as info:
            export(nat, Request("ea", method="rr3", collected=made[1]), tmp_path / "r2")
        assert last in str(info.value)
        assert not (tmp_path / "r2").exists()
    finally:
        nat.close()


def test_key_sums_past_2_to_the_53_stay_exact_on_every_engine(
        db: Store, made: tuple[Path, Path], tmp_path: Path) -> None:
    """A float anywhere on the way (DuckDB's 2^32, a DOUBLE sum) would round these."""
    import pyarrow as pa

    from census.formats.aggregate_files import collect
    from census.storage.engines import open_collected

    big = 2**62 + 12345  # odd: a double cannot hold it
    collected, first = _copy(made, tmp_path)
    _rewrite(first, "persons", lambda t: t.set_column(
        4, "key_sum", pa.array([big + i for i in range(len(t))], type="int64")))
    import pyarrow.parquet as pq

    rows = pq.read_table(first / "persons.parquet").to_pylist()
    expected: dict[str, list[int]] = {}
    for r in rows:
        expected.setdefault(r["area"], []).append(r["key_sum"])
    engines = ["sqlite"] + (["duckdb"] if spark_or("duckdb") else [])
    for engine in engines:
        source = open_collected(engine, collect(collected, db.config.digest()), db.config)
        try:
            got = {area: keys for area, _h, _c, keys in source.person_totals(sorted(expected))}
        finally:
            source.close()
        assert got == {a: k for a, k in expected.items() if a in got} and got, engine
