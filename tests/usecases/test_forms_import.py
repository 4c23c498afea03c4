"""Regressions for defects found in review: repeated ids in one file, merged checks, moves,
codes that must be codes, a truncated audit log, and hostile input lines."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from census.formats.area_csv import read_areas
from census.storage.areas import area_levels
from census.storage.audit import AuditBroken
from census.storage.progress import area_progress
from census.storage.records import count_rows
from census.storage.store import Store
from census.usecases.forms import MAX_LINE, import_lines, read_lines
from census.validation.rules import Problem
from tests.helpers import dwelling, household, jsonl

NOW = datetime(2026, 11, 28, 12, 0)


def run(store: Store, text: str | list[str | Problem]) -> tuple[object, list[tuple[int, str]]]:
    found: list[tuple[int, str]] = []
    lines = text.splitlines(keepends=True) if isinstance(text, str) else text
    report = import_lines(store, lines, now=NOW, sink=lambda n, p: found.append((n, p.rule_id)))
    return report, found


def test_the_same_dwelling_twice_in_one_file_is_judged_against_the_first(store: Store) -> None:
    d = dwelling()
    report, found = run(store, jsonl(d, d, {**d, "revision": 2, "locator": "red roof"}))
    assert found == []
    assert (report.dwellings.added, report.dwellings.unchanged,  # type: ignore[attr-defined]
            report.dwellings.updated) == (1, 1, 1)  # type: ignore[attr-defined]
    assert count_rows(store, "dwelling") == 1
    creations = store.conn.execute("SELECT count(*) FROM audit WHERE record_type = 'dwelling' "
                                   "AND field = '*'").fetchone()[0]
    assert creations == 1 and store.verify_audit().ok


def test_the_same_revision_twice_with_other_content_in_one_file_is_a_conflict(
        store: Store) -> None:
    d = dwelling()
    _, found = run(store, jsonl(d, {**d, "locator": "another gate"}))
    assert found == [(2, "E019")]


def test_a_household_cannot_silently_move_to_another_dwelling(store: Store) -> None:
    h = household()
    first = dwelling(1, households=[h])
    other = dwelling(2, households=[{**h, "revision": 2}])
    _, found = run(store, jsonl(first, other))
    assert found == [(2, "E021")]
    assert store.conn.execute("SELECT dwelling_id FROM household").fetchone() == (first["id"],)


def test_rules_judge_the_record_with_its_stored_households(store: Store) -> None:
    d = dwelling()
    run(store, jsonl(d))
    # A new revision that leaves households out keeps them: no false E003.
    _, found = run(store, jsonl({**d, "revision": 2, "households": [], "locator": "x gate"}))
    assert found == []
    # Recording the dwelling as vacant while a stored household counts persons is refused.
    vacant = {**d, "revision": 3, "households": [],
              "visits": [*d["visits"], {"attempt": 2, "at": "2026-11-21T10:00",
                                        "outcome": "vacant"}]}
    _, found = run(store, jsonl(vacant))
    assert found == [(1, "E004")]


def test_a_dwelling_moved_to_another_area_takes_its_households(store: Store) -> None:
    d = dwelling(area="R01-D01-EA002")
    run(store, jsonl(d))
    run(store, jsonl({**d, "revision": 2, "area": "R01-D01-EA001"}))
    assert store.conn.execute("SELECT area FROM household").fetchone() == ("R01-D01-EA001",)
    rows = {r.area: r for r in area_progress(store, NOW)}
    assert rows["R01-D01-EA001"].persons == 3 and rows["R01-D01-EA002"].persons == 0


@pytest.mark.parametrize("where", ["dwelling", "visit"])
def test_enumerators_are_codes_never_names(store: Store, where: str) -> None:
    d = dwelling()
    if where == "dwelling":
        d["enumerator"] = "Maria Gonzalez"
    else:
        d["visits"][0]["enumerator"] = "Maria Gonzalez"
    _, found = run(store, jsonl(d))
    assert [rule for _, rule in found] == ["E033"]
    assert count_rows(store, "dwelling") == 0


@pytest.mark.parametrize("field, value", [
    ("structure", "7"), ("structure", 7.0), ("revision", "2"), ("away", "2"), ("away", 2.0),
])
def test_json_numbers_must_be_integers(store: Store, field: str, value: object) -> None:
    d = dwelling()
    if field == "away":
        d["households"][0]["away"] = value
    else:
        d[field] = value
    _, found = run(store, jsonl(d))
    assert [rule for _, rule in found] == ["E002" if field == "away" else "E014"]


def test_string_counts_in_the_grid_are_refused(store: Store) -> None:
    d = dwelling(households=[household(residents={"female": {"25-34": "3"}})])
    _, found = run(store, jsonl(d))
    assert found == [(1, "E002")]


def test_hostile_lines(store: Store) -> None:
    deep = '{"id": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    duplicate = '{"id": "x", "id": "y"}\n'
    _, found = run(store, [deep, duplicate, jsonl(dwelling())])
    assert found == [(1, "E030"), (2, "E034")]
    assert count_rows(store, "dwelling") == 1


def test_read_lines_bounds_memory_and_keeps_line_numbers() -> None:
    data = (b"\xef\xbb\xbf{}\n" + b"x" * (MAX_LINE + 10) + b"\n" + b"\xff\n" + b"{}\n")
    items = list(read_lines(io.BytesIO(data)))
    assert items[0] == "{}\n" and items[3] == "{}\n"
    assert isinstance(items[1], Problem) and "longer" in items[1].message()
    assert isinstance(items[2], Problem) and "UTF-8" in items[2].message()


def test_writing_to_a_truncated_audit_log_is_refused(store: Store) -> None:
    run(store, jsonl(dwelling()))
    store.conn.execute("DROP TRIGGER audit_append_only_delete")
    store.conn.execute("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
    store.conn.commit()
    with pytest.raises(AuditBroken, match="audit verify"):
        run(store, jsonl(dwelling(2)))
    assert not store.verify_audit().ok
    assert count_rows(store, "dwelling") == 1


def test_an_area_level_cannot_change_and_names_have_no_control_characters(
        store: Store) -> None:
    header = "code,parent,level,name,expected_dwellings,enumerator\n"
    _, problems = read_areas(io.StringIO(header + "R01-D01-EA001,R01,district,was ea,,\n"),
                             store.config, area_levels(store))
    assert [p.column for p in problems] == ["level"]
    _, problems = read_areas(io.StringIO(header + 'R09,,region,"two\nlines",,\n'),
                             store.config, area_levels(store))
    assert [p.column for p in problems] == ["name"]


def test_override_reasons_are_in_the_audit_reason_column(store: Store) -> None:
    big = household(residents={"female": {"25-34": 9}, "male": {"25-34": 8}},
                    overrides={"W001": "observed_by_enumerator"})
    run(store, jsonl(dwelling(households=[big])))
    reasons = store.conn.execute("SELECT reason FROM audit WHERE record_type = 'household'"
                                 ).fetchall()
    assert reasons == [("W001=observed_by_enumerator",)]


def test_locator_edge_cases(store: Store) -> None:
    blank = dwelling(locator="   ")
    rtl = dwelling(2, locator="gate \u202e evil")
    phone = dwelling(3, locator="call 555_123_4567")
    _, found = run(store, jsonl(blank, rtl, phone))
    assert found == [(2, "E010"), (3, "E010")]
    assert store.conn.execute("SELECT locator FROM dwelling").fetchone() == (None,)




def test_a_form_imported_complete_is_completed_at_import_unless_the_file_says_when(
        store: Store) -> None:
    late = household()
    early = household(2, completed_at="2026-11-20T10:40")
    draft = household(3, status="draft")
    d = dwelling(households=[late, early, draft])
    _, found = run(store, jsonl(d))
    assert found == []

    def completions() -> dict[str, str | None]:
        return dict(store.conn.execute("SELECT id, completed_at FROM household").fetchall())

    assert completions() == {late["id"]: "2026-11-28T12:00", early["id"]: "2026-11-20T10:40",
                             draft["id"]: None}
    # Later revisions (a draft again, a later time given) keep the first completion.
    _, found = run(store, jsonl({**d, "revision": 2, "households": [
        {**late, "revision": 2, "status": "draft"},
        {**early, "revision": 2, "completed_at": "2026-11-27T09:00"}]}))
    assert found == []
    assert completions() == {late["id"]: "2026-11-28T12:00", early["id"]: "2026-11-20T10:40",
                             draft["id"]: None}
    _, found = run(store, jsonl(dwelling(2, households=[household(completed_at="soon")])))
    assert found == [(1, "E016")]
    # A completion later than now, or before 2000, is a wrong clock or a typo (found by review:
    # 2099-12-31 was taken and made a median of 38 million minutes); nothing is stored.
    for when in ("2099-12-31T23:59", "1970-01-01T00:00"):
        _, found = run(store, jsonl(dwelling(3, households=[household(completed_at=when)])))
        assert found == [(1, "E025")]
    assert len(completions()) == 3
