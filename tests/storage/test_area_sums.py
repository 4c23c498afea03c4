"""The sums kept per area as households are written (`census.storage.area_sums`, issue 18): after
any sequence of writes — new households, status changes (counted or not), changed counts, a
dwelling moved to another area, households and dwellings removed — they equal a recount of the
households, and the tabulation read from them equals a GROUP BY over every household."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from census.storage.area_sums import rebuild, recount
from census.storage.store import Store
from census.storage.sums import household_sizes, person_totals
from tests.helpers import RAW_KEY
from tests.usecases.population import supervisor

COUNTED = ("complete", "approved")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sums") / "s.db"
    supervisor(path, households=300, keep_open=4).close()  # every area open: writes allowed
    return path


def reference(store: Store) -> tuple[list[object], list[object]]:
    """The tabulation as a GROUP BY over every household (what was read before the sums were
    kept), independent of the kept sums."""
    counts, keys = store.counts, store.keys
    persons = [(r[0], r[1], list(r[2:2 + len(counts)]), list(r[2 + len(counts):]))
               for r in store.conn.execute(
        f"SELECT area, count(*), {', '.join(f'sum({c})' for c in (*counts, *keys))} "
        "FROM household WHERE status IN ('complete', 'approved') GROUP BY area ORDER BY area")]
    sizes = [tuple(r) for r in store.conn.execute(
        f"SELECT area, min(usual_residents, 8), count(*), sum({' + '.join(keys)}) "
        "FROM household WHERE status IN ('complete', 'approved') AND usual_residents > 0 "
        "GROUP BY 1, 2 ORDER BY 1, 2")]
    return persons, sizes  # type: ignore[return-value]


STATUSES = ("draft", "complete", "returned", "approved")
op = st.one_of(
    st.tuples(st.just("status"), st.integers(0, 10_000), st.sampled_from(STATUSES)),
    st.tuples(st.just("count"), st.integers(0, 10_000), st.integers(0, 15), st.integers(0, 9)),
    st.tuples(st.just("move"), st.integers(0, 10_000), st.integers(0, 3)),
    st.tuples(st.just("drop_household"), st.integers(0, 10_000)),
    st.tuples(st.just("drop_dwelling"), st.integers(0, 10_000)),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=12))
def test_kept_sums_equal_a_recount_after_any_writes(template: Path, tmp_path: Path,
                                                    ops: list[tuple[object, ...]]) -> None:
    path = tmp_path / "s.db"
    shutil.copy(template, path)
    for extra in ("-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)
    store = Store.open(path, RAW_KEY)
    try:
        eas = [r[0] for r in store.conn.execute(
            "SELECT code FROM area WHERE level = 'ea' ORDER BY code")]
        with store.write():
            for kind, n, *rest in ops:
                ids = [r[0] for r in store.conn.execute("SELECT id FROM household ORDER BY id")]
                dwellings = [r[0] for r in store.conn.execute(
                    "SELECT id FROM dwelling ORDER BY id")]
                if not ids or not dwellings:
                    break
                hid, did = ids[int(n) % len(ids)], dwellings[int(n) % len(dwellings)]
                if kind == "status":
                    store.conn.execute("UPDATE household SET status = ? WHERE id = ?",
                                       (rest[0], hid))
                elif kind == "count":
                    cell, value = int(rest[0]), int(rest[1])
                    store.conn.execute(
                        f"UPDATE household SET {store.counts[cell]} = ?, {store.keys[cell]} = "
                        f"? * 123456789, usual_residents = min(30, usual_residents + ?) "
                        "WHERE id = ?", (value, value, value, hid))
                elif kind == "move":  # as records.py moves a dwelling's households
                    area = eas[int(rest[0]) % len(eas)]
                    store.conn.execute("UPDATE household SET area = ? WHERE dwelling_id = ? "
                                       "AND area != ?", (area, did, area))
                elif kind == "drop_household":
                    store.conn.execute("DELETE FROM household WHERE id = ?", (hid,))
                else:  # its households go by the foreign key's cascade
                    store.conn.execute("DELETE FROM dwelling WHERE id = ?", (did,))
        assert list(recount(store)) == []
        persons, sizes = reference(store)
        assert list(person_totals(store)) == persons
        assert list(household_sizes(store)) == sizes
    finally:
        store.close()


def test_a_damaged_sum_is_found_and_rebuilt(template: Path, tmp_path: Path) -> None:
    shutil.copy(template, tmp_path / "s.db")
    store = Store.open(tmp_path / "s.db", RAW_KEY)
    try:
        first = store.conn.execute("SELECT min(area) FROM area_sums").fetchone()[0]
        with store.write():  # as a file changed outside census would be
            store.conn.execute("UPDATE area_sums SET n_00 = n_00 + 1 WHERE area = ?", (first,))
        assert list(recount(store)) == [first]
        with store.write():
            rebuild(store, [first])
        assert list(recount(store)) == []
        assert [row[:3] for row in person_totals(store)] == [row[:3] for row in
                                                             reference(store)[0]]
    finally:
        store.close()


def as_before_0010(store: Store) -> None:
    """Make `store` a database of the version before the kept sums."""
    with store.write():
        for sql in ("DROP TRIGGER area_sums_insert", "DROP TRIGGER area_sums_delete",
                    "DROP TRIGGER area_sums_update", "DROP TABLE area_sums",
                    "DROP TABLE area_size_sums",
                    "DELETE FROM _sqlite_migrations WHERE name = '0010_area_sums'"):
            store.conn.execute(sql)


def test_the_migration_fills_the_sums_of_a_database_made_before(tmp_path: Path) -> None:
    """A database of the previous version: the tables are made and filled from its
    households when it is opened."""
    store = supervisor(tmp_path / "s.db", households=200)
    try:
        before = reference(store)
        as_before_0010(store)
    finally:
        store.close()
    again = Store.open(tmp_path / "s.db", RAW_KEY)
    try:
        assert list(recount(again)) == []
        assert (list(person_totals(again)), list(household_sizes(again))) == before
        assert before[0] and COUNTED
    finally:
        again.close()


def test_a_save_by_another_program_during_the_recount_is_no_difference(
        template: Path, tmp_path: Path) -> None:
    """Found by review: the recount read its four parts at different moments, so a save
    committed in between looked like damage ("the file was changed outside census")."""
    shutil.copy(template, tmp_path / "s.db")
    checker = Store.open(tmp_path / "s.db", RAW_KEY)
    writer = Store.open(tmp_path / "s.db", RAW_KEY)
    try:
        hid = writer.conn.execute(
            "SELECT id FROM household WHERE status = 'complete' LIMIT 1").fetchone()[0]
        real = checker.conn

        class Between:
            """The checker's connection; after its first read, the other program saves."""

            reads = 0

            def execute(self, *args: object) -> object:
                rows = real.execute(*args).fetchall()
                Between.reads += 1
                if "FROM area_sums" in str(args[0]):  # the kept sums are read, then:
                    with writer.write():
                        writer.conn.execute("UPDATE household SET status = 'returned' "
                                            "WHERE id = ?", (hid,))
                return iter(rows)

            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

        checker.conn = Between()
        try:
            assert list(recount(checker)) == []
        finally:
            checker.conn = real
        assert Between.reads > 2 and list(recount(checker)) == []
    finally:
        writer.close()
        checker.close()


def test_missing_triggers_are_found_and_put_back(template: Path, tmp_path: Path) -> None:
    from census.usecases.check import repair_sums, sums_differ

    shutil.copy(template, tmp_path / "s.db")
    store = Store.open(tmp_path / "s.db", RAW_KEY)
    try:
        with store.write():
            store.conn.execute("DROP TRIGGER area_sums_update")
            store.conn.execute("UPDATE household SET status = 'draft' WHERE rowid = (SELECT "
                               "min(rowid) FROM household WHERE status = 'complete')")
        wrong = sums_differ(store)
        assert wrong.triggers_missing == ("area_sums_update",) and len(wrong.areas) == 1
        assert repair_sums(store) == wrong and not sums_differ(store)
        with store.write():  # the trigger is back: the next change is kept too
            store.conn.execute("UPDATE household SET status = 'draft' WHERE rowid = (SELECT "
                               "min(rowid) FROM household WHERE status = 'complete')")
        assert not sums_differ(store)
    finally:
        store.close()


def _open(path: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        Store.open(Path(path), RAW_KEY).close()
        out.put("ok")  # type: ignore[attr-defined]
    except BaseException as exc:
        out.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def test_two_programs_opening_an_older_database_at_once_both_open_it(tmp_path: Path) -> None:
    """Found by review: both saw migration 0010 pending; the second failed with "table
    area_sums already exists". It now looks again and finds nothing left to do."""
    import multiprocessing

    store = supervisor(tmp_path / "old.db", households=1500)
    as_before_0010(store)
    store.close()
    context = multiprocessing.get_context("fork")
    for trial in range(3):
        path = tmp_path / f"t{trial}.db"
        shutil.copy(tmp_path / "old.db", path)
        start, out = context.Barrier(2), context.Queue()
        procs = [context.Process(target=_open, args=(str(path), start, out)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [out.get(timeout=5) for _ in procs] == ["ok", "ok"], trial
        again = Store.open(path, RAW_KEY)
        try:
            assert list(recount(again)) == []
        finally:
            again.close()
