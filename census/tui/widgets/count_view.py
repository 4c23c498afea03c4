"""Read-only views of a record, for the supervisor: a household's count grid (CountView) with its
away, visitors, respondent and status, optionally compared with another version of it, and the
tables of a dwelling's listing line and visits.

A value that differs from the other version is marked with ◆ (a symbol, never colour alone),
and `differences` says each one in words: `Male 25-34: stored 2, incoming 1`. Only what the
enumerator entered is shown: no seed, revision hash or time stamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from census.domain.config import SurveyConfig
from census.domain.model import Cell, Dwelling, Household, Visit
from census.i18n import _
from census.tui.labels import HOUSEHOLD_STATUS, OCCUPANCY, OUTCOMES, TYPES
from census.tui.widgets.plain import printable

MARK = "◆"
"""How a value that differs between two versions is marked."""
RESPONDENT = {"member": "Member", "proxy": "Proxy (not a member)"}


def cell_label(config: SurveyConfig, cell: Cell) -> str:
    """A cell as the form names it: `Female 0-4`."""
    labels = {s.code: s.label for s in config.sexes}
    return f"{_(labels.get(cell[0], cell[0]))} {cell[1]}"


def _respondent(code: str) -> str:
    return _(RESPONDENT[code]) if code in RESPONDENT else code


def household_fields(h: Household) -> list[tuple[str, str]]:
    """The fields beside the grid, as (label, value shown)."""
    return [(_("Usual residents away"), str(h.away)), (_("Visitors tonight"), str(h.visitors)),
            (_("Respondent"), _respondent(str(h.respondent))),
            (_("Status"), _(HOUSEHOLD_STATUS.get(str(h.status), str(h.status))))]


def differences(config: SurveyConfig, stored: Household, incoming: Household) -> list[str]:
    """Each value that differs, in words: `Male 25-34: stored 2, incoming 1`."""
    out = []
    for cell in config.cells:
        a, b = stored.residents.get(cell, 0), incoming.residents.get(cell, 0)
        if a != b:
            out.append(_("{field}: stored {stored}, incoming {incoming}").format(
                field=cell_label(config, cell), stored=a, incoming=b))
    for (label, mine), (_label, theirs) in zip(household_fields(stored),
                                               household_fields(incoming), strict=True):
        if mine != theirs:
            out.append(_("{field}: stored {stored}, incoming {incoming}").format(
                field=label, stored=mine, incoming=theirs))
    return out


def _value(n: int, marked: bool) -> Text:
    shown = str(n) if n else "·"
    return Text(f"{shown}{MARK}", style="bold") if marked else Text(f"{shown} ")


class CountView(Widget):
    """A household's counts, read only: sex × age band as the survey config defines them, with
    totals, then away, visitors, respondent and status. With `other`, the values that differ
    from it are marked ◆. `tall` puts the age bands in rows (two fit side by side in 80
    columns); otherwise sexes are rows, as in the household form."""

    DEFAULT_CSS = """
    CountView { height: auto; width: auto; padding: 0 1; border: round $panel; }
    """

    def __init__(self, config: SurveyConfig, household: Household | None = None,
                 other: Household | None = None, *, tall: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.config = config
        self.household = household
        self.other = other
        self.tall = tall

    def show(self, household: Household | None, other: Household | None = None) -> None:
        """Show `household` (compared with `other`, when given)."""
        self.household = household
        self.other = other
        self.refresh(layout=True)

    def differs(self, cell: Cell) -> bool:
        if self.household is None or self.other is None:
            return False
        return self.household.residents.get(cell, 0) != self.other.residents.get(cell, 0)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """As wide as the grid and its fields need (a side by side pair sizes to it)."""
        console = self.app.console
        return Measurement.get(console, console.options, self.render()).maximum

    def render(self) -> RenderableType:
        h = self.household
        if h is None:
            return Text("—")
        return Group(self._tall(h) if self.tall else self._wide(h), self._fields(h))

    def _table(self, first: str) -> Table:
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
        table.add_column(first, justify="left", no_wrap=True)
        return table

    def _wide(self, h: Household) -> Table:
        labels = {s.code: s.label for s in self.config.sexes}
        bands = [b.code for b in self.config.age_bands]
        table = self._table(_("Age"))
        for band in bands:
            table.add_column(band, justify="right", no_wrap=True, min_width=3)
        table.add_column(_("Total"), justify="right", no_wrap=True, style="bold")
        totals = [0] * len(bands)
        for s in self.config.sexes:
            row: list[Text] = [Text(_(labels[s.code]))]
            for i, band in enumerate(bands):
                n = h.residents.get((s.code, band), 0)
                totals[i] += n
                row.append(_value(n, self.differs((s.code, band))))
            row.append(Text(str(sum(h.residents.get((s.code, b), 0) for b in bands))))
            table.add_row(*row)
        table.add_row(Text(_("Total"), style="bold"), *[Text(f"{t} ") for t in totals],
                      Text(str(h.present)))
        return table

    def _tall(self, h: Household) -> Table:
        sexes = self.config.sexes
        table = self._table(_("Age"))
        for s in sexes:
            table.add_column(_(s.label), justify="right", no_wrap=True)
        table.add_column(_("Total"), justify="right", no_wrap=True, style="bold")
        totals = [0] * len(sexes)
        for b in self.config.age_bands:
            row: list[Text] = [Text(b.code)]
            for i, s in enumerate(sexes):
                n = h.residents.get((s.code, b.code), 0)
                totals[i] += n
                row.append(_value(n, self.differs((s.code, b.code))))
            row.append(Text(str(sum(h.residents.get((s.code, b.code), 0) for s in sexes))))
            table.add_row(*row)
        table.add_row(Text(_("Total"), style="bold"), *[Text(f"{t} ") for t in totals],
                      Text(str(h.present)))
        return table

    def _fields(self, h: Household) -> Table:
        mine = household_fields(h)
        theirs = household_fields(self.other) if self.other is not None else mine
        cells = [(Text(label), Text(f"{value}{MARK}" if value != other else f"{value} ",
                                    style="bold" if value != other else ""))
                 for (label, value), (_l, other) in zip(mine, theirs, strict=True)]
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False,
                      show_header=False)
        per_row = 1 if self.tall else 2
        for _i in range(per_row * 2):
            table.add_column(no_wrap=True)
        for i in range(0, len(cells), per_row):
            table.add_row(*[part for pair in cells[i:i + per_row] for part in pair])
        return table


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else ""


def _visit_row(v: Visit) -> list[Text]:
    return [Text(str(v.attempt)), Text(_when(v.at)), Text(_(OUTCOMES[v.outcome])),
            Text(_when(v.callback_at))]


def visits_table(stored: Sequence[Visit], incoming: Sequence[Visit] | None = None
                 ) -> RenderableType:
    """A dwelling's visits (when, outcome, callback). With `incoming`, the visits of both
    versions: one row where they agree, a marked row of each version where they differ."""
    if not stored and not incoming:
        return Text(_("No visit recorded."))
    table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
    for title in ("#", _("When"), _("Outcome"), _("Callback")):
        table.add_column(title, no_wrap=True)
    if incoming is None:
        for v in sorted(stored, key=lambda v: v.attempt):
            table.add_row(*_visit_row(v))
        return table
    table.add_column("", no_wrap=True)
    mine = {v.attempt: v for v in stored}
    theirs = {v.attempt: v for v in incoming}
    for attempt in sorted(set(mine) | set(theirs)):
        a, b = mine.get(attempt), theirs.get(attempt)
        if a is not None and b is not None and _visit_row(a) == _visit_row(b):
            table.add_row(*_visit_row(a), Text(""))
            continue
        if a is not None:
            table.add_row(*_visit_row(a), Text(f"{MARK} " + _("stored"), style="bold"))
        if b is not None:
            table.add_row(*_visit_row(b), Text(f"{MARK} " + _("incoming"), style="bold"))
    return table


def listing_fields(d: Dwelling) -> list[tuple[str, str]]:
    """A dwelling's listing line as (label, value shown)."""
    return [(_("Area"), d.area), (_("Structure no."), str(d.structure)),
            (_("Dwelling no."), str(d.number)), (_("Type"), _(TYPES[d.type])),
            (_("Occupancy"), _(OCCUPANCY[d.occupancy])), (_("Locator"), d.locator or "—"),
            (_("Enumerator"), d.enumerator or "—")]


def listing_table(stored: Dwelling | None, incoming: Dwelling | None) -> tuple[Table, list[str]]:
    """Two versions of a listing line side by side, differing values marked ◆; and the
    differences in words."""
    table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column(_("Stored"), overflow="fold")
    table.add_column(_("Incoming"), overflow="fold")
    mine = listing_fields(stored) if stored else []
    theirs = listing_fields(incoming) if incoming else []
    words = []
    for i, label in enumerate(label for label, _v in (mine or theirs)):
        a = mine[i][1] if mine else "—"
        b = theirs[i][1] if theirs else "—"
        differ = bool(mine and theirs) and a != b
        if differ:
            words.append(_("{field}: stored {stored}, incoming {incoming}").format(
                field=label, stored=a, incoming=b))
        style = "bold" if differ else ""
        mark = MARK if differ else " "
        table.add_row(Text(label), Text(printable(a) + mark, style=style),
                      Text(printable(b) + mark, style=style))
    return table, words
