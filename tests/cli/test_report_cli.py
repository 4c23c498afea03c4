"""`census report`: the daily field report of a supervisor's and an enumerator's database after a
week of fieldwork with known times, as a table (80 columns), JSON and CSV; its period, area and
enumerator options; and its refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from census.usecases.field_reports import KEYS
from tests.helpers import run_cli
from tests.usecases.fieldwork import Site
from tests.usecases.reporting import EXPECTED_ENUMERATOR, EXPECTED_SUPERVISOR, table, week

WEEK = ("--since", "2026-11-16", "--until", "2026-11-20")


@pytest.fixture
def worked(monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> tuple[Site, Site]:
    """The team after the week of tests.usecases.reporting."""
    sup, enu = team
    week(monkeypatch, sup, enu)
    return sup, enu


def friday_over(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The expected rows read after Friday 20 November 2026 (the command's clock is today's):
    Friday is then over, and idle on a device where nothing happened that day."""
    return [(*r[:-1], 1) if r[0] == "2026-11-20" else (*r[:-1], r[-1] + 1) if r[0] is None
            else r for r in rows]


def test_json_of_the_supervisor(runner: CliRunner, worked: tuple[Site, Site]) -> None:
    sup, _enu = worked
    result = run_cli(runner, "report", "--db", sup.store.path, "--json", *WEEK)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all(list(r) == list(KEYS) for r in rows)
    assert {r["enumerator"] for r in rows} == {"E001"}
    # Friday had decisions, no visit: over now, so idle too.
    assert table(rows) == friday_over(EXPECTED_SUPERVISOR)


def test_json_of_the_enumerator_is_its_own(runner: CliRunner, worked: tuple[Site, Site]) -> None:
    _sup, enu = worked
    result = run_cli(runner, "report", "--db", enu.store.path, "--json", *WEEK)
    expected = [*EXPECTED_ENUMERATOR[:-1], ("2026-11-20", 0, 0, 0, 0, 0, 0, None, 0, 0, 1),
                (*EXPECTED_ENUMERATOR[-1][:-1], 2)]
    assert table(json.loads(result.output)) == expected
    refused = run_cli(runner, "report", "--db", enu.store.path, "--enumerator", "E002")
    assert refused.exit_code == 2
    assert "E001's own figures" in refused.output


def test_csv_is_a_header_then_the_rows(runner: CliRunner, worked: tuple[Site, Site]) -> None:
    sup, _enu = worked
    result = run_cli(runner, "report", "--db", sup.store.path, "--csv", *WEEK)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == list(KEYS)
    assert len(rows) == 1 + len(EXPECTED_SUPERVISOR)
    assert rows[2] == ["E001", "2026-11-17", "2", "1", "0", "1", "1", "1", "1520", "0", "0", "0"]
    assert rows[-1] == ["E001", "", "8", "4", "1", "2", "1", "1", "785", "1", "1", "2"]


def test_table_fits_80_columns(runner: CliRunner, worked: tuple[Site, Site]) -> None:
    sup, _enu = worked
    result = run_cli(runner, "report", "--db", sup.store.path, *WEEK)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), result.output
    assert lines[0] == ("Daily field report, 2026-11-16 to 2026-11-20 (5 days); all areas")
    assert lines[2].split() == ["enum.", "day", "visited", "done", "refused", "absent", "met",
                                "missed", "min.", "ret.", "appr.", "idle"]
    assert lines[4].split() == ["E001", "11-17", "2", "1", "0", "1", "1", "1", "1520", "0", "0",
                                "0"]
    assert lines[8].split() == ["E001", "total", "8", "4", "1", "2", "1", "1", "785", "1", "1",
                                "2"]
    assert "median minutes from the first visit" in result.output


def test_period_and_scope_options(runner: CliRunner, worked: tuple[Site, Site]) -> None:
    sup, _enu = worked
    db = ("--db", sup.store.path)
    one_day = run_cli(runner, "report", *db, "--json", "--days", "1", "--until", "2026-11-19")
    assert [(r["date"], r["households_completed"]) for r in json.loads(one_day.output)] == [
        ("2026-11-19", 2), (None, 2)]
    elsewhere = run_cli(runner, "report", *db, "--area", "R01-D02", *WEEK)
    assert "area R01-D02 and below" in elsewhere.output
    assert "No visits, completed forms or decisions in this period." in elsewhere.output
    nobody = run_cli(runner, "report", *db, "--json", "--enumerator", "E999", *WEEK)
    assert nobody.exit_code == 2
    assert "Unknown enumerator E999 in any area" in nobody.output
    assert "census progress --by enumerator" in nobody.output
    elsewhere = run_cli(runner, "report", *db, "--area", "R01-D02", "--enumerator", "E001",
                        *WEEK)
    assert "Unknown enumerator E001 in area R01-D02 and below" in elsewhere.output
    # Today's report: the week is long past, and nothing was done since.
    recent = run_cli(runner, "report", *db, "--json")
    assert all(r["households_completed"] == 0 for r in json.loads(recent.output))


@pytest.mark.parametrize(("args", "message"), [
    (("--json", "--csv"), "Choose one of --json and --csv."),
    (("--days", "3", "--since", "2026-11-16"), "not both"),
    (("--since", "2026-11-20", "--until", "2026-11-16"), "ends (2026-11-16) before it starts"),
    (("--area", "R09"), "Unknown area R09"),
    (("--since", "2025-01-01", "--until", "2026-11-20"), "at most 366 days"),
])
def test_refusals_are_messages(runner: CliRunner, team: tuple[Site, Site],
                               args: tuple[str, ...], message: str) -> None:
    sup, _enu = team
    result = run_cli(runner, "report", "--db", sup.store.path, *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(("args", "option", "day"), [
    (("--until", "9999-12-31"), "--until", "9999-12-31"),
    (("--until", "0001-01-03", "--days", "5"), "--until", "0001-01-03"),
    (("--since", "0001-01-01", "--until", "0001-01-02"), "--until", "0001-01-02"),
    (("--since", "1999-12-31", "--until", "2000-01-02"), "--since", "1999-12-31"),
    (("--until", "2000-01-03", "--days", "5"), "The first day of the period", "1999-12-30"),
])
def test_days_out_of_range_are_refused_with_a_message(runner: CliRunner, team: tuple[Site, Site],
                                                      args: tuple[str, ...], option: str,
                                                      day: str) -> None:
    sup, _enu = team
    result = run_cli(runner, "report", "--db", sup.store.path, *args)
    assert result.exit_code == 2, result.output
    assert "Internal error" not in result.output
    assert f"{option} is {day}: a report covers days from 2000-01-01 to 2099-12-31" in (
        " ".join(result.output.split()))


def test_long_enumerator_codes_keep_the_table_in_80_columns(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch, team: tuple[Site, Site]) -> None:
    sup, enu = team
    week(monkeypatch, sup, enu)
    long = "E001-" + "X" * 31 + "0042"
    assert len(long) == 40
    sup.store.conn.execute("UPDATE visit SET enumerator = ? WHERE enumerator = 'E001'",
                           (long,))
    sup.store.conn.commit()
    result = run_cli(runner, "report", "--db", sup.store.path, *WEEK)
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), result.output
    assert lines[3].startswith("E001-X") and "…" in lines[3].split()[0]
    assert lines[3].split()[0].endswith("0042")
    # JSON and CSV keep the whole code.
    rows = json.loads(run_cli(runner, "report", "--db", sup.store.path, "--json", *WEEK).output)
    assert {r["enumerator"] for r in rows} == {long}
    # Short codes are not padded beyond what they need.
    own = run_cli(runner, "report", "--db", enu.store.path, *WEEK).output.splitlines()
    heading = next(i for i, line in enumerate(own) if line.startswith("enum."))
    assert own[heading + 1].startswith("E001  11-16")


def test_help(runner: CliRunner) -> None:
    result = run_cli(runner, "report", "--help")
    assert result.exit_code == 0
    assert "--since" in result.output and "--tolerance" in result.output


@pytest.mark.parametrize("lang", ["en", "fr", "es", "zh_CN"])
def test_every_line_fits_80_columns_in_every_language(
        runner: CliRunner, worked: tuple[Site, Site], lang: str) -> None:
    """The title (with an enumerator), the table and the legend, measured in terminal columns
    (a Chinese character takes two)."""
    from census.i18n import cell_width, set_language

    sup, _enu = worked
    set_language(lang)
    try:
        out = run_cli(runner, "report", "--db", sup.store.path, "--enumerator", "E001",
                      *WEEK).output
    finally:
        set_language(None)
    assert max(cell_width(line) for line in out.splitlines()) <= 80, out
