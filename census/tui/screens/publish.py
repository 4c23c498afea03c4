"""The supervisor's publish screen (ExportScreen): choose level, method, format and folder;
preview a protected table exactly as it will be published; export with a progress bar.
Everything goes through `census.usecases.publish` (plan, then write); no SQL here."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, ProgressBar, Select

from census.domain.model import RELEASE_OVERRIDES
from census.i18n import N_, _, ngettext
from census.storage.connection import StoreError
from census.tabulate import release as rel
from census.tui.base import CensusScreen
from census.tui.labels import SYMBOL
from census.tui.widgets.plain import DataTable, Label, Static
from census.usecases.publish.noise import privacy
from census.usecases.publish.plan import ExportError, Plan, Request, plan_export
from census.usecases.publish.write import write_export
from census.validation.rules import Severity

METHOD_LABELS = {"rr3": N_("Rounding to base 3 (rr3)"),
                 "ckm": N_("Cell key perturbation (ckm)"),
                 "dp": N_("Differential privacy (dp)")}
TABLE_LABELS = {"persons": N_("Persons by sex and age"), "households": N_("Households by size"),
                "dwellings": N_("Dwellings by outcome (exact)")}
OVERRIDE_LABELS = {"correction": N_("Correction of an error"),
                   "late_forms": N_("Late forms added"),
                   "boundary_change": N_("Boundary change"),
                   "method_change": N_("Change of protection method")}
PREVIEW_ROWS = 54


class ExportScreen(CensusScreen):
    """Publish protected tables of closed areas (supervisor and office)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", _("Back"), id="export.back"),
        Binding("ctrl+p", "preview", _("Preview"), id="export.preview", priority=True),
        Binding("ctrl+t", "next_table", _("Next table"), id="export.next_table", priority=True),
        Binding("ctrl+s", "export", _("Export"), id="export.export", priority=True),
    ]
    MOVING = _("Tab moves between the choices; Ctrl+P previews, Ctrl+T shows the next table, "
               "Ctrl+S writes the files.")

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None
        self.table = rel.TABLES[0]
        self.busy = False

    def compose(self) -> ComposeResult:
        store = self.census.store
        cfg = store.config
        yield Label(_("Publish tables · {survey}").format(survey=cfg.name), classes="title")
        with Horizontal(classes="choices"):
            yield Label(_("Level"), classes="key")
            yield Select([(lv, lv) for lv in cfg.levels], value=cfg.levels[-1],
                         allow_blank=False, id="level", compact=True)
            yield Label(_("Method"), classes="key")
            yield Select([(_(label), code) for code, label in METHOD_LABELS.items()],
                         value=cfg.disclosure.method, allow_blank=False, id="method",
                         compact=True)
            yield Label(_("Format"), classes="key")
            yield Select([(f, f) for f in ("csv", "json", "parquet")], value="csv",
                         allow_blank=False, id="format", compact=True)
        with Horizontal(classes="choices"):
            yield Label(_("Folder"), classes="key")
            yield Input(str(Path.cwd() / f"census-tables-{cfg.levels[-1]}"), id="out",
                        compact=True, placeholder=_("Folder for the files"))
            yield Label(_("Override"), classes="key")
            yield Select([(_(OVERRIDE_LABELS[r]), r) for r in RELEASE_OVERRIDES],
                         prompt=_("No override"), id="override", compact=True)
        with VerticalScroll(id="summary-box"):  # a long refusal is read whole, scrolling
            yield Static(_("Choose, then Ctrl+P to preview and Ctrl+S to export. Only closed "
                           "areas are published."), id="summary")
        yield Label("", id="table-title", classes="section")
        yield DataTable(id="preview", cursor_type="row", zebra_stripes=True)
        yield ProgressBar(total=100, show_eta=False, id="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#level", Select).focus()

    def request(self) -> Request:
        def pick(name: str) -> str | None:
            value = self.query_one(f"#{name}", Select).value
            return None if value is Select.NULL else str(value)

        return Request(level=pick("level") or "", method=pick("method"),
                       fmt=pick("format") or "csv", override=pick("override"))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "level" and event.value is not Select.NULL:
            out = self.query_one("#out", Input)
            folder = Path(out.value or ".")
            if folder.name.startswith("census-tables-"):
                out.value = str(folder.with_name(f"census-tables-{event.value}"))
        self.plan = None

    def say(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#summary", Static)
        widget.update(f"{SYMBOL[Severity.ERROR]} {text}" if error else text)
        widget.set_class(error, "error")
        self.query_one("#summary-box", VerticalScroll).scroll_home(animate=False)

    def failed(self, exc: Exception) -> None:
        """Say why the export did not happen; nothing was written or recorded."""
        if isinstance(exc, ExportError | StoreError):
            text = str(exc)
        elif isinstance(exc, OSError):
            text = _("The operating system refused: {error}; nothing was exported.").format(
                error=exc.strerror or exc)
        else:
            text = _("The export failed ({kind}: {error}); nothing was exported.").format(
                kind=type(exc).__name__, error=exc)
        self.say(text, error=True)

    def action_preview(self) -> None:
        try:
            self.plan = plan_export(self.census.store, self.request())
        except Exception as exc:  # shown on the screen, never a crash of the app
            self.plan = None
            self.failed(exc)
            return
        self.describe(self.plan)
        self.show_table()

    def describe(self, plan: Plan) -> None:
        combined = sum(1 for u in plan.units if u.combined)
        parts = [ngettext("{n} area ready ({method}).", "{n} areas ready ({method}).",
                          len(plan.units)).format(
            n=len(plan.units), method=_(METHOD_LABELS.get(plan.method, plan.method)))]
        if combined:
            parts.append(ngettext("{n} group of small areas combined with its parent.",
                                  "{n} groups of small areas combined with their parent.",
                                  combined).format(n=combined))
        if plan.withheld:
            parts.append(_("Withheld, too small: {areas}.").format(
                areas=", ".join(plan.withheld[:5])))
        if plan.left_open:
            parts.append(_("Left out, still open: {n}.").format(n=len(plan.left_open)))
        if plan.previous:
            parts.append(_("Same as release {release}: the files will be identical.")
                         .format(release=plan.previous[0]))
        if plan.conflicts:
            parts.append(_("Changed since the last release: {n} (override: {reason}).").format(
                n=len(plan.conflicts), reason=plan.request.override))
        if plan.method == "dp":
            loss = privacy(plan)
            new = max((n.rho for _a, _t, n in plan.dp_new), default=0.0)
            parts.append(_("Privacy loss of these tables: rho {rho:.4g} (epsilon {eps:.3g} at "
                           "delta {delta:g}); new noise now: rho {new:.4g} a table.").format(
                rho=loss["rho"], eps=loss["epsilon"], delta=loss["delta"], new=new))
        self.say(" ".join(parts))

    def show_table(self) -> None:
        table = self.query_one("#preview", DataTable)
        table.clear(columns=True)
        if self.plan is None:
            return
        protected = self.table in rel.PROTECTED and self.plan.method != "none"
        self.query_one("#table-title", Label).update(
            _("{table} — as published{note} (first {n} rows; Ctrl+T: next table)").format(
                table=_(TABLE_LABELS[self.table]),
                note=_(", protected") if protected else _(", exact"), n=PREVIEW_ROWS))
        table.add_columns(*rel.COLUMNS[self.table])
        for row in self.plan.preview(self.table, PREVIEW_ROWS):
            table.add_row(*("—" if v is None else str(v) for v in row))

    def action_next_table(self) -> None:
        i = rel.TABLES.index(self.table)
        self.table = rel.TABLES[(i + 1) % len(rel.TABLES)]
        self.show_table()

    def action_export(self) -> None:
        if not self.busy:
            self.busy = True
            self.run_worker(self.export(), exclusive=True, group="export")

    async def export(self) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.update(progress=0)
        try:
            out = Path(self.query_one("#out", Input).value.strip() or ".").expanduser()
            self.say(_("Counting…"))
            await asyncio.sleep(0.05)  # let the screen show it before the queries run
            # The plan previewed, if nothing was changed since: under differential privacy
            # its noise is what the preview showed.
            plan = self.plan if self.plan is not None and self.plan.request == \
                self.request() else plan_export(self.census.store, self.request())
            self.plan = plan
            self.describe(plan)
            self.show_table()
            bar.update(progress=60)
            await asyncio.sleep(0.05)

            def step(fraction: float, what: str) -> None:
                bar.update(progress=100 * fraction)

            report = write_export(self.census.store, plan, out, step)
        except Exception as exc:  # shown on the screen, never a crash of the app
            self.failed(exc)
            bar.update(progress=0)
            return
        finally:
            self.busy = False
        bar.update(progress=100)
        self.say(_("Release {release} written to {out}: {files}.").format(
            release=report.release, out=report.out,
            files=", ".join(f"{t} {n}" for t, n in report.files)))
        self.notify(_("Release {release} exported.").format(release=report.release))
