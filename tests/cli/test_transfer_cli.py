"""The field-operation commands refuse what cannot be done, with a message and exit status 2,
and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from census.domain.model import Role
from tests.helpers import run_cli as run
from tests.usecases.fieldwork import assign, bundle, enter, site

EA1 = "R01-D01-EA001"


def test_keys_init_twice_is_refused_and_show_prints_the_card(runner: CliRunner,
                                                             tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    assert run(runner, "init", "--db", db, "--user", "E009").exit_code == 0
    shown = run(runner, "keys", "show", "--db", db)
    assert shown.exit_code == 2 and "census keys init" in shown.output
    made = run(runner, "keys", "init", "--db", db)
    assert made.exit_code == 0 and "census-key 1 enumerator E009 " in made.output
    again = run(runner, "keys", "init", "--db", db)
    assert again.exit_code == 2 and "already has its keys" in again.output
    card = tmp_path / "E009.card"
    shown = run(runner, "keys", "show", "--db", db, "--out", card)
    assert card.read_text().strip() in shown.output
    assert "Fingerprint" in shown.output


def test_steps_that_cannot_be_taken_say_why(runner: CliRunner, tmp_path: Path) -> None:
    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    sdb, edb = sup.folder / "census.db", enu.folder / "census.db"
    card = enu.card()
    sup.store.close()
    enu.store.close()
    out = tmp_path / "x.census"
    r = run(runner, "bundle", "export", "--db", edb, "--out", out)
    assert r.exit_code == 2 and "assignment import" in r.output and not out.exists()
    r = run(runner, "assign", "--db", edb, "--enumerator", "E002", "--areas", EA1, "--to", card,
            "--out", out)
    assert r.exit_code == 2 and "for user E001, not E002" in r.output
    r = run(runner, "assign", "--db", sdb, "--enumerator", "E001", "--areas", "NOPE", "--to",
            card, "--out", out)
    assert r.exit_code == 2 and "Unknown area NOPE" in r.output and not out.exists()
    r = run(runner, "assign", "--db", sdb, "--enumerator", "E001", "--areas", EA1, "--to",
            "census-key 1 enumerator E001 nonsense", "--out", out)
    assert r.exit_code == 2 and "key" in r.output and not out.exists()
    r = run(runner, "receipt", "export", "--db", sdb, "--enumerator", "E001", "--out", out)
    assert r.exit_code == 2 and "No user E001" in r.output
    r = run(runner, "review", "resolve", "--db", sdb, "7")
    assert r.exit_code == 2 and "--keep or --take" in r.output
    r = run(runner, "review", "resolve", "--db", sdb, "7", "--keep")
    assert r.exit_code == 2 and "no review item 7" in r.output
    r = run(runner, "area", "close", "--db", sdb, EA1)
    assert r.exit_code == 2 and "cannot be closed yet" in r.output
    r = run(runner, "area", "close", "--db", edb, EA1)
    assert r.exit_code == 2 and "supervisor's step" in r.output


def test_a_supervisor_sees_progress_per_enumerator_and_reviews(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sup = site(tmp_path, Role.SUPERVISOR, "S01", register=True)
    enu = site(tmp_path, Role.ENUMERATOR, "E001")
    assign(sup, enu, [EA1])
    enter(enu, EA1, range(1, 4))
    path = bundle(enu)
    sdb = sup.folder / "census.db"
    sup.store.close()
    monkeypatch.setattr("census.cli.bundles.LARGE", 5)  # a large bundle says it is merging
    r = run(runner, "bundle", "import", "--db", sdb, path)
    assert r.exit_code == 0
    assert "merging 3 dwellings and 3 households" in r.output
    assert "added 6" in r.output
    r = run(runner, "bundle", "import", "--db", sdb, path, "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["files"][0]["already_imported_at"] and data["refused"] == 0
    r = run(runner, "progress", "--db", sdb, "--by", "enumerator", "--json")
    (row,) = [x for x in json.loads(r.output) if x["enumerator"] == "E001"]
    assert (row["completed"], row["households"], row["persons"]) == (3, 3, 9)
    assert row["mean_household_size"] == 3.0 and row["days_idle"] is not None
    r = run(runner, "review", "list", "--db", sdb)
    assert "Nothing to review" in r.output
    bundle(enu)  # number 2, never delivered
    late = bundle(enu)
    r = run(runner, "bundle", "import", "--db", sdb, late)
    assert "Not received from E001: bundle number 2." in r.output
