"""Keying paper forms and verifying them (issue 16) as use cases: through the one intake, as the
operator; warnings keyed past and marked for review; dependent verification's choice, its
corrections and the batch's tolerance; operator statistics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from functools import partial
from pathlib import Path

import pytest

from census.domain.config import default_config
from census.domain.errors import CensusError
from census.domain.keying import PaperForm, VerifySetting
from census.domain.model import Outcome, Respondent, Role
from census.storage import keying as kept
from census.storage.areas import import_areas
from census.storage.records import load_household
from census.storage.store import Store
from census.usecases.areas import close_area
from census.usecases.keying import Keying, resolve
from tests.helpers import AREAS, EA, RAW_KEY, Ticking

DAY = date(2026, 11, 20)


Clock = partial(Ticking, datetime(2026, 11, 25, 9, 0), 5)
"""A clock that moves 5 seconds at each reading."""


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Store]:
    s = Store.create(tmp_path / "office.db", RAW_KEY, default_config(), Role.SUPERVISOR, "S01")
    import_areas(s, AREAS, "S01")
    yield s
    s.close()


def paper(structure: int, dwelling: int = 1, household: int = 1, adults: int = 2,
          outcome: Outcome = Outcome.COMPLETED, **over: object) -> PaperForm:
    residents = {("female", "25-34"): adults // 2 + adults % 2, ("male", "25-34"): adults // 2}
    form = PaperForm(EA, structure, dwelling, household, DAY, outcome,
                     {c: n for c, n in residents.items() if n}, away=0, visitors=0,
                     respondent=Respondent.MEMBER)
    return PaperForm(**{**form.__dict__, **over})  # type: ignore[arg-type]


def test_a_keyed_form_is_stored_through_the_intake_as_its_operator(office: Store) -> None:
    k = Keying(office, "K01", Clock())
    done = k.key(paper(3, 2, 1, adults=3, away=1, visitors=2, respondent=Respondent.PROXY))
    assert done.ok and not done.warnings
    found = load_household(office, done.record_id or "")
    assert found is not None
    h = found[1]
    assert (h.status, h.present, h.away, h.visitors, h.respondent) == (
        "complete", 3, 1, 2, Respondent.PROXY)
    row = office.conn.execute("SELECT who, field FROM audit WHERE record_id = ?",
                              (done.record_id,)).fetchone()
    assert row == ("K01", "*")  # the clerk's work, by code
    visit = office.conn.execute("SELECT at, outcome, enumerator FROM visit").fetchone()
    assert visit == ("2026-11-20T00:00", "completed", "E001")  # the paper's day, its EA's
    form = kept.keyed_form(office, done.record_id or "")
    assert form is not None and (form.operator, form.position, form.flagged) == ("K01", 1, False)
    assert office.conn.execute("SELECT operator, mode, area, forms FROM keying_session"
                               ).fetchall() == [("K01", "key", EA, 1)]


def test_the_same_questionnaire_twice_is_refused_and_changes_nothing(office: Store) -> None:
    k = Keying(office, "K01", Clock())
    assert k.key(paper(1)).ok
    before = office.conn.execute("SELECT count(*) FROM household").fetchone()
    again = k.key(paper(1, adults=4))
    assert not again.ok and "keyed already" in (again.refused or "")
    assert office.conn.execute("SELECT count(*) FROM household").fetchone() == before
    # Another household of the same dwelling is another form.
    assert k.key(paper(1, household=2)).ok


def test_a_warning_is_keyed_past_only_when_said_and_the_form_is_marked(office: Store) -> None:
    k = Keying(office, "K01", Clock())
    big = paper(4, adults=18)  # W001: more usual residents than 15
    first = k.key(big)
    assert not first.ok and [p.rule_id for p in first.warnings] == ["W001"]
    assert office.conn.execute("SELECT count(*) FROM household").fetchone() == (0,)
    past = k.key(big, past_warnings=True)
    assert past.ok
    assert office.conn.execute("SELECT kind, record_id, detail, status FROM review").fetchall() \
        == [("flagged", past.record_id, "W001", "open")]
    form = kept.keyed_form(office, past.record_id or "")
    assert form is not None and form.flagged


def test_keying_is_refused_where_nothing_may_be_written(office: Store, tmp_path: Path) -> None:
    k = Keying(office, "K01", Clock())
    assert k.key(paper(1)).ok
    close_area(office, EA, leave_open_work=True)
    refused = k.key(paper(2))
    assert not refused.ok and "closed" in (refused.refused or "")
    with pytest.raises(CensusError, match="enumeration area"):
        k.start("key", "R01-D01")
    enumerator = Store.create(tmp_path / "e.db", RAW_KEY, default_config(), Role.ENUMERATOR,
                              "E001")
    with pytest.raises(CensusError, match="enumerator"):
        Keying(enumerator, "K01")
    enumerator.close()
    with pytest.raises(CensusError, match="operator code"):
        Keying(office, "Jane Doe")


def test_dependent_verification_chooses_corrects_and_flags_the_batch(office: Store) -> None:
    keyer = Keying(office, "K01", Clock())
    ids = [keyer.key(paper(n)).record_id for n in range(1, 11)]
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(every=3, tolerance=500))
    assert Keying(office, "K01", Clock()).to_verify(EA) == []  # never one's own forms
    verifier = Keying(office, "K02", Clock())
    verifier.start("verify", EA)
    chosen = verifier.to_verify(EA)
    assert [f.record_id for f in chosen] == [ids[2], ids[5], ids[8]]
    # The third form: the verifier keyed 4 adults twice where the keyer had 2: a keyer error.
    _form, values = verifier.original(ids[2] or "")
    corrected = paper(3, adults=4)
    result = verifier.verified(ids[2] or "", corrected, fields_verified=len(values),
                               keyer_errors=2, verifier_errors=1)
    assert not result.refused
    h = load_household(office, ids[2] or "")
    assert h is not None and h[1].present == 4 and h[1].revision == 2
    reason = office.conn.execute("SELECT who, new, reason FROM audit WHERE field = 'keying'"
                                 ).fetchone()
    assert reason[0] == "K02" and reason[2] == "verified" and "residents:female:25-34" in \
        reason[1]
    # 2 keyer errors in 23 fields: past 5 %, the batch is to be keyed again in full.
    assert result.rekey and (result.batch_errors, result.batch_fields) == (2, len(values))
    assert kept.batch_setting(office, EA) == (VerifySetting(every=3, tolerance=500), True)
    # Over the tolerance, every form of the batch not verified yet is to be verified.
    assert [f.record_id for f in verifier.to_verify(EA)] == [i for i in ids if i != ids[2]]
    setting = office.conn.execute("SELECT new FROM audit WHERE field = 'keying_setting'"
                                  ).fetchone()
    assert setting == ("every 3; tolerance 5.00%",)
    session = office.conn.execute(
        "SELECT setting, forms, fields_verified, keyer_errors, verifier_errors FROM "
        "keying_session WHERE operator = 'K02'").fetchone()
    assert session == ("every 3; tolerance 5.00%", 1, len(values), 2, 1)


def test_a_random_share_is_drawn_once_and_kept_until_the_setting_changes(office: Store) -> None:
    keyer = Keying(office, "K01", Clock())
    for n in range(1, 41):
        keyer.key(paper(n))
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(share=2500, seed=7))
    first = [f.record_id for f in Keying(office, "K02", Clock()).to_verify(EA)]
    assert 3 <= len(first) <= 20
    assert [f.record_id for f in Keying(office, "K03", Clock()).to_verify(EA)] == first
    # A new setting draws again the forms not verified yet.
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(share=10000, seed=7))
    assert len(Keying(office, "K03", Clock()).to_verify(EA)) == 40


def test_operator_statistics_attribute_errors_to_keyer_and_verifier(office: Store) -> None:
    keyer = Keying(office, "K01", Clock())
    ids = [keyer.key(paper(n)).record_id for n in range(1, 4)]
    keyer.counts.keystrokes, keyer.counts.bad_keystrokes = 300, 6
    keyer.save_counts()
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(every=1))
    verifier = Keying(office, "K02", Clock())
    verifier.start("verify", EA)
    verifier.counts.keystrokes = 200
    for rid in ids:
        form, values = verifier.original(rid or "")
        verifier.verified(rid or "", form, len(values), 1, 0)
    days = {(d.operator, d.mode): d for d in kept.operator_days(office)}
    k, v = days[("K01", "key")], days[("K02", "verify")]
    assert (k.forms, k.keystrokes, k.bad_keystrokes, k.fields_verified, k.errors) == (
        3, 300, 6, 3 * len(values), 3)
    assert (v.forms, v.keystrokes, v.fields_verified, v.errors) == (3, 200, 3 * len(values), 0)
    assert k.day == "2026-11-25" and k.seconds > 0


def test_resolve_applies_an_adjudicated_value_with_an_audit_entry(office: Store) -> None:
    rid = Keying(office, "K01", Clock()).key(paper(1)).record_id or ""
    assert resolve(office, rid, {"away": "2", "residents:male:25-34": "3"}, "S01", Clock()) == []
    h = load_household(office, rid)
    assert h is not None and (h[1].away, h[1].residents[("male", "25-34")]) == (2, 3)
    entry = office.conn.execute("SELECT who, new, reason FROM audit WHERE field = 'keying'"
                                ).fetchone()
    assert entry == ("S01", "away: 0 -> 2; residents:male:25-34: 1 -> 3", "adjudicated")
    with pytest.raises(CensusError, match="outcome"):
        resolve(office, rid, {"outcome": "3"}, "S01", Clock())


def test_keyed_forms_go_up_in_the_supervisors_bundle(tmp_path: Path) -> None:
    """Keyed forms are the district's records: its bundle carries them to the office, which
    merges them like any other (the form keyed past a warning is flagged there too)."""
    from census.usecases.bundles import import_bundle
    from tests.usecases.fieldwork import NOW, assign, bundle, site

    office = site(tmp_path, Role.OFFICE, "HQ", register=True)
    district = site(tmp_path, Role.SUPERVISOR, "S01")
    assign(office, district, ["R01-D01"])
    k = Keying(district.store, "K01", Clock())
    plain = k.key(paper(1)).record_id
    marked = k.key(paper(2, adults=18), past_warnings=True).record_id
    import_bundle(office.store, bundle(district, office), NOW)
    got = {r[0]: r[1:] for r in office.store.conn.execute(
        "SELECT id, status, usual_residents FROM household")}
    assert got == {plain: ("complete", 2), marked: ("complete", 18)}
    assert office.store.conn.execute("SELECT record_id, detail FROM review WHERE kind = "
                                     "'flagged'").fetchall() == [(marked, "W001")]
    office.store.close()
    district.store.close()


def test_a_dwelling_listed_in_the_field_gets_the_papers_visit(office: Store) -> None:
    """A dwelling listed (not visited) before its paper form is keyed: the form's visit is
    added, so its household has the contact the rules ask for."""
    from census.usecases.entry import Entry

    assert Entry(office, "S01").add_dwelling(EA, 7, 1).ok
    done = Keying(office, "K01", Clock()).key(paper(7))
    assert done.ok, done
    assert office.conn.execute("SELECT attempt, outcome FROM visit").fetchall() == [
        (1, "completed")]


# -- the review's findings (each failed before its fix) ---------------------------------------


def test_each_household_of_a_dwelling_keeps_its_own_day_and_outcome(office: Store) -> None:
    k = Keying(office, "K01", Clock())
    one = k.key(paper(2, household=1)).record_id or ""
    two = k.key(paper(2, household=2, day=date(2026, 11, 22), outcome=Outcome.PARTIAL)
                ).record_id or ""
    assert office.conn.execute("SELECT attempt, substr(at, 1, 10), outcome FROM visit ORDER BY "
                               "attempt").fetchall() == [(1, "2026-11-20", "completed"),
                                                         (2, "2026-11-22", "partial")]
    verifier = Keying(office, "K02", Clock())
    assert verifier.original(one)[1]["day"] == "2011"
    assert (verifier.original(two)[1]["day"], verifier.original(two)[1]["outcome"]) == (
        "2211", "2")
    refused = k.key(paper(2, household=3, outcome=Outcome.REFUSED))
    assert "has households counted already" in (refused.refused or "")
    # Correcting the second form's day adds a visit of its own: the first form's stays.
    verifier.start("verify", EA)
    verifier.verified(two, paper(2, household=2, day=date(2026, 11, 23),
                                 outcome=Outcome.PARTIAL), 21, 1, 0)
    assert verifier.original(one)[1]["day"] == "2011"
    assert verifier.original(two)[1]["day"] == "2311"


def test_a_form_changed_since_it_was_keyed_is_not_verified_over(office: Store) -> None:
    from census.usecases.entry import Entry

    rid = Keying(office, "K01", Clock()).key(paper(1)).record_id or ""
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(every=1))
    verifier = Keying(office, "K02", Clock())
    verifier.start("verify", EA)
    assert [f.record_id for f in verifier.to_verify(EA)] == [rid]
    form, _values = verifier.original(rid)
    # The supervisor corrects the household meanwhile (4 adults).
    dwelling_id, h = load_household(office, rid) or ("", None)
    assert h is not None
    residents = {("female", "25-34"): 2, ("male", "25-34"): 2}
    saved = Entry(office, "S01").save_household(dwelling_id, replace(h, residents=residents),
                                                complete=True)
    assert saved.ok
    done = verifier.verified(rid, form, 21, 1, 0)
    assert done.refused and "changed meanwhile" in done.refused
    after = load_household(office, rid)
    assert after is not None and after[1].present == 4  # the supervisor's edit stands
    assert office.conn.execute("SELECT verified_by, keyer_errors FROM keyed_form").fetchone() \
        == (None, 0)
    assert verifier.to_verify(EA) == []  # no longer the keyer's to verify


def test_a_form_is_verified_once(office: Store) -> None:
    rid = Keying(office, "K01", Clock()).key(paper(1)).record_id or ""
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(every=1))
    a, b = Keying(office, "K02", Clock()), Keying(office, "K03", Clock())
    form, _values = a.original(rid)
    assert not a.verified(rid, form, 21, 0, 0).refused
    again = b.verified(rid, form, 21, 0, 1)
    assert again.refused and "verified or changed meanwhile" in again.refused
    assert kept.batch_errors(office, EA) == (0, 21)


def test_no_verification_is_recorded_in_a_closed_area(office: Store) -> None:
    rid = Keying(office, "K01", Clock()).key(paper(1)).record_id or ""
    verifier = Keying(office, "K02", Clock())
    verifier.original(rid)
    close_area(office, EA, leave_open_work=True)
    done = verifier.verified(rid, paper(1, adults=3), 21, 1, 0)
    assert done.refused and "closed" in done.refused
    assert office.conn.execute("SELECT count(*) FROM review").fetchone() == (0,)
    assert office.conn.execute("SELECT verified_by FROM keyed_form").fetchone() == (None,)


def test_corrections_with_warnings_are_marked_for_review(office: Store) -> None:
    rid = Keying(office, "K01", Clock()).key(paper(1)).record_id or ""
    verifier = Keying(office, "K02", Clock())
    verifier.verified(rid, paper(1, adults=18), 21, 2, 0)
    assert office.conn.execute("SELECT record_id, detail FROM review").fetchall() == [
        (rid, "W001")]
    other = Keying(office, "K01", Clock()).key(paper(2)).record_id or ""
    assert resolve(office, other, {"residents:female:25-34": "20"}, "S01", Clock()) == []
    assert office.conn.execute("SELECT detail FROM review WHERE record_id = ?",
                               (other,)).fetchall() == [("W001",)]


def test_an_outcome_without_contact_keyed_as_one_with_goes_to_review(office: Store) -> None:
    rid = Keying(office, "K01", Clock()).key(paper(1)).record_id or ""
    verifier = Keying(office, "K02", Clock())
    done = verifier.verified(rid, paper(1, outcome=Outcome.REFUSED), 3, 1, 0)
    assert done.unresolved and not done.problems
    h = load_household(office, rid)
    assert h is not None and h[1].present == 2  # as first keyed
    assert office.conn.execute("SELECT flagged, verified_by, keyer_errors FROM keyed_form"
                               ).fetchone() == (1, "K02", 1)


def test_resolve_names_only_fields_the_form_has(office: Store) -> None:
    k = Keying(office, "K01", Clock())
    k.key(paper(9, outcome=Outcome.REFUSED))
    dwelling = office.conn.execute("SELECT id FROM dwelling").fetchone()[0]
    with pytest.raises(CensusError, match="no such field"):
        resolve(office, dwelling, {"residents:female:25-34": "5"}, "S01", Clock())
    assert office.conn.execute("SELECT count(*) FROM audit WHERE field = 'keying'"
                               ).fetchone() == (0,)


def test_a_new_tolerance_judges_the_batch_again(office: Store) -> None:
    k = Keying(office, "K01", Clock())
    rid = k.key(paper(1)).record_id or ""
    k.key(paper(2))
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(every=1, tolerance=100))
    verifier = Keying(office, "K02", Clock())
    assert verifier.verified(rid, paper(1, adults=3), 21, 1, 0).rekey
    Keying(office, "S01", Clock()).set_batch(EA, VerifySetting(every=2, tolerance=1000))
    assert kept.batch_setting(office, EA) == (VerifySetting(every=2, tolerance=1000), False)
