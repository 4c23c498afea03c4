"""`census verify compare A.db B.db` (issue 16, independent verification): two clerks key the
same paper forms into two databases; every field keyed differently is listed, matched by
questionnaire number although the record ids differ."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from census.domain.ids import new_id
from tests.helpers import RAW_KEY, dwelling, enumerator_db, household, jsonl
from tests.helpers import run_cli as run


def keyed(tmp_path: Path, name: str, records: list[dict[str, Any]]) -> Path:
    path = enumerator_db(tmp_path / f"{name}.db")
    (tmp_path / f"{name}.jsonl").write_text(jsonl(*records))
    result = run(CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}), "forms", "import", "--db", path,
                 tmp_path / f"{name}.jsonl")
    assert result.exit_code == 0, result.output
    return path


def with_new_ids(record: dict[str, Any]) -> dict[str, Any]:
    """The same paper form keyed by another clerk: other record ids."""
    again = copy.deepcopy(record)
    again["id"] = new_id()
    for h in again["households"]:
        h["id"] = new_id()
    return again


def test_the_fields_keyed_differently_are_listed(runner: CliRunner, tmp_path: Path) -> None:
    forms = [dwelling(1, 1), dwelling(2, 1, households=[household(1), household(2)]),
             dwelling(3, 1)]
    second = [with_new_ids(f) for f in forms]
    second[1]["households"][1]["residents"]["male"]["25-34"] = 2  # a 1 keyed as 2
    second[1]["households"][1]["declared_total"] = 4
    second[2]["type"] = "apartment"
    del second[0]  # the second clerk has not keyed form 1/1 yet
    a, b = keyed(tmp_path, "a", forms), keyed(tmp_path, "b", second)
    result = run(runner, "verify", "compare", a, b, "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["forms"] == 3
    assert [(m["questionnaire"], m["field"], m["first"], m["second"])
            for m in data["mismatches"]] == [
        ("R01-D01-EA001/1/1", "keyed", "yes", None),
        ("R01-D01-EA001/2/1/2", "residents:male:25-34", 1, 2),
        ("R01-D01-EA001/2/1/2", "declared_total", None, 4),
        ("R01-D01-EA001/3/1", "type", "house", "apartment")]
    words = run(runner, "verify", "compare", a, b)
    assert "3 forms compared; 4 fields keyed differently." in words.output
    assert "residents:male:25-34" in words.output


def test_the_same_keying_is_no_difference(runner: CliRunner, tmp_path: Path) -> None:
    forms = [dwelling(1, 1), dwelling(2, 1)]
    a = keyed(tmp_path, "a", forms)
    b = keyed(tmp_path, "b", [with_new_ids(f) for f in forms])
    result = run(runner, "verify", "compare", a, b)
    assert result.exit_code == 0, result.output
    assert "2 forms compared; 0 fields keyed differently." in result.output


def test_bad_requests_are_messages(runner: CliRunner, tmp_path: Path) -> None:
    a = keyed(tmp_path, "a", [dwelling(1, 1)])
    result = run(runner, "verify", "compare", a, tmp_path / "missing.db")
    assert result.exit_code == 2 and "There is no census database" in result.output
    b = keyed(tmp_path, "b", [with_new_ids(dwelling(1, 1))])
    result = run(runner, "verify", "compare", a, b, "--areas", "NOPE")
    assert result.exit_code == 2 and "Unknown area NOPE" in result.output
    result = run(runner, "verify", "compare", a, tmp_path / "." / "a.db", "--json")
    assert result.exit_code == 2 and "are the same database" in result.output
    assert "mismatches" not in result.output  # refused before any output


def test_a_copy_is_not_verified(runner: CliRunner, tmp_path: Path) -> None:
    """Found by review: a copy of the first clerk's database (or the same file twice) passed
    as verified."""
    import shutil

    a = keyed(tmp_path, "a", [dwelling(1, 1)])
    shutil.copy(a, tmp_path / "copy.db")
    result = run(runner, "verify", "compare", a, tmp_path / "copy.db", "--json")
    assert result.exit_code == 1
    assert {m["field"] for m in json.loads(result.output)["mismatches"]} == {"same_record"}


def test_visits_and_unfinished_forms_are_compared(runner: CliRunner, tmp_path: Path) -> None:
    """Found by review: only the last outcome was compared (a visit keyed by one clerk only,
    its time, and a household left as a draft passed)."""
    form = dwelling(1, 1, visits=[{"attempt": 1, "at": "2026-11-19T09:00",
                                   "outcome": "no_one_home"},
                                  {"attempt": 2, "at": "2026-11-20T10:00",
                                   "outcome": "completed"}])
    other = with_new_ids(form)
    other["visits"] = [{"attempt": 1, "at": "2026-11-19T09:30", "outcome": "no_one_home"},
                       {"attempt": 2, "at": "2026-11-20T10:00", "outcome": "completed"},
                       {"attempt": 3, "at": "2026-11-21T10:00", "outcome": "completed"}]
    other["households"][0]["status"] = "draft"
    a, b = keyed(tmp_path, "a", [form]), keyed(tmp_path, "b", [other])
    data = json.loads(run(runner, "verify", "compare", a, b, "--json").output)
    assert [(m["household"], m["field"], m["first"], m["second"]) for m in data["mismatches"]] == [
        (None, "visit:1:at", "2026-11-19T09:00", "2026-11-19T09:30"),
        (None, "visit:3:keyed", None, "yes"),
        (1, "status", "complete", "draft")]


def test_the_second_database_s_own_passphrase_is_asked_for_by_name(
        tmp_path: Path) -> None:
    a = keyed(tmp_path, "a", [dwelling(1, 1)])
    other_key = "x'" + "2" * 64 + "'"
    b = enumerator_db(tmp_path / "b.db", key=other_key)
    result = run(CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}), "verify", "compare", a, b)
    assert result.exit_code == 2 and "--other-passphrase-file" in result.output
    (tmp_path / "b.pass").write_text(other_key + "\n")
    (tmp_path / "b.pass").chmod(0o600)
    result = run(CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}), "verify", "compare", a, b,
                 "--other-passphrase-file", tmp_path / "b.pass")
    assert result.exit_code == 1 and "1 form compared; 1 field keyed differently." in \
        result.output  # b holds no form: the one of a is keyed there only
