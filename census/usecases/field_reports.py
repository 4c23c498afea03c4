"""Daily field reports (issue 15): per enumerator and day, the figures field managers work from,
computed from paradata only (the times stored with visits, with households' first completion
and with decisions); nothing about a person. SQLite counts them per enumerator and day
(`census.storage.paradata`, reading the period only); `assemble` puts those counts together
(a pure function, tested without a database); `field_report` does both for a store.

Times: a visit's time and a form's completion are the local time of the device that recorded
them, so a figure's day is the one the enumerator lived, whatever computer reads the report.
Supervisors' decisions carry UTC stamps: they count on the day they fell on in this computer's
time zone (the reader's).

The figures of one enumerator on one day:
- dwellings visited: distinct dwellings the enumerator visited that day (any outcome);
- households completed: household forms first completed that day (`completed_at`: set when a
  form is first stored complete, by the clock of the device that completed it, and kept
  whatever happens to the form later). A form counts once, on the day of its first
  completion, whatever its status now (a draft again, returned, completed again, approved);
- refusals: the enumerator's visits that day with outcome refused;
- no contacts: the enumerator's visits that day with outcome no one home;
- appointments kept and missed: appointments (a visit's callback date and time) falling on that
  day, counted for the enumerator whose visit made them. Kept: the dwelling's next visit came at
  or before the appointment plus the tolerance (60 minutes unless told), earlier ones included.
  Missed: the next visit came later, or there is none and the appointment plus the tolerance has
  passed. An appointment that may still be kept is neither;
- median minutes from the first visit to the completed form: over that day's completed forms,
  the minutes from the first visit to the dwelling to the first completion (both times of the
  device); none without such a form;
- forms returned, forms approved: supervisors' decisions that day (the reader's local day) on
  the enumerator's forms;
- idle days: 1 for a day before today, on or after the enumerator's first visit ever, without a
  visit by the enumerator; else 0.
An enumerator's period total sums the days (a dwelling visited on two days counts twice),
except the median, which is over every form of the period. Records purged from a device after
a receipt leave its figures (the supervisor's database keeps them).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

from census.domain.errors import CensusError
from census.domain.model import Role
from census.i18n import N_, WEEKDAYS, _, cell_width, counted, wrapped

if TYPE_CHECKING:
    from census.storage.paradata import AppointmentDay, DecisionDay, FormDay, VisitDay
    from census.storage.store import Store

DEFAULT_DAYS = 14
MAX_DAYS = 366
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
"""The days a report may cover."""
DEFAULT_TOLERANCE = 60
"""Minutes after an appointment within which a visit keeps it."""
NOBODY = "-"
"""The enumerator of rows whose enumerator is not known."""
#: The stable keys of a row, in order: JSON objects and the CSV header.
KEYS = ("enumerator", "date", "dwellings_visited", "households_completed", "refusals",
        "no_contacts", "appointments_kept", "appointments_missed", "median_minutes",
        "forms_returned", "forms_approved", "idle_days")
#: Short column headings (the legend says what each is); a table of them fits 80 columns.
HEADINGS = (N_("enum."), N_("day"), N_("visited"), N_("done"), N_("refused"), N_("absent"),
            N_("met"), N_("missed"), N_("min."), N_("ret."), N_("appr."), N_("idle"))
LEGEND = N_("visited: dwellings visited; done: households completed; refused: refusals; "
            "absent: visits with no one home; met, missed: appointments met and missed; "
            "min.: median minutes from the first visit to the completed form; ret., appr.: "
            "forms returned and approved; idle: days without a visit.")
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")


class ReportError(CensusError):
    """A report that cannot be made as asked."""


def check_day(day: date, what: str) -> date:
    """`day` if a report may cover it, else a ReportError naming `what` (e.g. `--until`)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ReportError(_("{what} is {day}: a report covers days from {first} to {last}. Give "
                            "a date in that range (YYYY-MM-DD).").format(
            what=what, day=day, first=FIRST_DAY, last=LAST_DAY))
    return day


@dataclass(frozen=True)
class Period:
    """The days a report covers, `first` to `last` inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        check_day(self.first, _("The first day of the period"))
        check_day(self.last, _("The last day of the period"))
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
        if days > MAX_DAYS:
            raise ReportError(_("A report covers at most {n} days; this period has {days}.")
                              .format(n=MAX_DAYS, days=days))
        check_day(last, _("The last day of the period"))
        return cls(last - timedelta(days=days - 1), last)

    @property
    def length(self) -> int:
        return (self.last - self.first).days + 1

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.length)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def utc_bounds(self) -> tuple[str, str]:
        """The UTC stamps of the start of the first day and of the day after the last, in this
        computer's time zone: what a decision's stamp is compared with."""
        def stamp(day: date) -> str:
            return datetime.combine(day, time()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return stamp(self.first), stamp(self.last + timedelta(days=1))


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
    dwellings: int = 0
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


def median(values: Sequence[float]) -> int | None:
    """The median, in whole minutes; None for no values."""
    return round(statistics.median(values)) if values else None


def assemble(visits: Sequence[VisitDay], appointments: Sequence[AppointmentDay],
             forms: Sequence[FormDay], decisions: Sequence[DecisionDay],
             starts: Mapping[str, str], period: Period, now: datetime, *,
             only: str | None = None) -> Report:
    """The report from the counts per enumerator and day: `starts` is each enumerator's first
    visit ever; `now` (local) decides which days are over; `only` keeps one enumerator."""
    days: dict[tuple[str, date], _Day] = defaultdict(_Day)
    for v in visits:
        if v.day in period:
            day = days[v.enumerator, v.day]
            day.dwellings += v.dwellings
            day.visits += v.visits
            day.refusals += v.refusals
            day.no_contacts += v.no_contacts
    for a in appointments:
        if a.day in period and (a.kept or a.missed):
            day = days[a.enumerator, a.day]
            day.kept += a.kept
            day.missed += a.missed
    for f in forms:
        if f.day in period:
            day = days[f.enumerator, f.day]
            day.completed += f.completed
            day.minutes += f.minutes
    for x in decisions:
        if x.day in period:
            day = days[x.enumerator, x.day]
            day.approved += x.approved
            day.returned += x.returned
    idle: set[tuple[str, date]] = set()
    for who, start in starts.items():
        first = date.fromisoformat(start[:10])
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
    return Figures(who, d, day.dwellings, day.completed, day.refusals, day.no_contacts,
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
                 enumerator: str | None = None, tolerance: int = DEFAULT_TOLERANCE) -> Report:
    """The report of a store for `period` (in the areas under `area`, of one `enumerator`).
    On an enumerator's device it holds the user's own figures only (asking for another
    enumerator's is refused), and rows whose enumerator is not known are the user's. An
    enumerator neither assigned an area nor visiting there is refused as unknown."""
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
    first, last = period.first, period.last
    starts = paradata.first_visits(store, areas, nobody)
    if (enumerator is not None and store.role is not Role.ENUMERATOR
            and enumerator not in starts
            and not paradata.enumerator_known(store, enumerator, areas)):
        where = (_("in area {code} and below").format(code=area) if area is not None
                 else _("in any area"))
        raise ReportError(_("Unknown enumerator {code} {where}: no area there is assigned to "
                            "them and they made no visit there. `census progress --by "
                            "enumerator` lists the enumerators.").format(code=enumerator,
                                                                         where=where))
    with store.bulk():  # the rows of a period are read in the order of time, not stored
        return assemble(paradata.visits(store, first, last, areas, nobody),
                        paradata.appointments(store, first, last, now, tolerance, areas,
                                              nobody),
                        paradata.forms(store, first, last, areas, nobody),
                        paradata.decisions(store, *period.utc_bounds(), areas, nobody),
                        starts, period, now, only=enumerator)


# -- showing a report (the command line and the app) -------------------------------------------


def headings() -> list[str]:
    return [_(h) for h in HEADINGS]


def shorten(code: str, columns: int) -> str:
    """`code` in at most `columns` terminal columns: its start and its end (where codes differ:
    regions, sequence numbers) around an ellipsis."""
    if cell_width(code) <= columns:
        return code
    columns = max(columns, 3)
    head, tail = "", ""
    for c in code:  # the start takes the larger half
        if cell_width(head + c) > columns - 1 - (columns - 1) // 2:
            break
        head += c
    for c in reversed(code):
        if cell_width(tail + c) > (columns - 1) // 2:
            break
        tail = c + tail
    return head + "…" + tail


def cells(f: Figures, code_columns: int | None = None) -> list[str]:
    """A row as the table shows it: the day as MM-DD (the total as "total"); the enumerator's
    code shortened to `code_columns` (None: whole)."""
    day = _("total") if f.day is None else f"{f.day:%m-%d}"
    minutes = "-" if f.median_minutes is None else str(f.median_minutes)
    code = f.enumerator if code_columns is None else shorten(f.enumerator, code_columns)
    return [code, day, str(f.dwellings_visited), str(f.households_completed),
            str(f.refusals), str(f.no_contacts), str(f.appointments_kept),
            str(f.appointments_missed), minutes, str(f.forms_returned), str(f.forms_approved),
            str(f.idle_days)]


def title(period: Period, area: str | None = None, enumerator: str | None = None) -> str:
    """What a report covers, in one line."""
    days = counted("{n} day", "{n} days", period.length)
    scope = (_("area {code} and below").format(code=area) if area is not None
             else _("all areas"))
    if enumerator is not None:
        scope = _("{areas}, enumerator {code}").format(areas=scope, code=enumerator)
    return _("Daily field report, {first} to {last} ({days}); {scope}").format(
        first=period.first, last=period.last, days=days, scope=scope)


def code_columns(report: Report, columns: int = 80, separators: int = 12) -> int:
    """The columns the enumerators' codes may take so that a table of the report fits
    `columns` (its other columns and `separators` columns between them set aside): as wide as
    the longest code, no wider than what is left (at least the heading's)."""
    rows = [headings(), *(cells(f) for f in report.rows())]
    others = sum(max(cell_width(r[i]) for r in rows) for i in range(1, len(rows[0])))
    longest = max(cell_width(r[0]) for r in rows)
    return min(longest, max(cell_width(rows[0][0]), columns - separators - others))


def text_table(report: Report, columns: int = 80) -> list[str]:
    """The report as lines of text: the name columns to the left, the figures to the right;
    enumerators' codes too long for `columns` shortened (JSON and CSV keep them whole)."""
    fit = code_columns(report, columns)
    rows = [headings(), *(cells(f, fit) for f in report.rows())]
    widths = [max(cell_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        parts = [c + " " * (w - cell_width(c)) if i < 2 else " " * (w - cell_width(c)) + c
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append((" ".join(parts[:2]) + "  " + " ".join(parts[2:])).rstrip())
    return lines


def legend(columns: int = 80) -> list[str]:
    """The meaning of the headings, in lines of at most `columns`."""
    return wrapped(_(LEGEND), columns)


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
    pad = max((cell_width(label) for label in labels), default=0)
    return [f"{label}{' ' * (pad - cell_width(label))} │{bar(n, top, columns)} {n}"
            for label, (_d, n) in zip(labels, series, strict=True)]
