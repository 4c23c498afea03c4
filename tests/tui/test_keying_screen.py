"""Keying paper forms in the app (issue 16), driven with Pilot: heads-down keying from the
dashboard (digits and Enter, the next form opens at once), a warning keyed past and marked for
review, an error that stays on the form, and dependent verification's attribution of errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

from textual.pilot import Pilot

from census.domain.keying import PaperForm, VerifySetting
from census.domain.model import Outcome, Respondent
from census.storage import keying as kept
from census.storage.records import load_household
from census.storage.store import Store
from census.tui.app import CensusApp
from census.tui.screens.dashboard import DashboardScreen
from census.tui.screens.keying import KeyingScreen, KeyingStartScreen
from census.tui.widgets.paper_form import PaperForm as PaperWidget
from census.usecases.keying import Keying
from tests.helpers import Ticking
from tests.tui import driving
from tests.tui.driving import press
from tests.usecases.fieldwork import NOW, Site

EA = "R01-D01-EA001"
BANDS = 8  # the default config's age bands: 8 bands × 2 sexes


def grid(counts: dict[tuple[int, int], str]) -> list[str]:
    """Keys for the count grid: band by band, women then men; Enter alone is 0."""
    keys: list[str] = []
    for band in range(BANDS):
        for sex in range(2):
            keys += [*counts.get((band, sex), ""), "enter"]
    return keys


def form_keys(structure: int, counts: dict[tuple[int, int], str], respondent: str = "1"
              ) -> list[str]:
    # structure, dwelling 1, household 1; the day (full: moves on); outcome 1 (full)
    return [*str(structure), "enter", "1", "enter", "1", "enter", *"2011", "1",
            *grid(counts), "enter", "enter", respondent]


async def start(pilot: Pilot[None], app: CensusApp, operator: str, mode: str) -> None:
    assert isinstance(app.screen, DashboardScreen)
    await press(pilot, "k")
    assert isinstance(app.screen, KeyingStartScreen)
    await press(pilot, *operator, "enter", "ctrl+u", *EA, "enter", "backspace", mode, "enter")
    assert isinstance(app.screen, KeyingScreen), app.screen


def test_a_clerk_keys_forms_heads_down(team: tuple[Site, Site]) -> None:
    sup, _enu = team
    couple = {(3, 0): "1", (3, 1): "1"}  # a woman and a man of 25-34

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K01", "1")
        await press(pilot, *form_keys(1, couple))
        # Stored; the next blank form is open at once.
        paper = app.screen.query_one(PaperWidget)
        assert paper.values == {} and paper.field.name == "structure"
        await press(pilot, *form_keys(2, {(0, 0): "2", **couple}, respondent="2"))
        assert "2 forms keyed" in str(app.screen.query_one("#title").render())
        # An error stays on the form: a 9 where the outcome is a code from 1 to 8.
        await press(pilot, "3", "enter", "1", "enter", "1", "enter", *"2011", "9")
        assert "code from 1 to 8" in paper.message and paper.field.name == "outcome"
        await press(pilot, "escape")

    driving.drive(sup.store.path, script, now=NOW, size=(100, 40))
    s = Store.open(sup.store.path, driving.RAW_KEY)
    rows = s.conn.execute(
        "SELECT d.structure, h.status, h.usual_residents, h.respondent, k.operator, "
        "k.position FROM keyed_form k JOIN household h ON h.id = k.record_id JOIN dwelling d "
        "ON d.id = h.dwelling_id ORDER BY k.position").fetchall()
    assert rows == [(1, "complete", 2, "member", "K01", 1),
                    (2, "complete", 4, "proxy", "K01", 2)]
    session = s.conn.execute("SELECT operator, mode, area, forms, keystrokes FROM "
                             "keying_session").fetchone()
    assert session[:4] == ("K01", "key", EA, 2)
    assert session[4] >= 2 * len(form_keys(1, couple))
    s.close()


def test_a_warning_is_keyed_past_with_enter_and_the_form_marked(team: tuple[Site, Site]
                                                                ) -> None:
    sup, _enu = team

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K01", "1")
        await press(pilot, *form_keys(1, {(3, 0): "18"}))
        assert "W001" in str(app.screen.query_one("#problems").render())
        assert sup.store.conn.execute("SELECT count(*) FROM household").fetchone() == (0,)
        await press(pilot, "enter")  # keyed past, as the paper says
        assert app.screen.query_one(PaperWidget).field.name == "structure"

    driving.drive(sup.store.path, script, now=NOW, size=(100, 40))
    assert sup.store.conn.execute("SELECT kind, detail FROM review").fetchall() == [
        ("flagged", "W001")]
    assert sup.store.conn.execute("SELECT flagged FROM keyed_form").fetchall() == [(1,)]


Clock = partial(Ticking, datetime(2026, 11, 28, 9, 0), 3)
"""A clock that moves 3 seconds at each reading."""


def test_dependent_verification_attributes_each_difference(team: tuple[Site, Site]) -> None:
    sup, _enu = team
    first = Keying(sup.store, "K01", Clock())
    ids = [first.key(PaperForm(EA, n, 1, 1, date(2026, 11, 20), Outcome.COMPLETED,
                               {("female", "0-4"): 1, ("female", "25-34"): 1,
                                ("male", "25-34"): 1}, respondent=Respondent.MEMBER)
                     ).record_id or "" for n in (1, 2)]
    first.set_batch(EA, VerifySetting(every=1))
    three = {(0, 0): "1", (3, 0): "1", (3, 1): "1"}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K02", "2")
        paper = app.screen.query_one(PaperWidget)
        assert paper.values["structure"] == "1" and paper.field.name == "day"
        await press(pilot, *"2011", "1")
        # Women 0-4: the verifier keys 2 where the keyer had 1; asked again, keys 1: the
        # verifier's error, the first keying stands.
        await press(pilot, "2", "enter")
        assert "key it again" in paper.message
        await press(pilot, "1", "enter")
        assert "verifier error" in paper.message
        # Men 0-4 and the bands 5-14 and 15-24 stay 0; women 25-34: 3 twice where the keyer
        # had 1: the keyer's error, the verifier's value replaces it.
        await press(pilot, *["enter"] * 5, "3", "enter", "3", "enter")
        assert "keyer error" in paper.message
        await press(pilot, "1", "enter", *["enter"] * 8, "enter", "enter", "1")
        # The second form, keyed the same.
        assert paper.values["structure"] == "2"
        await press(pilot, *"2011", "1", *grid(three), "enter", "enter", "1")
        assert "verified" in paper.message
        await press(pilot, "escape")

    driving.drive(sup.store.path, script, now=NOW, size=(100, 40))
    s = sup.store
    found = s.conn.execute("SELECT record_id, verified_by, keyer_errors, verifier_errors, "
                           "fields_verified FROM keyed_form ORDER BY position").fetchall()
    assert found == [(ids[0], "K02", 1, 1, 21), (ids[1], "K02", 0, 0, 21)]
    h = load_household(s, ids[0])
    assert h is not None and h[1].residents[("female", "25-34")] == 3
    days = {(d.operator, d.mode): d for d in kept.operator_days(s)}
    assert (days[("K01", "key")].errors, days[("K02", "verify")].errors) == (1, 1)
    assert s.conn.execute("SELECT reason FROM audit WHERE field = 'keying'").fetchall() == [
        ("verified",)]


def test_a_form_half_keyed_is_there_again_after_the_app_stops(team: tuple[Site, Site]) -> None:
    """Nothing typed is lost: the fields committed are kept as they are keyed; the same
    operator keying the same batch gets the form back, on at the next field."""
    sup, _enu = team
    keys = form_keys(5, {(3, 0): "1", (3, 1): "1"})
    half = 12  # the number, the day, the outcome and the first grid cell

    async def first(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K01", "1")
        await press(pilot, *keys[:half])
        # stopped here (no Esc): as after a crash, the form is not stored

    driving.drive(sup.store.path, first, now=NOW, size=(100, 40))
    assert sup.store.conn.execute("SELECT count(*) FROM household").fetchone() == (0,)

    async def again(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K01", "1")
        paper = app.screen.query_one(PaperWidget)
        assert paper.values["structure"] == "5" and paper.field.name == "residents:male:0-4"
        await press(pilot, *keys[half:])
        assert paper.values == {} and paper.field.name == "structure"

    driving.drive(sup.store.path, again, now=NOW, size=(100, 40))
    assert sup.store.conn.execute("SELECT usual_residents FROM household").fetchall() == [(2,)]


def test_the_operator_statistics_screen_fits_80_columns(team: tuple[Site, Site]) -> None:
    from textual.widgets import DataTable

    from census.tui.screens.operators import OperatorsScreen

    sup, _enu = team
    k = Keying(sup.store, "K01", Clock())
    for n in (1, 2):
        k.key(PaperForm(EA, n, 1, 1, date(2026, 11, 20), Outcome.COMPLETED,
                        {("female", "25-34"): 1}))
    k.counts.keystrokes, k.counts.bad_keystrokes = 60, 3
    k.save_counts()

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await press(pilot, "s")
        assert isinstance(app.screen, OperatorsScreen)
        table = app.screen.query_one(DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        row = driving.texts(table.get_row_at(0))
        assert row[:5] == ["K01", "11-28", "keying", row[3], "2"]
        assert row[6] == "50" and row[8] == "30"  # 3 bad in 60 keys; 60 keys for 2 forms
        shown = app.export_screenshot()  # drawn whole, not cut to the headers' widths
        assert "11-28" in shown and "keying" in shown

    driving.drive(sup.store.path, script, now=NOW, size=(80, 24))


def test_an_enumerators_entry_is_logged_keys_and_minutes_per_form(tmp_path: Path) -> None:
    """Door to door: the app logs the enumerator's session (mode entry), its keys and forms
    completed, for keys and minutes per form."""
    from census.tui.screens.dwelling import DwellingScreen
    from census.usecases.operators import operator_figures
    from tests.helpers import enumerator_db
    from tests.tui.driving import new_dwelling_with_contact

    db = enumerator_db(tmp_path / "e.db")
    sent = 0

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        nonlocal sent
        await new_dwelling_with_contact(app, pilot)
        await press(pilot, "1", "right", "right", "right", "2", "down", "1", "ctrl+d")
        assert isinstance(app.screen, DwellingScreen)
        sent = app.tally.keystrokes

    seconds = iter(datetime(2026, 11, 28, 10, 0) + timedelta(seconds=s) for s in range(0, 6000, 30))
    driving.drive(db, script, clock_seconds=lambda: next(seconds))
    s = Store.open(db, driving.RAW_KEY)
    [f] = operator_figures(s)
    assert (f.operator, f.mode, f.forms, f.keystrokes) == ("E001", "entry", 1, sent)
    assert sent >= 13 and f.keys_per_form == sent and f.minutes_per_form is not None
    s.close()


def one_form_to_verify(sup: Site) -> str:
    """Form 1/1/1 (one woman 25-34) keyed by K01 in a batch verified in full; its id."""
    first = Keying(sup.store, "K01", Clock())
    rid = first.key(PaperForm(EA, 1, 1, 1, date(2026, 11, 20), Outcome.COMPLETED,
                              {("female", "25-34"): 1})).record_id or ""
    first.set_batch(EA, VerifySetting(every=1))
    return rid


def test_going_back_a_field_in_verification_does_not_count_it_twice(team: tuple[Site, Site]
                                                                   ) -> None:
    sup, _enu = team
    rid = one_form_to_verify(sup)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K02", "2")
        paper = app.screen.query_one(PaperWidget)
        await press(pilot, *"2011", "1", *["enter"] * 6)  # women and men of 0-4 to 15-24
        await press(pilot, "3", "enter", "3", "enter")  # women 25-34: a keyer error
        assert "keyer error" in paper.message
        await press(pilot, "up", "enter")  # back to it, and on again: decided already
        await press(pilot, *["enter"] * 11, "1")
        assert paper.values.get("structure") is None  # no form left

    driving.drive(sup.store.path, script, now=NOW, size=(100, 40))
    assert sup.store.conn.execute("SELECT fields_verified, keyer_errors, verifier_errors FROM "
                                  "keyed_form WHERE record_id = ?", (rid,)).fetchone() == (
        21, 1, 0)


def test_an_outcome_changed_to_no_contact_ends_the_form_for_review(team: tuple[Site, Site]
                                                                   ) -> None:
    sup, _enu = team
    rid = one_form_to_verify(sup)

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K02", "2")
        await press(pilot, *"2011", "5", "5")  # refused, twice: the paper says so
        assert "is verified" in app.screen.query_one(PaperWidget).message

    driving.drive(sup.store.path, script, now=NOW, size=(100, 40))
    assert sup.store.conn.execute("SELECT flagged, verified_by, fields_verified, keyer_errors "
                                  "FROM keyed_form WHERE record_id = ?", (rid,)).fetchone() == (
        1, "K02", 2, 1)
    assert sup.store.conn.execute("SELECT outcome FROM visit").fetchall() == [("completed",)]


def test_a_form_keyed_already_goes_back_to_its_number(team: tuple[Site, Site]) -> None:
    """A questionnaire number keyed already: the cursor goes back to it, and what is typed
    next replaces the form's fields (never appended to the last one)."""
    sup, _enu = team
    couple = {(3, 0): "1", (3, 1): "1"}

    async def script(app: CensusApp, pilot: Pilot[None]) -> None:
        await start(pilot, app, "K01", "1")
        await press(pilot, *form_keys(1, couple))
        await press(pilot, *form_keys(1, couple))  # the same number again
        paper = app.screen.query_one(PaperWidget)
        assert "keyed already" in str(app.screen.query_one("#problems").render())
        assert paper.field.name == "structure"
        # Structure 2, then Enter through the rest as keyed: stored as form 2.
        await press(pilot, "2", *["enter"] * 24)
        assert paper.values == {} and paper.field.name == "structure"
        # An empty number says what it wants.
        await press(pilot, "home", "delete", "enter")
        assert "key a number from 1 to 9999" in paper.message

    driving.drive(sup.store.path, script, now=NOW, size=(100, 40))
    assert sup.store.conn.execute("SELECT d.structure, h.usual_residents FROM household h "
                                  "JOIN dwelling d ON d.id = h.dwelling_id ORDER BY 1"
                                  ).fetchall() == [(1, 2), (2, 2)]
