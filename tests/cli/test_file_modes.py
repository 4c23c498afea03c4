"""Owner-only files (issue 14): what census writes is its owner's alone, whatever the umask of
the shell that runs it, and a passphrase file others may read is refused with the fix."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import PASSPHRASE, RAW_KEY, run_cli

CENSUS = Path(sys.executable).with_name("census")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def census(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real console script under the usual umask 022, as a user's shell runs it."""
    env = {**os.environ, "CENSUS_PASSPHRASE": RAW_KEY, "CENSUS_LANG": "en"}
    return subprocess.run([str(CENSUS), *(str(a) for a in args)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False,
                          preexec_fn=lambda: os.umask(0o022))


def test_every_file_and_folder_census_makes_is_the_owners(tmp_path: Path) -> None:
    db = tmp_path / "new" / "deeper" / "census.db"
    areas = tmp_path / "areas.csv"
    areas.write_text("code,parent,level,name,expected_dwellings,enumerator\n"
                     "R01,,region,North,,\nR01-D01,R01,district,Riverside,,\n"
                     "R01-D01-EA001,R01-D01,ea,Riverside 1,50,E001\n")
    for args in (("init", "--db", db), ("area", "import", areas, "--db", db),
                 ("keys", "init", "--db", db),
                 ("keys", "show", "--db", db, "--out", tmp_path / "card.txt")):
        done = census(*args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    made = [tmp_path / "new", tmp_path / "new" / "deeper"]
    assert [oct(mode(p)) for p in made] == [oct(0o700)] * 2
    files = [p for p in (tmp_path / "new" / "deeper").iterdir()] + [tmp_path / "card.txt"]
    assert db in files
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o600) for p in files}


def test_the_wal_and_shm_of_a_new_database_are_the_owners(tmp_path: Path) -> None:
    """In-process too (a library user's umask is left alone): the file is made 0600 before
    SQLite opens it, and SQLite gives its -wal and -shm the database's mode."""
    from census.domain.config import default_config
    from census.domain.model import Role
    from census.storage.store import Store

    old = os.umask(0o022)
    try:
        store = Store.create(tmp_path / "f" / "c.db", RAW_KEY, default_config(), Role.ENUMERATOR,
                             "E001")
        try:
            wal, shm = tmp_path / "f" / "c.db-wal", tmp_path / "f" / "c.db-shm"
            assert wal.exists() and shm.exists()
            assert [mode(p) for p in (tmp_path / "f" / "c.db", wal, shm)] == [0o600] * 3
            assert mode(tmp_path / "f") == 0o700
        finally:
            store.close()
    finally:
        os.umask(old)


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o620])
def test_a_passphrase_file_others_may_read_is_refused(tmp_path: Path, loose: int) -> None:
    runner = CliRunner(env={"CENSUS_PASSPHRASE": ""})
    db = tmp_path / "c.db"
    phrase = tmp_path / "phrase.txt"
    phrase.write_text(PASSPHRASE + "\n")
    phrase.chmod(loose)
    refused = run_cli(runner, "init", "--db", db, "--passphrase-file", phrase)
    assert refused.exit_code == 2, refused.output
    assert f"chmod 600 {phrase}" in refused.output and oct(loose)[2:] in refused.output
    assert "Traceback" not in refused.output
    assert not db.exists()  # nothing made
    phrase.chmod(0o600)
    made = run_cli(runner, "init", "--db", db, "--passphrase-file", phrase)
    assert made.exit_code == 0, made.output


@pytest.mark.parametrize("phrase", ["a", "password1234"])
def test_init_refuses_a_weak_passphrase_and_makes_nothing(tmp_path: Path, phrase: str) -> None:
    """As found: `CENSUS_PASSPHRASE=a census init` made a database."""
    db = tmp_path / "c.db"
    refused = run_cli(CliRunner(env={"CENSUS_PASSPHRASE": phrase}), "init", "--db", db)
    assert refused.exit_code == 2, refused.output
    assert "Nothing was created" in refused.output and "words" in refused.output
    assert not db.exists()


def test_the_demo_keeps_its_passphrase_and_says_it_is_for_trying(tmp_path: Path) -> None:
    done = run_cli(CliRunner(env={"CENSUS_PASSPHRASE": ""}), "demo", "--db", tmp_path / "d.db",
                   "--households", "20")
    assert done.exit_code == 0, done.output
    assert "Its passphrase is: demo" in done.output and "for trying census only" in done.output
