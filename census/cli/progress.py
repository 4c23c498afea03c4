"""`census progress`: coverage per area or per enumerator (and the table `census status` shows)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from census.cli.common import UserError, db_options, json_option, now, open_store, print_json, table
from census.i18n import _

if TYPE_CHECKING:
    from census.storage.progress import ProgressRow


def progress_table(rows: Sequence[ProgressRow], by: str = "area") -> None:
    """Print coverage rows (of areas, or of enumerators when `by` is "enumerator")."""
    if not rows:
        click.echo(_("No enumeration areas yet; import them with `census area import`."))
        return
    at = now()

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    first = [_("enumerator"), _("areas")] if by == "enumerator" else [
        _("area"), _("name"), _("enum.")]
    table([*first, _("expected"), _("listed"), _("visited"), _("completed"),
           _("callbacks due"), _("refused"), _("vacant"), _("response %"), _("refusal %"),
           _("vacancy %"), _("mean size"), _("idle days")],
          [[*([r.area, r.name] if by == "enumerator" else [r.area, r.name, r.enumerator]),
            r.expected, r.listed, r.visited, r.completed, r.callbacks_due, r.refused, r.vacant,
            pct(r.response_rate), pct(r.refusal_rate), pct(r.vacancy_rate),
            "-" if r.mean_household_size is None else f"{r.mean_household_size:.2f}",
            "-" if r.days_idle(at) is None else r.days_idle(at)] for r in rows])


def progress_dict(r: ProgressRow) -> dict[str, Any]:
    """A coverage row as JSON shows it, with its rates and days idle."""
    return {**r.__dict__, "response_rate": r.response_rate, "refusal_rate": r.refusal_rate,
            "vacancy_rate": r.vacancy_rate, "mean_household_size": r.mean_household_size,
            "days_idle": r.days_idle(now())}


@click.command()
@db_options
@json_option
@click.option("--area", "area_code", help="Only this area (and the areas below it).")
@click.option("--by", type=click.Choice(["area", "enumerator"]), default="area",
              show_default=True, help="One row per enumeration area, or per enumerator.")
def progress(db: Path | None, passphrase_file: Path | None, as_json: bool,
             area_code: str | None, by: str) -> None:
    """Coverage per area (or per enumerator): expected, listed, visited, completed, callbacks
    due, refused, vacant, response rate (completed / eligible listed dwellings), refusal and
    vacancy rates (of visited), mean household size and days since the last visit."""
    from census.storage.areas import get_area
    from census.storage.progress import area_progress, by_enumerator

    with open_store(db, passphrase_file) as store:
        if area_code is not None and get_area(store, area_code) is None:
            raise UserError(_("Unknown area {code}; see `census area list`.").format(
                code=area_code))
        rows = area_progress(store, now(), area_code)
    if by == "enumerator":
        rows = by_enumerator(rows)
    if as_json:
        print_json([progress_dict(r) for r in rows])
    else:
        progress_table(rows, by)


def register(group: click.Group) -> None:
    """Add progress to `group`."""
    group.add_command(progress)
