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

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from census.domain.config import SurveyConfig
from census.domain.model import (
    Cell,
    Dwelling,
    Household,
    OverrideReason,
    Visit,
)
from census.i18n import _
from census.tui.labels import (
    HOUSEHOLD_STATUS,
    OCCUPANCY,
    OUTCOMES,
    TYPES,
    field_label,
    override_reason,
)
from census.tui.widgets.plain import cut, printable
from census.validation.rules import RULES

MARK = "◆"
"""How a value that differs between two versions is marked."""
RESPONDENT = {"member": "Member", "proxy": "Proxy (not a member)"}


def cell_label(config: SurveyConfig, cell: Cell) -> str:
    """A cell as the form names it: `Female 0-4`."""
    return field_label(f"residents.{cell[0]}.{cell[1]}", config)


def _respondent(code: str) -> str:
    return _(RESPONDENT[code]) if code in RESPONDENT else code


def household_fields(h: Household) -> list[tuple[str, str]]:
    """The fields beside the grid, as (label, value shown)."""
    declared = "—" if h.declared_total is None else str(h.declared_total)
    return [(_("Household no."), str(h.number)), (_("Declared total"), declared),
            (_("Usual residents away"), str(h.away)), (_("Visitors tonight"), str(h.visitors)),
            (_("Respondent"), _respondent(str(h.respondent))),
            (_("Status"), _(HOUSEHOLD_STATUS.get(str(h.status), str(h.status))))]


def _confirmed(reason: OverrideReason | None) -> str:
    return _("not confirmed") if reason is None else override_reason(reason)


def differences(config: SurveyConfig, stored: Household, incoming: Household) -> list[str]:
    """Each value that differs, in words: `Male 25-34: stored 2, incoming 1`; the counts, the
    fields beside the grid (the household number and declared total among them), and the
    warnings confirmed (`W002 No adult present: stored not confirmed, incoming Confirmed again
    with the respondent`)."""
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
    for rule_id in sorted(set(stored.overrides) | set(incoming.overrides)):
        a_why, b_why = stored.overrides.get(rule_id), incoming.overrides.get(rule_id)
        if a_why != b_why:
            rule = RULES.get(rule_id)
            out.append(_("{field}: stored {stored}, incoming {incoming}").format(
                field=f"{rule_id} {_(rule.title)}" if rule else rule_id,
                stored=_confirmed(a_why), incoming=_confirmed(b_why)))
    return out


def _value(n: int, marked: bool) -> Text:
    shown = str(n) if n else "·"
    return Text(f"{shown}{MARK}", style="bold") if marked else Text(f"{shown} ")


class CountView(Widget):
    """A household's counts, read only: sex × age band as the survey config defines them, with
    totals, then the household's other fields. With `other`, the values that differ from it are
    marked ◆. `tall` puts the age bands in rows (two fit side by side in 80 columns with the
    built-in config); False puts the sexes in rows, as in the household form; None (the
    default) puts the sexes in rows when that fits the width there is, else the age bands.
    The age bands in rows, long sex labels in the header are shortened with … only as far as
    the width requires; a grid that does not fit even so is as wide as it must be (the screen
    scrolls it sideways)."""

    DEFAULT_CSS = """
    CountView { height: auto; width: auto; padding: 0 1; border: round $panel; }
    """

    def __init__(self, config: SurveyConfig, household: Household | None = None,
                 other: Household | None = None, *, tall: bool | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.config = config
        self.household = household
        self.other = other
        self.tall = tall
        self.room: int | None = None
        """The width there is for the grid (set at each layout; None: any)."""

    def show(self, household: Household | None, other: Household | None = None) -> None:
        """Show `household` (compared with `other`, when given)."""
        self.household = household
        self.other = other
        self.refresh(layout=True)

    def differs(self, cell: Cell) -> bool:
        if self.household is None or self.other is None:
            return False
        return self.household.residents.get(cell, 0) != self.other.residents.get(cell, 0)

    def _width(self, renderable: RenderableType) -> int:
        console = self.app.console
        return Measurement.get(console, console.options.update_width(10_000),
                               renderable).maximum

    def natural_width(self) -> int:
        """The width the grid takes with nothing shortened, its border and padding included
        (a screen puts two side by side when both fit)."""
        room, self.room = self.room, None
        try:
            return self._width(self.render()) + self.styles.gutter.width
        finally:
            self.room = room

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """As wide as the grid and its fields need, within the width there is when they can
        be (a side by side pair sizes to it)."""
        self.room = container.width
        return self._width(self.render())

    def is_tall(self, h: Household) -> bool:
        """True when the age bands are in rows: asked for, or the sexes in rows do not fit."""
        if self.tall is not None:
            return self.tall
        wide = Group(self._wide(h), self._fields(h, tall=False))
        return self.room is not None and self._width(wide) > self.room

    def render(self) -> RenderableType:
        h = self.household
        if h is None:
            return Text("—")
        tall = self.is_tall(h)
        return Group(self._tall(h) if tall else self._wide(h), self._fields(h, tall))

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
        """The age bands in rows; the sex labels of the header shortened (the longest first,
        with …) only as far as the width there is requires."""
        labels = [_(s.label) for s in self.config.sexes]
        widths = [cell_len(label) for label in labels]
        table = self._tall_table(h, labels)
        while self.room is not None and self._width(table) > self.room:
            longest = max(range(len(widths)), key=lambda i: widths[i])
            if widths[longest] <= SHORTEST:
                break  # as short as a label gets: the screen scrolls sideways
            widths[longest] -= 1
            table = self._tall_table(h, [cut(label, n) for label, n in zip(labels, widths,
                                                                            strict=True)])
        return table

    def _tall_table(self, h: Household, headers: list[str]) -> Table:
        sexes = self.config.sexes
        table = self._table(_("Age"))
        for header in headers:
            table.add_column(header, justify="right", no_wrap=True)
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

    def _fields(self, h: Household, tall: bool) -> Table:
        mine = household_fields(h)
        theirs = household_fields(self.other) if self.other is not None else mine
        cells = [(Text(label), Text(f"{value}{MARK}" if value != other else f"{value} ",
                                    style="bold" if value != other else ""))
                 for (label, value), (_l, other) in zip(mine, theirs, strict=True)]
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False,
                      show_header=False)
        per_row = 1 if tall else 2
        for _i in range(per_row * 2):
            table.add_column(no_wrap=True)
        for i in range(0, len(cells), per_row):
            table.add_row(*[part for pair in cells[i:i + per_row] for part in pair])
        return table


SHORTEST = 4
"""The fewest columns a shortened sex label keeps (`Ano…`)."""


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
