"""Operator sessions travel up in bundles (issue 16): a supervisor sees its enumerators' keys and
minutes per form, the office its districts' clerks' figures. An enumerator's file speaks for
its own entry only; a row sent again updates, never doubles; a wrong row refuses the file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from census.domain.keying import PaperForm
from census.domain.model import Outcome, Role
from census.formats.payload import PayloadError
from census.formats.sessions import session_rows_of
from census.storage.keying import SessionCounts
from census.usecases.bundles import import_bundle
from census.usecases.keying import Keying, keep_session, open_session
from census.usecases.operators import operator_figures
from tests.usecases.fieldwork import NOW, assign, bundle, seal_rows, site

EA = "R01-D01-EA001"
AT = datetime(2026, 11, 28, 9, 0)


def figures(store: object) -> dict[tuple[str, str], tuple[int, int]]:
    return {(f.operator, f.mode): (f.forms, f.keystrokes)
            for f in operator_figures(store)}  # type: ignore[arg-type]


def test_sessions_go_up_and_are_updated_not_doubled(tmp_path: Path) -> None:
    office = site(tmp_path, Role.OFFICE, "HQ", register=True)
    sup = site(tmp_path, Role.SUPERVISOR, "S01")
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(office, sup, ["R01-D01"])
    assign(sup, enu, [EA])
    session = open_session(enu.store, "E001", "entry", None, None, AT)
    keep_session(enu.store, session, SessionCounts(forms=2, keystrokes=40),
                 AT + timedelta(minutes=10))
    bundle(enu, sup)
    assert figures(sup.store) == {("E001", "entry"): (2, 40)}
    keep_session(enu.store, session, SessionCounts(forms=3, keystrokes=55),
                 AT + timedelta(minutes=15))
    bundle(enu, sup)
    bundle(enu, sup)  # the same again changes nothing
    assert figures(sup.store) == {("E001", "entry"): (3, 55)}
    # The district's clerk keys a form; the office sees both.
    k = Keying(sup.store, "K01", lambda: AT)
    assert k.key(PaperForm(EA, 50, 1, 1, AT.date(), Outcome.COMPLETED,
                           {("female", "25-34"): 1})).ok
    bundle(sup, office)
    assert figures(office.store) == {("E001", "entry"): (3, 55), ("K01", "key"): (1, 0)}
    for s in (office, sup, enu):
        s.store.close()


def test_an_enumerators_file_speaks_for_its_own_entry_only(tmp_path: Path) -> None:
    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(sup, enu, [EA])
    row = ["E001", 1, "E001", "entry", None, None, "2026-11-28T09:00:00",
           "2026-11-28T09:30:00", 0, 2, 60, 1, 0, 0, 0]
    forged = [["E001", 2, "E002", "entry", *row[4:]], ["E001", 3, "E001", "key", *row[4:]],
              ["S01", 1, "E001", "entry", *row[4:]]]
    path = seal_rows(enu, sup, {"sessions": [row, *forged]}, tmp_path / "forged.census")
    import_bundle(sup.store, path, NOW)
    assert figures(sup.store) == {("E001", "entry"): (2, 60)}
    sup.store.close()
    enu.store.close()


@pytest.mark.parametrize("change, why", [
    ({1: 0}, "origin_id"),
    ({2: "Jane Doe"}, "operator"),
    ({3: "typing"}, "mode"),
    ({5: "share everything"}, "setting"),
    ({6: "yesterday"}, "started_at"),
    ({7: "2026-11-28T08:00:00"}, "ended_at is before"),
    ({10: -1}, "keystrokes"),
    ({11: 1.5}, "bad_keystrokes"),
])
def test_a_wrong_session_row_is_refused(change: dict[int, object], why: str) -> None:
    row: list[object] = ["E001", 1, "E001", "entry", None, None, "2026-11-28T09:00:00",
                         "2026-11-28T09:30:00", 0, 2, 60, 1, 0, 0, 0]
    for i, v in change.items():
        row[i] = v
    with pytest.raises(PayloadError, match=why):
        session_rows_of({"sessions": [row]})
    with pytest.raises(PayloadError, match="15"):
        session_rows_of({"sessions": [row[:14]]})
