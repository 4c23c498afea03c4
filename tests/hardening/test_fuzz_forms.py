"""Fuzzing `census forms import` (issue 6, part 3): JSON Lines records mutated from valid
dwellings and households (wrong types, missing and extra keys, huge and negative numbers,
unicode, long strings, keys given twice, broken JSON, bytes that are not UTF-8), given to the
library function the command uses (`forms.import_lines`) and, for a few, to the command itself.

What every example proves: the import never raises; a rejected line is reported with its line
number and messages that fit on a line and quote nothing raw, and stores nothing (every row of
every table is as before); an accepted line stores exactly the record it holds, which passes
every rule. Through the command: exit status 0 or 1, every problem printed as FILE:LINE: and
no traceback.

Each example works on a fresh copy of a prepared database opened with a raw SQLCipher key.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from census.cli import cli
from census.domain.model import Role
from census.formats.record_json import dwelling_from_json, dwelling_to_json, household_to_json
from census.storage.areas import import_areas
from census.storage.records import load_dwelling
from census.storage.store import Store
from census.usecases.forms import MAX_LINE, import_lines, read_lines
from census.usecases.sources import context
from census.validation.engine import blocking, check_dwelling
from census.validation.rules import Problem
from tests.hardening.fuzzing import CFG, NOW, checkpointed, fresh_copy
from tests.hardening.tally import count
from tests.helpers import RAW_KEY, dwelling, household, jsonl
from tests.usecases.fieldwork import REGISTER, dump

EA1 = "R01-D01-EA001"
OUTCOMES: Counter[str] = Counter()


@dataclass
class Prepared:
    """An enumerator's database with the register and two stored dwellings (so that lines
    may update, repeat or clash with them), as it was before any example."""

    pristine: Path
    folder: Path
    stored: list[dict[str, Any]]

    @contextmanager
    def fresh(self) -> Iterator[Store]:
        with fresh_copy(self.pristine, self.folder) as store:
            yield store


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    tmp = tmp_path_factory.mktemp("fuzz-forms")
    store = Store.create(tmp / "pristine.db", RAW_KEY, CFG, Role.ENUMERATOR, "E001")
    import_areas(store, REGISTER, "E001")
    stored = [dwelling(1, 1), dwelling(2, 1, households=[household(1), household(2)])]
    report = import_lines(store, read_lines(io.BytesIO(jsonl(*stored).encode())), now=NOW,
                          sink=lambda line, p: None)
    assert report.invalid_lines == 0
    checkpointed(store)
    return Prepared(tmp / "pristine.db", tmp, stored)


# -- mutations of a record -----------------------------------------------------------------------

TEXTS = ["", " ", "x" * 61, "x" * 5000, "\x1b[2J\x1b]0;owned\x07", "a\u0000b", "\u202eevil",
         "e\u0301", "😀" * 10, "+33 6 12 34 56 78", "me@example.org", "R01-D01-EA002",
         "R01-D02-EA001", "R01-D01", "ZZ-99", "E 001", "2026-11-20T10:00", "2026-11-20 10:00",
         "2026-11-20T10:00:59", "2026-02-30T10:00", "2026-11-20T25:00", "9999-12-31T23:59",
         "0001-01-01T00:00", "2027-01-01T00:00", "completed", "callback", "vacant",
         "not_found", "refused", "Completed", "draft", "approved", "returned", "proxy",
         "under_construction", "not_dwelling", "confirmed_with_respondent", "W001", "W002",
         "E001", "0193a5b2-7c10-7def-8a11-000000000001", "0193A5B2-7C10-7DEF-8A11-000000000001",
         "3", "-1", "1e3", "null", "NaN"]
NUMBERS = [0, 1, 2, 15, 16, 59, 60, 61, 99, 100, 9999, 10000, -1, 10**9, 10**9 + 1, 2**31,
           2**63, 2**64, 10**30, -(10**30), 10**4000]
SCALARS = st.one_of(st.none(), st.booleans(), st.sampled_from(NUMBERS), st.integers(),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TEXTS),
                    st.text(max_size=20))
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["female", "male", "0-4", "65+", "x", "W001"]), SCALARS,
                    max_size=3),
    st.integers(10, 3000).map(lambda n: f"@@deep{n}@@"),  # a list nested n deep
    st.integers(1000, 200_000).map(lambda n: "y" * n))
KEYS = st.one_of(st.sampled_from(["id", "revision", "area", "structure", "dwelling", "type",
                                  "occupancy", "locator", "enumerator", "visits", "households",
                                  "overrides", "attempt", "at", "outcome", "callback_at",
                                  "number", "status", "respondent", "residents", "away",
                                  "visitors", "declared_total", "female", "male", "0-4",
                                  "25-34", "65+", "W001", "W004", "E001", "seed", "",
                                  "\x1b[31mred", "a.b[0]", "x" * 300]),
                 st.text(max_size=8))


def paths(record: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a record (keys of objects, indexes of lists), the record itself first."""
    out = [prefix]
    if isinstance(record, dict):
        for k, v in record.items():
            out += paths(v, (*prefix, k))
    elif isinstance(record, list):
        for i, v in enumerate(record):
            out += paths(v, (*prefix, i))
    return out


def at(record: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        record = record[step]
    return record


@st.composite
def record_edit(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(["set", "set", "set", "delete", "add", "rename"]))
    return kind, draw(st.integers(0, 10**6)), draw(KEYS), draw(VALUES)


def edit_record(record: dict[str, Any], edits: list[tuple[Any, ...]]) -> Any:
    for kind, where, key, value in edits:
        places = paths(record)
        path = places[where % len(places)]
        if not path:
            if kind == "set":
                record = value
                continue
            parent, last = None, None
        else:
            parent, last = at(record, path[:-1]), path[-1]
        target = at(record, path) if kind in ("add", "rename") else None
        if kind == "set" and parent is not None:
            parent[last] = value
        elif kind == "delete" and parent is not None:
            del parent[last]
        elif kind == "add" and isinstance(target, dict):
            target[key] = value
        elif kind == "add" and isinstance(target, list):
            target.append(value)
        elif kind == "rename" and isinstance(parent, dict) and key not in parent:
            parent[key] = parent.pop(last)
    return record


def base_record(prepared: Prepared, which: int) -> dict[str, Any]:
    """A valid new record, or a stored one (to update, repeat or clash with)."""
    if which < len(prepared.stored):
        return json.loads(json.dumps(prepared.stored[which]))
    new = dwelling(3 + which, 1, households=[household(1), household(2, status="draft",
                                                                    residents={})])
    if which % 2:
        new["visits"] = [{"attempt": 1, "at": "2026-11-20T10:00", "outcome": "no_one_home",
                          "callback_at": "2026-11-21T17:30"},
                         {"attempt": 2, "at": "2026-11-21T17:40", "outcome": "completed"}]
    return new


@st.composite
def line(draw: st.DrawFn, prepared: Prepared) -> bytes:
    """One line of a forms file: a mutated record, a text edit of it, or noise."""
    record = base_record(prepared, draw(st.integers(0, 4)))
    edits = draw(st.lists(record_edit(), max_size=3))
    text = json.dumps(edit_record(record, edits), ensure_ascii=draw(st.booleans()))
    text = re.sub(r'"@@deep(\d+)@@"', lambda m: "[" * int(m[1]) + "]" * int(m[1]), text)
    how = draw(st.sampled_from(["json"] * 6 + ["twice", "cut", "insert", "bom", "bytes",
                                               "long", "noise"]))
    if how == "twice":  # a key given twice in the same object
        text = text.replace("{", '{"area": "R01-D01-EA001", ', 1)
    elif how == "cut":
        text = text[:draw(st.integers(0, max(len(text) - 1, 0)))]
    elif how == "insert":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.text(min_size=1, max_size=3)) + text[i:]
    elif how == "bom":
        text = "\ufeff" + text
    elif how == "long":
        text = text + " " * (MAX_LINE + 1 - len(text))
    elif how == "noise":
        text = draw(st.text(max_size=40))
    data = text.replace("\n", " ").replace("\r", " ").encode("utf-8", "surrogatepass")
    if how == "bytes":
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.binary(min_size=1, max_size=3)) + data[i:]
    return data.replace(b"\n", b" ") + b"\n"


# -- the invariants ------------------------------------------------------------------------------


def readable(problem: Problem) -> None:
    text = str(problem)
    assert problem.rule_id and text.startswith(problem.rule_id)
    assert len(text) <= 600 and text.isprintable(), text


def import_one(store: Store, data: bytes) -> str:
    """Import one line; check the invariants; say whether it was stored or rejected."""
    before = dump(store)
    found: list[tuple[int, Problem]] = []
    report = import_lines(store, read_lines(io.BytesIO(data)), now=NOW,
                          sink=lambda n, p: found.append((n, p)))
    for n, p in found:
        assert n == 1
        readable(p)
    if report.invalid_lines:
        assert report.invalid_lines == 1 and found
        assert dump(store) == before
        return "rejected"
    assert not found
    if report.lines == 0:  # a blank line
        assert dump(store) == before
        return "blank"
    raw = json.loads(data.decode("utf-8").lstrip("\ufeff"))
    d, problems = dwelling_from_json(raw, store.config)
    assert d is not None, problems
    stored = load_dwelling(store, d.id)
    assert stored is not None
    if report.dwellings.added or report.dwellings.updated:
        assert dwelling_to_json(stored, CFG, with_households=False) == dwelling_to_json(
            d, CFG, with_households=False)
    if report.households.added or report.households.updated:
        mine = {h.id: h for h in stored.households}
        for h in d.households:
            if h.id in mine and mine[h.id].revision == h.revision:
                assert household_to_json(mine[h.id], CFG) == household_to_json(h, CFG)
    assert not blocking(check_dwelling(stored, context(store, NOW)))
    assert store.verify_audit().ok
    return "stored"


def _lines(prepared: Prepared, data: st.DataObject) -> None:
    lines = data.draw(st.lists(line(prepared), min_size=1, max_size=3))
    with prepared.fresh() as store:
        for one in lines:
            count("fuzz: forms import lines", 1)
            OUTCOMES[import_one(store, one)] += 1


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_forms_import_lines(prepared: Prepared, data: st.DataObject) -> None:
    """Mutated records, one line at a time (several in a row, on the same database): each is
    stored exactly as written and passes the rules, or is rejected with messages naming line 1
    and nothing stored."""
    _lines(prepared, data)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_forms_import_lines_long(prepared: Prepared, data: st.DataObject) -> None:
    """test_forms_import_lines with ten times the examples."""
    _lines(prepared, data)


def test_the_lines_were_both_stored_and_rejected() -> None:
    """The fuzzing above is not vacuous: some mutated lines were stored (their invariants were
    checked) and some rejected."""
    if not OUTCOMES:
        pytest.skip("run with test_forms_import_lines")
    assert OUTCOMES["stored"] >= 5 and OUTCOMES["rejected"] >= 5, OUTCOMES


def _cli(prepared: Prepared, data: st.DataObject, as_json: bool, all_or_nothing: bool
         ) -> None:
    lines = data.draw(st.lists(line(prepared), min_size=1, max_size=4))
    count("fuzz: forms import files (CLI)", 1)
    rejected: set[int] = set()
    with prepared.fresh() as store:
        import_lines(store, read_lines(io.BytesIO(b"".join(lines))), now=NOW,
                     all_or_nothing=all_or_nothing, sink=lambda n, p: rejected.add(n))
    forms = prepared.folder / "forms.jsonl"
    forms.write_bytes(b"".join(lines))
    with prepared.fresh() as store:
        db = store.path
    args = ["forms", "import", "--db", str(db), str(forms)]
    args += ["--json"] * as_json + ["--all-or-nothing"] * all_or_nothing
    result = CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}).invoke(cli, args)
    assert "Traceback" not in result.output and "Internal error" not in result.output
    assert result.exit_code in (0, 1), result.output
    if as_json:
        found = {p["line"] for p in json.loads(result.output)["problems_found"]}
    else:
        found = {int(m[1]) for m in re.finditer(rf"^{re.escape(str(forms))}:(\d+): ",
                                                 result.output, re.MULTILINE)}
    assert found == rejected, (found, rejected, result.output[:2000])
    assert (result.exit_code == 1) == bool(found)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), as_json=st.booleans(), all_or_nothing=st.booleans())
def test_forms_import_through_the_cli(prepared: Prepared, data: st.DataObject, as_json: bool,
                                      all_or_nothing: bool) -> None:
    """`census forms import` of a file of mutated lines: exit status 1 exactly when a line was
    rejected, 0 otherwise; each problem names the file and the line, as the library reports
    it for the same file; never a traceback."""
    _cli(prepared, data, as_json, all_or_nothing)


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), as_json=st.booleans(), all_or_nothing=st.booleans())
def test_forms_import_through_the_cli_long(prepared: Prepared, data: st.DataObject,
                                           as_json: bool, all_or_nothing: bool) -> None:
    """test_forms_import_through_the_cli with ten times the examples."""
    _cli(prepared, data, as_json, all_or_nothing)


# -- what the fuzzing found ----------------------------------------------------------------------


def _problems(prepared: Prepared, record: Any) -> list[str]:
    with prepared.fresh() as store:
        out: list[str] = []
        before = dump(store)
        data = (json.dumps(record) + "\n").encode()
        import_lines(store, read_lines(io.BytesIO(data)), now=NOW,
                     sink=lambda n, p: out.append(str(p)))
        if out:
            assert dump(store) == before
        return out


def test_one_household_given_twice_is_refused(prepared: Prepared) -> None:
    """Found by the mutations: a line with the same household twice (same id) was judged with
    both, reported as two households added, and stored as one (the second overwrote the first).
    It is refused now (E034)."""
    h = household(1)
    found = _problems(prepared, dwelling(7, 1, households=[h, {**h, "number": 2}]))
    assert found and found[0].startswith("E034 households[1].id")


def test_hostile_keys_and_values_are_quoted_and_cut(prepared: Prepared) -> None:
    """Found by the mutations: an unknown field, sex, age band or rule id was put into the
    field path as written (terminal escapes included), and a wrong value was quoted whole (a
    message of 500,000 characters). Keys are quoted and cut now, values cut to 40
    characters."""
    record = dwelling(8, 1, households=[household(1, residents={"\x1b[31mred": {"0-4": 1}})])
    record["\x1b[2Jx"] = 1
    record["visits"][0]["at"] = "y" * 500_000
    record["overrides"] = {"\x1b]0;W001": "observed_by_enumerator"}
    found = _problems(prepared, record)
    assert len(found) >= 3
    for text in found:
        assert text.isprintable() and len(text) < 400, text


def test_a_number_of_thousands_of_digits_is_a_clear_message(prepared: Prepared) -> None:
    """Found by the mutations: a number of 5,000 digits was reported with Python's own words
    ("Exceeds the limit (4300 digits) for integer string conversion ... use
    sys.set_int_max_str_digits()"); now the message says what is wrong in the user's terms."""
    with prepared.fresh() as store:
        out: list[str] = []
        data = b'{"structure": ' + b"9" * 5000 + b"}\n"
        import_lines(store, read_lines(io.BytesIO(data)), now=NOW,
                     sink=lambda n, p: out.append(str(p)))
    assert out == ["E030 : the line is not valid JSON (a number has too many digits); write one "
                   "JSON object per line."]


def test_the_cli_reports_each_invalid_line(prepared: Prepared) -> None:
    """A file of a valid line, a line with a hostile key and a line that is not UTF-8: the
    command prints the two problems with their line numbers and exits with status 1."""
    forms = prepared.folder / "two.jsonl"
    bad = dwelling(9, 1)
    bad["\x1b[2J"] = 1
    forms.write_bytes((jsonl(dwelling(10, 1), bad)).encode() + b"\xff\xfe\n")
    with prepared.fresh() as store:
        db = store.path
    result = CliRunner(env={"CENSUS_PASSPHRASE": RAW_KEY}).invoke(
        cli, ["forms", "import", "--db", str(db), str(forms)])
    assert result.exit_code == 1
    assert f"{forms}:2: E031" in result.output and f"{forms}:3: E030" in result.output
    assert "\x1b" not in result.output
