"""`census keying batch|status`, `census operators` and `census verify resolve` (issue 16): a
batch's verify setting stored and logged; operator statistics; two clerks' keying compared,
the difference adjudicated in one database, the two then agreeing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from census.domain.config import default_config
from census.domain.keying import PaperForm
from census.domain.model import Outcome, Role
from census.storage.areas import import_areas
from census.storage.store import Store
from census.usecases.keying import Keying
from tests.helpers import AREAS, EA, RAW_KEY
from tests.helpers import run_cli as run


def clerk(tmp_path: Path, name: str, operator: str, forms: list[PaperForm]) -> Path:
    """A clerk's database (a supervisor's role) with `forms` keyed by `operator`."""
    path = tmp_path / f"{name}.db"
    s = Store.create(path, RAW_KEY, default_config(), Role.SUPERVISOR, "S01")
    import_areas(s, AREAS, "S01")
    k = Keying(s, operator)
    for f in forms:
        assert k.key(f).ok
    k.counts.keystrokes = 40 * len(forms)
    k.save_counts()
    s.close()
    return path


def form(structure: int, women: int = 1, outcome: Outcome = Outcome.COMPLETED) -> PaperForm:
    return PaperForm(EA, structure, 1, 1, date(2026, 11, 20), outcome,
                     {("female", "25-34"): women, ("male", "25-34"): 1})


def test_a_batch_setting_is_stored_logged_and_shown(runner: CliRunner, tmp_path: Path) -> None:
    db = clerk(tmp_path, "a", "K01", [form(n) for n in range(1, 5)])
    for args, message in [
            ((), "either --every N or --share"),
            (("--every", "2", "--share", "10"), "either --every N or --share"),
            (("--share", "ten"), "is not a percentage"),
            (("--share", "150"), "from 0 to 100"),
            (("--share", "0"), "from 0.01 to 100"),
            (("--share", "inf"), "from 0 to 100"),
            (("--every", "99999999999999999999"), "--every"),
            (("--every", "1", "--seed", "99999999999999999999"), "--seed"),
            (("--every", "2", "--tolerance", "-1"), "from 0 to 100"),
            (("--every", "2", "--tolerance", "-1e400"), "from 0 to 100")]:
        bad = run(runner, "keying", "batch", EA, *args, "--db", db)
        assert bad.exit_code != 0 and message in bad.output, (args, bad.output)
    bad = run(runner, "keying", "batch", "R01-D01", "--every", "2", "--db", db)
    assert bad.exit_code != 0 and "no enumeration area" in bad.output
    status = json.loads(run(runner, "keying", "status", "--json", "--db", db).output)
    assert status["batches"][0]["setting"] == "every 10; tolerance 1.00% (default)"
    ok = run(runner, "keying", "batch", EA, "--share", "25", "--seed", "3", "--tolerance",
             "2.5", "--db", db)
    assert ok.exit_code == 0 and "share 25.00% seed 3; tolerance 2.50%" in ok.output
    status = json.loads(run(runner, "keying", "status", "--json", "--db", db).output)
    assert status["batches"] == [{
        "area": EA, "setting": "share 25.00% seed 3; tolerance 2.50%", "keyed": 4,
        "flagged": 0, "chosen": 0, "verified": 0, "keyer_errors": 0, "fields_verified": 0,
        "error_percent": None, "rekey": False}]
    s = Store.open(db, RAW_KEY)
    assert s.conn.execute("SELECT who, record_id, new FROM audit WHERE field = "
                          "'keying_setting'").fetchall() == [
        ("S01", EA, "share 25.00% seed 3; tolerance 2.50%")]
    s.close()


def test_operator_statistics_per_operator_and_day(runner: CliRunner, tmp_path: Path) -> None:
    db = clerk(tmp_path, "a", "K01", [form(n) for n in range(1, 4)])
    data = json.loads(run(runner, "operators", "--json", "--db", db).output)
    [row] = data["operators"]
    assert (row["operator"], row["mode"], row["forms"], row["keystrokes"],
            row["keys_per_form"]) == ("K01", "key", 3, 120, 40.0)
    words = run(runner, "operators", "--db", db)
    assert "Keys/h" in words.output and "K01" in words.output
    none = run(runner, "operators", "--operator", "K09", "--db", db)
    assert "No session logged yet." in none.output


def test_compare_then_resolve_makes_the_two_keyings_agree(runner: CliRunner,
                                                           tmp_path: Path) -> None:
    a = clerk(tmp_path, "a", "K01", [form(1), form(2, women=2)])
    b = clerk(tmp_path, "b", "K02", [form(1), form(2, women=3)])
    found = run(runner, "verify", "compare", a, b, "--json")
    assert found.exit_code == 1
    [m] = json.loads(found.output)["mismatches"]
    assert (m["questionnaire"], m["field"], m["first"], m["second"]) == (
        f"{EA}/2/1/1", "residents:female:25-34", 2, 3)
    # The paper says 3: the supervisor applies it to the first clerk's database.
    for bad, message in [(("away",), "write FIELD=VALUE"),
                         (("type=apartment",), "not a field"),
                         (("residents:female:25-34=x",), "only digits"),
                         (("visit:1:outcome=3",), "different forms")]:
        refused = run(runner, "verify", "resolve", m["questionnaire"], *bad, "--db", a)
        assert refused.exit_code != 0 and message in refused.output, (bad, refused.output)
    missing = run(runner, "verify", "resolve", f"{EA}/9/1/1", "away=1", "--db", a)
    assert missing.exit_code != 0 and "no dwelling 9/1" in missing.output
    done = run(runner, "verify", "resolve", m["questionnaire"], f"{m['field']}={m['second']}",
               "--db", a)
    assert done.exit_code == 0, done.output
    assert run(runner, "verify", "compare", a, b).exit_code == 0
    s = Store.open(a, RAW_KEY)
    assert s.conn.execute("SELECT who, new, reason FROM audit WHERE field = 'keying'"
                          ).fetchall() == [("S01", "residents:female:25-34: 2 -> 3",
                                            "adjudicated")]
    s.close()
