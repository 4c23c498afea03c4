"""The pure core of keying paper forms (issue 16): CSPro's attribution rules as a property, the
choice of forms to verify, the tolerance, the form's fields and values, the key tally."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from census.domain.config import default_config
from census.domain.keying import (
    FieldCheck,
    KeyTally,
    PaperForm,
    Verdict,
    VerifySetting,
    applies,
    field_problem,
    form_of,
    over_tolerance,
    paper_fields,
    paper_value,
    values_of,
    visit_day,
)
from census.domain.model import Outcome, Respondent

CONFIG = default_config()
TODAY = date(2026, 12, 6)
digits = st.text(alphabet="0123", min_size=1, max_size=2)


@given(original=digits, keyed=st.lists(digits, min_size=1, max_size=6))
def test_attribution_follows_cspro(original: str, keyed: list[str]) -> None:
    """A first keying equal to the original matches; else each later keying equal to the
    original is the verifier's error, equal to the verifier's previous value the keyer's,
    anything else asks again (and becomes the value compared with)."""
    check = FieldCheck(original)
    previous: str | None = None
    for value in keyed:
        verdict = check.key(value)
        if previous is None:
            expected = Verdict.MATCH if value == original else Verdict.AGAIN
        elif value == original:
            expected = Verdict.VERIFIER_ERROR
        elif value == previous:
            expected = Verdict.KEYER_ERROR
        else:
            expected = Verdict.AGAIN
        assert verdict is expected
        if verdict is not Verdict.AGAIN:
            return  # the field is decided
        previous = value


def test_every_nth_and_a_random_share() -> None:
    every = VerifySetting(every=3)
    assert [p for p in range(1, 11) if every.chosen(p, f"id{p}")] == [3, 6, 9]
    share = VerifySetting(share=2000, seed=1)
    chosen = [p for p in range(1, 2001) if share.chosen(p, f"form-{p}")]
    assert 330 <= len(chosen) <= 470  # 20 % of 2,000, drawn
    assert chosen == [p for p in range(1, 2001) if share.chosen(p, f"form-{p}")]  # the same
    other = [p for p in range(1, 2001) if VerifySetting(share=2000, seed=2).chosen(
        p, f"form-{p}")]
    assert other != chosen
    assert all(VerifySetting(share=10000).chosen(p, str(p)) for p in range(1, 50))
    for bad in ({}, {"every": 2, "share": 5}, {"every": 0}, {"share": 0},
                {"every": 1, "tolerance": 10001}):
        with pytest.raises(ValueError):
            VerifySetting(**bad)  # type: ignore[arg-type]


def test_the_tolerance_is_exact() -> None:
    assert not over_tolerance(1, 100, 100)  # 1 % of 100 fields: at the tolerance
    assert over_tolerance(2, 100, 100)
    assert over_tolerance(1, 99, 100)
    assert not over_tolerance(0, 0, 0)


@given(st.dictionaries(st.sampled_from(CONFIG.cells), st.integers(1, 9), max_size=4),
       st.integers(0, 5), st.integers(0, 5), st.sampled_from(list(Outcome)),
       st.sampled_from([Respondent.MEMBER, Respondent.PROXY]))
def test_a_form_is_its_keyed_values(residents: dict[tuple[str, str], int], away: int,
                                    visitors: int, outcome: Outcome,
                                    respondent: Respondent) -> None:
    form = PaperForm("R01-D01-EA001", 12, 3, 2, date(2026, 11, 30), outcome, residents, away,
                     visitors, respondent)
    values = values_of(form, CONFIG)
    again = form_of("R01-D01-EA001", values, CONFIG, TODAY)
    if form.contact:
        assert again == form
    else:  # no counts on a form without contact
        assert again.residents == {} and (again.away, again.visitors) == (0, 0)
    assert set(values) == {f.name for f in paper_fields(CONFIG) if applies(f, values)}
    assert all(field_problem(f, values[f.name], CONFIG, TODAY) is None
               for f in paper_fields(CONFIG) if f.name in values)


def test_field_checks_say_what_is_wanted() -> None:
    fields = {f.name: f for f in paper_fields(CONFIG)}
    assert "only digits" in (field_problem(fields["away"], "1a", CONFIG, TODAY) or "")
    assert "code from 1 to 8" in (field_problem(fields["outcome"], "9", CONFIG, TODAY) or "")
    assert "at most 60" in (field_problem(fields["visitors"], "61", CONFIG, TODAY) or "")
    assert "no day" in (field_problem(fields["day"], "3102", CONFIG, TODAY) or "")
    assert "from 1 to 9999" in (field_problem(fields["structure"], "0", CONFIG, TODAY) or "")
    assert "from 1 to 99" in (field_problem(fields["household"], "100", CONFIG, TODAY) or "")
    assert fields["household"].digits == 2 and fields["dwelling"].digits == 4
    assert field_problem(fields["away"], "", CONFIG, TODAY) is None  # an empty count is 0
    # A day still ahead this year is last year's (December's forms keyed in January).
    assert visit_day("2012", date(2027, 1, 5)) == date(2026, 12, 20)
    assert visit_day("0612", TODAY) == TODAY


def test_adjudicated_values_are_named_as_compare_names_them() -> None:
    assert paper_value("visit:1:outcome", "refused", CONFIG, TODAY) == ("outcome", "5")
    assert paper_value("visit:1:at", "2026-11-20T00:00", CONFIG, TODAY) == ("day", "2011")
    assert paper_value("respondent", "proxy", CONFIG, TODAY) == ("respondent", "2")
    assert paper_value("residents:male:0-4", "007", CONFIG, TODAY) == (
        "residents:male:0-4", "7")
    for name, value in [("type", "house"), ("structure", "2"), ("away", "x")]:
        with pytest.raises(ValueError):
            paper_value(name, value, CONFIG, TODAY)


def test_the_tally_counts_keys_erasures_and_pauses() -> None:
    tally = KeyTally()
    start = KeyTally(**tally.__dict__)
    for at, key in [(0.0, "1"), (1.0, "backspace"), (2.0, "2"), (300.0, "enter"),
                    (301.0, "delete")]:
        tally.key(key, at)
    assert tally.since(start) == (5, 2, 298)
