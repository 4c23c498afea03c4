"""README's "Reading a database elsewhere" (issue 14): its snippet, run as written against a
census database, reads it with plain sqlcipher3; `census status` names the settings."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from click.testing import CliRunner

from census.domain.config import default_config
from census.domain.model import Role
from census.storage.connection import cipher_settings
from census.storage.store import Store
from tests.helpers import PASSPHRASE, run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Reading a database elsewhere", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "the section has a Python snippet"
    return found.group(1)


def test_the_readme_snippet_reads_a_census_database(tmp_path: Path) -> None:
    Store.create(tmp_path / "census.db", PASSPHRASE, default_config(), Role.ENUMERATOR,
                 "E001").close()
    code = snippet().replace("the passphrase", PASSPHRASE)
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README snippet", "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue().strip() == "[]"  # a new database: no households, read without error


def test_status_prints_the_sqlcipher_settings(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store = Store.create(db, PASSPHRASE, default_config(), Role.ENUMERATOR, "E001")
    try:
        settings = cipher_settings(store.conn)
    finally:
        store.close()
    assert settings["cipher_version"].startswith("4.")
    assert tuple(int(x) for x in settings["sqlite_version"].split(".")[:2]) >= (3, 37)
    shown = run_cli(CliRunner(env={"CENSUS_PASSPHRASE": PASSPHRASE}), "status", "--db", db)
    assert shown.exit_code == 0, shown.output
    assert (f"SQLCipher {settings['cipher_version']} (page size 4096, PBKDF2_HMAC_SHA512 with "
            "256000 iterations, HMAC_SHA512, plaintext header 0)") in shown.output
