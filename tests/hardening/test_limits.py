"""Size limits and loops on the inputs census reads whole (issue 6, security review): what the
review found in the files outside the parsers, each with its test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from census.cli import cli
from census.storage.store import Store
from census.storage.sums import person_totals
from census.usecases.forms import import_lines
from census.usecases.publish.plan import ExportError, Request
from census.usecases.publish.write import export
from tests.helpers import PASSPHRASE, RAW_KEY, dwelling, jsonl
from tests.usecases.population import NOW, supervisor


def test_a_huge_passphrase_file_is_not_read_whole(passphrase_store: Store, db_path: Path,
                                                  tmp_path: Path) -> None:
    """Only the start of --passphrase-file is read (its first line is the passphrase): a
    50 MB file named by mistake costs nothing."""
    passphrase_store.close()
    phrase = tmp_path / "phrase"
    with phrase.open("w") as fh:
        fh.write(PASSPHRASE + "\n")
        fh.write("x" * (50 << 20))
    phrase.chmod(0o600)
    done = CliRunner().invoke(cli, ["status", "--db", str(db_path), "--passphrase-file",
                                    str(phrase)])
    assert done.exit_code == 0, done.output


def test_a_huge_config_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "survey.toml"
    big.write_bytes(b"#" * ((1 << 20) + 1))
    done = CliRunner().invoke(cli, ["init", "--db", str(tmp_path / "x.db"), "--config",
                                    str(big), "--role", "enumerator", "--user", "E001"],
                              env={"CENSUS_PASSPHRASE": RAW_KEY})
    assert done.exit_code == 2 and "a survey config is at most" in done.output, done.output
    assert not (tmp_path / "x.db").exists()


def test_a_huge_ptable_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    s = supervisor(tmp_path / "s.db", households=300, keep_open=0)
    try:
        monkeypatch.setattr("census.formats.ptable_file.FILE_LIMIT", 100)
        table = tmp_path / "p.csv"
        table.write_text("pcv,ckey,pvalue\n" + "1,0,0\n" * 50)
        with pytest.raises(ExportError, match="a perturbation table is at most 100 bytes"):
            export(s, Request(level="ea", method="ckm", ptable=table), tmp_path / "out")
        assert not (tmp_path / "out").exists()
    finally:
        s.close()


def test_tables_end_even_over_a_cycle_of_areas(store: Store) -> None:
    """Defence in depth: inputs can no longer make a cycle of parents, but if a database held
    one, the walk down the areas (WITH RECURSIVE … UNION) still ends, with the same totals
    (with UNION ALL it never ended)."""
    problems: list[object] = []
    report = import_lines(store, jsonl(dwelling()).splitlines(), now=NOW,
                          sink=lambda _line, p: problems.append(p))
    assert report.households.added == 1 and not problems
    before = list(person_totals(store, level="district"))
    assert before
    store.conn.execute("PRAGMA foreign_keys = OFF")
    store.conn.execute("UPDATE area SET parent = 'R01-D01' WHERE code = 'R01'")
    store.conn.commit()
    assert list(person_totals(store, level="district")) == before
