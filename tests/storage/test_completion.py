"""Migration 0009 on databases made before it: completed, returned and approved households get
the best time of their first completion there is (the audit log on the enumerator's device, the
sender's save of a form received complete, else the completed visit), and the daily report of
the enumerator's device is what it was; a second connection for another thread reads and
never writes."""

from __future__ import annotations

import pytest

from census.storage.store import Store
from census.usecases.field_reports import Period, field_report
from tests.helpers import RAW_KEY
from tests.usecases.fieldwork import Site
from tests.usecases.reporting import EXPECTED_ENUMERATOR, FIRST, FRIDAY_NOON, LAST, table, week

DOWNGRADE = ("DROP INDEX household_completed", "DROP INDEX visit_at",
             "DROP INDEX visit_enumerator", "DROP INDEX decision_at",
             "ALTER TABLE household DROP COLUMN completed_at",
             "DELETE FROM _sqlite_migrations WHERE name = '0009_completed_at'")


def as_before_0009(s: Site) -> None:
    """The site's database as the version before migration 0009 left it, opened again (and
    so migrated)."""
    for sql in DOWNGRADE:
        s.store.conn.execute(sql)
    s.store.conn.commit()
    path = s.store.path
    s.store.close()
    s.store = Store.open(path, RAW_KEY)


def completions(s: Site, households: dict[str, str]) -> dict[str, str | None]:
    """Each dwelling number's household's completed_at."""
    return {n: s.store.conn.execute("SELECT completed_at FROM household WHERE id = ?",
                                    (hid,)).fetchone()[0] for n, hid in households.items()}


def test_migration_fills_each_completion_from_the_best_time_there_is(
        monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> None:
    sup, enu = team
    households = week(monkeypatch, sup, enu)
    before = completions(enu, households)
    assert before == {"1": "2026-11-16T09:30", "2": "2026-11-17T11:20",
                      "6": "2026-11-19T09:50", "4": "2026-11-19T16:40"}
    for s in (enu, sup):
        as_before_0009(s)
    # The enumerator's device: its audit log has each completion, to the minute.
    assert completions(enu, households) == before
    period = Period(FIRST, LAST)
    assert table([f.as_dict() for f in field_report(enu.store, FRIDAY_NOON, period).rows()]) == (
        EXPECTED_ENUMERATOR)
    # The supervisor's: the enumerator's last save of the forms still complete; the completed
    # visit of the one approved and the one returned since (their save is the decision's).
    assert completions(sup, households) == {"1": "2026-11-16T09:00", "2": "2026-11-17T11:20",
                                            "6": "2026-11-19T09:00", "4": "2026-11-19T16:40"}
    assert sup.store.conn.execute("SELECT count(*) FROM household WHERE completed_at IS NULL "
                                  "AND status != 'draft'").fetchone() == (0,)
    names = {r[0] for r in sup.store.conn.execute("SELECT name FROM sqlite_master WHERE "
                                                  "type = 'index'")}
    assert {"household_completed", "visit_at", "visit_enumerator", "decision_at"} <= names


def test_a_reader_reads_in_another_thread_and_never_writes(team: tuple[Site, Site]) -> None:
    import threading

    sup, _enu = team
    reader = Store.reader(sup.store.path, RAW_KEY)
    found: list[object] = []

    def read() -> None:
        found.append(reader.conn.execute("SELECT count(*) FROM area").fetchone()[0])
        try:
            reader.conn.execute("DELETE FROM area")
        except Exception as exc:  # the driver's own error class
            found.append(str(exc))

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    reader.close()
    assert found[0] == 7 and "readonly" in str(found[1]).replace("-", "").replace(" ", "")
    assert sup.store.conn.execute("SELECT count(*) FROM area").fetchone() == (7,)
