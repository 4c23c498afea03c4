"""Daily field reports (issue 15): per enumerator and day, the figures field managers work from,
computed from paradata only (the times stored with visits, in the audit log and with decisions);
nothing about a person. `compute` is a pure function over the rows of `census.storage.paradata`
(tested without a database); `field_report` reads those rows from a store and computes.

Times are compared as local times: a visit carries the device's local time; UTC stamps (the
audit log, decisions, saves) are converted to this computer's time zone (or `tz`).

The figures of one enumerator on one day:
- dwellings visited: distinct dwellings the enumerator visited that day (any outcome);
- households completed: household forms whose completion fell on that day. A form's completion
  is, the first of these that exists: the first audit entry here changing its status to
  complete (on the device where it was completed in the app); the last save of a form received
  complete from the enumerator's device; the latest visit to its dwelling with outcome
  completed (forms imported from files, or approved or returned since: the day is known, the
  minute is not). A form returned and completed again counts once, on its first completion;
- refusals: the enumerator's visits that day with outcome refused;
- no contacts: the enumerator's visits that day with outcome no one home;
- appointments kept and missed: appointments (a visit's callback date and time) falling on that
  day, counted for the enumerator whose visit made them. Kept: the dwelling's next visit came at
  or before the appointment plus the tolerance (60 minutes unless told), earlier ones included.
  Missed: the next visit came later, or there is none and the appointment plus the tolerance has
  passed. An appointment that may still be kept is neither;
- median minutes from the first visit to the completed form: over that day's completed forms
  whose completion is known to the minute (the first two sources above), the minutes from the
  first visit to the dwelling to the completion; none without such a form;
- forms returned, forms approved: supervisors' decisions that day on the enumerator's forms;
- idle days: 1 for a day before today, on or after the enumerator's first visit ever, without a
  visit by the enumerator; else 0.
An enumerator's period total sums the days (a dwelling visited on two days counts twice),
except the median, which is over every form of the period. Records purged from a device after
a receipt leave its figures (the supervisor's database keeps them).
"""

from __future__ import annotations

import statistics
import textwrap
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from itertools import groupby
from typing import TYPE_CHECKING, Any

from census.domain.errors import CensusError
from census.domain.model import Outcome, Role
from census.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from census.storage.paradata import DecisionRow, FormRow, VisitRow
    from census.storage.store import Store

DEFAULT_DAYS = 14
MAX_DAYS = 366
DEFAULT_TOLERANCE = 60
"""Minutes after an appointment within which a visit keeps it."""
NOBODY = "-"
"""The enumerator of rows whose enumerator is not known."""
KEPT, MISSED = "kept", "missed"
#: The stable keys of a row, in order: JSON objects and the CSV header.
KEYS = ("enumerator", "date", "dwellings_visited", "households_completed", "refusals",
        "no_contacts", "appointments_kept", "appointments_missed", "median_minutes",
        "forms_returned", "forms_approved", "idle_days")
#: Short column headings (the legend says what each is); a table of them fits 80 columns.
HEADINGS = (N_("enum."), N_("day"), N_("visited"), N_("done"), N_("refused"), N_("absent"),
            N_("kept"), N_("missed"), N_("min."), N_("ret."), N_("appr."), N_("idle"))
LEGEND = N_("visited: dwellings visited; done: households completed; refused: refusals; "
            "absent: visits with no one home; kept, missed: appointments kept and missed; "
            "min.: median minutes from the first visit to the completed form; ret., appr.: "
            "forms returned and approved; idle: days without a visit.")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")


class ReportError(CensusError):
    """A report that cannot be made as asked."""


@dataclass(frozen=True)
class Period:
    """The days a report covers, `first` to `last` inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ReportError(_("The period ends ({last}) before it starts ({first}).").format(
                first=self.first, last=self.last))
        if self.length > MAX_DAYS:
            raise ReportError(_("A report covers at most {n} days; this period has {days}.")
                              .format(n=MAX_DAYS, days=self.length))

    @classmethod
    def ending(cls, last: date, days: int = DEFAULT_DAYS) -> Period:
        """The `days` days up to and including `last`."""
        if days < 1:
            raise ReportError(_("A report covers at least one day."))
        return cls(last - timedelta(days=days - 1), last)

    @property
    def length(self) -> int:
        return (self.last - self.first).days + 1

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.length)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


@dataclass(frozen=True)
class Figures:
    """One enumerator's figures on one day (`day` None: over the whole period)."""

    enumerator: str
    day: date | None
    dwellings_visited: int = 0
    households_completed: int = 0
    refusals: int = 0
    no_contacts: int = 0
    appointments_kept: int = 0
    appointments_missed: int = 0
    median_minutes: int | None = None
    forms_returned: int = 0
    forms_approved: int = 0
    idle_days: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The row under KEYS: `date` in ISO form, None for a period total."""
        values = asdict(self)
        values["date"] = None if self.day is None else self.day.isoformat()
        return {k: values[k] for k in KEYS}


@dataclass
class _Day:
    dwellings: set[str] = field(default_factory=set)
    visits: int = 0
    completed: int = 0
    refusals: int = 0
    no_contacts: int = 0
    kept: int = 0
    missed: int = 0
    minutes: list[float] = field(default_factory=list)
    returned: int = 0
    approved: int = 0


@dataclass(frozen=True)
class Report:
    """The rows of a report: per enumerator and day (`days`), and per enumerator over the
    period (`totals`), both ordered by enumerator (then day)."""

    period: Period
    days: list[Figures]
    totals: list[Figures]

    def rows(self) -> list[Figures]:
        """Each enumerator's days, then their total."""
        totals = {t.enumerator: t for t in self.totals}
        out: list[Figures] = []
        for who, group in groupby(self.days, key=lambda f: f.enumerator):
            out += [*group, totals[who]]
        return out

    def completed_per_day(self) -> list[tuple[date, int]]:
        """Households completed on each day of the period, all enumerators together."""
        per: dict[date, int] = defaultdict(int)
        for f in self.days:
            if f.day is not None:
                per[f.day] += f.households_completed
        return [(d, per.get(d, 0)) for d in self.period.days()]


def local(stamp: str, tz: tzinfo | None = None) -> datetime:
    """A stored time as a local time without zone: a UTC stamp (`…Z`) is converted to `tz`
    (None: this computer's zone); a time without zone is local already."""
    t = datetime.fromisoformat(stamp)
    if t.tzinfo is not None:
        t = t.astimezone(tz).replace(tzinfo=None)
    return t


def appointment(due: datetime, next_visit: datetime | None, now: datetime,
                tolerance: timedelta) -> str | None:
    """KEPT, MISSED, or None while an appointment may still be kept."""
    if next_visit is not None:
        return KEPT if next_visit <= due + tolerance else MISSED
    return MISSED if now > due + tolerance else None


def completion(form: FormRow, tz: tzinfo | None = None) -> tuple[datetime, bool] | None:
    """When a form was completed, and whether that time is exact (else only its day is)."""
    if form.logged:
        return local(form.logged, tz), True
    if form.status == "complete" and form.source is not None and form.updated_at:
        return local(form.updated_at, tz), True
    if form.completed_visit:
        return local(form.completed_visit, tz), False
    return None


def median(values: Sequence[float]) -> int | None:
    """The median, in whole minutes; None for no values."""
    return round(statistics.median(values)) if values else None


def compute(visits: Sequence[VisitRow], forms: Sequence[FormRow],
            decisions: Sequence[DecisionRow], starts: Mapping[str | None, str],
            period: Period, now: datetime, *, tolerance: int = DEFAULT_TOLERANCE,
            tz: tzinfo | None = None, only: str | None = None, nobody: str = NOBODY) -> Report:
    """The report over the rows read from a store: `starts` is each enumerator's first visit
    ever; `now` (local) decides missed appointments and which days are over; `only` keeps one
    enumerator; rows without an enumerator go to `nobody`."""
    days: dict[tuple[str, date], _Day] = defaultdict(_Day)
    slack = timedelta(minutes=tolerance)
    for v in visits:
        who = v.enumerator or nobody
        at = local(v.at, tz)
        if at.date() in period:
            day = days[who, at.date()]
            day.dwellings.add(v.dwelling_id)
            day.visits += 1
            day.refusals += v.outcome == Outcome.REFUSED
            day.no_contacts += v.outcome == Outcome.NO_ONE_HOME
        if v.callback_at is not None:
            due = local(v.callback_at, tz)
            if due.date() in period:
                state = appointment(due, None if v.next_at is None else local(v.next_at, tz),
                                    now, slack)
                if state is not None:
                    day = days[who, due.date()]
                    day.kept += state == KEPT
                    day.missed += state == MISSED
    for form in forms:
        done = completion(form, tz)
        if done is None or done[0].date() not in period:
            continue
        when, exact = done
        day = days[form.enumerator or nobody, when.date()]
        day.completed += 1
        if exact and form.first_visit is not None:
            taken = (when - local(form.first_visit, tz)).total_seconds() / 60
            day.minutes.append(max(0.0, taken))
    for x in decisions:
        at = local(x.at, tz)
        if at.date() in period:
            day = days[x.enumerator or nobody, at.date()]
            day.approved += x.action == "approved"
            day.returned += x.action == "returned"
    idle: set[tuple[str, date]] = set()
    for who_or_none, start in starts.items():
        who = who_or_none or nobody
        first = local(start, tz).date()
        for d in period.days():
            worked = days.get((who, d))
            if first <= d < now.date() and (worked is None or not worked.visits):
                idle.add((who, d))
    keys = sorted(k for k in set(days) | idle if only is None or k[0] == only)
    rows = [_figures(who, d, days.get((who, d)) or _Day(), (who, d) in idle) for who, d in keys]
    totals = []
    for who, group in groupby(rows, key=lambda r: r.enumerator):  # rows are sorted by who
        mine = list(group)
        minutes = [m for r in mine if r.day is not None and (who, r.day) in days
                   for m in days[who, r.day].minutes]
        totals.append(_total(who, mine, median(minutes)))
    return Report(period, rows, totals)


def _figures(who: str, d: date, day: _Day, idle: bool) -> Figures:
    return Figures(who, d, len(day.dwellings), day.completed, day.refusals, day.no_contacts,
                   day.kept, day.missed, median(day.minutes), day.returned, day.approved,
                   int(idle))


def _total(who: str, rows: Sequence[Figures], minutes: int | None) -> Figures:
    def total(name: str) -> int:
        return sum(int(getattr(r, name)) for r in rows)

    return Figures(who, None, total("dwellings_visited"), total("households_completed"),
                   total("refusals"), total("no_contacts"), total("appointments_kept"),
                   total("appointments_missed"), minutes, total("forms_returned"),
                   total("forms_approved"), total("idle_days"))


def field_report(store: Store, now: datetime, period: Period, *, area: str | None = None,
                 enumerator: str | None = None, tolerance: int = DEFAULT_TOLERANCE,
                 tz: tzinfo | None = None) -> Report:
    """The report of a store for `period` (in the areas under `area`, of one `enumerator`).
    On an enumerator's device it holds the user's own figures only (asking for another
    enumerator's is refused), and rows whose enumerator is not known are the user's."""
    from census.storage import paradata
    from census.storage.areas import get_area, subtree

    nobody = NOBODY
    if store.role is Role.ENUMERATOR:
        if enumerator not in (None, store.user):
            raise ReportError(_("This is {code}'s device: its report shows {code}'s own figures "
                                "only.").format(code=store.user))
        enumerator = nobody = store.user
    areas = None
    if area is not None:
        if get_area(store, area) is None:
            raise ReportError(_("Unknown area {code}; see `census area list`.").format(code=area))
        areas = subtree(store, area)
    # A day of margin on each side: UTC stamps and local times are compared after conversion.
    lo = (period.first - timedelta(days=1)).isoformat()
    hi = (period.last + timedelta(days=2)).isoformat()
    return compute(paradata.visits(store, lo, hi, areas),
                   paradata.completed_forms(store, lo, hi, areas),
                   paradata.decisions(store, lo, hi, areas),
                   paradata.first_visits(store, areas), period, now, tolerance=tolerance,
                   tz=tz, only=enumerator, nobody=nobody)


# -- showing a report (the command line and the app) -------------------------------------------


def headings() -> list[str]:
    return [_(h) for h in HEADINGS]


def cells(f: Figures) -> list[str]:
    """A row as the table shows it: the day as MM-DD (the total as "total")."""
    day = _("total") if f.day is None else f"{f.day:%m-%d}"
    minutes = "-" if f.median_minutes is None else str(f.median_minutes)
    return [f.enumerator, day, str(f.dwellings_visited), str(f.households_completed),
            str(f.refusals), str(f.no_contacts), str(f.appointments_kept),
            str(f.appointments_missed), minutes, str(f.forms_returned), str(f.forms_approved),
            str(f.idle_days)]


def title(period: Period, area: str | None = None, enumerator: str | None = None) -> str:
    """What a report covers, in one line."""
    days = ngettext("{n} day", "{n} days", period.length).format(n=period.length)
    scope = (_("area {code} and below").format(code=area) if area is not None
             else _("all areas"))
    if enumerator is not None:
        scope += ", " + _("enumerator {code}").format(code=enumerator)
    return _("Daily field report, {first} to {last} ({days}); {scope}").format(
        first=period.first, last=period.last, days=days, scope=scope)


def width(text: str) -> int:
    """Columns `text` takes in a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def text_table(report: Report) -> list[str]:
    """The report as lines of text: the name columns to the left, the figures to the right."""
    rows = [headings(), *(cells(f) for f in report.rows())]
    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        parts = [c + " " * (w - width(c)) if i < 2 else " " * (w - width(c)) + c
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append((" ".join(parts[:2]) + "  " + " ".join(parts[2:])).rstrip())
    return lines


def legend(columns: int = 80) -> list[str]:
    return textwrap.wrap(_(LEGEND), columns)


def bar(value: int, top: int, columns: int) -> str:
    """A bar of block characters, `value` of `top` over `columns` columns, to an eighth of a
    column; a value above zero shows at least an eighth."""
    if value <= 0 or top <= 0:
        return ""
    eighths = max(1, round(8 * columns * min(value, top) / top))
    full, part = divmod(eighths, 8)
    return "█" * full + EIGHTHS[part]


def chart(series: Sequence[tuple[date, int]], columns: int = 50) -> list[str]:
    """One line per day: weekday and date, the bar, its number beside it."""
    top = max((n for _day, n in series), default=0)
    labels = [f"{_(WEEKDAYS[d.weekday()])} {d:%m-%d}" for d, _n in series]
    pad = max((width(label) for label in labels), default=0)
    return [f"{label}{' ' * (pad - width(label))} │{bar(n, top, columns)} {n}"
            for label, (_d, n) in zip(labels, series, strict=True)]
