"""The batch CLI through click's CliRunner, plus real subprocess runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from census.cli import cli
from tests.helpers import PASSPHRASE, RAW_KEY, dwelling, household, jsonl
from tests.helpers import run_cli as run

AREAS_CSV = """code,parent,level,name,expected_dwellings,enumerator
R01,,region,North,,
R01-D01,R01,district,Riverside District,,
R01-D01-EA001,R01-D01,ea,Riverside 1,120,E001
R01-D01-EA002,R01-D01,ea,"Riverside 2, by the lake",80,E002
"""


def make_ready(runner: CliRunner, tmp_path: Path) -> Path:
    """A database made with `runner`'s key (or passphrase), the area register imported."""
    db = tmp_path / "c.db"
    assert run(runner, "init", "--db", db).exit_code == 0
    areas = tmp_path / "areas.csv"
    areas.write_text(AREAS_CSV)
    result = run(runner, "area", "import", areas, "--db", db)
    assert result.exit_code == 0, result.output
    assert "added 4" in result.output
    return db


@pytest.fixture
def ready(runner: CliRunner, tmp_path: Path) -> Path:
    """A database with the area register imported (raw key)."""
    return make_ready(runner, tmp_path)


def test_every_command_has_help() -> None:
    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        out = []
        for name, cmd in group.commands.items():
            out.append((f"{prefix} {name}", cmd))
            if isinstance(cmd, click.Group):
                out += walk(cmd, f"{prefix} {name}")
        return out

    commands = walk(cli, "census")
    assert len(commands) >= 12
    for name, cmd in commands:
        assert cmd.help and len(cmd.help) > 20, name
        for param in cmd.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert param.help, f"{name} {param.opts}"


def test_init_refuses_a_changed_config(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert run(runner, "init", "--db", db).exit_code == 0
    again = run(runner, "init", "--db", db)
    assert again.exit_code == 0 and "nothing changed" in again.output
    other = tmp_path / "other.toml"
    other.write_text('[persons]\nage_bands = ["0-14", "15-64", "65+"]\n[rules]\nadult_age = 15\n')
    refused = run(runner, "init", "--db", db, "--config", other)
    assert refused.exit_code == 2
    assert "another survey config" in refused.output and "refused" in refused.output
    role = run(runner, "init", "--db", db, "--role", "supervisor")
    assert role.exit_code == 2 and "role cannot change" in role.output


def test_init_with_custom_config_and_bad_configs(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[persons]\nage_bands = ["0-14", "15-64", "65+"]\n')
    assert run(runner, "init", "--db", tmp_path / "g.db", "--config", good).exit_code == 0
    cases = {
        '[persons]\nage_bands = ["0-4", "10-14", "15+"]\n': "uncovered",
        '[persons]\nage_bands = ["0-4", "3-14", "15+"]\n': "overlaps",
        '[persons]\nage_bands = ["0-4", "5-14"]\n': "open-ended",
        "[persons]\nreligion = true\n": "unknown key",
        "[persons\n": "not valid TOML",
    }
    for i, (text, expected) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.toml"
        bad.write_text(text)
        db = tmp_path / f"b{i}.db"
        result = run(runner, "init", "--db", db, "--config", bad)
        assert result.exit_code == 2, text
        assert expected in result.output, (text, result.output)
        assert not db.exists()
    missing = run(runner, "init", "--db", tmp_path / "m.db", "--config", tmp_path / "none.toml")
    assert missing.exit_code == 2 and "Cannot read the config file" in missing.output


def test_user_must_be_a_code(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "init", "--db", tmp_path / "u.db", "--user", "Mary Smith")
    assert result.exit_code == 2 and "never names" in result.output


def test_area_list_json(runner: CliRunner, ready: Path) -> None:
    result = run(runner, "area", "list", "--db", ready, "--json")
    data = json.loads(result.output)
    assert [a["code"] for a in data] == ["R01", "R01-D01", "R01-D01-EA001", "R01-D01-EA002"]
    assert data[3]["name"] == "Riverside 2, by the lake"
    assert data[2]["expected_dwellings"] == 120


@pytest.mark.parametrize("csv_text, expected", [
    ("code,parent,level,name\nR01,,region,North\n", "header must be exactly"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR01,,province,North,,\n",
     "areas.csv:2: level:"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR02-D01,R02,district,X,,\n",
     "areas.csv:2: parent:"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR03,,region,X,many,\n",
     "areas.csv:2: expected_dwellings:"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR03,,region,X,,Jane Doe\n",
     "areas.csv:2: enumerator:"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR03,,region,\"unclosed,,\n",
     "not valid CSV"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR03,,region,Call 0712345678,,\n",
     "phone number"),
    ("code,parent,level,name,expected_dwellings,enumerator\nR03,,region,A,,\nR03,,region,B,,\n",
     "listed twice"),
    ("", "empty"),
])
def test_bad_area_files_change_nothing(runner: CliRunner, ready: Path, tmp_path: Path,
                                       csv_text: str, expected: str) -> None:
    bad = tmp_path / "areas.csv"
    bad.write_text(csv_text)
    before = run(runner, "area", "list", "--db", ready, "--json").output
    result = run(runner, "area", "import", bad, "--db", ready)
    assert result.exit_code == 2
    assert expected in result.output, result.output
    assert "no area was imported" in result.output or "empty" in result.output
    assert run(runner, "area", "list", "--db", ready, "--json").output == before


def test_forms_import_reports_and_stores_valid_lines(runner: CliRunner, ready: Path,
                                                     tmp_path: Path) -> None:
    forms = tmp_path / "forms.jsonl"
    bad_count = dwelling(structure=2, households=[household(residents={"male": {"0-4": -3}})])
    forms.write_text(jsonl(dwelling(), bad_count, dwelling(structure=3)) + "not json\n")
    result = run(runner, "forms", "import", forms, "--db", ready)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{forms}:2: E001 households[0].residents.male.0-4: -3 is outside 0 to 60" in lines[0]
    assert lines[1].startswith(f"{forms}:4: E030 : the line is not valid JSON")
    assert "lines 4, invalid 2" in result.output
    progress = json.loads(run(runner, "progress", "--db", ready, "--json").output)
    assert {r["area"]: r["listed"] for r in progress}["R01-D01-EA001"] == 2
    again = run(runner, "forms", "import", forms, "--db", ready, "--json")
    report = json.loads(again.output)
    assert report["dwellings"]["unchanged"] == 2 and report["dwellings"]["added"] == 0
    assert {p["rule"] for p in report["problems_found"]} == {"E001", "E030"}


def test_forms_import_all_or_nothing(runner: CliRunner, ready: Path, tmp_path: Path) -> None:
    forms = tmp_path / "forms.jsonl"
    forms.write_text(jsonl(dwelling(), dwelling(structure=2, bogus=1)))
    result = run(runner, "forms", "import", forms, "--db", ready, "--all-or-nothing")
    assert result.exit_code == 1
    assert "E031 bogus" in result.output and "nothing was stored" in result.output
    progress = json.loads(run(runner, "progress", "--db", ready, "--json").output)
    assert all(r["listed"] == 0 for r in progress)


def test_forms_import_bad_files(runner: CliRunner, ready: Path, tmp_path: Path) -> None:
    missing = run(runner, "forms", "import", tmp_path / "nope.jsonl", "--db", ready)
    assert missing.exit_code == 2 and "Cannot read" in missing.output
    binary = tmp_path / "bin.jsonl"
    good = jsonl(dwelling()).encode()
    binary.write_bytes(b"\xef\xbb\xbf" + good + b"\xff\xfe\x00garbage\n" + jsonl(
        dwelling(structure=2)).encode())
    result = run(runner, "forms", "import", binary, "--db", ready)
    # A BOM is accepted; the line that is not UTF-8 is reported with its number; the rest is read.
    assert result.exit_code == 1
    assert f"{binary}:2: E030 : the line is not valid JSON (the line is not UTF-8 text)" in (
        result.output)
    assert "lines 3, invalid 1" in result.output


def test_check_and_audit_verify(runner: CliRunner, ready: Path, tmp_path: Path) -> None:
    forms = tmp_path / "forms.jsonl"
    forms.write_text(jsonl(dwelling(households=[household(respondent="proxy")])))
    assert run(runner, "forms", "import", forms, "--db", ready).exit_code == 0
    result = run(runner, "check", "--db", ready, "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["errors"] == 0
    assert [p["rule"] for p in data["problems"]] == ["I001"]
    area = run(runner, "check", "--db", ready, "--area", "R01-D01-EA002")
    assert area.exit_code == 0 and "Problems: 0;" in area.output
    unknown = run(runner, "check", "--db", ready, "--area", "NOPE")
    assert unknown.exit_code == 2 and "Unknown area" in unknown.output
    verify = run(runner, "audit", "verify", "--db", ready)
    assert verify.exit_code == 0 and "intact" in verify.output


def test_wrong_passphrase_and_missing_passphrase(tmp_path: Path) -> None:
    # The passphrase is under test: the database is made with a real one.
    ready = make_ready(CliRunner(env={"CENSUS_PASSPHRASE": PASSPHRASE}), tmp_path)
    wrong = CliRunner(env={"CENSUS_PASSPHRASE": "wrong"})
    result = run(wrong, "progress", "--db", ready)
    assert result.exit_code == 2 and "passphrase is wrong" in result.output
    none = CliRunner(env={"CENSUS_PASSPHRASE": ""})
    result = run(none, "progress", "--db", ready)
    assert result.exit_code == 2 and "CENSUS_PASSPHRASE" in result.output
    phrase = tmp_path / "phrase.txt"
    phrase.write_text(PASSPHRASE + "\n")
    phrase.chmod(0o600)
    ok = run(none, "progress", "--db", ready, "--passphrase-file", phrase)
    assert ok.exit_code == 0, ok.output
    phrase.write_text("")
    empty = run(none, "progress", "--db", ready, "--passphrase-file", phrase)
    assert empty.exit_code == 2 and "empty" in empty.output


def test_no_database_yet(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "progress", "--db", tmp_path / "none.db")
    assert result.exit_code == 2 and "census init" in result.output
    bare = run(runner, "status", "--db", tmp_path / "none.db")
    assert bare.exit_code == 0 and "census demo" in bare.output
    data = json.loads(run(runner, "status", "--db", tmp_path / "none.db", "--json").output)
    assert data["exists"] is False


def test_bare_census_reports_on_the_default_database(runner: CliRunner) -> None:
    empty = run(runner)
    assert empty.exit_code == 0 and "No census database yet" in empty.output
    assert run(runner, "demo", "--households", "30").exit_code == 0
    status = run(runner)
    assert status.exit_code == 0 and "role: enumerator" in status.output
    assert "R01-D01-EA001" in status.output


def test_plain_and_corrupt_files(runner: CliRunner, tmp_path: Path) -> None:
    import sqlite3

    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    result = run(runner, "progress", "--db", plain)
    assert result.exit_code == 2 and "unencrypted" in result.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    result = run(runner, "check", "--db", junk)
    assert result.exit_code == 2 and "damaged" in result.output


def test_demo_then_status(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run(runner, "demo", "--db", db, "--households", "120")
    assert result.exit_code == 0 and "Created the demo database" in result.output
    again = run(runner, "demo", "--db", db)
    assert again.exit_code == 0 and "nothing was changed" in again.output
    status = run(runner, "status", "--db", db)
    assert "R01-D01-EA001" in status.output
    data = json.loads(run(runner, "status", "--db", db, "--json").output)
    assert data["role"] == "enumerator" and data["areas"][0]["area"] == "R01-D01-EA001"
    assert run(runner, "check", "--db", db).exit_code == 0
    assert run(runner, "audit", "verify", "--db", db).exit_code == 0


def test_demo_prints_its_passphrase(tmp_path: Path) -> None:
    result = run(CliRunner(env={"CENSUS_PASSPHRASE": ""}), "demo", "--db", tmp_path / "d.db",
                 "--households", "20")
    assert result.exit_code == 0 and "passphrase is: demo" in result.output
    ok = run(CliRunner(env={"CENSUS_PASSPHRASE": "demo"}), "progress", "--db",
             tmp_path / "d.db")
    assert ok.exit_code == 0 and "R01-D01-EA001" in ok.output


def _python() -> str:
    return sys.executable


def test_real_subprocess_run(tmp_path: Path) -> None:
    # A real passphrase: a wrong one is under test (its message, SQLCipher's log kept quiet).
    env = {**os.environ, "CENSUS_PASSPHRASE": "pw", "XDG_DATA_HOME": str(tmp_path)}
    db = tmp_path / "sub.db"
    made = subprocess.run([_python(), "-m", "census", "demo", "--db", str(db), "--households",
                           "50"], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    out = subprocess.run([_python(), "-m", "census", "progress", "--db", str(db), "--json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert sum(r["listed"] for r in json.loads(out.stdout)) > 50
    bad = subprocess.run([_python(), "-m", "census", "progress", "--db", str(db)],
                         env={**env, "CENSUS_PASSPHRASE": "nope"}, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr + bad.stdout and "passphrase is wrong" in bad.stderr
    assert "ERROR CORE" not in bad.stderr  # SQLCipher's own log stays quiet


def test_default_database_lives_in_the_user_data_folder(tmp_path: Path) -> None:
    env = {**os.environ, "CENSUS_PASSPHRASE": RAW_KEY, "XDG_DATA_HOME": str(tmp_path / "data")}
    made = subprocess.run([_python(), "-m", "census", "demo", "--households", "20"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "data" / "census" / "census.db").exists()


def test_batch_cli_does_not_import_textual() -> None:
    code = ("import sys; from census.cli import cli\n"
            "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'sqlcipher3', 'cryptography', 'rich')]\n"
            "print(sorted(set(m.split('.')[0] for m in heavy)))")
    out = subprocess.run([_python(), "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
