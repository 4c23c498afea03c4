"""Keying paper forms (issue 16), pure: the fields of a paper questionnaire in the order a clerk
keys them, what each accepts, the form they make; the dependent verifier's attribution of errors
(CSPro's rules); which forms of a batch are verified; the operator statistics' rates.

A paper form is one household questionnaire: its number (structure, dwelling, household; the
area is the batch's), the day of the visit (DDMM, as written on the paper), the final visit
outcome (a code, 1-8 in the order of `Outcome`), then, for a household reached, the count grid
(age band by age band, each band's sexes in the config's order, as the paper prints them),
persons away, visitors, and who answered (1 member, 2 proxy). For an outcome without contact
the counts are skipped, as on the paper.

Every value is kept as the text a clerk keys, in one canonical form (`canonical`), so that the
first keying and the verifier's compare as typed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from census.domain.config import SurveyConfig
from census.domain.model import CONTACT_OUTCOMES, Cell, Outcome, Respondent
from census.i18n import N_, _

OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
"""The outcome codes of the paper form: 1 is the first outcome, 2 the second..."""
RESPONDENTS: tuple[Respondent, ...] = (Respondent.MEMBER, Respondent.PROXY)
CONTACT_CODES = frozenset(str(OUTCOMES.index(o) + 1) for o in CONTACT_OUTCOMES)

PAUSE_AFTER = 120
"""Seconds without a key after which the time counts as a pause, not as keying."""

NUMBER_LIMITS = (9999, 9999, 99)
"""The largest structure, dwelling and household numbers (as the store holds them)."""
COUNT_DIGITS = 3


class Kind(StrEnum):
    NUMBER = "number"
    DAY = "day"
    OUTCOME = "outcome"
    COUNT = "count"
    RESPONDENT = "respondent"


@dataclass(frozen=True)
class KeyField:
    """One field of the paper form: its name (as `census verify compare` names it), what it
    holds, how many digits it takes, and its label (translated when shown)."""

    name: str
    kind: Kind
    digits: int
    label: str
    top: int | None = None
    """The largest number the field takes (questionnaire numbers: as the store holds them)."""

    @property
    def counts(self) -> bool:
        """True for a field skipped when the visit made no contact."""
        return self.kind in (Kind.COUNT, Kind.RESPONDENT)


NUMBERS = ("structure", "dwelling", "household")
_LABELS = {"structure": N_("Structure"), "dwelling": N_("Dwelling"),
           "household": N_("Household"), "day": N_("Day of visit (DDMM)"),
           "outcome": N_("Outcome"), "away": N_("Away"), "visitors": N_("Visitors"),
           "respondent": N_("Respondent (1 member, 2 proxy)")}


def cell_name(cell: Cell) -> str:
    """A grid cell's field, as keying, `census verify compare` and `resolve` name it:
    "residents:SEX:BAND"."""
    return f"residents:{cell[0]}:{cell[1]}"


def paper_fields(config: SurveyConfig) -> tuple[KeyField, ...]:
    """The fields of a paper form in the order they are keyed."""
    fields = [KeyField(n, Kind.NUMBER, len(str(top)), _LABELS[n], top)
              for n, top in zip(NUMBERS, NUMBER_LIMITS, strict=True)]
    fields.append(KeyField("day", Kind.DAY, 4, _LABELS["day"]))
    fields.append(KeyField("outcome", Kind.OUTCOME, 1, _LABELS["outcome"]))
    for band in config.age_bands:
        for sex in config.sexes:
            fields.append(KeyField(cell_name((sex.code, band.code)), Kind.COUNT, COUNT_DIGITS,
                                   f"{sex.label} {band.code}"))
    fields.append(KeyField("away", Kind.COUNT, COUNT_DIGITS, _LABELS["away"]))
    fields.append(KeyField("visitors", Kind.COUNT, COUNT_DIGITS, _LABELS["visitors"]))
    fields.append(KeyField("respondent", Kind.RESPONDENT, 1, _LABELS["respondent"]))
    return tuple(fields)


def applies(field: KeyField, values: Mapping[str, str]) -> bool:
    """Whether `field` is keyed on this form: the counts only after an outcome with contact."""
    return not field.counts or values.get("outcome") in CONTACT_CODES


def canonical(field: KeyField, text: str) -> str:
    """The keyed text in the one form values are kept and compared in: a count or a number
    without leading zeros ("" is 0 for a count), a day as four digits."""
    text = text.strip()
    if field.kind is Kind.COUNT:
        return str(int(text)) if text.isdigit() else ("0" if text == "" else text)
    if field.kind is Kind.NUMBER and text.isdigit():
        return str(int(text))
    if field.kind is Kind.DAY and text.isdigit():
        return text.zfill(4)
    return text


def visit_day(text: str, today: date) -> date | None:
    """The day DDMM names: this year's, or last year's when this year's is still ahead
    (forms of December keyed in January); None when it is no day."""
    if len(text) != 4 or not text.isdigit():
        return None
    day, month = int(text[:2]), int(text[2:])
    for year in (today.year, today.year - 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return None
        if found <= today:
            return found
    return None


def field_problem(field: KeyField, text: str, config: SurveyConfig, today: date) -> str | None:
    """Why `text` cannot be kept in `field` (a sentence: what, and what is wanted), or None."""
    value = canonical(field, text)
    if value and not value.isdigit():
        return _("{field}: only digits can be keyed here").format(field=_(field.label))
    n = int(value) if value else -1  # nothing keyed: the field's own message
    if field.kind is Kind.NUMBER and not 1 <= n <= (field.top or n):
        return _("{field}: key a number from 1 to {max}").format(field=_(field.label),
                                                                  max=field.top)
    if field.kind is Kind.DAY and not value:
        return _("{field}: key the day and the month, e.g. 0312 for 3 December").format(
            field=_(field.label))
    if field.kind is Kind.DAY and visit_day(value, today) is None:
        return _("{field}: {value} is no day up to today; key the day and the month, "
                 "e.g. 0312 for 3 December").format(field=_(field.label), value=value)
    if field.kind is Kind.OUTCOME and not 1 <= n <= len(OUTCOMES):
        return _("Outcome: key a code from 1 to {n}").format(n=len(OUTCOMES))
    if field.kind is Kind.RESPONDENT and n not in (1, 2):
        return _("Respondent: key 1 (a member) or 2 (someone else)")
    if field.kind is Kind.COUNT and n > config.max_household_size:
        return _("{field}: {value} is more than a household holds (at most {max})").format(
            field=_(field.label), value=n, max=config.max_household_size)
    return None


@dataclass(frozen=True)
class PaperForm:
    """What one paper questionnaire says, as keyed."""

    area: str
    structure: int
    dwelling: int
    household: int
    day: date
    outcome: Outcome
    residents: Mapping[Cell, int]
    away: int = 0
    visitors: int = 0
    respondent: Respondent = Respondent.MEMBER

    @property
    def contact(self) -> bool:
        return self.outcome in CONTACT_OUTCOMES

    @property
    def visited_at(self) -> datetime:
        """A paper form gives the day of the visit, not its hour: midnight of that day."""
        return datetime(self.day.year, self.day.month, self.day.day)

    @property
    def questionnaire(self) -> str:
        return f"{self.area}/{self.structure}/{self.dwelling}/{self.household}"


def form_of(area: str, values: Mapping[str, str], config: SurveyConfig, today: date
            ) -> PaperForm:
    """The form the keyed `values` make (each checked with `field_problem` before; a field
    not keyed counts as empty)."""
    fields = paper_fields(config)
    got = {f.name: canonical(f, values.get(f.name, "")) for f in fields}
    day = visit_day(got["day"], today)
    if day is None:
        raise ValueError(f"no day: {got['day']!r}")
    outcome = OUTCOMES[int(got["outcome"]) - 1]
    contact = outcome in CONTACT_OUTCOMES
    residents = {c: int(got[cell_name(c)]) for c in config.cells
                 if contact and int(got[cell_name(c)])}
    return PaperForm(area, int(got["structure"]), int(got["dwelling"]), int(got["household"]),
                     day, outcome, residents,
                     away=int(got["away"]) if contact else 0,
                     visitors=int(got["visitors"]) if contact else 0,
                     respondent=RESPONDENTS[int(got["respondent"] or "1") - 1]
                     if contact else Respondent.MEMBER)


def values_of(form: PaperForm, config: SurveyConfig) -> dict[str, str]:
    """The canonical keyed text of every field a form has (those it skips are absent)."""
    out = {"structure": str(form.structure), "dwelling": str(form.dwelling),
           "household": str(form.household), "day": form.day.strftime("%d%m"),
           "outcome": str(OUTCOMES.index(form.outcome) + 1)}
    if form.contact:
        out.update((cell_name(c), str(form.residents.get(c, 0))) for c in config.cells)
        out.update(away=str(form.away), visitors=str(form.visitors),
                   respondent=str(RESPONDENTS.index(form.respondent) + 1))
    return out


def paper_value(name: str, value: str, config: SurveyConfig, today: date) -> tuple[str, str]:
    """An adjudicated value, named as `census verify compare` names fields (or as the paper
    form does), as (paper field, canonical text); ValueError with a sentence when it is none."""
    value = value.strip()
    if not value:
        raise ValueError(_("{field}: give the value the paper says, e.g. {field}=2.").format(
            field=name))
    if name in ("visit:1:outcome", "outcome"):
        name = "outcome"
        names = [str(o) for o in OUTCOMES]
        value = str(names.index(value) + 1) if value in names else value
    elif name in ("visit:1:at", "day"):
        name = "day"
        if len(value) >= 10 and value[4] == "-":  # 2026-11-20 or 2026-11-20T00:00
            value = value[8:10] + value[5:7]
    elif name == "respondent":
        codes = [str(r) for r in RESPONDENTS]
        value = str(codes.index(value) + 1) if value in codes else value
    fields = {f.name: f for f in paper_fields(config)}
    field = fields.get(name)
    if field is None or field.kind is Kind.NUMBER:
        raise ValueError(_("{field} is not a field `census verify resolve` sets: it sets the "
                           "day (visit:1:at), the outcome (visit:1:outcome), the count grid "
                           "(residents:SEX:BAND), away, visitors and respondent; correct the "
                           "rest in the app.").format(field=name))
    problem = field_problem(field, value, config, today)
    if problem is not None:
        raise ValueError(problem)
    return name, canonical(field, value)


# -- dependent verification --------------------------------------------------------------------


class Verdict(StrEnum):
    """What a verifier's keying of one field comes to."""

    MATCH = "match"
    """The same as the first keying."""
    AGAIN = "again"
    """Different: the verifier keys it again."""
    VERIFIER_ERROR = "verifier_error"
    """Keyed again as first keyed: the verifier had it wrong; the first keying stays."""
    KEYER_ERROR = "keyer_error"
    """Keyed twice the same, differently from the first keying: the verifier's value replaces
    it, and the error counts against the first keyer."""


@dataclass
class FieldCheck:
    """CSPro's dependent verification of one field: compare as typed; on a difference key
    again; the second keying decides who was wrong (a third different value starts over)."""

    original: str
    first: str | None = None

    def key(self, value: str) -> Verdict:
        if self.first is None:
            if value == self.original:
                return Verdict.MATCH
            self.first = value
            return Verdict.AGAIN
        if value == self.original:
            return Verdict.VERIFIER_ERROR
        if value == self.first:
            return Verdict.KEYER_ERROR
        self.first = value
        return Verdict.AGAIN


@dataclass(frozen=True)
class VerifySetting:
    """Which forms of a batch are verified: every Nth (`every`), or a random share (`share`
    in hundredths of a percent, drawn with `seed`); and the share of fields in error
    (`tolerance`, hundredths of a percent) past which the batch is keyed again in full."""

    every: int | None = None
    share: int | None = None
    seed: int = 0
    tolerance: int = 100

    def __post_init__(self) -> None:
        if (self.every is None) == (self.share is None):
            raise ValueError("either every or share")
        if self.every is not None and self.every < 1:
            raise ValueError("every from 1")
        if self.share is not None and not 1 <= self.share <= 10000:
            raise ValueError("share from 0.01 % to 100 %")
        if not 0 <= self.tolerance <= 10000:
            raise ValueError("tolerance from 0 to 100 %")

    def chosen(self, position: int, form_id: str) -> bool:
        """Whether the form keyed `position`-th in its batch (from 1) is verified."""
        if self.every is not None:
            return position % self.every == 0
        digest = hashlib.sha256(f"{self.seed}:{form_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % 10000 < (self.share or 0)

    def describe(self) -> str:
        """The setting as it is logged: `every 5`, `share 20.00% seed 7`, with the tolerance."""
        how = (f"every {self.every}" if self.every is not None
               else f"share {percent(self.share or 0)} seed {self.seed}")
        return f"{how}; tolerance {percent(self.tolerance)}"


DEFAULT_SETTING = VerifySetting(every=10, tolerance=100)
"""Until a batch has its own: every 10th form verified, re-keyed in full past 1 % of fields."""


def percent(hundredths: int) -> str:
    """Hundredths of a percent as text: 150 → `1.50%`."""
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def over_tolerance(keyer_errors: int, fields_verified: int, tolerance: int) -> bool:
    """True when the keyer errors found pass the tolerance (hundredths of a percent of the
    fields verified): the batch is keyed again in full."""
    return fields_verified > 0 and keyer_errors * 10000 > tolerance * fields_verified


# -- operator statistics ----------------------------------------------------------------------


ERASING = frozenset({"backspace", "delete"})


@dataclass
class KeyTally:
    """Keys pressed in the app (never which digits): every key, the erasing ones (bad
    keystrokes), and the pauses (a gap of more than `PAUSE_AFTER` seconds between two keys)."""

    keystrokes: int = 0
    bad: int = 0
    pause: float = 0.0
    last: float | None = None

    def key(self, name: str, at: float) -> None:
        """One key `name` pressed at `at` (seconds, a monotonic clock)."""
        if self.last is not None and at - self.last > PAUSE_AFTER:
            self.pause += at - self.last
        self.last = at
        self.keystrokes += 1
        if name in ERASING:
            self.bad += 1

    def since(self, start: KeyTally) -> tuple[int, int, int]:
        """Keystrokes, bad keystrokes and whole seconds of pause since `start` (a copy)."""
        return (self.keystrokes - start.keystrokes, self.bad - start.bad,
                int(self.pause - start.pause))


def per_hour(count: int, seconds: int) -> float | None:
    return None if seconds <= 0 else round(count * 3600 / seconds, 1)


def per_thousand(count: int, of: int) -> float | None:
    return None if of <= 0 else round(count * 1000 / of, 2)


def share_percent(count: int, of: int) -> float | None:
    return None if of <= 0 else round(count * 100 / of, 2)
