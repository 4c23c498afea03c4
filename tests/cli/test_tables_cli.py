"""`census export tables | export ledger | ptable make | ptable check` as a user runs them:
messages, exit status, files, and no traceback for any bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from census.privacy.ptable.ons_csv import read_ons_csv
from tests.helpers import RAW_KEY
from tests.helpers import run_cli as run
from tests.usecases.population import eas, supervisor


@pytest.fixture
def sup_db(tmp_path: Path) -> Path:
    """A supervisor's database: 800 households, every area but the last closed."""
    path = tmp_path / "s.db"
    supervisor(path, households=800).close()
    return path


def test_export_tables_then_again_then_ledger(runner: CliRunner, sup_db: Path, tmp_path: Path
                                              ) -> None:
    first = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--out",
                tmp_path / "one")
    assert first.exit_code == 0, first.output
    assert "Release R-" in first.output and "persons: 162 rows" in first.output
    assert "Left out, still open: R01-D01-EA007" in first.output
    release = first.output.split("Release ")[1].split(":")[0]
    again = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--out",
                tmp_path / "two", "--json")
    data = json.loads(again.output)
    assert data["release"] == release and data["again"] is True
    for name in ("persons.csv", "households.csv", "dwellings.csv", "metadata.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    # One ledger row per release id (issue 17: an identical re-run was listed twice); it says
    # when and how many times it was written.
    ledger = run(runner, "export", "ledger", "--db", sup_db)
    assert ledger.exit_code == 0 and ledger.output.count(release) == 1
    assert "rr3" in ledger.output and "(×2)" in ledger.output
    rows = json.loads(run(runner, "export", "ledger", "--db", sup_db, "--json").output)
    assert [(r["id"], r["writes"]) for r in rows] == [(release, 2)]


@pytest.mark.parametrize(("args", "message"), [
    (["--level", "town"], "Unknown level 'town'"),
    (["--level", "ea", "--areas", "R01-D01-EA001,R01-D01-EA007"], "still open: R01-D01-EA007"),
    (["--level", "ea", "--areas", "XYZ"], "Unknown area XYZ"),
    (["--level", "ea", "--method", "none"], "--not-for-publication"),
    (["--level", "ea", "--override-release", "I want to"], "Unknown override reason"),
    (["--level", "ea", "--tables", "persons,names"], "Unknown table(s) names"),
])
def test_bad_export_requests(runner: CliRunner, sup_db: Path, tmp_path: Path, args: list[str],
                             message: str) -> None:
    result = run(runner, "export", "tables", "--db", sup_db, "--out", tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_ptable_make_and_check_and_use(runner: CliRunner, sup_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "pt.csv"
    made = run(runner, "ptable", "make", "--out", path)
    assert made.exit_code == 0 and "750 × 256" in made.output.replace("counts 1..", "")
    table = read_ons_csv(path.read_text())
    assert (table.max_pcv, table.ckey_range) == (750, 256)
    checked = run(runner, "ptable", "check", path)
    assert checked.exit_code == 0
    assert "smallest non-zero count published: 3" in checked.output
    assert run(runner, "ptable", "make", "--out", path).exit_code == 2  # exists
    refused = run(runner, "ptable", "make", "--out", tmp_path / "b.csv", "--max-change", "3",
                  "--variance", "1")
    assert refused.exit_code == 2 and "variance V=1 is too small" in refused.output
    assert not (tmp_path / "b.csv").exists()
    refused = run(runner, "ptable", "make", "--out", tmp_path / "b.csv", "--max-change", "2",
                  "--threshold", "2")
    assert refused.exit_code == 2 and "D must be >= js + 1" in refused.output
    broken = tmp_path / "broken.csv"
    broken.write_text("pcv,ckey,pvalue\n1,0,0\n2,1,0\n")
    bad = run(runner, "ptable", "check", broken)
    assert bad.exit_code == 2 and "missing rows" in bad.output
    used = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--method", "ckm",
               "--ptable", path, "--out", tmp_path / "ckm", "--tables", "persons")
    assert used.exit_code == 0, used.output
    rows = (tmp_path / "ckm" / "persons.csv").read_text().splitlines()
    assert rows[0] == "area,level,sex,age_band,persons" and len(rows) == 1 + 6 * 27
    bad = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--method", "ckm",
              "--ptable", broken, "--out", tmp_path / "x")
    assert bad.exit_code == 2 and "broken.csv cannot be used" in bad.output


def test_a_real_process_prints_no_traceback(sup_db: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "census", "export", "tables", "--db", str(sup_db), "--level", "ea",
         "--out", str(busy)], capture_output=True, text=True,
        env={"CENSUS_PASSPHRASE": RAW_KEY, "PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 2
    assert "already holds files" in done.stderr and "Traceback" not in done.stderr
    assert eas  # the population module's helper is what made the database


def test_the_readme_demo_of_protected_tables(runner: CliRunner, tmp_path: Path) -> None:
    """README's three commands: a supervisor's demo, an export, the ledger."""
    db = tmp_path / "sup.db"
    made = run(runner, "demo", "--db", db, "--role", "supervisor", "--households", "1000")
    assert made.exit_code == 0, made.output
    done = run(runner, "export", "tables", "--db", db, "--level", "ea", "--out",
               tmp_path / "tables")
    assert done.exit_code == 0, done.output
    assert "7 areas written" in done.output and "still open: R01-D01-EA008" in done.output
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == [
        "dwellings.csv", "households.csv", "metadata.json", "persons.csv"]
    ledger = run(runner, "export", "ledger", "--db", db, "--json")
    (entry,) = json.loads(ledger.output)
    assert entry["method"] == "rr3" and entry["units"] == 7 and entry["user"] == "S01"


def test_ptable_make_refuses_a_table_too_large(runner: CliRunner, tmp_path: Path) -> None:
    done = run(runner, "ptable", "make", "--out", tmp_path / "big.csv", "--ckeys", "65536")
    assert done.exit_code == 2 and "at most 4,000,000 are allowed" in done.output
    assert not (tmp_path / "big.csv").exists()


def test_export_aggregates_writes_a_folder_per_district(runner: CliRunner, tmp_path: Path
                                                         ) -> None:
    pytest.importorskip("pyarrow")
    supervisor(tmp_path / "s.db", households=100).close()
    out = tmp_path / "agg"
    r = run(runner, "export", "aggregates", "--db", tmp_path / "s.db", "--out", out,
                "--json")
    assert r.exit_code == 0, r.output
    done = json.loads(r.output)
    assert done["districts"] == ["region=R01/district=R01-D01"] and done["areas"] >= 1
    assert (out / done["districts"][0] / "manifest.json").exists()
    r = run(runner, "export", "aggregates", "--db", tmp_path / "s.db", "--out", out)
    assert r.exit_code == 0 and "never publish" in r.output
    (out / "file").write_text("x")
    r = run(runner, "export", "aggregates", "--db", tmp_path / "s.db", "--out",
                out / "file")
    assert r.exit_code != 0 and "is not a folder" in r.output and "Traceback" not in r.output


def test_export_tables_from_aggregates_as_an_office_runs_it(runner: CliRunner, sup_db: Path,
                                                            tmp_path: Path) -> None:
    """`--from DIR` (DuckDB by default) writes what the records give; an engine without a
    folder, or a folder that is not one, is a message."""
    pytest.importorskip("duckdb")
    agg = tmp_path / "agg"
    assert run(runner, "export", "aggregates", "--db", sup_db, "--out", agg).exit_code == 0
    records = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--out",
                  tmp_path / "records")
    assert records.exit_code == 0, records.output
    office = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--out",
                 tmp_path / "office", "--from", agg, "--json")
    assert office.exit_code == 0, office.output
    assert json.loads(office.output)["again"] is True
    for name in ("persons.csv", "households.csv", "dwellings.csv", "metadata.json"):
        assert (tmp_path / "office" / name).read_bytes() == (
            tmp_path / "records" / name).read_bytes()
    bad = run(runner, "export", "tables", "--db", sup_db, "--level", "district", "--out",
              tmp_path / "x", "--engine", "duckdb")
    assert bad.exit_code == 2 and "--from" in bad.output and "Traceback" not in bad.output
    (tmp_path / "empty").mkdir()
    bad = run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--out",
              tmp_path / "x", "--from", tmp_path / "empty")
    assert bad.exit_code == 2 and "No aggregates in" in bad.output and "export aggregates" in \
        bad.output
    assert not (tmp_path / "x").exists()


def test_spark_without_java_is_a_message(sup_db: Path, tmp_path: Path) -> None:
    """No Java (JAVA_HOME pointing nowhere): what Spark needs, in words, exit status 2."""
    pytest.importorskip("pyspark")
    agg = tmp_path / "agg"
    env = {"CENSUS_PASSPHRASE": RAW_KEY, "PATH": "/usr/bin:/bin", "JAVA_HOME": "/nonexistent"}
    subprocess.run([sys.executable, "-m", "census", "export", "aggregates", "--db", str(sup_db),
                    "--out", str(agg)], check=True, capture_output=True, env=env, timeout=60)
    done = subprocess.run(
        [sys.executable, "-m", "census", "export", "tables", "--db", str(sup_db), "--level",
         "ea", "--out", str(tmp_path / "t"), "--from", str(agg), "--engine", "spark"],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "needs Java 17 or later" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "t").exists()


def test_the_progress_bar_is_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from census.cli.common import progress_bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with progress_bar("Exporting") as show:
        assert show is None  # pytest's stderr is not a terminal: nothing drawn
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress_bar("Exporting") as show:
        assert show is not None
        show(0.25, "counting persons")
        show(0.5, "writing persons")
        show(0.4, "going back is not shown")
    drawn = screen.getvalue()
    assert "Exporting" in drawn and "50%" in drawn and "writing persons" in drawn
    assert "100%" in drawn
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with pytest.raises(RuntimeError), progress_bar("Exporting") as show:
        assert show is not None
        show(0.1, "counting persons")
        raise RuntimeError("refused")
    # A failure erases the bar (its message follows on a clean line) and shows the cursor.
    assert screen.getvalue().endswith("\r\033[K\033[?25h")


@pytest.mark.sums_damaged
def test_check_recounts_the_kept_sums_and_repairs_them(runner: CliRunner, sup_db: Path) -> None:
    """`census check` compares the sums kept per area for tables with a recount of the
    households; `--repair-sums` recounts them (issue 18)."""
    from census.storage.store import Store

    store = Store.open(sup_db, RAW_KEY)
    area = eas(store)[0]
    with store.write():  # as a file changed outside census would be
        store.conn.execute("UPDATE area_sums SET k_03 = k_03 + 7 WHERE area = ?", (area,))
    store.close()
    r = run(runner, "check", "--db", sup_db, "--json")
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert [p["area"] for p in data["problems"] if p["rule"] == "sums"] == [area]
    r = run(runner, "check", "--db", sup_db, "--repair-sums")
    assert r.exit_code == 0, r.output
    assert f"Sums recounted for: {area}." in r.output
    r = run(runner, "check", "--db", sup_db, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["errors"] == 0


@pytest.mark.sums_damaged
def test_check_of_one_area_looks_at_its_sums_only(runner: CliRunner, sup_db: Path) -> None:
    """Found by review: `--area` checked and repaired every area's sums."""
    from census.storage.store import Store

    store = Store.open(sup_db, RAW_KEY)
    first, second = eas(store)[:2]
    with store.write():
        store.conn.execute("UPDATE area_sums SET n_01 = n_01 + 2 WHERE area = ?", (second,))
    store.close()
    r = run(runner, "check", "--db", sup_db, "--area", first, "--json")
    assert r.exit_code == 0, r.output
    r = run(runner, "check", "--db", sup_db, "--area", first, "--repair-sums", "--json")
    assert json.loads(r.output)["sums_repaired"] == []
    r = run(runner, "check", "--db", sup_db, "--area", second, "--json")
    assert r.exit_code == 1 and [p["area"] for p in json.loads(r.output)["problems"]
                                 if p["rule"] == "sums"] == [second]


def test_an_office_made_on_the_command_line_publishes_the_collected_aggregates(
        runner: CliRunner, sup_db: Path, tmp_path: Path) -> None:
    """README's office commands: its own database, the register from `area list --csv`, the
    districts' aggregates collected, tables from them — those of the supervisor's records."""
    pytest.importorskip("duckdb")
    register = run(runner, "area", "list", "--db", sup_db, "--csv")
    assert register.exit_code == 0 and register.output.startswith(
        "code,parent,level,name,expected_dwellings,enumerator\n")
    (tmp_path / "register.csv").write_text(register.output)
    office = tmp_path / "office.db"
    assert run(runner, "init", "--db", office, "--role", "office", "--user", "N01").exit_code == 0
    imported = run(runner, "area", "import", "--db", office, tmp_path / "register.csv")
    assert imported.exit_code == 0 and "unchanged 0" in imported.output, imported.output
    same = json.loads(run(runner, "area", "list", "--db", office, "--json").output)
    theirs = json.loads(run(runner, "area", "list", "--db", sup_db, "--json").output)
    assert [{k: v for k, v in a.items() if k != "status"} for a in same] == [
        {k: v for k, v in a.items() if k != "status"} for a in theirs]
    assert {a["status"] for a in same} == {"open"}  # the office closes nothing itself
    assert run(runner, "export", "aggregates", "--db", sup_db, "--out",
               tmp_path / "collected").exit_code == 0
    made = run(runner, "export", "tables", "--db", office, "--from", tmp_path / "collected",
               "--level", "ea", "--out", tmp_path / "national")
    assert made.exit_code == 0, made.output
    assert run(runner, "export", "tables", "--db", sup_db, "--level", "ea", "--out",
               tmp_path / "district").exit_code == 0
    for name in ("persons.csv", "households.csv", "dwellings.csv"):
        assert (tmp_path / "national" / name).read_bytes() == (
            tmp_path / "district" / name).read_bytes()
